"""Appointments for site visits (a survey, a meter installation, a repair that is not urgent):
free slots from the skill pool, booking one for a link, and a missed visit recorded against
whoever missed it.

A link is a site visit when its BPMN element says so (`site_visit` = survey | installation |
repair). A slot is one hour inside the working periods of a working day (`SLOT_STARTS`, local
time); it is free when someone qualified for the link (its role, or the skills it needs) works
a shift covering the whole hour, is not on leave then, has no other visit booked in it and
fewer than their maximum load of visits that day. Among them the nearest by area, then the least
loaded, is chosen. Booking is one transaction; two bookings of one person's slot meet the
database's unique index, so the second is a conflict whoever races. The booked slot becomes the
link's appointment: its due time moves to the end of the visit when that is later (the
customer chose the day), and dispatch gives the link to the booked person
(`dispatch.run_round`), or, when they can no longer come, to another qualified person free
then.

Public API (times are aware datetimes, stored in UTC):

- `site_visit(rt, work_item_id) -> str | None`: the kind of visit a link is, or None.
- `free_slots(rt, work_item_id, days=7) -> list[Slot]`: the bookable slots from now.
- `book(rt, work_item_id, starts_at, actor, username=None) -> Booking`: book (or move) a visit;
  ConflictError when the slot is no longer free, AppointmentError when it cannot be booked.
- `cancel(rt, appointment_id, actor) -> Booking`
- `record_missed(rt, appointment_id, missed_by, actor, note="") -> Booking`: missed_by is
  "customer" (not at home) or "staff" (late or absent: counted against the booked person).
- `record_kept(rt, appointment_id, actor) -> Booking`
- `for_work_item(rt, work_item_id) -> Booking | None`: the link's booked visit.
- `for_demand(rt, demand_id) -> list[Booking]`: every visit of a demand, newest last.
- `missed_by_person(rt) -> dict[str, int]`: visits staff missed, per person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.exc import IntegrityError

from gridflow.errors import ConflictError, GridflowError, NotFoundError
from gridflow.models import Appointment, Instance, WorkItem, to_ms
from gridflow.pool import AREAS, Need, Person, load_people
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

APPOINTMENTS = cast(Table, Appointment.__table__)
WORK_ITEMS = cast(Table, WorkItem.__table__)
SLOT = timedelta(hours=1)
# Local starts of the one-hour slots of a working day (inside 09:00-12:00, 13:30-17:30).
SLOT_STARTS = (time(9), time(10), time(11), time(13, 30), time(14, 30), time(15, 30), time(16, 30))
# A visit is booked at least this long ahead, so the person can plan the way there.
LEAD = timedelta(hours=2)
MAX_DAYS = 31
MISSED_BY = ("customer", "staff")
OPEN = ("ready", "claimed")


class AppointmentError(GridflowError):
    """A visit that cannot be booked or recorded; the message says why."""


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    # Who could come, best first (nearest area, least loaded).
    people: tuple[str, ...]


@dataclass(frozen=True)
class Booking:
    id: int
    work_item_id: int
    instance_id: int
    kind: str
    username: str
    starts_at: datetime
    ends_at: datetime
    state: str  # booked | kept | missed | cancelled
    booked_by: str
    booked_at: datetime
    missed_by: str | None = None
    note: str | None = None
    recorded_by: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "work_item_id": self.work_item_id,
            "kind": self.kind,
            "username": self.username,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "state": self.state,
            "missed_by": self.missed_by,
        }


def _booking(row: Any) -> Booking:  # noqa: ANN401 - an appointments row
    return Booking(
        row.id,
        row.work_item_id,
        row.instance_id,
        row.kind,
        row.username,
        row.starts_at,
        row.ends_at,
        row.state,
        row.booked_by,
        row.booked_at,
        row.missed_by,
        row.note,
        row.recorded_by,
    )


# --- what a link needs --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Visit:
    item_id: int
    instance_id: int
    kind: str
    need: Need
    state: str
    due_at: datetime
    lock_version: int


def site_visit(rt: Runtime, work_item_id: int) -> str | None:
    """The kind of site visit a link is (survey, installation, repair), or None."""
    with rt.db.snapshot() as connection:
        row = connection.execute(
            select(WorkItem.definition_id, WorkItem.element_id).where(WorkItem.id == work_item_id)
        ).first()
    if row is None:
        raise NotFoundError(gettext("work item %(id)s does not exist"), id=work_item_id)
    link = rt.definition(row.definition_id).links.get(row.element_id)
    return link.site_visit if link is not None else None


def bookable(rt: Runtime, work_item_id: int) -> bool:
    """Whether a customer books a time for this link: a site visit, not an emergency repair
    (its crew comes at once)."""
    with rt.db.snapshot() as connection:
        row = _visit_row(connection, work_item_id)
    try:
        _visit_link(rt, row)
    except AppointmentError:
        return False
    return True


def _visit(rt: Runtime, connection: Connection, work_item_id: int) -> _Visit:
    row = _visit_row(connection, work_item_id)
    link = _visit_link(rt, row)
    variables = row.variables or {}
    area = variables.get("area")
    if not isinstance(area, str) or area not in AREAS:
        # A called process (meter installation) has its caller's area.
        area = _area_of_family(connection, row.instance_id)
    need = Need.of(link, row.role, {**variables, "area": area}, row.due_at)
    return _Visit(
        row.id, row.instance_id, link.site_visit, need, row.state, row.due_at, row.lock_version
    )


def _visit_row(connection: Connection, work_item_id: int) -> Any:  # noqa: ANN401 - a Row
    row = connection.execute(
        select(
            WorkItem.id,
            WorkItem.instance_id,
            WorkItem.definition_id,
            WorkItem.element_id,
            WorkItem.role,
            WorkItem.state,
            WorkItem.due_at,
            WorkItem.lock_version,
            Instance.variables,
        )
        .join(Instance, Instance.id == WorkItem.instance_id)
        .where(WorkItem.id == work_item_id)
    ).first()
    if row is None:
        raise NotFoundError(gettext("work item %(id)s does not exist"), id=work_item_id)
    return row


def _visit_link(rt: Runtime, row: Any) -> Any:  # noqa: ANN401 - a Row, a link's definition
    """The link of a visit row, if a customer books it: AppointmentError when it is not a site
    visit or is an emergency repair (its crew comes at once)."""
    link = rt.definition(row.definition_id).links.get(row.element_id)
    if link is None or link.site_visit is None:
        raise AppointmentError(gettext("this link is not a site visit: nothing to book"))
    if link.site_visit == "repair" and (row.variables or {}).get("priority") == "emergency":
        raise AppointmentError(gettext("an emergency repair is not booked: the crew comes at once"))
    return link


def _area_of_family(connection: Connection, instance_id: int) -> str | None:
    current: int | None = instance_id
    while current is not None:
        row = connection.execute(
            select(Instance.variables, Instance.parent_instance_id).where(Instance.id == current)
        ).first()
        if row is None:
            return None
        area = (row.variables or {}).get("area")
        if isinstance(area, str) and area in AREAS:
            return area
        current = row.parent_instance_id
    return None


# --- free slots ---------------------------------------------------------------------------------


def _qualified(person: Person, need: Need) -> bool:
    if need.skills:
        return all(person.skills.get(skill, 0) >= level for skill, level in need.skills)
    return need.role in person.roles


def _works_through(person: Person, start: datetime, end: datetime) -> bool:
    left = person.shift_left(start)
    if left is None or left < end - start:
        return False
    return not any(s < end and start < e for s, e in person.leave)


def _booked(connection: Connection, since: datetime, until: datetime) -> list[Any]:
    return list(
        connection.execute(
            select(Appointment.username, Appointment.starts_at, Appointment.ends_at).where(
                Appointment.state == "booked",
                Appointment.starts_at < until,
                Appointment.ends_at > since,
            )
        ).all()
    )


def _slot_starts(rt: Runtime, since: datetime, days: int) -> list[datetime]:
    first = rt.calendar.local_date(since)
    zone = rt.calendar.to_local(since).tzinfo
    starts = []
    for offset in range(days + 1):
        day: date = first + timedelta(days=offset)
        if not rt.calendar.is_working_day(day):
            continue
        for local in SLOT_STARTS:
            moment = datetime.combine(day, local, tzinfo=zone)
            if moment >= since:
                starts.append(moment.astimezone(since.tzinfo))
    return starts


def _candidates(
    rt: Runtime,
    people: list[Person],
    booked: list[Any],
    need: Need,
    start: datetime,
    exclude: int | None = None,
) -> list[str]:
    """Who could come for [start, start + SLOT): best first."""
    end = start + SLOT
    local_day = rt.calendar.local_date(start)
    busy = {b.username for b in booked if b.starts_at < end and start < b.ends_at}
    per_day: dict[str, int] = {}
    for b in booked:
        if rt.calendar.local_date(b.starts_at) == local_day:
            per_day[b.username] = per_day.get(b.username, 0) + 1
    fitting = [
        p
        for p in people
        if _qualified(p, need)
        and p.username not in busy
        and per_day.get(p.username, 0) < p.max_load
        and _works_through(p, start, end)
    ]

    def distance(person: Person) -> int:
        if need.area in AREAS and person.area in AREAS:
            return abs(AREAS.index(need.area) - AREAS.index(person.area))
        return 0

    fitting.sort(
        key=lambda p: (distance(p), per_day.get(p.username, 0), p.load / p.max_load, p.username)
    )
    return [p.username for p in fitting]


def free_slots(rt: Runtime, work_item_id: int, *, days: int = 7) -> list[Slot]:
    """The slots a visit for this link can be booked in, from `LEAD` after now for `days`
    calendar days, each with who could come."""
    if not 1 <= days <= MAX_DAYS:
        raise AppointmentError(gettext("days must be 1 to %(max)s"), max=MAX_DAYS)
    now = rt.clock.now()
    since = now + LEAD
    with rt.db.snapshot() as connection:
        visit = _visit(rt, connection, work_item_id)
        if visit.state not in OPEN:
            raise AppointmentError(gettext("this link is no longer open"))
        starts = _slot_starts(rt, since, days)
        if not starts:
            return []
        people = load_people(connection)
        booked = _booked(connection, starts[0], starts[-1] + SLOT + timedelta(days=1))
    slots = []
    for start in starts:
        who = _candidates(rt, people, booked, visit.need, start)
        if who:
            slots.append(Slot(start, start + SLOT, tuple(who)))
    return slots


# --- booking ------------------------------------------------------------------------------------


def book(
    rt: Runtime,
    work_item_id: int,
    starts_at: datetime,
    actor: Actor,
    *,
    username: str | None = None,
) -> Booking:
    """Book the visit of an open link at `starts_at` (one of its free slots), with the best
    person free then, or `username` when staff name one. A visit already booked for the link
    is moved (the old one cancelled). ConflictError when nobody qualified is free then any
    more (someone else booked the slot first)."""
    if starts_at.tzinfo is None:
        raise AppointmentError(gettext("the slot needs a time with a time zone"))
    now = to_ms(rt.clock.now())
    start = to_ms(starts_at)
    with rt.db.snapshot() as connection:
        visit = _visit(rt, connection, work_item_id)
    if visit.state not in OPEN:
        raise AppointmentError(gettext("this link is no longer open"))
    if start < now + LEAD:
        raise AppointmentError(gettext("a visit is booked at least two hours ahead"))
    if start > now + timedelta(days=MAX_DAYS + 1):
        raise AppointmentError(
            gettext("a visit is booked at most %(max)s days ahead"), max=MAX_DAYS
        )
    if start not in _slot_starts(rt, start, 0):
        raise AppointmentError(gettext("that is not the start of a slot on a working day"))
    end = start + SLOT
    try:
        with rt.db.transaction() as connection:
            people = load_people(connection)
            booked = _booked(connection, start - timedelta(days=1), end + timedelta(days=1))
            who = _candidates(rt, people, booked, visit.need, start)
            if username is not None:
                who = [u for u in who if u == username]
            if not who:
                raise ConflictError(gettext("that slot is no longer free: choose another"))
            moved_from = connection.execute(
                update(APPOINTMENTS)
                .where(
                    APPOINTMENTS.c.work_item_id == work_item_id,
                    APPOINTMENTS.c.state == "booked",
                )
                .values(state="cancelled", recorded_by=actor.username, recorded_at=now)
            ).rowcount
            appointment_id = connection.execute(
                APPOINTMENTS.insert().returning(APPOINTMENTS.c.id),
                {
                    "work_item_id": work_item_id,
                    "instance_id": visit.instance_id,
                    "kind": visit.kind,
                    "username": who[0],
                    "starts_at": start,
                    "ends_at": end,
                    "state": "booked",
                    "booked_by": actor.username,
                    "booked_at": now,
                },
            ).scalar_one()
            if end > visit.due_at:
                # The customer chose a later day than the standard's: the link is due then.
                moved = connection.execute(
                    update(WORK_ITEMS)
                    .where(
                        WORK_ITEMS.c.id == work_item_id,
                        WORK_ITEMS.c.lock_version == visit.lock_version,
                    )
                    .values(due_at=end, lock_version=visit.lock_version + 1)
                )
                if moved.rowcount != 1:
                    raise ConflictError(gettext("the link changed meanwhile: try again"))
            _tell_customer(rt, connection, visit.instance_id, appointment_id, start, moved_from > 0)
    except IntegrityError as exc:
        raise ConflictError(gettext("that slot is no longer free: choose another")) from exc
    return _get(rt, appointment_id)


def _tell_customer(
    rt: Runtime,
    connection: Connection,
    instance_id: int,
    appointment_id: int,
    start: datetime,
    changed: bool,
) -> None:
    """The customer's "your visit is booked (or moved)" message, in the booking's transaction,
    so a crash never keeps a booking without its message or a message without its booking."""
    from gridflow.notifications import triggers

    demand_id = connection.scalar(select(Instance.demand_id).where(Instance.id == instance_id))
    if demand_id is None:
        return
    triggers.appointment(
        connection,
        rt.clock.now(),
        demand_id,
        rt.calendar.to_local(start).strftime("%Y-%m-%d %H:%M"),
        changed=changed,
        key=f"appointment:{appointment_id}",
    )


def _get(rt: Runtime, appointment_id: int) -> Booking:
    with rt.db.snapshot() as connection:
        row = connection.execute(
            select(APPOINTMENTS).where(APPOINTMENTS.c.id == appointment_id)
        ).first()
    if row is None:
        raise NotFoundError(gettext("appointment %(id)s does not exist"), id=appointment_id)
    return _booking(row)


# A visit no longer booked, one sentence per state (the state is a code, not words).
_RECORDED_ALREADY = {
    "cancelled": gettext("this visit is cancelled already"),
    "kept": gettext("this visit is kept already"),
    "missed": gettext("this visit is missed already"),
}


def _record(
    rt: Runtime, appointment_id: int, actor: Actor, values: dict[str, object], *, after: bool
) -> Booking:
    now = to_ms(rt.clock.now())
    current = _get(rt, appointment_id)
    if current.state != "booked":
        already = _RECORDED_ALREADY.get(current.state, "this visit is %(state)s already")
        raise AppointmentError(already, state=current.state)
    if after and now < current.starts_at:
        raise AppointmentError(
            gettext("a visit is recorded as kept or missed once its slot has begun")
        )
    with rt.db.transaction() as connection:
        done = connection.execute(
            update(APPOINTMENTS)
            .where(APPOINTMENTS.c.id == appointment_id, APPOINTMENTS.c.state == "booked")
            .values(**values, recorded_by=actor.username, recorded_at=now)
        )
        if done.rowcount != 1:
            raise ConflictError(gettext("someone else recorded this visit first"))
    return _get(rt, appointment_id)


def cancel(rt: Runtime, appointment_id: int, actor: Actor) -> Booking:
    """Cancel a booked visit: its slot is free again."""
    return _record(rt, appointment_id, actor, {"state": "cancelled"}, after=False)


def record_missed(
    rt: Runtime, appointment_id: int, missed_by: str, actor: Actor, note: str = ""
) -> Booking:
    """Record a visit that did not happen: the customer was not at home ("customer"), or the
    person came late or not at all ("staff", counted against the booked person). The link can
    be booked again."""
    if missed_by not in MISSED_BY:
        raise AppointmentError(gettext("missed_by must be customer or staff"))
    if "\x00" in note or len(note) > 500:
        raise AppointmentError(gettext("the note must be at most 500 characters, without NUL"))
    return _record(
        rt,
        appointment_id,
        actor,
        {"state": "missed", "missed_by": missed_by, "note": note or None},
        after=True,
    )


def record_kept(rt: Runtime, appointment_id: int, actor: Actor) -> Booking:
    """Record a visit that happened as booked."""
    return _record(rt, appointment_id, actor, {"state": "kept"}, after=True)


# --- reading ------------------------------------------------------------------------------------


def for_work_item(rt: Runtime, work_item_id: int) -> Booking | None:
    """The link's booked visit (the latest one), or None."""
    with rt.db.snapshot() as connection:
        row = connection.execute(
            select(APPOINTMENTS)
            .where(APPOINTMENTS.c.work_item_id == work_item_id)
            .order_by(APPOINTMENTS.c.id.desc())
            .limit(1)
        ).first()
    return _booking(row) if row is not None else None


