"""The customer's own timeline: each link of their demand in the customer's words, the
department holding it, done or waiting, what the customer must do, the standard's promise,
the predicted dates (likely by / at the latest) for the open links and the whole demand, and
a late link said plainly with the reason staff wrote for the customer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gridflow import linkage_notes
from gridflow.customer_words import ACTIONS, words_for
from gridflow.customers.forecast import Dates, forecast
from gridflow.errors import NotFoundError
from gridflow.models import Comment, Definition, Demand, Instance, WorkItem
from gridflow.runtime import Runtime

# Links that are the company's own business (escalations), not steps of the customer's demand.
HIDDEN_PROCESSES = ("escalation",)
HIDDEN_LINKS = {
    ("fault_repair", "Activity_escalate"),
    ("active_repair", "Activity_escalate"),
    ("hv_connection", "Activity_escalate_scheme_reply"),
}


@dataclass(frozen=True)
class Step:
    work_item_id: int
    words: str
    department: str
    state: str  # done | waiting | in_hand
    action: str | None  # what the customer must do, while it is open
    started_at: datetime
    ended_at: datetime | None
    due_at: datetime
    late: bool
    reason: str | None
    predicted: Dates | None


@dataclass(frozen=True)
class CustomerTimeline:
    demand_id: int
    reference: str
    category: str
    created_at: datetime
    finished_at: datetime | None
    steps: list[Step]
    predicted: Dates | None
    promised: datetime | None
    next_action: str | None


def owned_demand(rt: Runtime, customer_id: int, demand_id: int) -> None:
    """NotFoundError unless the demand is this customer's (another's is not found either)."""
    with rt.db.snapshot() as connection:
        owner = connection.scalar(select(Demand.customer_id).where(Demand.id == demand_id))
    if owner is None or owner != customer_id:
        raise NotFoundError(f"demand {demand_id} is not one of yours")


def demands_of(rt: Runtime, customer_id: int) -> list[tuple[int, str, str, datetime, bool]]:
    """The customer's demands, newest first: id, reference, category, made, finished."""
    with rt.db.snapshot() as connection:
        rows = connection.execute(
            select(Demand.id, Demand.reference, Demand.category, Demand.created_at)
            .where(Demand.customer_id == customer_id)
            .order_by(Demand.id.desc())
        ).all()
        running = set(
            connection.scalars(
                select(Instance.demand_id).where(
                    Instance.demand_id.in_([r.id for r in rows]), Instance.status == "running"
                )
            )
        )
    return [(r.id, r.reference, r.category, r.created_at, r.id not in running) for r in rows]


def customer_timeline(
    rt: Runtime, demand_id: int, say: Callable[[linkage_notes.Note], str] | None = None
) -> CustomerTimeline:
    now = rt.clock.now()
    with rt.db.snapshot() as connection:
        demand_row = connection.execute(
            select(Demand.reference, Demand.category, Demand.created_at).where(
                Demand.id == demand_id
            )
        ).first()
        if demand_row is None:
            raise NotFoundError(f"demand {demand_id} does not exist")
        instances = connection.execute(
            select(
                Instance.id,
                Instance.status,
                Instance.started_at,
                Instance.ended_at,
                Instance.parent_instance_id,
                Instance.variables,
                Instance.definition_id,
                Definition.process_id,
            )
            .join(Definition, Definition.id == Instance.definition_id)
            .where(Instance.demand_id == demand_id)
            .order_by(Instance.id)
        ).all()
        shown = {i.id: i for i in instances if i.process_id not in HIDDEN_PROCESSES}
        items = connection.execute(
            select(WorkItem)
            .where(WorkItem.instance_id.in_(list(shown)), WorkItem.state != "cancelled")
            .order_by(WorkItem.ready_at, WorkItem.id)
        ).all()
        reasons: dict[int, str] = {}
        for work_item_id, author, body in connection.execute(
            select(Comment.work_item_id, Comment.author, Comment.body)
            .where(
                Comment.instance_id.in_(list(shown)),
                Comment.for_customer.is_(True),
                Comment.work_item_id.is_not(None),
            )
            .order_by(Comment.id)
        ).all():
            if work_item_id is not None:
                # A linkage rule's note is kept as its key and values: said in the reader's
                # language when the page gives `say`, else as written.
                note = linkage_notes.read(author, body)
                reasons[work_item_id] = say(note) if say is not None else note.text
    predicted = forecast(rt, demand_id)
    steps: list[Step] = []
    for item in items:
        process_id = shown[item.instance_id].process_id
        if (process_id, item.element_id) in HIDDEN_LINKS:
            continue
        words = words_for(process_id, item.element_id, item.link_name)
        done = item.state == "completed"
        late = (item.ended_at or now) > item.due_at
        steps.append(
            Step(
                work_item_id=item.id,
                words=words.name,
                department=item.department,
                state="done" if done else ("in_hand" if item.state == "claimed" else "waiting"),
                action=None if done else words.action,
                started_at=item.ready_at,
                ended_at=item.ended_at,
                due_at=item.due_at,
                late=late,
                reason=reasons.get(item.id) if late else None,
                predicted=None if done else predicted.links.get(item.id),
            )
        )
    roots = [i for i in shown.values() if i.parent_instance_id is None]
    finished = None
    if roots and all(r.status != "running" for r in roots):
        finished = max((r.ended_at for r in roots if r.ended_at is not None), default=None)
    promised = None
    for root in roots:
        standard = rt.definition(root.definition_id).standard
        if standard is not None:
            due = standard.due(root.started_at, root.variables or {}, rt.calendar)
            promised = due if promised is None else max(promised, due)
    next_action = next((ACTIONS[s.action] for s in steps if s.action), None)
    return CustomerTimeline(
        demand_id=demand_id,
        reference=demand_row.reference,
        category=demand_row.category,
        created_at=demand_row.created_at,
        finished_at=finished,
        steps=steps,
        predicted=None if finished else predicted.demand,
        promised=promised,
        next_action=next_action,
    )
