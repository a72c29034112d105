"""Dispatch: at each round, ready back-end links (routine work and temporary tasks such as an
active repair) are given to people, and equipment where the link needs it, by a minimum-cost
assignment over skill, level, shift, load, distance by area and time left to the due time.

People are expanded into load slots (one column per link they may still take), so nobody ends
a round over their maximum load; a pair that cannot work (a missing skill, off shift, on leave)
costs INFEASIBLE and is dropped from the plan. The plan and each assignment's reasons are kept
(dispatch_rounds, dispatch_assignments) and every assignment is an `assigned` task event.
A round is one transaction, keyed: the same key twice plans once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from scipy.optimize import linear_sum_assignment
from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from gridflow import appointments, metrics
from gridflow.instances import EVENT_SOURCE, INSTANCES, WORK_ITEMS, event_row, insert_events
from gridflow.models import (
    DispatchAssignment,
    DispatchRound,
    Equipment,
    StaffProfile,
    to_ms,
)
from gridflow.pool import (
    AREAS,
    INFEASIBLE,
    W_LOAD,
    EquipmentRow,
    Fit,
    Need,
    Person,
    Reason,
    equipment,
    fit,
    load_people,
)
from gridflow.roles import Actor
from gridflow.runtime import Runtime

ROUNDS = cast(Table, DispatchRound.__table__)
ASSIGNMENTS = cast(Table, DispatchAssignment.__table__)
EQUIPMENT = cast(Table, Equipment.__table__)
MAX_ITEMS_PER_ROUND = 500
W_AGE = 0.25  # per hour waited (up to AGE_CAP), against pool.W_URGENCY per hour to due
AGE_CAP = timedelta(hours=48)


@dataclass(frozen=True)
class Job:
    """A ready link as the dispatcher sees it."""

    id: int
    version: int
    need: Need
    label: str = ""
    # Since when it has waited for someone: among links with time to spare, the longest
    # waiting go first (without it, links due days away could wait behind newer ones forever).
    ready_at: datetime | None = None


@dataclass(frozen=True)
class Choice:
    job_id: int
    username: str
    equipment: str | None
    cost: float
    reasons: tuple[Reason, ...]

    @property
    def reason_texts(self) -> list[str]:
        return [r.text for r in self.reasons]


@dataclass
class Plan:
    choices: list[Choice]
    unassigned: dict[int, str] = field(default_factory=dict)  # job id → why not


def plan(
    jobs: Sequence[Job],
    people: Sequence[Person],
    now: datetime,
    free_equipment: Sequence[EquipmentRow] = (),
) -> Plan:
    """The minimum-cost assignment of jobs to people's free load slots (and equipment)."""
    unassigned: dict[int, str] = {}
    # Equipment first: a link needing a vehicle competes only while vehicles remain; the most
    # urgent links get them.
    stock: dict[str, list[EquipmentRow]] = {}
    for row in free_equipment:
        if row.available and row.held_by is None:
            stock.setdefault(row.type, []).append(row)
    left = {kind: len(rows) for kind, rows in stock.items()}
    candidates: list[Job] = []
    for job in sorted(jobs, key=_urgency):
        missing = [k for k in job.need.equipment if left.get(k, 0) < 1]
        if missing:
            unassigned[job.id] = f"no free {', '.join(missing)}"
            continue
        for kind in job.need.equipment:
            left[kind] -= 1
        candidates.append(job)
    # Only people with a free load slot can take anything this round.
    people = [person for person in people if person.load < person.max_load]
    slots: list[tuple[Person, int]] = [
        (person, k)
        for person in people
        for k in range(min(person.max_load - person.load, len(candidates)))
    ]
    choices: list[Choice] = []
    fits: dict[tuple[int, int], Fit] = {}
    if candidates and slots:
        fits = {
            (j, p): fit(person, job.need, now, explain=False)
            for j, job in enumerate(candidates)
            for p, person in enumerate(people)
        }
        index = {person.username: p for p, person in enumerate(people)}
        ages = [_age_credit(job, now) for job in candidates]
        cost = np.full((len(candidates), len(slots)), INFEASIBLE)
        for j in range(len(candidates)):
            for s, (person, k) in enumerate(slots):
                scored = fits[(j, index[person.username])]
                if scored.feasible:
                    cost[j, s] = scored.cost + W_LOAD * k / person.max_load - ages[j]
        rows, cols = linear_sum_assignment(cost)
        taken = {kind: list(rows_) for kind, rows_ in stock.items()}
        for j, s in sorted(zip(rows.tolist(), cols.tolist(), strict=True)):
            if cost[j, s] >= INFEASIBLE:
                continue
            job = candidates[j]
            person, k = slots[s]
            reasons = list(fit(person, job.need, now).reasons)
            if k:
                reasons = [_with_load(r, person, k) for r in reasons]
            code = None
            for kind in job.need.equipment:
                chosen = _nearest(taken[kind], person.area)
                taken[kind].remove(chosen)
                code = chosen.code if code is None else f"{code}, {chosen.code}"
                reasons.append(
                    Reason(
                        "equipment",
                        {"item": chosen.code, "area": chosen.area},
                        f"{kind} {chosen.code} ({chosen.area})",
                    )
                )
            choices.append(Choice(job.id, person.username, code, float(cost[j, s]), tuple(reasons)))
    assigned = {c.job_id for c in choices}
    for j, job in enumerate(candidates):
        if job.id not in assigned:
            someone = slots and any(fits[(j, p)].feasible for p in range(len(people)))
            unassigned[job.id] = (
                "the people who could take it went to more urgent links"
                if someone
                else "nobody qualified is on shift with load to spare"
            )
    return Plan(sorted(choices, key=lambda c: c.job_id), unassigned)


