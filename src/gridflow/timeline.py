"""A demand's timeline, the same for every department: each instance it started, every link
done and open with who held it, waiting and handling time, its standard and whether it was met,
comments and consultations, and what the instance waits for next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select

from gridflow import linkage_notes
from gridflow.errors import GridflowError, NotFoundError
from gridflow.field_work import FieldMark, marks_of
from gridflow.models import (
    Comment,
    Consultation,
    Definition,
    Demand,
    Incident,
    Instance,
    SystemTask,
    Wait,
    WorkItem,
)
from gridflow.runtime import Runtime

# How a reader's page or request says a linkage rule's note (gridflow.linkage_notes.say).
Say = Callable[[linkage_notes.Note], str]


def _comment_json(comment: Comment, say: Say | None) -> dict[str, object]:
    """A comment; a linkage rule's note also with its message key and values, its text in the
    language `say` gives (the stored English without one)."""
    note = linkage_notes.read(comment.author, comment.body)
    shown: dict[str, object] = {
        "author": comment.author,
        "at": _iso(comment.at),
        "text": say(note) if say is not None else note.text,
    }
    if note.key is not None:
        shown["key"] = note.key
        shown["params"] = dict(note.params)
    return shown


@dataclass(frozen=True)
class EnteredValue:
    """One value a clerk entered at a completed link, with its form field's label; an enum's
    value carries its choice's name, a boolean stays a boolean (the page says yes or no)."""

    field_id: str
    label: str
    value: object
    type: str
    choice: str | None = None


@dataclass
class LinkEntry:
    work_item_id: int
    element_id: str
    link_name: str
    lane: str
    role: str
    department: str
    state: str
    holder: str | None
    ready_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None
    due_at: datetime
    standard_target: str
    standard_basis: str
    waiting: timedelta | None
    handling: timedelta | None
    met: bool | None  # None while open
    overdue: bool
    escalated: bool
    version: int
    comments: list[Comment] = field(default_factory=list)
    consultations: list[Consultation] = field(default_factory=list)
    entered: list[EnteredValue] = field(default_factory=list)
    # Arrival on site and restoration of supply recorded on this link (`field_work`).
    field_marks: list[FieldMark] = field(default_factory=list)

    def as_json(self, say: Say | None = None) -> dict[str, object]:
        return {
            "work_item_id": self.work_item_id,
            "link_id": self.element_id,
            "link_name": self.link_name,
            "lane": self.lane,
            "role": self.role,
            "department": self.department,
            "state": self.state,
            "holder": self.holder,
            "ready_at": _iso(self.ready_at),
            "claimed_at": _iso(self.claimed_at),
            "ended_at": _iso(self.ended_at),
            "due_at": _iso(self.due_at),
            "standard": {"target": self.standard_target, "basis": self.standard_basis},
            "waiting_s": _seconds(self.waiting),
            "handling_s": _seconds(self.handling),
            "within_standard": self.met,
            "overdue": self.overdue,
            "escalated": self.escalated,
            "version": self.version,
            "entered": [
                {"field": e.field_id, "label": e.label, "value": e.value} for e in self.entered
            ],
            "comments": [_comment_json(c, say) for c in self.comments],
            "consultations": [
                {
                    "role": c.role,
                    "question": c.question,
                    "asked_by": c.asked_by,
                    "asked_at": _iso(c.asked_at),
                    "state": c.state,
                    "answer": c.answer,
                    "answered_by": c.answered_by,
                }
                for c in self.consultations
            ],
            "field_marks": [
                {"lifecycle": m.lifecycle, "at": _iso(m.at), "actor": m.actor}
                for m in self.field_marks
            ],
        }


OPEN_STEP_STATES = ("ready", "locked", "incident", "running")


