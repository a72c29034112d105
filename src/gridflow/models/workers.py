"""Workers (issue 14): each `gridflow worker` process's heartbeat, and workers' leases on
instances' due timers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id


class WorkerHeartbeat(Base):
    """A `gridflow worker` process: when it started, when it last finished a round, how many
    rounds it ran and in what state it is. Another worker or an operator tells a dead worker
    (no beat for several rounds) from a slow one by `beat_at`."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(20))  # running | stopping | stopped
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    interval_s: Mapped[float] = mapped_column(Float)
    last_round_s: Mapped[float | None] = mapped_column(Float)


class TimerLease(Base):
    """A worker's claim on the due timers of one instance until `leased_until`: other workers
    leave the instance alone until then, so a batch claimed by a worker that dies is fired by
    another once the lease runs out."""

    __tablename__ = "timer_leases"

    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("instances.id"), primary_key=True, autoincrement=False
    )
    worker_id: Mapped[str] = mapped_column(String(200))
    leased_until: Mapped[datetime] = mapped_column(index=True)
