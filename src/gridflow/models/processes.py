"""The tables of running processes: definitions (deployed process versions), demands,
instances, work items (one execution of one link), waits, and task events (the append-only
audit trail, with the lifecycles it records)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridflow.models.base import Base, Id


class Definition(Base):
    """One deployed version of one process."""

    __tablename__ = "definitions"
    __table_args__ = (
        UniqueConstraint("process_id", "version", name="uq_definition_version"),
        # Not unique: an older version's content deployed again is a newer version (rollback).
        Index("ix_definitions_process_content", "process_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(50))
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(200))


class Demand(Base):
    """What a customer asked for, entered once from any channel."""

    __tablename__ = "demands"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_category: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    priority: Mapped[int] = mapped_column(
        Integer, default=1, server_default="1"
    )  # 0 low, 1 normal, 2 high, 3 urgent
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    # The client's key for this request: the same key again returns this demand, not a copy.
    request_key: Mapped[str | None] = mapped_column(String(100))
    # Its account manager (issue 6): its front-end links go to this person's "My work" first.
    owner: Mapped[str | None] = mapped_column(String(100), index=True)
    # The customer account that applied online (issue 13): the only customer who sees it.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    instances: Mapped[list[Instance]] = relationship(back_populates="demand")

    __table_args__ = (UniqueConstraint("created_by", "request_key", name="uq_demand_request_key"),)


class Instance(Base):
    """One run of one process version for one demand; `document` is the saved workflow."""

    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_status", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))  # running | completed | cancelled
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    document: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lock_version: Mapped[int] = mapped_column(Integer)
    # A called process's instance (issue 10): the caller and its call activity's task.
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    parent_task_id: Mapped[str | None] = mapped_column(String(36))

    definition: Mapped[Definition] = relationship()
    demand: Mapped[Demand | None] = relationship(back_populates="instances")

    __mapper_args__ = {"version_id_col": lock_version}


class WorkItem(Base):
    """One execution of one link: waiting for someone, held by someone, or finished."""

    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_queue", "state", "role"),
        Index("ix_work_items_link", "definition_id", "element_id"),
        Index("ix_work_items_assignee", "assignee", "state"),
        Index("ix_work_items_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(200))
    link_name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    customer_facing: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20))  # ready | claimed | completed | cancelled
    assignee: Mapped[str | None] = mapped_column(String(200))
    ready_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime]
    standard_target: Mapped[str] = mapped_column(String(40))
    standard_basis: Mapped[str] = mapped_column(String(20))
    form_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Filled once the link completes, so reports read one row per execution.
    waiting_s: Mapped[float | None] = mapped_column(Float)
    handling_s: Mapped[float | None] = mapped_column(Float)
    waiting_working_s: Mapped[float | None] = mapped_column(Float)
    handling_working_s: Mapped[float | None] = mapped_column(Float)
    # waiting + handling, kept so audit percentiles read one indexed column (issue 4)
    total_s: Mapped[float | None] = mapped_column(Float)
    total_working_s: Mapped[float | None] = mapped_column(Float)
    within_standard: Mapped[bool | None] = mapped_column(Boolean)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    lock_version: Mapped[int] = mapped_column(Integer)

    instance: Mapped[Instance] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class Wait(Base):
    """A timer, message or signal an instance waits for; timers carry their due time."""

    __tablename__ = "waits"
    __table_args__ = (
        Index("ix_waits_due", "kind", "due_at"),
        Index("ix_waits_name", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime | None]
    attached_task_id: Mapped[str | None] = mapped_column(String(36))


class TaskEvent(Base):
    """Append-only audit trail: one row per lifecycle change of a link.

    On PostgreSQL the table is partitioned by month of `at` (see `gridflow.partitions`), with
    the primary key (id, at); ids still come from one sequence, so `id` alone is unique."""

    __tablename__ = "task_events"
    __table_args__ = (
        Index("ix_task_events_instance", "instance_id", "id"),
        Index("ix_task_events_lifecycle", "lifecycle"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # A link's events name its work item; a system step's (issue 10) its system task.
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"), index=True)
    system_task_id: Mapped[int | None] = mapped_column(ForeignKey("system_tasks.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    element_id: Mapped[str] = mapped_column(String(200))
    link_name: Mapped[str] = mapped_column(String(500))
    lifecycle: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    work_item: Mapped[WorkItem | None] = relationship()


LIFECYCLES = (
    "ready",
    "claimed",
    "released",
    "completed",
    "cancelled",
    "escalated",
    "help_requested",
    "assigned",  # given to a person by the desk-owner rule or a dispatch round (XES: assign)
    "handed_over",  # passed from its holder to another person (XES: reassign)
    "migrated",  # its instance moved to another version of the process
    "arrived",  # the crew of a field link is on site (gridflow.field_work)
    "restored",  # the crew of a repair has restored supply
    # system steps (issue 10)
    "locked",  # an external task fetched and locked by a worker (XES: start)
    "unlocked",  # its lock given back or expired (XES: suspend)
    "failed",  # a worker reported a failure; retries count down (XES: pi_abort once they end)
    "error",  # a worker threw a BPMN error; the boundary path took over (XES: ate_abort)
    "incident",  # retries ran out: a person must look
    "retried",  # a person gave it retries again
)