@dataclass
class StepEntry:
    """A system step on the timeline: an external task served by another system's worker, or a
    call activity with the child instance it runs."""

    system_task_id: int
    element_id: str
    step_name: str
    kind: str  # external | call
    topic: str | None
    state: str
    worker: str | None
    ready_at: datetime
    locked_at: datetime | None
    ended_at: datetime | None
    attempts: int
    retries: int | None
    error_message: str | None
    child_instance_id: int | None
    waiting: timedelta | None
    handling: timedelta | None
    is_step: bool = True

    def as_json(self) -> dict[str, object]:
        return {
            "system_task_id": self.system_task_id,
            "step_id": self.element_id,
            "step_name": self.step_name,
            "kind": self.kind,
            "topic": self.topic,
            "state": self.state,
            "worker": self.worker,
            "ready_at": _iso(self.ready_at),
            "locked_at": _iso(self.locked_at),
            "ended_at": _iso(self.ended_at),
            "attempts": self.attempts,
            "retries": self.retries,
            "error_message": self.error_message,
            "child_instance_id": self.child_instance_id,
            "waiting_s": _seconds(self.waiting),
            "handling_s": _seconds(self.handling),
        }


@dataclass
class WaitEntry:
    kind: str
    name: str
    due_at: datetime | None
    element_id: str = ""  # the event that waits, for its label


@dataclass
class InstanceTimeline:
    instance_id: int
    process_id: str
    process_name: str
    version: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    links: list[LinkEntry]
    waiting_for: list[WaitEntry]
    steps: list[StepEntry] = field(default_factory=list)
    parent_instance_id: int | None = None
    incidents: int = 0  # open ones
    definition_id: int | None = None  # its version, whose labels it shows

    @property
    def open_links(self) -> list[LinkEntry]:
        return [link for link in self.links if link.state in ("ready", "claimed")]

    @property
    def open_steps(self) -> list[StepEntry]:
        return [
            step for step in self.steps if step.state in ("ready", "locked", "incident", "running")
        ]

    @property
    def entries(self) -> list[LinkEntry | StepEntry]:
        """Links and system steps in the order they were reached."""
        return sorted([*self.links, *self.steps], key=lambda e: e.ready_at)

    def as_json(self, say: Say | None = None) -> dict[str, object]:
        return {
            "instance_id": self.instance_id,
            "process_id": self.process_id,
            "process_name": self.process_name,
            "version": self.version,
            "status": self.status,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "parent_instance_id": self.parent_instance_id,
            "open_incidents": self.incidents,
            "links": [link.as_json(say) for link in self.links],
            "system_steps": [step.as_json() for step in self.steps],
            "next": {
                "open_links": [link.work_item_id for link in self.open_links],
                "open_system_steps": [step.system_task_id for step in self.open_steps],
                "waiting_for": [
                    {"kind": w.kind, "name": w.name, "due_at": _iso(w.due_at)}
                    for w in self.waiting_for
                ],
            },
        }


@dataclass
class DemandTimeline:
    demand: Demand
    instances: list[InstanceTimeline]

    def as_json(self, say: Say | None = None) -> dict[str, object]:
        d = self.demand
        return {
            "id": d.id,
            "reference": d.reference,
            "customer_name": d.customer_name,
            "customer_category": d.customer_category,
            "channel": d.channel,
            "category": d.category,
            "address": d.address,
            "phone": d.phone,
            "priority": d.priority,
            "details": d.details,
            "created_at": _iso(d.created_at),
            "created_by": d.created_by,
            "owner": d.owner,
            "instances": [i.as_json(say) for i in self.instances],
        }


_DEMAND = select(Demand.__table__).where(Demand.id == bindparam("demand_id"))
_DEMAND_INSTANCES = (
    select(Instance.id).where(Instance.demand_id == bindparam("demand_id")).order_by(Instance.id)
)


def demand_timeline(rt: Runtime, demand_id: int) -> DemandTimeline:
    with rt.db.snapshot() as connection:
        demand = connection.execute(_DEMAND, {"demand_id": demand_id}).first()
        if demand is None:
            raise NotFoundError(f"demand {demand_id} does not exist")
        ids = list(connection.scalars(_DEMAND_INSTANCES, {"demand_id": demand_id}))
        return DemandTimeline(demand, _instances(rt, ids, connection))  # type: ignore[arg-type]


