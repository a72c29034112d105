"""Breaches: the latest links completed after their due time, and completed links and breaches
per department and person (who was responsible)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from gridflow import link_rollups
from gridflow.audit.filters import EVERYTHING, AuditFilter, _item_conditions
from gridflow.models import Definition, WorkItem
from gridflow.runtime import Runtime


@dataclass(frozen=True)
class Breach:
    work_item_id: int
    instance_id: int
    process_id: str
    element_id: str
    link_name: str
    department: str
    person: str | None
    due_at: datetime
    ended_at: datetime
    standard_target: str
    standard_basis: str
    definition_id: int | None = None  # the version whose labels it shows

    @property
    def late_by(self) -> timedelta:
        return self.ended_at - self.due_at


def breaches(rt: Runtime, flt: AuditFilter = EVERYTHING, limit: int = 50) -> list[Breach]:
    """The latest completed links that ended after their due time, with who was responsible."""
    query = (
        select(
            WorkItem.id,
            WorkItem.instance_id,
            Definition.process_id,
            WorkItem.element_id,
            WorkItem.link_name,
            WorkItem.department,
            WorkItem.completed_by,
            WorkItem.due_at,
            WorkItem.ended_at,
            WorkItem.standard_target,
            WorkItem.standard_basis,
            WorkItem.definition_id,
        )
        .join(Definition, Definition.id == WorkItem.definition_id)
        .where(*_item_conditions(flt), WorkItem.within_standard.is_(False))
        .order_by(WorkItem.ended_at.desc(), WorkItem.id.desc())
        .limit(limit)
    )
    with rt.db.read(replica=True) as session:
        return [Breach(*row) for row in session.execute(query).all()]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Responsible:
    """Breaches per department and person."""

    department: str
    person: str | None
    count: int
    breaches: int


def breaches_by_person(
    rt: Runtime, flt: AuditFilter = EVERYTHING, *, method: str = "auto"
) -> list[Responsible]:
    """Completed links and breaches per department and person: from the roll-ups and the
    live tail (`rollup`) when the filter is by department or person only and a refresh has
    run, else by one grouped scan (`scan`)."""
    whole = not (
        flt.since or flt.until or flt.customer_category or flt.process_id or flt.version is not None
    )
    if method == "auto" or (method == "rollup" and not whole):
        method = "rollup" if whole else "scan"
    if method == "rollup":
        with rt.db.snapshot(replica=True) as connection:
            link_rollups.begin_snapshot(connection)
            data = link_rollups.merged_people(connection)
        if data is not None:
            rows = [
                Responsible(department, person or None, executions, breaches)
                for (department, person), (executions, breaches) in data.items()
                if executions
                and (not flt.department or department == flt.department)
                and (flt.departments is None or department in flt.departments)
                and (not flt.person or person == flt.person)
            ]
            return sorted(rows, key=lambda r: (-r.breaches, r.department, r.person or ""))
    elif method != "scan":
        raise ValueError(f"method {method!r}: use auto, rollup or scan")
    query = (
        select(
            WorkItem.department,
            WorkItem.completed_by,
            func.count(),
            func.sum(case((WorkItem.within_standard.is_(False), 1), else_=0)),
        )
        .where(*_item_conditions(flt))
        .group_by(WorkItem.department, WorkItem.completed_by)
    )
    with rt.db.read(replica=True) as session:
        rows = [Responsible(d, p, int(c), int(b or 0)) for d, p, c, b in session.execute(query)]
    return sorted(rows, key=lambda r: (-r.breaches, r.department, r.person or ""))
