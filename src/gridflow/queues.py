"""Work queues: "my work" (links I hold or was given) and the team queue (ready links in my
roles), with filters, sorting, pagination and counts, all computed in SQL."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from gridflow.models import Definition, Demand, Instance, UTCDateTime, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

SCOPES = ("mine", "team")
SORTS = ("due", "priority", "waiting")
MAX_PER_PAGE = 200
# Pages past this would skip more rows than any queue holds (and overflow an OFFSET).
MAX_PAGE = 1_000_000


class QueueError(ValueError):
    """A filter or sort the queue does not know; the message names it."""


@dataclass(frozen=True)
class QueueFilter:
    process: str | None = None
    link: str | None = None  # element id
    department: str | None = None
    overdue: bool = False
    due_today: bool = False


@dataclass(frozen=True)
class QueueRow:
    id: int
    version: int
    state: str
    instance_id: int
    demand_id: int | None
    demand_reference: str
    customer: str
    priority: int
    process_id: str
    process_name: str
    element_id: str
    link_name: str
    lane: str
    role: str
    department: str
    assignee: str | None
    ready_at: datetime
    claimed_at: datetime | None
    due_at: datetime
    standard_target: str
    standard_basis: str
    waited: timedelta
    overdue: bool
    time_left: timedelta  # on the standard's basis; negative when overdue
    definition_id: int | None = None  # the version whose labels the row shows

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "version": self.version,
            "state": self.state,
            "instance_id": self.instance_id,
            "demand_id": self.demand_id,
            "demand_reference": self.demand_reference,
            "customer": self.customer,
            "priority": self.priority,
            "process_id": self.process_id,
            "process_name": self.process_name,
            "link_id": self.element_id,
            "link_name": self.link_name,
            "lane": self.lane,
            "role": self.role,
            "department": self.department,
            "assignee": self.assignee,
            "ready_at": self.ready_at.isoformat(),
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
            "due_at": self.due_at.isoformat(),
            "standard": {"target": self.standard_target, "basis": self.standard_basis},
            "waited_s": self.waited.total_seconds(),
            "overdue": self.overdue,
            "time_left_s": self.time_left.total_seconds(),
        }


@dataclass
class QueuePage:
    scope: str
    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


# Statements are built once per shape (scope, admin or not, which filters, sort) and run with
# bound parameters: building a SQLAlchemy select costs more than running it on SQLite.
_OPEN_ROLES: Any = bindparam("roles", expanding=True)


def _scope_clause(scope: str, admin: bool) -> ColumnElement[bool]:
    # A ready link given to someone (desk owner, dispatch, hand-over) is in their "My work"
    # and out of the team queue until they start it.
    if scope == "mine":
        return and_(
            WorkItem.state.in_(("ready", "claimed")), WorkItem.assignee == bindparam("username")
        )
    if admin:
        return and_(WorkItem.state == "ready", WorkItem.assignee.is_(None))
    return and_(
        WorkItem.state == "ready", WorkItem.assignee.is_(None), WorkItem.role.in_(_OPEN_ROLES)
    )


def _filter_clauses(shape: tuple[bool, ...]) -> list[ColumnElement[bool]]:
    process, link, department, overdue, due_today = shape
    clauses: list[ColumnElement[bool]] = []
    if process:
        clauses.append(Definition.process_id == bindparam("process"))
    if link:
        clauses.append(WorkItem.element_id == bindparam("link"))
    if department:
        clauses.append(WorkItem.department == bindparam("department"))
    if overdue:
        clauses.append(WorkItem.due_at < bindparam("now", type_=UTCDateTime()))
    if due_today:
        clauses.append(WorkItem.due_at < bindparam("end_of_day", type_=UTCDateTime()))
    return clauses


@functools.lru_cache(maxsize=256)
def _page_statement(scope: str, admin: bool, shape: tuple[bool, ...], sort: str) -> Select:
    order = {
        "due": (WorkItem.due_at, WorkItem.id),
        "priority": (Demand.priority.desc(), WorkItem.due_at, WorkItem.id),
        "waiting": (WorkItem.ready_at, WorkItem.id),
    }[sort]
    return (
        select(WorkItem, Definition.process_id, Definition.name, Demand)
        .join(Instance, Instance.id == WorkItem.instance_id)
        .join(Definition, Definition.id == WorkItem.definition_id)
        .outerjoin(Demand, Demand.id == Instance.demand_id)
        .where(_scope_clause(scope, admin), *_filter_clauses(shape))
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@functools.lru_cache(maxsize=256)
def _total_statement(scope: str, admin: bool, shape: tuple[bool, ...]) -> Select:
    query = select(func.count(WorkItem.id)).where(_scope_clause(scope, admin))
    if shape[0]:
        query = query.join(Definition, Definition.id == WorkItem.definition_id)
    return query.where(*_filter_clauses(shape))


@functools.lru_cache(maxsize=4)
def _counts_statement(admin: bool) -> Select:
    mine, team = _scope_clause("mine", admin), _scope_clause("team", admin)
    return select(func.count(case((mine, 1))), func.count(case((team, 1)))).where(or_(mine, team))


def _parameters(actor: Actor, filters: QueueFilter, rt: Runtime, now: datetime) -> dict[str, Any]:
    local = rt.calendar.to_local(now)
    return {
        "username": actor.username,
        "roles": sorted(actor.roles),
        "process": filters.process,
        "link": filters.link,
        "department": filters.department,
        "now": now,
        "end_of_day": datetime.combine(local.date() + timedelta(days=1), time(), local.tzinfo),
    }


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """How many links are in each tab, in one query."""
    row = session.execute(
        _counts_statement("admin" in actor.roles),
        {"username": actor.username, "roles": sorted(actor.roles)},
    ).one()
    return {"mine": int(row[0] or 0), "team": int(row[1] or 0)}


def work_queue(
    rt: Runtime,
    actor: Actor,
    scope: str = "team",
    filters: QueueFilter = QueueFilter(),
    *,
    sort: str = "due",
    page: int = 1,
    per_page: int = 25,
) -> QueuePage:
    """One page of a queue with the counts of both tabs."""
    if scope not in SCOPES:
        raise QueueError(f"scope {scope!r}: expected one of {', '.join(SCOPES)}")
    if sort not in SORTS:
        raise QueueError(f"sort {sort!r}: expected one of {', '.join(SORTS)}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise QueueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    if not 1 <= page <= MAX_PAGE:
        raise QueueError(f"page must be between 1 and {MAX_PAGE}")
    now = rt.clock.now()
    admin = "admin" in actor.roles
    shape = (
        bool(filters.process),
        bool(filters.link),
        bool(filters.department),
        filters.overdue,
        filters.due_today,
    )
    params = _parameters(actor, filters, rt, now)
    with rt.db.read() as session:
        tab_counts = counts(session, actor)
        # Without filters the tab's count is the total; only filtered pages count again.
        total = (
            session.scalar(_total_statement(scope, admin, shape), params) or 0
            if any(shape)
            else tab_counts[scope]
        )
        rows = session.execute(
            _page_statement(scope, admin, shape, sort),
            {**params, "limit": per_page, "offset": (page - 1) * per_page},
        ).all()
    return QueuePage(
        scope=scope,
        rows=[_row(rt, now, item, pid, pname, demand) for item, pid, pname, demand in rows],
        total=total,
        page=page,
        per_page=per_page,
        counts=tab_counts,
    )


def _row(
    rt: Runtime,
    now: datetime,
    item: WorkItem,
    process_id: str,
    process_name: str,
    demand: Demand | None,
) -> QueueRow:
    overdue = item.due_at < now
    if overdue:
        left = -rt.calendar.between(item.due_at, now, item.standard_basis)
    else:
        left = rt.calendar.between(now, item.due_at, item.standard_basis)
    return QueueRow(
        id=item.id,
        version=item.lock_version,
        state=item.state,
        instance_id=item.instance_id,
        demand_id=demand.id if demand else None,
        demand_reference=demand.reference if demand else "",
        customer=demand.customer_name if demand else "",
        priority=demand.priority if demand else 1,
        process_id=process_id,
        process_name=process_name,
        element_id=item.element_id,
        link_name=item.link_name,
        lane=item.lane,
        role=item.role,
        department=item.department,
        assignee=item.assignee,
        ready_at=item.ready_at,
        claimed_at=item.claimed_at,
        due_at=item.due_at,
        standard_target=item.standard_target,
        standard_basis=item.standard_basis,
        waited=now - item.ready_at,
        overdue=overdue,
        time_left=left,
        definition_id=item.definition_id,
    )
