"""Two app hosts (real gunicorn processes, `gridflow.gunicorn_conf`) on one PostgreSQL, started
by bench/cluster.py as the README shows it: one event posted to both at once acts once, and each
host's /metrics adds up its own gunicorn workers. And gunicorn leaves no worker behind when its
master is killed."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import PG_URL, PROCESSES, ROOT, STAFF_PASSWORD
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from gridflow import users
from gridflow.database import Database
from gridflow.models import Instance, LinkageEvent
from gridflow.runtime import Runtime

ALARM = {
    "type": "outage_alarm",
    "key": "scada-both-hosts",
    "payload": {"feeder": "F007", "area": "urban"},
}


def bench_cluster() -> ModuleType:
    """bench/cluster.py, loaded once (bench/ is not a package)."""
    if "bench_cluster" in sys.modules:
        return sys.modules["bench_cluster"]
    spec = importlib.util.spec_from_file_location("bench_cluster", ROOT / "bench" / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_cluster"] = module
    spec.loader.exec_module(module)
    return module


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports."""
    for base in range(21_000 + os.getpid() % 5_000 * 4, 65_000, count + 1):
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    if not PG_URL:
        pytest.skip("GRIDFLOW_TEST_POSTGRES_URL is not set")
    module = bench_cluster()
    running = module.Cluster(
        database=f"gridflow_cluster_test_{os.getpid()}",
        hosts=2,
        workers=0,
        port=free_ports(3),
        nginx=False,
        server=PG_URL,
        demo=None,  # the schema and processes; the test makes the one account it needs
    )
    running.start()
    yield running
    codes = running.stop()
    running.drop_database()
    assert codes == {"host1": 0, "host2": 0}


def test_one_event_posted_to_both_hosts_at_once_acts_once(cluster: Any) -> None:
    module = bench_cluster()
    hosts = [f"http://127.0.0.1:{cluster.host_port(n)}" for n in range(2)]
    rt = Runtime.create(cluster.url)
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # a fast hash: a test account
    users.create_user(rt, "scada", STAFF_PASSWORD, ["integration"], grants=["event:outage_alarm"])
    status, made = module.call(
        "POST", f"{hosts[0]}/api/tokens", {"username": "scada", "password": STAFF_PASSWORD}
    )
    assert status == 201, made
    answers: dict[str, tuple[int, dict[str, Any]]] = {}
    gate = threading.Barrier(2)

    def post(host: str) -> None:
        gate.wait()
        answers[host] = module.call("POST", f"{host}/api/events", ALARM, made["token"])

    threads = [threading.Thread(target=post, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(code for code, _body in answers.values()) == [200, 201]
    first, second = (body for _code, body in answers.values())
    assert first == second  # the same answer: the event, the repair it started, its dispatch
    try:
        with rt.db.read() as session:
            events = session.scalars(select(LinkageEvent.key)).all()
            repairs = session.scalar(select(func.count()).select_from(Instance))
    finally:
        rt.db.dispose()
    assert events == ["scada-both-hosts"] and repairs == 1
    # Each host counts the posts its own gunicorn workers answered: one each, two in all.
    posted = 0.0
    for host in hosts:
        status_code, text = _metrics(f"{host}/metrics", module.METRICS_TOKEN)
        assert status_code == 200
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (
                    sample.name == "gridflow_http_responses_total"
                    and sample.labels.get("route") == "/api/events"
                ):
                    posted += sample.value
    assert posted == 2


def test_both_hosts_are_ready_on_the_shared_database(cluster: Any) -> None:
    module = bench_cluster()
    for n in range(2):
        status, body = module.call("GET", f"http://127.0.0.1:{cluster.host_port(n)}/readyz")
        assert status == 200 and body["status"] == "ready"


def _metrics(url: str, bearer: str) -> tuple[int, str]:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, answer.read().decode()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_gunicorn_workers_end_when_their_master_is_killed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gridflow.db'}"
    port = free_ports(1)
    env = {
        **os.environ,
        "GRIDFLOW_DATABASE_URL": url,
        "GRIDFLOW_PROCESSES": str(PROCESSES),
        "GRIDFLOW_SECRET_KEY": "t",
        "GRIDFLOW_BIND": f"127.0.0.1:{port}",
        "GRIDFLOW_WEB_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    Database(url).migrate()
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:gridflow.gunicorn_conf",
            "gridflow.app:create_app()",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_children(master.pid)) < 2:
            assert time.monotonic() < deadline, "gunicorn did not start its workers"
            time.sleep(0.1)
        workers = _children(master.pid)
        bench_cluster().wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=120)
        master.send_signal(signal.SIGKILL)
        master.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, f"orphaned workers: {workers}"
            time.sleep(0.1)
    finally:
        if master.poll() is None:
            master.kill()
