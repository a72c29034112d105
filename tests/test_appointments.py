"""Appointments for site visits: free slots of qualified people from the skill pool, a booked
slot is the link's appointment (dispatch and the due time respect it), and a missed visit is
recorded against whoever missed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import complete, item_for
from sqlalchemy import select

from gridflow import appointments, dispatch, pool, users
from gridflow.appointments import AppointmentError
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.errors import ConflictError
from gridflow.models import TaskEvent, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

CUSTOMER = Actor("desk1", frozenset({"service_desk"}))
BEIJING = 8 * 60


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC) - timedelta(hours=8)  # type: ignore[misc]


def surveyor(rt: Runtime, name: str, level: int, area: str = "urban") -> None:
    """A planner with the design skill at `level`, on shift Monday to Friday 09:00-17:30."""
    users.create_user(rt, name, "a-long-password", ["planning_design"])
    pool.save_profile(
        rt, name, department="planning_design", area=area, max_load=3, skills=f"design:{level}"
    )
    for weekday in range(5):
        pool.add_shift(rt, name, weekday, "09:00", "17:30", offset_minutes=BEIJING)


def survey_link(rt: Runtime, n: int) -> int:
    """An EV charger demand accepted at once: its site survey (needs design:2) is open."""
    accepted = create_demand(
        rt,
        DemandInput(f"Li household #{n}", "residential", "app", "ev_charger", capacity_kw=11.0),
    )
    instance_id = accepted.instances[0].instance_id
    complete(rt, instance_id, "Activity_accept")
    return item_for(rt, instance_id, "Activity_survey").id


def test_booking_takes_a_free_slot_of_a_qualified_person_and_the_same_slot_twice_conflicts(
    rt: Runtime, clock: SimulatedClock
) -> None:
    surveyor(rt, "planner1", 2)
    surveyor(rt, "planner2", 1)  # design level 1: not qualified for the survey
    first, second = survey_link(rt, 1), survey_link(rt, 2)
    assert appointments.site_visit(rt, first) == "survey"
    slots = appointments.free_slots(rt, first, days=1)
    # Monday 2 March 2026, now 09:00: two hours ahead at the earliest, in working hours.
    assert [rt.calendar.to_local(s.starts_at).strftime("%a %H:%M") for s in slots] == [
        "Mon 11:00",
        "Mon 13:30",
        "Mon 14:30",
        "Mon 15:30",
        "Mon 16:30",
        "Tue 09:00",
        "Tue 10:00",
        "Tue 11:00",
        "Tue 13:30",
        "Tue 14:30",
        "Tue 15:30",
        "Tue 16:30",
    ]
    assert {s.people for s in slots} == {("planner1",)}
    booking = appointments.book(rt, first, beijing(2026, 3, 3, 10, 0), CUSTOMER)
    assert (booking.username, booking.kind, booking.state) == ("planner1", "survey", "booked")
    assert booking.ends_at == beijing(2026, 3, 3, 11, 0)
    assert appointments.for_work_item(rt, first) == booking
    # The slot is gone for the other link; booking it anyway is a conflict, nothing saved.
    assert beijing(2026, 3, 3, 10, 0) not in [
        s.starts_at for s in appointments.free_slots(rt, second, days=1)
    ]
    with pytest.raises(ConflictError):
        appointments.book(rt, second, beijing(2026, 3, 3, 10, 0), CUSTOMER)
    assert appointments.for_work_item(rt, second) is None
    # Not a slot, too soon, or not a visit: refused with the reason.
    with pytest.raises(AppointmentError, match="not the start of a slot"):
        appointments.book(rt, second, beijing(2026, 3, 3, 10, 15), CUSTOMER)
    with pytest.raises(AppointmentError, match="two hours ahead"):
        appointments.book(rt, second, beijing(2026, 3, 2, 10, 0), CUSTOMER)
    with rt.db.read() as session:
        accept = session.scalar(
            select(WorkItem.id).where(WorkItem.element_id == "Activity_accept").limit(1)
        )
    assert accept is not None
    with pytest.raises(AppointmentError, match="not a site visit"):
        appointments.book(rt, accept, beijing(2026, 3, 3, 13, 30), CUSTOMER)


def test_a_later_visit_moves_the_due_time_and_dispatch_gives_the_link_to_who_comes(
    rt: Runtime, clock: SimulatedClock
) -> None:
    surveyor(rt, "planner1", 2)
    link = survey_link(rt, 1)
    with rt.db.read() as session:
        due = session.scalar(select(WorkItem.due_at).where(WorkItem.id == link))
    assert due == beijing(2026, 3, 4, 17, 30)  # 3 working days from Monday 09:00
    # The customer chooses the next Monday: the link is due when the visit ends.
    booking = appointments.book(rt, link, beijing(2026, 3, 9, 14, 30), CUSTOMER)
    with rt.db.read() as session:
        due = session.scalar(select(WorkItem.due_at).where(WorkItem.id == link))
    assert due == beijing(2026, 3, 9, 15, 30)
    # A better-placed planner joins (level 3, same area), but the visit is planner1's: the
    # round gives it to planner1 with the reason.
    surveyor(rt, "planner3", 3)
    first = dispatch.run_round(rt, "round-1")
    assert [(a.work_item_id, a.username) for a in first.assignments] == [(link, "planner1")]
    assert first.assignments[0].reasons == ["booked visit 2026-03-09 14:30"]
    with rt.db.read() as session:
        event = session.execute(
            select(TaskEvent.lifecycle, TaskEvent.actor)
            .where(TaskEvent.work_item_id == link)
            .order_by(TaskEvent.id.desc())
            .limit(1)
        ).one()
    assert tuple(event) == ("assigned", "planner1")
    assert booking.username == "planner1"


def test_dispatch_sends_someone_else_free_then_when_the_booked_person_cannot_come(
    rt: Runtime, clock: SimulatedClock
) -> None:
    surveyor(rt, "planner1", 2)
    link = survey_link(rt, 1)
    booking = appointments.book(rt, link, beijing(2026, 3, 9, 14, 30), CUSTOMER)
    surveyor(rt, "planner3", 3, area="rural")
    pool.add_leave(rt, "planner1", beijing(2026, 3, 9, 0, 0), beijing(2026, 3, 10, 0, 0))
    done = dispatch.run_round(rt, "round-1")
    assert [(a.work_item_id, a.username) for a in done.assignments] == [(link, "planner3")]
    moved = appointments.for_work_item(rt, link)
    assert moved is not None and (moved.id, moved.username) == (booking.id, "planner3")


def test_a_missed_visit_is_recorded_against_whoever_missed_it(
    rt: Runtime, clock: SimulatedClock
) -> None:
    surveyor(rt, "planner1", 2)
    link = survey_link(rt, 1)
    booking = appointments.book(rt, link, beijing(2026, 3, 3, 10, 0), CUSTOMER)
    staff = Actor("planner1", frozenset({"planning_design"}))
    with pytest.raises(AppointmentError, match="once its slot has begun"):
        appointments.record_missed(rt, booking.id, "customer", staff)
    clock.set(beijing(2026, 3, 3, 10, 20))
    missed = appointments.record_missed(rt, booking.id, "customer", staff, "nobody at home")
    assert (missed.state, missed.missed_by, missed.note, missed.recorded_by) == (
        "missed",
        "customer",
        "nobody at home",
        "planner1",
    )
    with pytest.raises(AppointmentError, match="missed already"):
        appointments.record_missed(rt, booking.id, "staff", staff)
    assert appointments.missed_by_person(rt) == {}
    # Booked again; this time the planner is late: it counts against planner1.
    again = appointments.book(rt, link, beijing(2026, 3, 4, 9, 0), CUSTOMER)
    clock.set(beijing(2026, 3, 4, 10, 0))
    appointments.record_missed(
        rt, again.id, "staff", Actor("supervisor1", frozenset({"supervisor"}))
    )
    assert appointments.missed_by_person(rt) == {"planner1": 1}
    assert [b.state for b in appointments.for_demand(rt, 1)] == ["missed", "missed"]
    with pytest.raises(AppointmentError, match="customer or staff"):
        appointments.record_missed(rt, again.id, "weather", staff)