def _age_credit(job: Job, now: datetime) -> float:
    """The cost taken off a link for the time it has waited (up to AGE_CAP)."""
    if job.ready_at is None:
        return 0.0
    waited = min(max((now - job.ready_at).total_seconds(), 0.0), AGE_CAP.total_seconds())
    return W_AGE * waited / 3600


def _urgency(job: Job) -> tuple[float, int]:
    due = job.need.due_at.timestamp() if job.need.due_at is not None else float("inf")
    return (due, job.id)


def _nearest(rows: list[EquipmentRow], area: str) -> EquipmentRow:
    def distance(row: EquipmentRow) -> tuple[int, str]:
        if row.area in AREAS and area in AREAS:
            return (abs(AREAS.index(row.area) - AREAS.index(area)), row.code)
        return (len(AREAS), row.code)

    return min(rows, key=distance)


def _with_load(reason: Reason, person: Person, k: int) -> Reason:
    if reason.code != "load":
        return reason
    load = person.load + k
    return Reason(
        "load", {"load": load, "max": person.max_load}, f"holds {load} of {person.max_load}"
    )


# --- rounds in the store ------------------------------------------------------------------------


@dataclass(frozen=True)
class Assigned:
    work_item_id: int
    link_name: str
    username: str
    equipment: str | None
    cost: float
    reasons: list[str]
    # The reasons with their codes and values, for pages that say them in the reader's language.
    coded: list[dict[str, Any]] = field(default_factory=list, compare=False, repr=False)
    # The link's version and element, for its label in the reader's language.
    definition_id: int | None = field(default=None, compare=False, repr=False)
    element_id: str = field(default="", compare=False, repr=False)

    def as_json(self) -> dict[str, object]:
        return {
            "work_item_id": self.work_item_id,
            "link_name": self.link_name,
            "username": self.username,
            "equipment": self.equipment,
            "cost": self.cost,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class Round:
    key: str
    at: datetime
    items_considered: int
    people_considered: int
    assignments: list[Assigned]
    unassigned: dict[str, str]
    replayed: bool = False
    number: int = 0  # the round's row id: "round 12" on the page

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "at": self.at.isoformat(),
            "items_considered": self.items_considered,
            "people_considered": self.people_considered,
            "assignments": [a.as_json() for a in self.assignments],
            "unassigned": self.unassigned,
        }


