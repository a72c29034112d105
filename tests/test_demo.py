"""The demo: simulated demands run through the real engine and store, every link with its events."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import PROCESSES
from sqlalchemy import create_engine, text

from gridflow.cli import main
from gridflow.demo import run_demo


def test_demo_runs_every_demand_to_its_end_with_every_link_evented(database_url: str) -> None:
    result = run_demo(database_url, instances=25, seed=7, weeks=2, processes=PROCESSES)
    assert result.demands == 25
    assert result.instances_by_status == {"completed": 25}
    engine = create_engine(database_url)
    with engine.connect() as connection:
        # Each work item's lifecycle, as the ordered list of its events.
        rows = connection.execute(
            text(
                "SELECT w.id, w.state, e.lifecycle FROM work_items w "
                "LEFT JOIN task_events e ON e.work_item_id = w.id ORDER BY w.id, e.id"
            )
        ).all()
        lifecycles: dict[int, tuple[str, list[str]]] = {}
        for item_id, state, lifecycle in rows:
            lifecycles.setdefault(item_id, (state, []))[1].append(lifecycle)
        shapes = {(state, tuple(events)) for state, events in lifecycles.values()}
        assert shapes <= {
            ("completed", ("ready", "claimed", "completed")),
            ("completed", ("ready", "claimed", "escalated", "completed")),
            ("completed", ("ready", "escalated", "claimed", "completed")),
        }
        assert ("completed", ("ready", "claimed", "completed")) in shapes
        assert len(lifecycles) == result.links_completed
        durations = connection.execute(
            text(
                "SELECT count(*) FROM work_items WHERE waiting_s IS NULL OR handling_s IS NULL "
                "OR waiting_s < 0 OR handling_s < 0 OR within_standard IS NULL"
            )
        ).scalar()
        assert durations == 0
    engine.dispose()


def test_same_seed_gives_the_same_demo(tmp_path: Path) -> None:
    first = run_demo(
        f"sqlite:///{tmp_path / 'a.db'}", instances=15, seed=3, weeks=1, processes=PROCESSES
    )
    second = run_demo(
        f"sqlite:///{tmp_path / 'b.db'}", instances=15, seed=3, weeks=1, processes=PROCESSES
    )
    assert (first.links_completed, first.task_events, first.simulated_to) == (
        second.links_completed,
        second.task_events,
        second.simulated_to,
    )


def test_stats_json_counts_what_the_demo_made(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner(env={"GRIDFLOW_PROCESSES": str(PROCESSES)})
    demo = runner.invoke(main, ["demo", "--database", url, "--instances", "12", "--seed", "5"])
    assert demo.exit_code == 0, demo.output
    stats = runner.invoke(main, ["stats", "--database", url, "--json"])
    assert stats.exit_code == 0, stats.output
    figures = json.loads(stats.stdout)
    assert figures["instances"] == {"completed": 12}
    assert figures["work_items"]["open"] == 0
    completed = figures["work_items"]["completed"]
    assert figures["task_events"]["ready"] == completed
    assert figures["task_events"]["completed"] == completed
    summary = runner.invoke(main, ["summary", "--database", url])
    assert summary.exit_code == 0
    assert summary.stdout.splitlines()[0].split() == [
        "process",
        "v",
        "link",
        "count",
        "wait",
        "p50",
        "handle",
        "p50",
        "in",
        "std",
    ]


def test_demo_left_open_at_now_has_work_in_flight_and_accounts(tmp_path: Path) -> None:
    from gridflow import users
    from gridflow.demo import DEMO_PASSWORD
    from gridflow.runtime import Runtime

    url = f"sqlite:///{tmp_path / 'open.db'}"
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    result = run_demo(
        url, instances=30, seed=4, weeks=1, processes=PROCESSES, leave_open=True, accounts=True
    )
    assert result.instances_by_status.get("running", 0) > 0
    rt = Runtime.create(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        open_items = connection.execute(
            text("SELECT count(*) FROM work_items WHERE state IN ('ready', 'claimed')")
        ).scalar()
        latest = connection.execute(text("SELECT max(at) FROM task_events")).scalar()
    engine.dispose()
    assert open_items and open_items > 0
    assert users.authenticate(rt, "planner1", DEMO_PASSWORD) is not None
    assert users.authenticate(rt, "desk3", DEMO_PASSWORD) is not None
    assert users.authenticate(rt, "auditor2", DEMO_PASSWORD) is None  # one per staff role
    assert latest is not None and str(latest) <= str(result.simulated_to.replace(tzinfo=None))
    rt.db.dispose()