def for_demand(rt: Runtime, demand_id: int) -> list[Booking]:
    """Every visit booked for the demand's links (its processes and those they called)."""
    with rt.db.snapshot() as connection:
        root_ids = list(
            connection.scalars(select(Instance.id).where(Instance.demand_id == demand_id))
        )
        family = set(root_ids)
        frontier = list(root_ids)
        while frontier:
            frontier = list(
                connection.scalars(
                    select(Instance.id).where(Instance.parent_instance_id.in_(frontier))
                )
            )
            family.update(frontier)
        rows = connection.execute(
            select(APPOINTMENTS)
            .where(APPOINTMENTS.c.instance_id.in_(sorted(family)))
            .order_by(APPOINTMENTS.c.id)
        ).all()
    return [_booking(row) for row in rows]


def missed_by_person(rt: Runtime) -> dict[str, int]:
    """Visits staff missed (late or absent), per booked person."""
    with rt.db.snapshot() as connection:
        return {
            username: int(count)
            for username, count in connection.execute(
                select(Appointment.username, func.count())
                .where(Appointment.state == "missed", Appointment.missed_by == "staff")
                .group_by(Appointment.username)
            )
        }


def booked_person(connection: Connection, work_item_id: int) -> tuple[int, str, datetime] | None:
    """(appointment id, person, start) of the link's booked visit, for dispatch."""
    row = connection.execute(
        select(Appointment.id, Appointment.username, Appointment.starts_at).where(
            Appointment.work_item_id == work_item_id, Appointment.state == "booked"
        )
    ).first()
    return (row.id, row.username, row.starts_at) if row is not None else None