def instance_timeline(rt: Runtime, instance_id: int) -> InstanceTimeline:
    with rt.db.snapshot() as connection:
        found = _instances(rt, [instance_id], connection)
    if not found:
        raise NotFoundError(f"instance {instance_id} does not exist")
    return found[0]


# Rows, not ORM objects: a timeline reads many rows and changes none. Only the columns shown
# are read from instances, whose rows also hold the whole saved workflow.
_TIMELINE_INSTANCES = (
    select(
        Instance.id,
        Instance.status,
        Instance.started_at,
        Instance.ended_at,
        Instance.parent_instance_id,
        Definition.process_id,
        Definition.name,
        Definition.version,
        Instance.definition_id,
    )
    .join(Definition, Definition.id == Instance.definition_id)
    .where(Instance.id.in_(bindparam("ids", expanding=True)))
    .order_by(Instance.id)
)
_TIMELINE_ITEMS = (
    select(WorkItem.__table__)
    .where(WorkItem.instance_id.in_(bindparam("ids", expanding=True)))
    .order_by(WorkItem.id)
)
_TIMELINE_STEPS = (
    select(SystemTask.__table__)
    .where(SystemTask.instance_id.in_(bindparam("ids", expanding=True)))
    .order_by(SystemTask.id)
)
_TIMELINE_INCIDENTS = (
    select(Incident.instance_id, func.count(Incident.id))
    .where(Incident.instance_id.in_(bindparam("ids", expanding=True)), Incident.state == "open")
    .group_by(Incident.instance_id)
)
_TIMELINE_WAITS = (
    select(Wait.instance_id, Wait.kind, Wait.name, Wait.due_at, Wait.element_id)
    .where(Wait.instance_id.in_(bindparam("ids", expanding=True)), Wait.attached_task_id.is_(None))
    .order_by(Wait.id)
)
_TIMELINE_COMMENTS = (
    select(Comment.__table__)
    .where(Comment.instance_id.in_(bindparam("ids", expanding=True)))
    .order_by(Comment.id)
)
_TIMELINE_CONSULTATIONS = (
    select(Consultation.__table__)
    .where(Consultation.instance_id.in_(bindparam("ids", expanding=True)))
    .order_by(Consultation.id)
)


def _instances(
    rt: Runtime, instance_ids: list[int], connection: Connection
) -> list[InstanceTimeline]:
    if not instance_ids:
        return []
    now = rt.clock.now()
    ids = {"ids": instance_ids}
    instances = connection.execute(_TIMELINE_INSTANCES, ids).all()
    items: list[Any] = list(connection.execute(_TIMELINE_ITEMS, ids))
    waits = connection.execute(_TIMELINE_WAITS, ids).all()
    notes: list[Any] = list(connection.execute(_TIMELINE_COMMENTS, ids))
    asks: list[Any] = list(connection.execute(_TIMELINE_CONSULTATIONS, ids))
    steps: list[Any] = list(connection.execute(_TIMELINE_STEPS, ids))
    open_incidents = dict(connection.execute(_TIMELINE_INCIDENTS, ids).all())
    marks = marks_of(connection, instance_ids)
    return [
        InstanceTimeline(
            instance_id=row.id,
            process_id=row.process_id,
            process_name=row.name,
            version=row.version,
            status=row.status,
            started_at=row.started_at,
            ended_at=row.ended_at,
            links=[
                _entry(item, now, notes, asks, marks, _entered(rt, item))
                for item in items
                if item.instance_id == row.id
            ],
            waiting_for=[
                WaitEntry(w.kind, w.name, w.due_at, w.element_id)
                for w in waits
                if w.instance_id == row.id
            ],
            steps=[_step(step, now) for step in steps if step.instance_id == row.id],
            parent_instance_id=row.parent_instance_id,
            incidents=int(open_incidents.get(row.id, 0)),
            definition_id=row.definition_id,
        )
        for row in instances
    ]


