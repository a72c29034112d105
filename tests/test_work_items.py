"""Clerks claiming, releasing and completing links: conflicts, forms, roles and events."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from conftest import ADMIN, item_for, open_items
from sqlalchemy import func, select

from gridflow import work_items
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.errors import ConflictError, ForbiddenError, FormError
from gridflow.models import SystemTask, TaskEvent, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

ZHANG = Actor("zhang", frozenset({"account_manager"}))
LI = Actor("li", frozenset({"account_manager"}))
METER_FITTER = Actor("wu", frozenset({"metering"}))
ACCEPT = {"id_checked": True, "supply_scheme": "existing_line"}


def residential(rt: Runtime) -> int:
    accepted = create_demand(
        rt, DemandInput("Wang household", "residential", "counter", "connection")
    )
    return accepted.instances[0].instance_id


def events(rt: Runtime, work_item_id: int) -> list[tuple[str, str | None]]:
    with rt.db.read() as session:
        return [
            (e.lifecycle, e.actor)
            for e in session.scalars(
                select(TaskEvent)
                .where(TaskEvent.work_item_id == work_item_id)
                .order_by(TaskEvent.id)
            )
        ]


def test_two_clerks_complete_the_same_link_at_once_one_wins_one_gets_a_conflict(
    rt: Runtime,
) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def clerk(actor: Actor) -> None:
        start.wait()
        try:
            work_items.complete(rt, item.id, actor, ACCEPT, expected_version=item.lock_version)
            outcomes[actor.username] = "completed"
        except ConflictError:
            outcomes[actor.username] = "conflict"

    threads = [threading.Thread(target=clerk, args=(a,)) for a in (ZHANG, LI)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["completed", "conflict"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "completed")
    assert events(rt, item.id) == [("ready", None), ("claimed", winner), ("completed", winner)]
    # The process moved on exactly once: one customer archive is waiting for the marketing
    # system.
    assert open_items(rt, iid) == []
    with rt.db.read() as session:
        steps = session.scalars(select(SystemTask.element_id)).all()
    assert steps == ["Activity_archive_customer"]


def test_completing_with_a_stale_version_is_a_conflict_and_changes_nothing(rt: Runtime) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    work_items.claim(rt, item.id, ZHANG, expected_version=item.lock_version)
    with pytest.raises(ConflictError, match="changed since you opened it"):
        work_items.complete(rt, item.id, ZHANG, ACCEPT, expected_version=item.lock_version)
    assert events(rt, item.id) == [("ready", None), ("claimed", "zhang")]


def test_completing_a_link_someone_completed_says_who(rt: Runtime) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    work_items.complete(rt, item.id, ZHANG, ACCEPT)
    with pytest.raises(ConflictError, match="already completed by zhang"):
        work_items.complete(rt, item.id, LI, ACCEPT)


def test_a_link_held_by_a_colleague_cannot_be_claimed_or_completed(rt: Runtime) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    work_items.claim(rt, item.id, ZHANG)
    with pytest.raises(ConflictError, match="already held by zhang"):
        work_items.claim(rt, item.id, LI)
    with pytest.raises(ConflictError, match="held by zhang"):
        work_items.complete(rt, item.id, LI, ACCEPT)
    # Claiming again (a retried request) changes nothing.
    again = work_items.claim(rt, item.id, ZHANG)
    assert again.assignee == "zhang"
    assert events(rt, item.id) == [("ready", None), ("claimed", "zhang")]


def test_invalid_form_data_names_each_field_and_changes_nothing(rt: Runtime) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    with pytest.raises(FormError) as refused:
        work_items.complete(
            rt, item.id, ZHANG, {"supply_scheme": "by_drone", "remark": "x" * 501, "colour": "red"}
        )
    assert refused.value.field_errors == {
        "colour": "is not a field of this form",
        "id_checked": "is required",
        "supply_scheme": "must be one of: existing_line, external_works",
        "remark": "must be at most 500 characters",
    }
    assert events(rt, item.id) == [("ready", None)]
    assert [i.element_id for i in open_items(rt, iid)] == ["Activity_accept"]


def test_form_values_are_stored_typed(rt: Runtime) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    done = work_items.complete(
        rt, item.id, ZHANG, {"id_checked": "true", "supply_scheme": "existing_line"}
    )
    assert done.form_data == {"id_checked": True, "supply_scheme": "existing_line"}


def test_a_clerk_outside_the_lane_role_is_refused(rt: Runtime) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    with pytest.raises(ForbiddenError, match="belongs to role 'account_manager'"):
        work_items.claim(rt, item.id, METER_FITTER)
    with pytest.raises(ForbiddenError):
        work_items.complete(rt, item.id, METER_FITTER, ACCEPT)
    assert events(rt, item.id) == [("ready", None)]


def test_release_hands_back_and_waiting_counts_from_first_ready(
    rt: Runtime, clock: SimulatedClock
) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    clock.advance(timedelta(minutes=30))
    work_items.claim(rt, item.id, ZHANG)
    clock.advance(timedelta(minutes=10))
    work_items.release(rt, item.id, ZHANG)
    clock.advance(timedelta(minutes=20))
    work_items.claim(rt, item.id, LI)
    clock.advance(timedelta(minutes=45))
    done = work_items.complete(rt, item.id, LI, ACCEPT)
    assert events(rt, item.id) == [
        ("ready", None),
        ("claimed", "zhang"),
        ("released", "zhang"),
        ("claimed", "li"),
        ("completed", "li"),
    ]
    assert (done.waiting_s, done.handling_s) == (3600.0, 2700.0)
    assert (done.waiting_working_s, done.handling_working_s) == (3600.0, 2700.0)
    assert done.within_standard is True


def test_completing_straight_from_the_queue_records_claim_and_completion(rt: Runtime) -> None:
    iid = residential(rt)
    item = item_for(rt, iid, "Activity_accept")
    work_items.complete(rt, item.id, ADMIN, ACCEPT)
    assert events(rt, item.id) == [("ready", None), ("claimed", "admin"), ("completed", "admin")]
    with rt.db.read() as session:
        assert session.scalar(select(func.count(WorkItem.id))) == 1
        assert session.scalar(select(func.count(SystemTask.id))) == 1  # the archive, next