_BACK_ROLES_PLACEHOLDER: Any = bindparam("roles", expanding=True)
_READY_BACK_END = (
    select(
        *EVENT_SOURCE,
        WORK_ITEMS.c.lock_version,
        WORK_ITEMS.c.due_at,
        WORK_ITEMS.c.ready_at,
        INSTANCES.c.variables,
    )
    .join(INSTANCES, INSTANCES.c.id == WORK_ITEMS.c.instance_id)
    .where(
        WORK_ITEMS.c.state == "ready",
        WORK_ITEMS.c.assignee.is_(None),
        WORK_ITEMS.c.role.in_(_BACK_ROLES_PLACEHOLDER),
    )
    .order_by(WORK_ITEMS.c.due_at, WORK_ITEMS.c.id)
    .limit(MAX_ITEMS_PER_ROUND)
    .with_for_update(of=WORK_ITEMS, skip_locked=True)
)
_ASSIGN = (
    update(WORK_ITEMS)
    .where(
        and_(
            WORK_ITEMS.c.id == bindparam("where_id"),
            WORK_ITEMS.c.lock_version == bindparam("where_version"),
            WORK_ITEMS.c.state == "ready",
            WORK_ITEMS.c.assignee.is_(None),
        )
    )
    .values(assignee=bindparam("assignee"), lock_version=bindparam("new_version"))
)
_TAKE_EQUIPMENT = (
    update(EQUIPMENT)
    .where(EQUIPMENT.c.code == bindparam("where_code"))
    .values(work_item_id=bindparam("item_id"))
)


def run_round(rt: Runtime, key: str | None = None) -> Round:
    """Plan and apply one dispatch round; with a key already used, the round it recorded."""
    now = to_ms(rt.clock.now())
    key = key or f"round:{now.isoformat()}"
    earlier = stored_round(rt, key)
    if earlier is not None:
        return earlier
    try:
        with metrics.DISPATCH_ROUND_SECONDS.time():
            return _run(rt, key, now)
    except IntegrityError:
        # A second worker ran the same round first: answer with its plan.
        earlier = stored_round(rt, key)
        if earlier is None:
            raise
        return earlier