def assign_booked(
    rt: Runtime, connection: Connection, rows: Sequence[Any], people: list[Person]
) -> dict[int, tuple[str, str]]:
    """For dispatch: the ready links among `rows` that have a booked visit → (the person who
    comes, why). The booked person when they still can (qualified, on shift through the slot,
    not on leave); otherwise another qualified person free then, and the visit is theirs
    from now on; a link nobody can take is not in the answer (dispatch reports it)."""
    ids = [row.id for row in rows]
    if not ids:
        return {}
    booked_rows = connection.execute(
        select(APPOINTMENTS).where(
            APPOINTMENTS.c.work_item_id.in_(ids), APPOINTMENTS.c.state == "booked"
        )
    ).all()
    if not booked_rows:
        return {}
    by_name = {p.username: p for p in people}
    chosen: dict[int, tuple[str, str]] = {}
    for appointment in booked_rows:
        visit = _visit(rt, connection, appointment.work_item_id)
        start, end = appointment.starts_at, appointment.ends_at
        person = by_name.get(appointment.username)
        local = f"{rt.calendar.to_local(start):%Y-%m-%d %H:%M}"
        if (
            person is not None
            and _qualified(person, visit.need)
            and _works_through(person, start, end)
        ):
            chosen[appointment.work_item_id] = (person.username, f"booked visit {local}")
            continue
        others = [
            b
            for b in _booked(connection, start - timedelta(days=1), end + timedelta(days=1))
            if not (b.username == appointment.username and b.starts_at == start)
        ]
        who = _candidates(rt, people, others, visit.need, start)
        if who:
            connection.execute(
                update(APPOINTMENTS)
                .where(APPOINTMENTS.c.id == appointment.id)
                .values(username=who[0])
            )
            chosen[appointment.work_item_id] = (
                who[0],
                f"booked visit {local} (instead of {appointment.username}, who cannot come)",
            )
    return chosen
