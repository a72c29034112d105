"""A supervisor's team overview: who holds how much open work and how much of it is overdue,
which open links are overdue (held or still in a team queue), and the escalations waiting;
counted in SQL over the open work items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, func, select

from gridflow.models import Definition, Instance, StaffProfile, WorkItem
from gridflow.runtime import Runtime

OPEN = ("ready", "claimed")


@dataclass(frozen=True)
class PersonLoad:
    username: str
    department: str | None  # the skill pool's, when the person is in it
    held: int  # open links given to or claimed by them
    overdue: int
    max_load: int | None


@dataclass(frozen=True)
class OpenLink:
    work_item_id: int
    link_name: str
    process_name: str
    business_key: str | None
    department: str
    role: str
    holder: str | None
    due_at: datetime
    escalated: bool


@dataclass(frozen=True)
class DepartmentLoad:
    department: str
    open: int
    unassigned: int
    overdue: int


@dataclass(frozen=True)
class TeamOverview:
    people: list[PersonLoad]
    departments: list[DepartmentLoad]
    overdue: list[OpenLink]  # the most overdue first
    overdue_total: int
    escalations: list[OpenLink]


def _links(rows: object) -> list[OpenLink]:
    return [
        OpenLink(
            r.id,
            r.link_name,
            r.name,
            r.business_key,
            r.department,
            r.role,
            r.assignee,
            r.due_at,
            r.escalated,
        )  # fmt: skip
        for r in rows  # type: ignore[attr-defined]
    ]


def overview(rt: Runtime, limit: int = 50) -> TeamOverview:
    """The open work of every department, as a supervisor sees it at the clock's now."""
    now = rt.clock.now()
    is_overdue = case((WorkItem.due_at < now, 1), else_=0)
    link_columns = (
        WorkItem.id,
        WorkItem.link_name,
        Definition.name,
        Instance.business_key,
        WorkItem.department,
        WorkItem.role,
        WorkItem.assignee,
        WorkItem.due_at,
        WorkItem.escalated,
    )
    open_links = (
        select(*link_columns)
        .join(Instance, Instance.id == WorkItem.instance_id)
        .join(Definition, Definition.id == WorkItem.definition_id)
        .where(WorkItem.state.in_(OPEN))
    )
    with rt.db.snapshot() as connection:
        held = connection.execute(
            select(
                WorkItem.assignee,
                func.count(WorkItem.id),
                func.sum(is_overdue).cast(Integer),
            )
            .where(WorkItem.state.in_(OPEN), WorkItem.assignee.is_not(None))
            .group_by(WorkItem.assignee)
        ).all()
        profiles: dict[str, tuple[str, int]] = {
            p.username: (p.department, p.max_load)
            for p in connection.execute(
                select(StaffProfile.username, StaffProfile.department, StaffProfile.max_load)
            )
        }
        by_department = connection.execute(
            select(
                WorkItem.department,
                func.count(WorkItem.id),
                func.sum(case((WorkItem.assignee.is_(None), 1), else_=0)).cast(Integer),
                func.sum(is_overdue).cast(Integer),
            )
            .where(WorkItem.state.in_(OPEN))
            .group_by(WorkItem.department)
            .order_by(WorkItem.department)
        ).all()
        overdue_total = connection.scalar(
            select(func.count(WorkItem.id)).where(WorkItem.state.in_(OPEN), WorkItem.due_at < now)
        )
        overdue = _links(
            connection.execute(
                open_links.where(WorkItem.due_at < now).order_by(WorkItem.due_at).limit(limit)
            )
        )
        escalations = _links(
            connection.execute(
                open_links.where(WorkItem.escalated.is_(True) | (WorkItem.role == "supervisor"))
                .order_by(WorkItem.due_at)
                .limit(limit)
            )
        )
    load: dict[str, tuple[int, int]] = {
        str(name): (int(count), int(late or 0)) for name, count, late in held
    }
    people = [
        PersonLoad(
            name,
            profiles.get(name, (None, None))[0],
            load.get(name, (0, 0))[0],
            load.get(name, (0, 0))[1],
            profiles.get(name, (None, None))[1],
        )
        for name in sorted(set(load) | set(profiles))
    ]
    people.sort(key=lambda p: (-p.overdue, -p.held, p.username))
    return TeamOverview(
        people=people,
        departments=[
            DepartmentLoad(d, int(n), int(free or 0), int(late or 0))
            for d, n, free, late in by_department
        ],
        overdue=overdue,
        overdue_total=int(overdue_total or 0),
        escalations=escalations,
    )
