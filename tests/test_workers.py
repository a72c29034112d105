"""Several workers on one database, no leader: each due timer fires once, a dispatch round keyed
once runs once, a worker that dies (`kill -9`) leaves its timer batch to another once its lease
runs out, and SIGTERM lets a worker finish its round and exit 0. The multi-process tests run
real `gridflow worker` processes on PostgreSQL; the lease rules run in-process on both
databases on the simulated clock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bpmn_samples import chain, field, process, user_task
from conftest import MONDAY_9AM, PROCESSES, ROOT
from sqlalchemy import func, select

from gridflow import catalog, definitions, dispatch, heartbeats, instances, timers
from gridflow.clock import SimulatedClock
from gridflow.models import DispatchRound, TaskEvent, TimerLease, Wait
from gridflow.runtime import Runtime
from gridflow.worker import Worker

# start → wait one hour → a link of the account manager → end.
TIMED_WAIT = process(
    '<bpmn:startEvent id="StartEvent_1" />'
    '<bpmn:intermediateCatchEvent id="Event_wait"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:intermediateCatchEvent>"
    + user_task("Activity_after", field("note", required=False))
    + '<bpmn:endEvent id="End_done" />'
    + chain("StartEvent_1", "Event_wait", "Activity_after", "End_done"),
    process_id="timed_wait",
)
GRIDFLOW = [sys.executable, "-m", "gridflow.cli"]


def waiting_instances(rt: Runtime, count: int) -> list[int]:
    """`count` instances waiting on a one-hour timer, started at the simulated clock's now."""
    catalog.deploy(rt, [definitions.parse(TIMED_WAIT.encode(), "timed_wait.bpmn", rt.roles)], "t")
    return [
        instances.start_instance(rt, "timed_wait", {}, business_key=f"T-{n}").instance_id
        for n in range(count)
    ]


def after_links(rt: Runtime) -> dict[int, int]:
    """Instance → how many times its link after the timer became ready (1 = fired once)."""
    with rt.db.read() as session:
        rows = session.execute(
            select(TaskEvent.instance_id, func.count())
            .where(TaskEvent.element_id == "Activity_after", TaskEvent.lifecycle == "ready")
            .group_by(TaskEvent.instance_id)
        ).all()
    return {instance_id: count for instance_id, count in rows}


def timer_waits(rt: Runtime) -> int:
    with rt.db.read() as session:
        return session.scalar(select(func.count()).select_from(Wait).where(Wait.kind == "timer"))


