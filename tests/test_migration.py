"""Moving running instances between versions: the dry run says which can move and why the
others cannot; a move changes the instance's version, its saved run and its open links, records
a `migrated` event on each open link and a migration record with who, when, from and to; open
links keep their due time and timers theirs, links reached later follow the new version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import MONDAY_9AM, ROOT, STAFF_PASSWORD, complete, login, open_items
from sqlalchemy import select

from gridflow import instances, migration, users, versions
from gridflow.catalog import Deployment
from gridflow.clock import SimulatedClock
from gridflow.models import Instance, InstanceMigration, TaskEvent, Wait
from gridflow.roles import Actor
from gridflow.runtime import Runtime

XML = (Path(__file__).resolve().parent / "designer" / "meter_check.bpmn").read_bytes()
DESIGNER = Actor("designer1", frozenset({"designer"}))
# Version 2: the on-site check gets 5 working days instead of 3, the call back 2 instead of 1.
SLOWER = XML.replace(b'value="P3D"', b'value="P5D"').replace(
    b'<camunda:property name="standard_target" value="P1D" />',
    b'<camunda:property name="standard_target" value="P2D" />',
)
# Version 3: the on-site check is a new step with another id; the old one is gone.
RENAMED = XML.replace(b"Activity_check", b"Activity_inspect")


def deploy(rt: Runtime, xml: bytes) -> Deployment:
    return versions.deploy_bpmn(rt, xml, "meter_check.bpmn", "designer1", "upload")


def waits(rt: Runtime, instance_id: int) -> list[tuple[str, object]]:
    with rt.db.read() as session:
        return [
            (w.element_id, w.due_at)
            for w in session.scalars(select(Wait).where(Wait.instance_id == instance_id))
        ]


def test_dry_run_lists_who_can_move_and_why_the_others_cannot(rt: Runtime) -> None:
    v1 = deploy(rt, XML)
    at_record = instances.start_instance(rt, "meter_check", {}, business_key="A").instance_id
    at_check = instances.start_instance(rt, "meter_check", {}, business_key="B").instance_id
    complete(rt, at_check, "Activity_record")
    v3 = deploy(rt, RENAMED)
    plan = migration.dry_run(rt, v1.definition_id, v3.definition_id)
    assert [(c.instance_id, c.business_key, c.open_links, c.movable) for c in plan] == [
        (at_record, "A", ("Activity_record",), True),
        (at_check, "B", ("Activity_check",), False),
    ]
    assert plan[1].reasons == ("open link 'Activity_check' does not exist in version 2",)
    # A dry run changes nothing.
    with rt.db.read() as session:
        assert set(session.scalars(select(Instance.definition_id))) == {v1.definition_id}
        assert session.scalars(select(InstanceMigration)).all() == []


def test_a_move_keeps_open_due_times_and_later_links_follow_the_new_version(
    rt: Runtime, clock: SimulatedClock
) -> None:
    v1 = deploy(rt, XML)
    instance_id = instances.start_instance(rt, "meter_check", {}, business_key="A").instance_id
    complete(rt, instance_id, "Activity_record")
    [check] = open_items(rt, instance_id)
    timer_before = waits(rt, instance_id)
    # Monday 09:00 + 3 working days: the end of Wednesday's working day (17:30 in Beijing).
    wednesday_close = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert check.due_at == wednesday_close
    assert timer_before == [("Event_check_overdue", wednesday_close)]
    v2 = deploy(rt, SLOWER)
    clock.advance(timedelta(hours=1))
    [moved] = migration.migrate(rt, v1.definition_id, v2.definition_id, [instance_id], DESIGNER)
    assert moved.moved and moved.open_links == ("Activity_check",)
    [check_after] = open_items(rt, instance_id)
    assert (check_after.id, check_after.task_id) == (check.id, check.task_id)
    assert check_after.definition_id == v2.definition_id
    assert (check_after.due_at, check_after.standard_target) == (check.due_at, "P3D")
    assert waits(rt, instance_id) == timer_before
    with rt.db.read() as session:
        instance = session.get(Instance, instance_id)
        assert instance is not None and instance.definition_id == v2.definition_id
        [event] = session.scalars(
            select(TaskEvent).where(
                TaskEvent.instance_id == instance_id, TaskEvent.lifecycle == "migrated"
            )
        )
        assert (event.work_item_id, event.definition_id, event.actor) == (
            check.id,
            v2.definition_id,
            "designer1",
        )
        assert event.at == MONDAY_9AM.replace(hour=2)
        assert event.details == {
            "from_version": 1,
            "to_version": 2,
            "from_definition_id": v1.definition_id,
            "to_definition_id": v2.definition_id,
            "due_at": check.due_at.isoformat(),
            "standard_target": "P3D",
            "standard_basis": "working",
        }
        [record] = session.scalars(select(InstanceMigration))
        assert (
            record.instance_id,
            record.from_version,
            record.to_version,
            record.actor,
            record.at,
        ) == (instance_id, 1, 2, "designer1", MONDAY_9AM.replace(hour=2))
    # The saved run is on version 2: the call back after the check gets version 2's 2 days.
    complete(rt, instance_id, "Activity_check")
    [call_back] = open_items(rt, instance_id)
    assert (call_back.definition_id, call_back.standard_target) == (v2.definition_id, "P2D")
    complete(rt, instance_id, "Activity_call_back")
    with rt.db.read() as session:
        assert session.get(Instance, instance_id).status == "completed"  # type: ignore[union-attr]


def test_a_refused_move_changes_nothing(rt: Runtime) -> None:
    v1 = deploy(rt, XML)
    instance_id = instances.start_instance(rt, "meter_check", {}, business_key="B").instance_id
    complete(rt, instance_id, "Activity_record")
    with rt.db.read() as session:
        before = session.get(Instance, instance_id)
        assert before is not None
        document, lock_version = before.document, before.lock_version
    v3 = deploy(rt, RENAMED)
    [refused] = migration.migrate(rt, v1.definition_id, v3.definition_id, [instance_id], DESIGNER)
    assert (refused.instance_id, refused.business_key, refused.moved) == (instance_id, "B", False)
    assert refused.reasons == ("open link 'Activity_check' does not exist in version 2",)
    with rt.db.read() as session:
        after = session.get(Instance, instance_id)
        assert after is not None
        assert (after.definition_id, after.document, after.lock_version) == (
            v1.definition_id,
            document,
            lock_version,
        )
        assert session.scalars(select(InstanceMigration)).all() == []
    assert [i.definition_id for i in open_items(rt, instance_id)] == [v1.definition_id]


def test_the_migrate_page_runs_the_dry_run_and_moves_the_chosen_instances(
    app: Any, client: Any, rt: Runtime
) -> None:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    v1 = deploy(rt, XML)
    first = instances.start_instance(rt, "meter_check", {}, business_key="A").instance_id
    second = instances.start_instance(rt, "meter_check", {}, business_key="B").instance_id
    v2 = deploy(rt, SLOWER)
    login(client, "designer1")
    page = client.get("/designer/meter_check/migrate?from=1&to=2").text
    assert f'<tr data-instance="{first}" class="movable">' in page
    assert f'<tr data-instance="{second}" class="movable">' in page
    moved = client.post(
        "/designer/meter_check/migrate", data={"from": "1", "to": "2", "instance": [str(first)]}
    )
    assert moved.status_code == 200
    assert "1 instance(s) moved to version 2." in moved.text
    with rt.db.read() as session:
        assert dict(session.execute(select(Instance.id, Instance.definition_id)).all()) == {
            first: v2.definition_id,
            second: v1.definition_id,
        }
    history = client.get("/designer/meter_check").text
    assert f"instance {first} moved from version 1 to 2" in history


def test_a_real_process_moves_between_its_parallel_branches_and_finishes_on_the_new_version(
    rt: Runtime,
) -> None:
    """hv_connection: survey and scheme design run in parallel; the move happens between them,
    and the scheme reply reached afterwards gets version 2's standard and breach timer."""
    from test_processes import (
        accept_hv,
        countersign_hv,
        design_hv,
        hv_connection,
        reply_hv_scheme,
        survey_hv,
    )

    iid = hv_connection(rt)
    accept_hv(rt, iid)
    survey_hv(rt, iid)
    with rt.db.read() as session:
        v1 = session.get(Instance, iid).definition_id  # type: ignore[union-attr]
    xml = (ROOT / "processes" / "hv_connection.bpmn").read_bytes()
    faster = xml.replace(
        b'<camunda:property name="standard_target" value="P20D" />',
        b'<camunda:property name="standard_target" value="P15D" />',
    )
    v2 = versions.deploy_bpmn(rt, faster, "hv_connection.bpmn", "designer1", "upload")
    assert v2.version == 2
    [plan] = migration.dry_run(rt, v1, v2.definition_id)
    assert (plan.instance_id, plan.open_links, plan.movable) == (
        iid,
        ("Activity_design_scheme",),
        True,
    )
    [moved] = migration.migrate(rt, v1, v2.definition_id, [iid], DESIGNER)
    assert moved.moved
    design_hv(rt, iid)
    countersign_hv(rt, iid)  # four departments sign, on version 2
    [reply] = open_items(rt, iid)
    assert (reply.element_id, reply.definition_id, reply.standard_target) == (
        "Activity_reply_scheme",
        v2.definition_id,
        "P15D",
    )
    assert waits(rt, iid) == [("Event_scheme_reply_overdue", reply.due_at)]
    reply_hv_scheme(rt, iid)
    assert [i.definition_id for i in open_items(rt, iid)] == [v2.definition_id]


def test_the_command_line_dry_run_and_move(rt: Runtime, database_url: str) -> None:
    from click.testing import CliRunner

    from gridflow.cli import main

    deploy(rt, XML)
    at_record = instances.start_instance(rt, "meter_check", {}, business_key="A").instance_id
    at_check = instances.start_instance(rt, "meter_check", {}, business_key="B").instance_id
    complete(rt, at_check, "Activity_record")
    deploy(rt, RENAMED)
    command = ["migrate", "meter_check", "--from", "1", "--to", "2", "--database", database_url]
    dry = CliRunner().invoke(main, command)
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        f"instance {at_record} A can move",
        f"instance {at_check} B stays: open link 'Activity_check' does not exist in version 2",
    ]
    moved = CliRunner().invoke(main, [*command, "--move", "--actor", "designer1"])
    assert moved.exit_code == 0, moved.output
    assert moved.output.splitlines()[0] == f"instance {at_record} A moved"
    with rt.db.read() as session:
        assert [(m.instance_id, m.actor) for m in session.scalars(select(InstanceMigration))] == [
            (at_record, "designer1")
        ]
