"""Persistence: a failed step leaves the last committed state (its system steps too); a saved
workflow carries no definition and continues after a reload; due times follow the working-day
calendar."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import ADMIN, complete, item_for, open_items
from sqlalchemy import func, select

from gridflow import work_items
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.engine import Engine
from gridflow.models import Demand, Instance, SystemTask, TaskEvent, Wait, WorkItem
from gridflow.runtime import Runtime

ACCEPT = {"id_checked": True, "supply_scheme": "existing_line"}
TABLES = (Demand, Instance, WorkItem, TaskEvent, Wait, SystemTask)


def residential(rt: Runtime) -> int:
    accepted = create_demand(rt, DemandInput("Zhao household", "residential", "app", "connection"))
    return accepted.instances[0].instance_id


def snapshot(rt: Runtime) -> dict[str, object]:
    """Every row count and the instance documents and versions, to compare before and after."""
    with rt.db.read() as session:
        counts = {
            t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in TABLES
        }
        instances = [
            (i.id, i.lock_version, i.status, i.document)
            for i in session.scalars(select(Instance).order_by(Instance.id))
        ]
        items = [
            (i.id, i.state, i.lock_version)
            for i in session.scalars(select(WorkItem).order_by(WorkItem.id))
        ]
    return {"counts": counts, "instances": instances, "items": items}


class Boom(RuntimeError):
    pass


def test_a_failure_mid_step_leaves_the_previous_committed_state(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    before = snapshot(rt)

    # Fail after the engine ran and the new link's rows and events were added, while the
    # instance document is being written: the last thing one step does.
    def failing_dump(run: object) -> str:
        raise Boom("disk full")

    monkeypatch.setattr(rt.engine, "dump", failing_dump)
    with pytest.raises(Boom):
        work_items.complete(rt, item.id, ADMIN, ACCEPT)
    assert snapshot(rt) == before
    monkeypatch.undo()
    # And the same link can still be completed afterwards: the customer's archive is next.
    work_items.complete(rt, item.id, ADMIN, ACCEPT)
    assert open_items(rt, iid) == []
    with rt.db.read() as session:
        steps = session.execute(select(SystemTask.element_id, SystemTask.state)).all()
    assert [tuple(step) for step in steps] == [("Activity_archive_customer", "ready")]


def test_a_failure_while_starting_a_demand_leaves_no_demand_behind(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(rt)

    def failing_dump(run: object) -> str:
        raise Boom("power cut")

    monkeypatch.setattr(rt.engine, "dump", failing_dump)
    with pytest.raises(Boom):
        residential(rt)
    assert snapshot(rt) == before


def test_saved_document_keeps_the_definition_out(rt: Runtime) -> None:
    iid = residential(rt)
    with rt.db.read() as session:
        instance = session.get(Instance, iid)
        assert instance is not None
        document = json.loads(instance.document)
    assert "spec" not in document
    assert "subprocess_specs" not in document
    assert document["serializer_version"] == "1.5"


def test_a_workflow_saved_mid_process_and_reloaded_continues_to_the_same_end(
    rt: Runtime, clock: SimulatedClock
) -> None:
    """One engine runs the high-voltage process straight through in memory; another is saved
    and reloaded (through JSON, by a fresh engine) before every link. Both end the same."""
    definition = rt.latest("hv_connection").definition
    start = {
        "customer_name": "Steelworks",
        "customer_category": "business",
        "supply": "dual",
        "area": "urban",
        "voltage": "high",
    }
    forms = {
        "Activity_design_review": {"design_approved": True},
        "Activity_review_design": {"design_approved": True},
    }

    def fill(element_id: str) -> dict[str, object]:
        form = definition.links[element_id].form
        return form.complete_with_examples(forms.get(element_id, {}))

    answers = {"archive_no": "MK-1", "paid": True, "receipt_no": "FI-1"}

    def drive(reload: bool) -> tuple[list[str], dict[str, object]]:
        engine = Engine(clock, rt.calendar, rt.decisions)
        run = engine.start(definition, start)
        done: list[str] = []
        for _ in range(50):
            if reload:
                run = Engine(clock, rt.calendar, rt.decisions).restore(definition, engine.dump(run))
            ready = run.ready_links()
            steps = [step for step in run.snapshot().steps if step.state == "ready"]
            if not ready and steps:
                # A worker's answer, or the called meter installation ending (not run here).
                outputs = definition.steps[steps[0].element_id].outputs
                run.complete(steps[0].task_id, {name: answers[name] for name in outputs})
                done.append(f"{steps[0].kind}:{steps[0].element_id}")
                continue
            if not ready:
                if run.completed:
                    break
                assert run.deliver_message("works_finished", {"reported_by": "customer"})
                continue
            link = ready[0]
            run.complete(link.task_id, fill(link.element_id))
            done.append(link.element_id)
        assert run.completed
        return done, run.data

    straight, straight_data = drive(reload=False)
    reloaded, reloaded_data = drive(reload=True)
    assert reloaded == straight
    assert reloaded_data == straight_data
    assert straight[0] == "Activity_accept"
    assert straight[1] == "external:Activity_archive_customer"
    assert straight[-1] == "call:Activity_meter_installation"
    assert straight_data["works_finished"] == {"reported_by": "customer"}


def beijing(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    local = datetime(year, month, day, hour, minute, tzinfo=timezone(timedelta(hours=8)))
    return local.astimezone(UTC)


def test_due_time_across_national_day_skips_the_holiday_week(
    rt: Runtime, clock: SimulatedClock
) -> None:
    # Wednesday 30 September 2026, 10:00: 6 working hours left that day, then National Day
    # (1–7 October) is off; the 2-working-day acceptance standard ends Friday 9 October 10:00.
    clock.set(beijing(2026, 9, 30, 10))
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    assert (item.standard_target, item.standard_basis) == ("P2D", "working")
    assert item.due_at == beijing(2026, 10, 9, 10)


def test_due_time_counts_the_saturday_make_up_working_day(
    rt: Runtime, clock: SimulatedClock
) -> None:
    # Friday 9 October 2026, 10:00: Saturday 10 October is an official make-up working day,
    # so 2 working days end Monday 12 October 10:00 (not Tuesday).
    clock.set(beijing(2026, 10, 9, 10))
    iid = residential(rt)
    assert item_for(rt, iid, "Activity_accept").due_at == beijing(2026, 10, 12, 10)


def test_calendar_standard_ignores_weekends(rt: Runtime, clock: SimulatedClock) -> None:
    # Sunday night: a rural fault must be reached within 90 minutes, holiday or not.
    clock.set(beijing(2026, 10, 4, 23, 30))
    accepted = create_demand(
        rt, DemandInput("Village 7", "residential", "call_centre", "repair", area="rural")
    )
    iid = accepted.instances[0].instance_id
    complete(rt, iid, "Activity_accept")
    complete(rt, iid, "Activity_dispatch")
    arrive = item_for(rt, iid, "Activity_arrive")
    assert arrive.due_at - arrive.ready_at == timedelta(minutes=90)
    assert arrive.ready_at == beijing(2026, 10, 4, 23, 30)


def test_migrations_build_exactly_the_schema_the_models_describe(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from gridflow.models import Base
    from gridflow.partitions import is_partition

    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        # task_events' monthly partitions on PostgreSQL are not tables of the models
        return not (type_ == "table" and name is not None and is_partition(name))

    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_name})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