def worker_process(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GRIDFLOW_DATABASE_URL": url, "GRIDFLOW_PROCESSES": str(PROCESSES)}
    env.pop("GRIDFLOW_LOG_FORMAT", None)
    return subprocess.Popen(
        [*GRIDFLOW, "worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def fired_said(output: str) -> int:
    """What a worker said it fired, added up over its rounds."""
    return sum(
        int(line.split()[3]) for line in output.splitlines() if line.startswith("fired timers on ")
    )


def until(condition, timeout: float = 30.0, step: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(step)


# --- leases, in-process, on both databases -------------------------------------------------------


def test_a_timer_batch_leased_to_a_worker_is_left_alone_until_its_lease_runs_out(
    rt: Runtime, clock: SimulatedClock
) -> None:
    ids = waiting_instances(rt, 5)
    clock.advance(timedelta(hours=2))
    # A worker claims three instances and dies before firing them.
    claimed = timers.claim(rt, "dead-worker", batch=3, lease=timedelta(seconds=60))
    assert claimed == ids[:3]
    # Another worker fires the other two only.
    assert timers.fire_due_timers(rt, worker_id="other") == 2
    assert sorted(after_links(rt)) == ids[3:]
    assert {i: w for i, (w, _until) in timers.leases(rt).items()} == dict.fromkeys(
        ids[:3], "dead-worker"
    )
    clock.advance(timedelta(seconds=60))
    assert timers.fire_due_timers(rt, worker_id="other") == 0  # due exactly now: still held
    clock.advance(timedelta(milliseconds=1))
    assert timers.fire_due_timers(rt, worker_id="other") == 3
    assert after_links(rt) == dict.fromkeys(ids, 1)
    assert timers.leases(rt) == {} and timer_waits(rt) == 0
    # The dead worker, had it only been slow, finds its leases taken and fires nothing.
    assert timers.fire_claimed(rt, "dead-worker", claimed) == 0
    assert after_links(rt) == dict.fromkeys(ids, 1)


def test_a_worker_round_records_its_heartbeat_and_backlogs(
    rt: Runtime, clock: SimulatedClock
) -> None:
    waiting_instances(rt, 2)
    clock.advance(timedelta(hours=1, minutes=30))
    assert timers.backlog(rt) == (2, 1800.0)
    said: list[str] = []
    worker = Worker(rt, worker_id="w-1", interval=5, say=said.append)
    assert worker.run(once=True) == 2  # the first round fires both, the second finds nothing
    assert [line for line in said if "timers" in line] == ["fired timers on 2 instance(s)"]
    assert timers.backlog(rt) == (0, 0.0)
    # What a round writes carries the round as its request id.
    with rt.db.read() as session:
        marks = session.scalars(
            select(TaskEvent.details).where(TaskEvent.element_id == "Activity_after")
        ).all()
    assert marks == [{"request_id": "worker:w-1:1"}] * 2
    [beat] = heartbeats.listed(rt)
    assert (beat.worker_id, beat.state, beat.rounds, beat.pid) == ("w-1", "stopped", 2, os.getpid())
    assert beat.beat_at == clock.now()
    assert not beat.alive(clock.now())


def test_two_workers_in_one_period_run_one_dispatch_round(
    rt: Runtime, clock: SimulatedClock
) -> None:
    from test_dispatch import crew

    crew(rt)
    started = instances.start_instance(
        rt, "active_repair", {"feeder": "F007", "area": "urban"}, business_key="A-1"
    )
    first, second = Worker(rt, worker_id="a"), Worker(rt, worker_id="b")
    assert first.run_round() == 1
    assert second.run_round() == 0  # the same period: the first worker's round, replayed
    with rt.db.read() as session:
        rounds = session.execute(select(DispatchRound.key, DispatchRound.assigned)).all()
        assigned = session.scalar(
            select(func.count())
            .select_from(TaskEvent)
            .where(TaskEvent.instance_id == started.instance_id, TaskEvent.lifecycle == "assigned")
        )
    assert rounds == [("worker:2026-03-02T01:00:00", 1)] and assigned == 1
    clock.advance(timedelta(seconds=10))
    assert second.run_round() == 0  # the next period: a round of its own, nothing left to give
    with rt.db.read() as session:
        assert session.scalar(select(func.count()).select_from(DispatchRound)) == 2


# --- real processes on PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def pg_rt(postgres_database: str) -> Iterator[Runtime]:
    """A runtime on the PostgreSQL test database, emptied, processes deployed, on a simulated
    clock at a Monday long past: its timers are due for workers on the real clock."""
    from conftest import _CALENDAR, _ROLES, _truncate

    _truncate(postgres_database)
    rt = Runtime.create(
        postgres_database, clock=SimulatedClock(MONDAY_9AM), calendar=_CALENDAR, roles=_ROLES
    )
    catalog.deploy_paths(rt, [PROCESSES], "test")
    yield rt
    rt.db.dispose()


def test_two_workers_on_postgresql_fire_200_due_timers_once_each(pg_rt: Runtime) -> None:
    ids = waiting_instances(pg_rt, 200)
    url = pg_rt.db.url
    workers = [worker_process(url, "--once", "--batch", "10") for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    said = [fired_said(out) for out, _err in outputs]
    # Each timer fired once: as many firings said as timers, one link after each.
    assert sum(said) == 200, said
    assert after_links(pg_rt) == dict.fromkeys(ids, 1)
    assert timer_waits(pg_rt) == 0 and timers.leases(pg_rt) == {}
    beats = heartbeats.listed(pg_rt)
    assert [b.state for b in beats] == ["stopped", "stopped"]


def test_a_workers_timer_batch_is_fired_by_another_after_its_lock_time_when_it_is_killed(
    pg_rt: Runtime,
) -> None:
    ids = waiting_instances(pg_rt, 60)
    url = pg_rt.db.url
    # A worker claims a batch of 40 with a 30-second lock (long enough for a loaded machine to
    # start the other worker and see the lock hold) and is killed while firing it.
    doomed = worker_process(url, "--batch", "40", "--lock-time", "30", "--interval", "30")
    until(lambda: len(timers.leases(pg_rt)) > 0, timeout=120, step=0.005)
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=10)
    held = timers.leases(pg_rt)
    fired_by_doomed = after_links(pg_rt)
    assert held and set(held).isdisjoint(fired_by_doomed)
    assert sorted([*held, *fired_by_doomed]) == ids[:40]
    [(holder, lease_end)] = set(held.values())
    assert holder.split(":")[1] == str(doomed.pid)
    # Another worker fires the 20 nobody held at once, and the held ones only after the lock.
    other = worker_process(url, "--interval", "0.2", "--lock-time", "30")
    try:
        until(lambda: len(after_links(pg_rt)) >= 60 - len(held), timeout=60)
        assert datetime.now(UTC) < lease_end, "the machine was too slow to see the lease hold"
        assert set(after_links(pg_rt)).isdisjoint(held)
        until(lambda: len(after_links(pg_rt)) == 60, timeout=120)
    finally:
        other.send_signal(signal.SIGTERM)
        out, err = other.communicate(timeout=60)
    assert other.returncode == 0, err
    # Each fired once: by the killed worker before it died, or by the other one.
    assert after_links(pg_rt) == dict.fromkeys(ids, 1)
    assert fired_said(out) == 60 - len(fired_by_doomed)
    with pg_rt.db.read() as session:
        fired_at = session.scalars(
            select(TaskEvent.at).where(
                TaskEvent.element_id == "Activity_after",
                TaskEvent.instance_id.in_(list(held)),
            )
        ).all()
        assert session.scalar(select(func.count()).select_from(TimerLease)) == 0
    assert min(fired_at) > lease_end
    dead = next(b for b in heartbeats.listed(pg_rt) if b.worker_id == holder)
    assert dead.state == "running" and not dead.alive(datetime.now(UTC) + timedelta(seconds=120))


def test_sigterm_during_a_round_lets_the_worker_finish_it_and_exit_0(pg_rt: Runtime) -> None:
    ids = waiting_instances(pg_rt, 120)
    worker = worker_process(pg_rt.db.url, "--batch", "120", "--interval", "30")
    try:
        # The round has begun: the worker holds the whole batch and is firing it.
        until(lambda: len(timers.leases(pg_rt)) > 0, timeout=60, step=0.01)
        assert len(after_links(pg_rt)) < 120
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    # The round ran to its end: every timer it claimed fired, no lease is left behind.
    assert [line for line in out.splitlines() if "timers" in line] == [
        "fired timers on 120 instance(s)"
    ]
    assert after_links(pg_rt) == dict.fromkeys(ids, 1)
    assert timers.leases(pg_rt) == {}
    [beat] = heartbeats.listed(pg_rt)
    assert (beat.state, beat.rounds) == ("stopped", 1)
    assert "stopped after 1 round(s)" in err


def test_a_dispatch_round_keyed_once_runs_once_on_two_workers_at_the_same_moment(
    pg_rt: Runtime,
) -> None:
    from test_dispatch import crew

    crew(pg_rt)
    for n, feeder in enumerate(("F007", "F008")):
        instances.start_instance(
            pg_rt, "active_repair", {"feeder": feeder, "area": "urban"}, business_key=f"A-{n}"
        )
    # Two workers (their own connection pools) run the round of one key at the same moment.
    other = Runtime.create(
        pg_rt.db.url, clock=pg_rt.clock, calendar=pg_rt.calendar, roles=pg_rt.roles
    )
    gate = threading.Barrier(2)
    answers: list[dispatch.Round] = []

    def run(rt: Runtime) -> None:
        gate.wait()
        answers.append(dispatch.run_round(rt, "period-1"))

    threads = [threading.Thread(target=run, args=(rt,)) for rt in (pg_rt, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    other.db.dispose()
    assert sorted(a.replayed for a in answers) == [False, True]
    assert answers[0].assignments == answers[1].assignments
    assert len(answers[0].assignments) == 1  # one vehicle: one repair goes out
    with pg_rt.db.read() as session:
        assert session.execute(select(DispatchRound.key, DispatchRound.assigned)).all() == [
            ("period-1", 1)
        ]
        assert (
            session.scalar(
                select(func.count()).select_from(TaskEvent).where(TaskEvent.lifecycle == "assigned")
            )
            == 1
        )


def test_the_worker_refuses_settings_out_of_range(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gridflow.cli import main

    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = CliRunner().invoke(main, ["worker", "--once", "--database", url, "--lock-time", "0"])
    assert result.exit_code == 2
    assert "--lock-time 1 to 86400 s" in result.output
