"""The getting-electricity report: finished connections per customer category (procedures,
calendar and working days, share within the cap) beside the World Bank's reference."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func

from gridflow.audit.filters import EVERYTHING, AuditFilter
from gridflow.audit.measures import _float
from gridflow.audit.processes import _instance_conditions, _instance_percentiles, refresh_instances
from gridflow.models import AuditInstance, Definition
from gridflow.runtime import Runtime

# World Bank Doing Business 2020, China, "Getting Electricity" (see DESIGN.md).
GETTING_ELECTRICITY_REFERENCE = {"procedures": 2, "calendar_days": 32, "rank": 12, "year": 2020}


@dataclass(frozen=True)
class ElectricityRow:
    """One customer category's connections, beside the World Bank reference."""

    customer_category: str
    instances: int
    procedures_mean: float | None
    calendar_days_median: float | None
    working_days_median: float | None
    within_cap_share: float | None


def getting_electricity(rt: Runtime, flt: AuditFilter = EVERYTHING) -> list[ElectricityRow]:
    """Finished connection processes by customer category: procedures (customer-facing links),
    calendar and working days, share within the cap."""
    refresh_instances(rt)
    conditions = [*_instance_conditions(flt), Definition.category == "connection"]
    statement = _instance_percentiles(
        [func.coalesce(AuditInstance.customer_category, "")], conditions
    )
    with rt.db.snapshot(replica=True) as connection:
        rows = connection.execute(statement).mappings().all()
    day = 86400.0
    working_day = rt.calendar.day_length.total_seconds()
    return sorted(
        (
            ElectricityRow(
                customer_category=row["k0"] or "-",
                instances=int(row["count"]),
                procedures_mean=_float(row["procedures_mean"]),
                calendar_days_median=row["calendar_median_s"] / day
                if row["calendar_median_s"] is not None
                else None,
                working_days_median=row["working_median_s"] / working_day
                if row["working_median_s"] is not None
                else None,
                within_cap_share=_float(row["within_cap_share"]),
            )
            for row in rows
        ),
        key=lambda r: r.customer_category,
    )
