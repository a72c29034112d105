"""Forward support: the holder of a front-end link asks a back-end role for advice.

The link does not move: it stays with its holder, the consultation waits in the specialist
role's list until someone answers, and the request is a `help_requested` task event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from gridflow import access
from gridflow.errors import ConflictError, ForbiddenError, GridflowError, NotFoundError
from gridflow.instances import OPEN, record
from gridflow.models import Consultation, Definition, Demand, Instance, WorkItem, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

MAX_TEXT = 4000


class ConsultationError(GridflowError):
    """A consultation that cannot be asked or answered as given."""


def ask(rt: Runtime, work_item_id: int, actor: Actor, role_id: str, question: str) -> Consultation:
    text = question.strip()
    if not text or len(text) > MAX_TEXT:
        raise ConsultationError(gettext("the question needs 1 to %(max)s characters"), max=MAX_TEXT)
    role = rt.roles.roles.get(role_id)
    if role is None or not role.owns_lanes:
        raise ConsultationError(
            gettext("%(role)s is not a role that can be consulted"), role=repr(role_id)
        )
    with rt.db.write() as session:
        item = session.get(WorkItem, work_item_id, with_for_update=True)
        if item is None:
            raise NotFoundError(gettext("work item %(id)s does not exist"), id=work_item_id)
        if item.state not in OPEN:
            # not open: completed | cancelled
            raise ConflictError(
                gettext("%(link)s is already completed")
                if item.state == "completed"
                else gettext("%(link)s is already cancelled"),
                link=item.link_name,
            )
        if not actor.may_act_on(item.role, item.assignee):
            raise ForbiddenError(
                gettext("%(link)s belongs to role %(role)s, not to yours"),
                link=item.link_name,
                role=repr(item.role),
            )
        now = to_ms(rt.clock.now())
        consultation = Consultation(
            work_item_id=item.id,
            instance_id=item.instance_id,
            role=role_id,
            question=text,
            asked_by=actor.username,
            asked_at=now,
            state="open",
        )
        session.add(consultation)
        record(session, item, "help_requested", now, actor, {"role": role_id})
        session.flush()
        return consultation


def answer(rt: Runtime, consultation_id: int, actor: Actor, text: str) -> Consultation:
    reply = text.strip()
    if not reply or len(reply) > MAX_TEXT:
        raise ConsultationError(gettext("the answer needs 1 to %(max)s characters"), max=MAX_TEXT)
    with rt.db.write() as session:
        consultation = session.get(Consultation, consultation_id, with_for_update=True)
        if consultation is None:
            raise NotFoundError(gettext("consultation %(id)s does not exist"), id=consultation_id)
        if not actor.may_work_as(consultation.role):
            raise ForbiddenError(
                gettext("this question is for role %(role)s"), role=repr(consultation.role)
            )
        if consultation.state != "open":
            raise ConflictError(
                gettext("already answered by %(who)s"), who=consultation.answered_by
            )
        consultation.state = "answered"
        consultation.answer = reply
        consultation.answered_by = actor.username
        consultation.answered_at = to_ms(rt.clock.now())
        return consultation


def open_for(rt: Runtime, actor: Actor) -> list[Consultation]:
    """Questions waiting for one of the actor's roles, oldest first."""
    with rt.db.read() as session:
        query = select(Consultation).where(Consultation.state == "open")
        if "admin" not in actor.roles:
            query = query.where(Consultation.role.in_(sorted(actor.roles)))
        return list(session.scalars(query.order_by(Consultation.asked_at)))


def open_count(rt: Runtime, actor: Actor) -> int:
    with rt.db.read() as session:
        query = select(func.count(Consultation.id)).where(Consultation.state == "open")
        if "admin" not in actor.roles:
            query = query.where(Consultation.role.in_(sorted(actor.roles)))
        return session.scalar(query) or 0


@dataclass(frozen=True)
class Subject:
    """What a question is about: the link, its process, the demand and its customer (the
    customer's name only for those who see the demand's personal data, else masked)."""

    link_name: str
    process_name: str
    demand_id: int | None
    reference: str | None
    customer: str | None


def subjects(rt: Runtime, actor: Actor, questions: list[Consultation]) -> dict[int, Subject]:
    """Consultation id → its subject, in one query for the list."""
    if not questions:
        return {}
    item_ids = sorted({q.work_item_id for q in questions})
    with rt.db.snapshot() as connection:
        rows = {
            row.id: row
            for row in connection.execute(
                select(
                    WorkItem.id,
                    WorkItem.link_name,
                    Definition.name,
                    Demand.id.label("demand_id"),
                    Demand.reference,
                    Demand.customer_name,
                )
                .join(Instance, Instance.id == WorkItem.instance_id)
                .join(Definition, Definition.id == Instance.definition_id)
                .outerjoin(Demand, Demand.id == Instance.demand_id)
                .where(WorkItem.id.in_(item_ids))
            )
        }
        demand_ids = [row.demand_id for row in rows.values() if row.demand_id is not None]
        shown = access.personal_demands(connection, actor, rt.roles, demand_ids)
    result = {}
    for question in questions:
        row = rows.get(question.work_item_id)
        if row is None:
            continue
        customer = None
        if row.demand_id is not None:
            name = row.customer_name or ""
            customer = name if row.demand_id in shown else access.masked(name)
        result[question.id] = Subject(
            row.link_name, row.name, row.demand_id, row.reference, customer
        )
    return result
