"""The department ranking: per department, completed links, share within standard, breaches
and median working-time waiting and handling, best share first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func

from gridflow.audit.filters import EVERYTHING, AuditFilter, _item_conditions
from gridflow.audit.measures import _float, _grouped
from gridflow.models import WorkItem
from gridflow.runtime import Runtime


@dataclass(frozen=True)
class DepartmentFigures:
    department: str
    count: int
    within_standard_share: float | None
    breaches: int
    handling_working_median_s: float | None
    waiting_working_median_s: float | None


def department_ranking(rt: Runtime, flt: AuditFilter = EVERYTHING) -> list[DepartmentFigures]:
    """Departments, best share within standard first."""
    statement, ranked = _grouped(
        [WorkItem.department], ("waiting_working", "handling_working"), _item_conditions(flt)
    )
    statement = statement.add_columns(
        func.avg(case((ranked.c.within_standard.is_(True), 1.0), else_=0.0)).label("share"),
        func.sum(case((ranked.c.within_standard.is_(False), 1), else_=0)).label("breaches"),
    )
    with rt.db.snapshot(replica=True) as connection:
        rows = connection.execute(statement).mappings().all()
    result = [
        DepartmentFigures(
            department=row["k0"],
            count=int(row["count"]),
            within_standard_share=_float(row["share"]),
            breaches=int(row["breaches"] or 0),
            handling_working_median_s=_float(row["handling_working_median_s"]),
            waiting_working_median_s=_float(row["waiting_working_median_s"]),
        )
        for row in rows
    ]
    return sorted(result, key=lambda d: (-(d.within_standard_share or 0.0), d.department))