def _step(step: Any, now: datetime) -> StepEntry:  # noqa: ANN401 - a system_tasks row
    locked = step.first_locked_at
    waiting = handling = None
    if step.kind == "call":
        handling = (step.ended_at or now) - step.created_at
    else:
        waiting = (locked or step.ended_at or now) - step.created_at
        if locked is not None:
            handling = (step.ended_at or now) - locked
    return StepEntry(
        system_task_id=step.id,
        element_id=step.element_id,
        step_name=step.step_name,
        kind=step.kind,
        topic=step.topic,
        state=step.state,
        worker=step.completed_by or step.worker_id,
        ready_at=step.created_at,
        locked_at=locked,
        ended_at=step.ended_at,
        attempts=step.attempts,
        retries=step.retries,
        error_message=step.error_message,
        child_instance_id=step.child_instance_id,
        waiting=waiting,
        handling=handling,
    )


@dataclass(frozen=True)
class OpenLink:
    id: int
    link_name: str
    lane: str
    role: str
    element_id: str = ""


_OPEN_LINKS = (
    select(
        Instance.status,
        WorkItem.id,
        WorkItem.link_name,
        WorkItem.lane,
        WorkItem.role,
        WorkItem.element_id,
    )
    .outerjoin(
        WorkItem,
        and_(WorkItem.instance_id == Instance.id, WorkItem.state.in_(("ready", "claimed"))),
    )
    .where(Instance.id == bindparam("instance_id"))
    .order_by(WorkItem.id)
)


def open_links(rt: Runtime, instance_id: int) -> tuple[str, list[OpenLink]]:
    """An instance's status and its open links: what a clerk is told after completing one."""
    with rt.db.snapshot() as connection:
        rows = connection.execute(_OPEN_LINKS, {"instance_id": instance_id}).all()
    if not rows:
        raise NotFoundError(f"instance {instance_id} does not exist")
    links = [OpenLink(r[1], r[2], r[3], r[4], r[5]) for r in rows if r[1] is not None]
    return rows[0][0], links


def _entered(rt: Runtime, item: Any) -> list[EnteredValue]:  # noqa: ANN401 - a work_items row
    """What was entered at a completed link, in its form's field order, labelled by the form of
    the link's own version (an old instance keeps its version's labels)."""
    if item.state != "completed" or not item.form_data:
        return []
    try:
        link = rt.definition(item.definition_id).links.get(item.element_id)
    except GridflowError:
        link = None
    data = dict(item.form_data)
    entered = []
    if link is not None:
        for form_field in link.form.fields:
            if form_field.id not in data or data[form_field.id] is None:
                continue
            value = data.pop(form_field.id)
            choice = dict(form_field.options).get(str(value)) if form_field.options else None
            entered.append(
                EnteredValue(form_field.id, form_field.label, value, form_field.type, choice)
            )
    # Values no field of the form names (set by an older form) are shown by their id.
    entered.extend(EnteredValue(key, key, value, "string") for key, value in data.items())
    return entered


def _entry(
    item: WorkItem,
    now: datetime,
    notes: list[Comment],
    asks: list[Consultation],
    marks: list[FieldMark],
    entered: list[EnteredValue] | None = None,
) -> LinkEntry:
    waiting = (item.claimed_at or item.ended_at or now) - item.ready_at
    handling = (item.ended_at or now) - item.claimed_at if item.claimed_at else None
    return LinkEntry(
        work_item_id=item.id,
        element_id=item.element_id,
        link_name=item.link_name,
        lane=item.lane,
        role=item.role,
        department=item.department,
        state=item.state,
        holder=item.completed_by or item.assignee,
        ready_at=item.ready_at,
        claimed_at=item.claimed_at,
        ended_at=item.ended_at,
        due_at=item.due_at,
        standard_target=item.standard_target,
        standard_basis=item.standard_basis,
        waiting=waiting,
        handling=handling,
        met=item.within_standard if item.state == "completed" else None,
        overdue=item.state in ("ready", "claimed") and item.due_at < now,
        escalated=item.escalated,
        version=item.lock_version,
        comments=[c for c in notes if c.work_item_id == item.id],
        consultations=[c for c in asks if c.work_item_id == item.id],
        entered=entered or [],
        field_marks=[m for m in marks if m.work_item_id == item.id],
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None
