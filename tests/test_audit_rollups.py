"""The auditors' per-link figures through the roll-ups (gridflow.link_rollups) are exactly the
figures of a full scan: a real history (the shipped BPMN files run by the engine in the demo
simulation), the roll-ups refreshed up to a watermark in the middle of it, more demands run
to their end after that (the live tail), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gridflow import audit, link_rollups
from gridflow.audit import AuditFilter
from gridflow.clock import SimulatedClock
from gridflow.demo import Simulation, run_demo
from gridflow.link_rollups import refreshing
from gridflow.models import WorkItem
from gridflow.runtime import Runtime, load_roles
from gridflow.worker.jobs import JOBS
from gridflow.worker.loop import Worker

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


def _figures(rt: Runtime, flt: AuditFilter, method: str) -> list[dict[str, Any]]:
    return [f.as_json() for f in audit.link_figures(rt, flt, method=method)]


def assert_same_figures(rt: Runtime, flt: AuditFilter = audit.EVERYTHING) -> int:
    """Roll-ups and tail against the full scan: every figure equal, the means to the last few
    bits (a float sum rounds differently in another order); returns the links compared."""
    rolled, scanned = _figures(rt, flt, "rollup"), _figures(rt, flt, "index")
    assert [(f["definition_id"], f["element_id"]) for f in rolled] == [
        (f["definition_id"], f["element_id"]) for f in scanned
    ]
    for ours, theirs in zip(rolled, scanned, strict=True):
        for key, value in theirs.items():
            if key.endswith("_mean_s") and value is not None:
                assert ours[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
            else:
                assert ours[key] == value, (ours["element_id"], key)
    assert audit.breaches_by_person(rt, flt, method="rollup") == audit.breaches_by_person(
        rt, flt, method="scan"
    )
    return len(scanned)


def _completed(rt: Runtime) -> list[Any]:
    with rt.db.snapshot() as connection:
        return list(
            connection.execute(
                select(WorkItem.ended_at)
                .where(WorkItem.state == "completed")
                .order_by(WorkItem.ended_at)
            ).scalars()
        )


def test_rollups_and_their_tail_give_the_full_scans_figures_exactly(database_url: str) -> None:
    run_demo(database_url, instances=10, seed=7, weeks=1, processes=PROCESSES)
    roles = load_roles(PROCESSES / "roles.yaml")
    ends = _completed(Runtime.create(database_url, roles=roles))
    clock = SimulatedClock(ends[-1] + timedelta(hours=1))
    rt = Runtime.create(database_url, clock=clock, roles=roles)
    # No refresh yet: the roll-up way answers by the full scan.
    assert assert_same_figures(rt) > 10
    # A watermark at the first completion: nothing folded, everything is the tail.
    assert link_rollups.refresh(rt, ends[0]) == 0
    assert_same_figures(rt)

    # Half the history folded in, the other half the live tail.
    middle = ends[len(ends) // 2]
    folded = link_rollups.refresh(rt, middle)
    assert folded == sum(1 for end in ends if end < middle)
    assert 0 < folded < len(ends)
    links = assert_same_figures(rt)
    assert links > 10
    with rt.db.snapshot() as connection:
        repeated = connection.execute(
            select(func.count())
            .select_from(link_rollups.AuditLinkRollup)
            .where(link_rollups.AuditLinkRollup.repeated > 0)
        ).scalar_one()
    figures = audit.link_figures(rt, method="rollup")
    assert sum(1 for f in figures if f.rework_instances) >= repeated

    # More demands run to their end through the engine after the watermark: a longer tail.
    simulation = Simulation(rt, clock, 11, ())
    simulation.arrivals(6, 1)
    simulation.run()
    assert len(_completed(rt)) > len(ends)
    assert_same_figures(rt)
    # Filtered as a supervisor (their departments) and by process and version.
    departments = frozenset(f.department for f in audit.breaches_by_person(rt)[:2])
    assert_same_figures(rt, AuditFilter(departments=departments))
    process = figures[0].process_id
    assert_same_figures(rt, AuditFilter(process_id=process))
    assert_same_figures(rt, AuditFilter(process_id=process, version=figures[0].version))
    person = AuditFilter(person=audit.breaches_by_person(rt)[0].person)
    assert audit.breaches_by_person(rt, person, method="rollup") == audit.breaches_by_person(
        rt, person, method="scan"
    )

    # The worker's round folds the tail in (what ended up to LAG before its clock), once.
    everything = _completed(rt)
    assert any(f.rework_executions for f in audit.link_figures(rt, method="index"))
    clock.set(everything[-1] + link_rollups.LAG + timedelta(seconds=1))
    worker = Worker(rt, jobs=[job for job in JOBS if job.name == "audit_rollups"])
    assert worker.run_round() == sum(1 for end in everything if end >= middle)
    assert link_rollups.refresh(rt) == 0
    assert_same_figures(rt)
    # A rebuild from scratch gives the same roll-ups.
    assert link_rollups.rebuild(rt, everything[-1] + timedelta(seconds=1)) == len(everything)
    assert_same_figures(rt)
    rt.db.dispose()


def test_on_sqlite_a_clerk_completes_a_link_while_the_first_fold_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first refresh after an upgrade reads for minutes at 10M events: on SQLite it reads
    in a read transaction, so a clerk's complete meanwhile is saved at once (it used to wait
    for the whole fold, past the 30 s busy timeout), and the roll-ups it stores count the
    links that ended before the watermark, not the one completed meanwhile."""
    from conftest import MONDAY_9AM, complete
    from test_work_items import ACCEPT, ZHANG, residential

    from gridflow import catalog
    from gridflow.working_time import WorkingCalendar

    url = f"sqlite:///{tmp_path / 'gridflow.db'}"
    clock = SimulatedClock(MONDAY_9AM)
    rt = Runtime.create(
        url, clock=clock, calendar=WorkingCalendar(), roles=load_roles(PROCESSES / "roles.yaml")
    )
    rt.db.migrate()
    catalog.deploy_paths(rt, [PROCESSES], "test")
    first, second = residential(rt), residential(rt)
    complete(rt, first, "Activity_accept", ACCEPT, ZHANG)
    clock.advance(timedelta(hours=1))
    upto = clock.now()
    clock.advance(timedelta(minutes=5))

    # refresh and rebuild look `_fold` up in gridflow.link_rollups.refreshing: patch it there.
    fold = refreshing._fold
    during: list[str] = []

    def fold_while_a_clerk_completes(*args: Any) -> Any:  # noqa: ANN401
        clerk = threading.Thread(
            target=lambda: during.append(
                complete(rt, second, "Activity_accept", ACCEPT, ZHANG).state
            )
        )
        clerk.start()
        clerk.join(timeout=10)
        assert not clerk.is_alive(), "the clerk's complete waited for the fold"
        return fold(*args)

    monkeypatch.setattr(refreshing, "_fold", fold_while_a_clerk_completes)
    assert link_rollups.refresh(rt, upto) == 1
    assert during == ["completed"]
    monkeypatch.setattr(refreshing, "_fold", fold)
    assert_same_figures(rt)
    assert link_rollups.rebuild(rt, upto) == 1
    assert link_rollups.refresh(rt, clock.advance(timedelta(minutes=1))) == 1
    assert_same_figures(rt)
    rt.db.dispose()
