"""The demo: simulated demands run through the real engine and store, every link with its
events; the stand-in systems serve every external task (completing, failing and retrying,
refusing a payment, opening incidents a supervisor retries), the called meter installations'
links and the countersigns are worked like any other, and a demo left open at now has the
metering system down with its incidents open."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from conftest import PROCESSES
from sqlalchemy import create_engine, text

from gridflow.cli import main
from gridflow.clock import SimulatedClock
from gridflow.demo import DEMO_NAMES, metering_outage, run_demo
from gridflow.runtime import Runtime

BEIJING = timezone(timedelta(hours=8))


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = [tuple(row) for row in connection.execute(text(sql)).all()]
    engine.dispose()
    return found


def test_demo_runs_every_demand_to_its_end_with_every_link_evented(database_url: str) -> None:
    result = run_demo(database_url, instances=25, seed=7, weeks=2, processes=PROCESSES)
    assert result.demands == 25
    # Every demand's process ended, and every meter installation it called.
    assert list(result.instances_by_status) == ["completed"]
    [(demands, called)] = rows(
        database_url,
        "SELECT count(*) FILTER (WHERE parent_instance_id IS NULL), "
        "count(*) FILTER (WHERE parent_instance_id IS NOT NULL) FROM instances",
    )
    assert demands == 25
    assert result.instances_by_status["completed"] == 25 + called
    engine = create_engine(database_url)
    with engine.connect() as connection:
        # Each work item's lifecycle, as the ordered list of its events.
        events = connection.execute(
            text(
                "SELECT w.id, w.state, e.lifecycle FROM work_items w "
                "LEFT JOIN task_events e ON e.work_item_id = w.id ORDER BY w.id, e.id"
            )
        ).all()
        lifecycles: dict[int, tuple[str, list[str]]] = {}
        for item_id, state, lifecycle in events:
            lifecycles.setdefault(item_id, (state, []))[1].append(lifecycle)
        shapes = {(state, tuple(events)) for state, events in lifecycles.values()}
        assert shapes <= {
            ("completed", ("ready", "claimed", "completed")),
            ("completed", ("ready", "claimed", "escalated", "completed")),
            ("completed", ("ready", "escalated", "claimed", "completed")),
            # A countersign signature withdrawn when another department rejected the scheme.
            ("cancelled", ("ready", "cancelled")),
            ("cancelled", ("ready", "claimed", "cancelled")),
        }
        assert ("completed", ("ready", "claimed", "completed")) in shapes
        completed = [s for s, _ in lifecycles.values() if s == "completed"]
        assert len(completed) == result.links_completed
        durations = connection.execute(
            text(
                "SELECT count(*) FROM work_items WHERE state = 'completed' AND (waiting_s IS NULL "
                "OR handling_s IS NULL OR waiting_s < 0 OR handling_s < 0 "
                "OR within_standard IS NULL)"
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
    assert list(figures["instances"]) == ["completed"]
    assert set(figures["system_steps"]) <= {"completed", "error"}  # nothing left waiting
    assert figures["system_steps"]["completed"] > 0
    assert list(figures["incidents"]) in ([], ["resolved"])
    assert figures["work_items"]["open"] == 0
    completed = figures["work_items"]["completed"]
    links = sum(n for state, n in figures["work_items"].items() if state != "open")
    steps = figures["system_steps"]
    # One "ready" for every link and system step, one "completed" for each that completed.
    assert figures["task_events"]["ready"] == links + sum(steps.values())
    assert figures["task_events"]["completed"] == completed + steps["completed"]
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


def test_the_demo_serves_every_system_step_and_works_every_called_and_countersign_link(
    database_url: str,
) -> None:
    result = run_demo(database_url, instances=60, seed=1, weeks=3, processes=PROCESSES)
    assert list(result.instances_by_status) == ["completed"]
    steps = dict(
        rows(
            database_url,
            "SELECT element_id || ':' || state, count(*) FROM system_tasks GROUP BY 1",
        )
    )
    # Every external task was answered and every meter installation called ran to its end.
    assert set(steps) <= {
        "Activity_archive_customer:completed",
        "Activity_check_payment:completed",
        "Activity_check_payment:error",
        "Activity_meter_installation:completed",
        "Activity_order_meter:completed",
    }
    assert steps["Activity_check_payment:error"] >= 1  # a refused payment took the reminder
    assert steps["Activity_meter_installation:completed"] == steps["Activity_order_meter:completed"]
    lifecycles = dict(
        rows(
            database_url,
            "SELECT lifecycle, count(*) FROM task_events WHERE system_task_id IS NOT NULL "
            "GROUP BY lifecycle",
        )
    )
    assert lifecycles["ready"] == sum(steps.values())  # every step's events name it
    assert lifecycles["failed"] >= 1 and lifecycles["retried"] >= 1
    # Incidents opened and a supervisor retried every one of them.
    incidents = rows(database_url, "SELECT state, resolution, resolved_by FROM incidents")
    assert incidents and set(incidents) == {("resolved", "retried", "supervisor1")}
    # The called meter installations' links and the reminders were worked by their people.
    worked = dict(
        rows(
            database_url,
            "SELECT element_id, count(*) FROM work_items WHERE state = 'completed' AND "
            "element_id IN ('Activity_install_meter', 'Activity_remind_payment', "
            "'Activity_countersign') GROUP BY element_id",
        )
    )
    assert worked["Activity_install_meter"] == steps["Activity_order_meter:completed"]
    assert worked["Activity_remind_payment"] >= 1
    # Each countersign signature was done by someone of the department it went to.
    signers = rows(
        database_url,
        "SELECT role, completed_by FROM work_items WHERE element_id = 'Activity_countersign' "
        "AND state = 'completed'",
    )
    assert {role for role, _ in signers} == {
        "planning_design",
        "dispatch_repair",
        "metering",
        "finance",
    }
    for role, person in signers:
        assert str(person).startswith(DEMO_NAMES[str(role)]), (role, person)


def test_a_demo_left_open_has_the_metering_system_down_with_its_incidents_open(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'open.db'}"
    now = datetime(2026, 11, 25, 15, 0, tzinfo=BEIJING).astimezone(UTC)  # a Wednesday
    run_demo(url, instances=60, seed=1, weeks=2, processes=PROCESSES, leave_open=True, now=now)
    incidents = rows(
        url,
        "SELECT i.state, i.resolution, i.message, i.created_at FROM incidents i ORDER BY i.id",
    )
    down = "metering system: meter order interface down since 2026-11-24 09:00"
    still_open = [i for i in incidents if i[0] == "open"]
    assert still_open and all(str(message).startswith(down) for _, _, message, _ in still_open)
    # Before the outage, the supervisor retried what failed; the outage's wait for the system.
    retried = [i for i in incidents if i[:2] == ("resolved", "retried")]
    assert retried
    assert all(not str(message).startswith(down) for _, _, message, _ in retried)


def test_the_metering_outage_began_on_the_working_day_before_the_last_one_begun(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cal.db'}"
    rt = Runtime.create(url, clock=SimulatedClock(datetime(2026, 11, 2, tzinfo=UTC)))
    for now, since in [
        (datetime(2026, 11, 25, 15, 0), datetime(2026, 11, 24, 9, 0)),  # Wednesday afternoon
        (datetime(2026, 11, 25, 8, 0), datetime(2026, 11, 23, 9, 0)),  # Wednesday, before nine
        (datetime(2026, 11, 29, 12, 0), datetime(2026, 11, 26, 9, 0)),  # Sunday: Thursday
        (datetime(2026, 10, 8, 10, 0), datetime(2026, 9, 30, 9, 0)),  # after National Day
    ]:
        outage = metering_outage(rt, now.replace(tzinfo=BEIJING).astimezone(UTC))
        assert outage.topic == "meter_order"
        assert outage.start == since.replace(tzinfo=BEIJING).astimezone(UTC), now
        assert outage.end > now.replace(tzinfo=BEIJING)
    rt.db.dispose()
