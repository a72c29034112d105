"""System steps (issue 10): external tasks and call activities a process hands to the world
outside it, and the incidents a person must look at."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id


class SystemTask(Base):
    """A step a process hands to the world outside it (issue 10): an external task that a
    worker of another system fetches, locks and completes, or a call activity waiting for the
    child instance of the process it calls."""

    __tablename__ = "system_tasks"
    __table_args__ = (
        Index("ix_system_tasks_fetch", "kind", "state", "topic", "priority"),
        Index("ix_system_tasks_lock", "state", "lock_expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(200))
    step_name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # external | call
    # external: ready | locked | incident | completed | error (a BPMN error) | cancelled
    # call: running | completed | cancelled
    state: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(200))  # as the worker names itself
    locked_by: Mapped[str | None] = mapped_column(String(100))  # the worker's account
    lock_expires_at: Mapped[datetime | None]
    retries: Mapped[int | None] = mapped_column(Integer)  # None until the first failure
    retry_at: Mapped[datetime | None]  # not fetched again before this moment
    error_message: Mapped[str | None] = mapped_column(String(500))
    error_details: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times locked
    created_at: Mapped[datetime]
    first_locked_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # its data when reached
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what it completed with
    child_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    # created → first locked, first locked → completed, in seconds (set when it completes)
    waiting_s: Mapped[float | None] = mapped_column(Float)
    handling_s: Mapped[float | None] = mapped_column(Float)
    lock_version: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    """Something a person must look at (issue 10): an external task whose retries ran out, or
    an instance the engine could not move (an error at an element). Open until resolved."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    system_task_id: Mapped[int | None] = mapped_column(ForeignKey("system_tasks.id"), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # failed_external_task | engine_error
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))  # open | resolved
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(String(40))  # retried | cancelled
