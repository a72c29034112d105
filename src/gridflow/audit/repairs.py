"""The repair share: repairs started by the grid's own alarms (active) against those started by
customers' calls."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select

from gridflow.audit.filters import EVERYTHING, AuditFilter
from gridflow.models import Definition, Instance
from gridflow.runtime import Runtime


@dataclass(frozen=True)
class RepairShare:
    """Repairs started by the grid's own alarms (active) and by customers' calls."""

    active: int
    reported: int

    @property
    def active_share(self) -> float | None:
        total = self.active + self.reported
        return self.active / total if total else None


def active_repair_share(rt: Runtime, flt: AuditFilter = EVERYTHING) -> RepairShare:
    """Instances started in the period (all statuses) of active_repair vs fault_repair."""
    conditions: list[ColumnElement[bool]] = [
        Definition.process_id.in_(("active_repair", "fault_repair"))
    ]
    if flt.since is not None:
        conditions.append(Instance.started_at >= flt.since)
    if flt.until is not None:
        conditions.append(Instance.started_at < flt.until)
    query = (
        select(Definition.process_id, func.count())
        .select_from(Instance)
        .join(Definition, Definition.id == Instance.definition_id)
        .where(*conditions)
        .group_by(Definition.process_id)
    )
    with rt.db.read(replica=True) as session:
        counts = dict(session.execute(query).all())
    return RepairShare(int(counts.get("active_repair", 0)), int(counts.get("fault_repair", 0)))