def _run(rt: Runtime, key: str, now: datetime) -> Round:
    back_roles = sorted(r.id for r in rt.roles.roles.values() if r.side == "back")
    with rt.db.transaction() as connection:
        # Rounds on several workers take turns: the pool's rows are the round's lock.
        connection.execute(select(StaffProfile.id).with_for_update()).all()
        rows = connection.execute(_READY_BACK_END, {"roles": back_roles}).all()
        jobs: list[Job] = []
        names: dict[int, Any] = {}
        for row in rows:
            link = rt.definition(row.definition_id).links.get(row.element_id)
            need = Need.of(link, row.role, row.variables or {}, row.due_at)
            jobs.append(Job(row.id, row.lock_version, need, row.link_name, row.ready_at))
            names[row.id] = row
        people = load_people(connection)
        # A link with a booked visit goes to the person who comes (issue 13), not to the plan.
        visits = appointments.assign_booked(rt, connection, rows, people)
        result = plan([j for j in jobs if j.id not in visits], people, now, equipment(connection))
        result.choices.extend(
            Choice(item_id, username, None, 0.0, (Reason("appointment", {}, why),))
            for item_id, (username, why) in visits.items()
        )
        for job in jobs:
            if job.id not in visits and _booked_elsewhere(connection, job.id):
                result.unassigned[job.id] = "nobody qualified is free at the booked visit"
                result.choices = [c for c in result.choices if c.job_id != job.id]
        round_id = connection.execute(
            ROUNDS.insert().returning(ROUNDS.c.id),
            {
                "key": key,
                "at": now,
                "items_considered": len(jobs),
                "people_considered": len(people),
                "assigned": 0,
                "unassigned": {str(k): v for k, v in result.unassigned.items()},
            },
        ).scalar_one()
        events: list[dict[str, Any]] = []
        assigned: list[Assigned] = []
        for choice in result.choices:
            row = names[choice.job_id]
            done = connection.execute(
                _ASSIGN,
                {
                    "where_id": row.id,
                    "where_version": row.lock_version,
                    "assignee": choice.username,
                    "new_version": row.lock_version + 1,
                },
            )
            if done.rowcount != 1:
                continue  # claimed meanwhile: it stays with whoever took it
            for code in (choice.equipment or "").split(", "):
                if code:
                    connection.execute(_TAKE_EQUIPMENT, {"where_code": code, "item_id": row.id})
            texts = choice.reason_texts
            connection.execute(
                ASSIGNMENTS.insert(),
                {
                    "round_id": round_id,
                    "work_item_id": row.id,
                    "username": choice.username,
                    "equipment_code": choice.equipment,
                    "cost": round(choice.cost, 3),
                    "reasons": [r.as_json() for r in choice.reasons],
                },
            )
            details: dict[str, object] = {"by": "dispatch", "round": key, "reasons": texts}
            if choice.equipment:
                details["equipment"] = choice.equipment
            events.append(event_row(row, "assigned", now, Actor(choice.username), details))
            assigned.append(
                Assigned(
                    row.id,
                    row.link_name,
                    choice.username,
                    choice.equipment,
                    choice.cost,
                    texts,
                    [r.as_json() for r in choice.reasons],
                    row.definition_id,
                    row.element_id,
                )
            )
        insert_events(connection, events)
        connection.execute(
            update(ROUNDS).where(ROUNDS.c.id == round_id).values(assigned=len(assigned))
        )
        return Round(
            key,
            now,
            len(jobs),
            len(people),
            assigned,
            {str(k): v for k, v in result.unassigned.items()},
        )


def _booked_elsewhere(connection: Any, work_item_id: int) -> bool:  # noqa: ANN401
    return appointments.booked_person(connection, work_item_id) is not None


def stored_round(rt: Runtime, key: str) -> Round | None:
    with rt.db.read() as session:
        found = session.scalar(select(DispatchRound).where(DispatchRound.key == key))
        if found is None:
            return None
        return _round(session, found, replayed=True)


def recent_rounds(rt: Runtime, limit: int = 20) -> list[Round]:
    """The latest rounds that assigned something, newest first, with their plans."""
    with rt.db.read() as session:
        rounds = session.scalars(
            select(DispatchRound)
            .where(DispatchRound.assigned > 0)
            .order_by(DispatchRound.id.desc())
            .limit(limit)
        ).all()
        return [_round(session, r) for r in rounds]


def _round(session: Any, found: DispatchRound, replayed: bool = False) -> Round:  # noqa: ANN401
    from gridflow.models import WorkItem

    links = {
        row.id: row
        for row in session.execute(
            select(
                WorkItem.id, WorkItem.link_name, WorkItem.definition_id, WorkItem.element_id
            ).where(WorkItem.id.in_([a.work_item_id for a in found.assignments]))
        )
    }
    return Round(
        found.key,
        found.at,
        found.items_considered,
        found.people_considered,
        [
            Assigned(
                a.work_item_id,
                links[a.work_item_id].link_name if a.work_item_id in links else "",
                a.username,
                a.equipment_code,
                a.cost,
                [r["text"] if isinstance(r, dict) else str(r) for r in a.reasons],
                [r for r in a.reasons if isinstance(r, dict)],
                links[a.work_item_id].definition_id if a.work_item_id in links else None,
                links[a.work_item_id].element_id if a.work_item_id in links else "",
            )
            for a in found.assignments
        ],
        dict(found.unassigned),
        replayed,
        found.id,
    )
