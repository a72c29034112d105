"""The load on the two-host topology with a worker killed mid-run (`python bench/load.py
--cluster`, briefly): two gunicorn hosts and two `gridflow worker` processes on one PostgreSQL,
clerks running a flow whose timers and text messages the workers handle, worker 1 killed with
kill -9 while it holds timer leases; afterwards each timer fired once, each message delivered
(once, or again where the dead worker had sent it unrecorded), the dead worker's leases taken
over after its lock time and none left, its heartbeat stopped while the other went on, and the
load's own invariants hold."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from types import ModuleType

import pytest
from conftest import PG_URL, ROOT
from test_cluster import free_ports


def bench_load() -> ModuleType:
    """bench/load.py, loaded once (bench/ is not a package)."""
    if "bench_load" in sys.modules:
        return sys.modules["bench_load"]
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not PG_URL, reason="GRIDFLOW_TEST_POSTGRES_URL is not set")
def test_two_hosts_carry_the_load_through_a_worker_killed_holding_timers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    load = bench_load()
    import load_cluster  # bench/, put on the path by bench/load.py

    args = argparse.Namespace(
        seconds=8.0,
        clients="4",
        postgres=PG_URL,
        workers=1,  # gunicorn workers per host: a 2-core machine runs all of it
        threads=4,
        cluster_hosts=2,
        kill_worker=2.0,
        kill_on="timers",
        lock_time=4.0,
        worker_interval=1.0,  # more timers due per claim: a longer hold to kill it in
        port=free_ports(3),
        cluster_database=f"gridflow_cluster_load_test_{os.getpid()}",
        no_nginx=True,
        keep=False,
    )
    outcome = load_cluster.run_cluster(load, args)
    printed = capsys.readouterr().out
    assert outcome.held, printed
    # The kill proved something: the dead worker held timers, and the clerks made work.
    assert outcome.kill.leases, printed
    assert outcome.instances > 0 and outcome.messages >= 2 * outcome.instances, printed
    assert "cluster invariants hold" in printed and "INVARIANTS BROKEN" not in printed
