"""The audit's tables (issues 4 and 14): the covering indexes on work items for the per-link
figures, finished instances' end-to-end figures, and the roll-ups of completed links folded
in up to a watermark."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id
from gridflow.models.processes import WorkItem

# Covering indexes for the per-link figures: each link's completed executions in the order of
# one measure, so a percentile is one index probe (LIMIT 2 OFFSET ⌊(n-1)p⌋) instead of a sort.
AUDIT_MEASURE_COLUMNS = (
    "waiting_s",
    "handling_s",
    "total_s",
    "waiting_working_s",
    "handling_working_s",
    "total_working_s",
)
for _column in AUDIT_MEASURE_COLUMNS:
    Index(
        f"ix_work_items_fig_{_column.removesuffix('_s')}",
        WorkItem.state,
        WorkItem.definition_id,
        WorkItem.element_id,
        getattr(WorkItem, _column),
    )
# Count, share within standard, mean and max of every measure, rework: one scan of this one.
Index(
    "ix_work_items_fig_summary",
    WorkItem.state,
    WorkItem.definition_id,
    WorkItem.element_id,
    WorkItem.instance_id,
    WorkItem.within_standard,
    *(getattr(WorkItem, _column) for _column in AUDIT_MEASURE_COLUMNS),
)
Index("ix_work_items_fig_breaches", WorkItem.within_standard, WorkItem.ended_at)
Index(
    "ix_work_items_fig_people",
    WorkItem.state,
    WorkItem.department,
    WorkItem.completed_by,
    WorkItem.within_standard,
)


class AuditInstance(Base):
    """A finished instance's end-to-end figures, recorded once (by `audit.refresh_instances`)
    so whole-process reports aggregate one row per instance in SQL; the working time needs the
    calendar, which SQL does not have."""

    __tablename__ = "audit_instances"
    __table_args__ = (Index("ix_audit_instances_definition", "definition_id", "ended_at"),)

    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("instances.id"), primary_key=True, autoincrement=False
    )
    definition_id: Mapped[int] = mapped_column(Id, ForeignKey("definitions.id"))
    customer_category: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    ended_week: Mapped[str] = mapped_column(String(10))  # local date of that week's Monday
    ended_month: Mapped[str] = mapped_column(String(7))  # local YYYY-MM
    calendar_s: Mapped[float] = mapped_column(Float)
    working_s: Mapped[float] = mapped_column(Float)
    links: Mapped[int] = mapped_column(Integer)  # links completed
    procedures: Mapped[int] = mapped_column(Integer)  # customer-facing links completed ("trips")
    cap_target: Mapped[str | None] = mapped_column(String(40))
    cap_basis: Mapped[str | None] = mapped_column(String(20))
    within_cap: Mapped[bool | None] = mapped_column(Boolean)


class AuditRollupState(Base):
    """One row: the roll-ups hold every link completed before `watermark` (ended_at)."""

    __tablename__ = "audit_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    watermark: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]


class AuditLinkRollup(Base):
    """Per process version and link: executions, within standard, breaches, instances in
    which it completed, and of those the instances in which it completed more than once."""

    __tablename__ = "audit_link_rollups"

    definition_id: Mapped[int] = mapped_column(
        Id, ForeignKey("definitions.id"), primary_key=True, autoincrement=False
    )
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    executions: Mapped[int] = mapped_column(BigInteger)
    within: Mapped[int] = mapped_column(BigInteger)
    breaches: Mapped[int] = mapped_column(BigInteger)
    instances: Mapped[int] = mapped_column(BigInteger)
    repeated: Mapped[int] = mapped_column(BigInteger)


class AuditLinkHistogram(Base):
    """Per link and measure, its values in fine buckets (see `link_rollups.INNER`): the
    bucket numbers, counts, sums, smallest and largest values as packed arrays
    (`link_rollups.Histogram`), one row read per link and measure."""

    __tablename__ = "audit_link_histograms"

    definition_id: Mapped[int] = mapped_column(
        Id, ForeignKey("definitions.id"), primary_key=True, autoincrement=False
    )
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    buckets: Mapped[bytes] = mapped_column(LargeBinary)


class AuditPersonRollup(Base):
    """Per department and person who completed (empty for none): executions, breaches."""

    __tablename__ = "audit_person_rollups"

    department: Mapped[str] = mapped_column(String(100), primary_key=True)
    person: Mapped[str] = mapped_column(String(200), primary_key=True)
    executions: Mapped[int] = mapped_column(BigInteger)
    breaches: Mapped[int] = mapped_column(BigInteger)
