"""Worker heartbeats: one row per `gridflow worker` process, written when it starts, after each
round and when it stops, so operators (and /metrics) tell a dead worker (no beat for several of
its intervals) from a slow one. Rows of workers gone for a day are pruned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select, update

from gridflow.models import WorkerHeartbeat, to_ms
from gridflow.runtime import Runtime

HEARTBEATS = cast(Table, WorkerHeartbeat.__table__)
FORGET_AFTER = timedelta(days=1)
# A worker with no beat for this many of its intervals (plus its last round's time) is dead.
MISSED_BEATS = 3


@dataclass(frozen=True)
class Heartbeat:
    worker_id: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    state: str
    rounds: int
    interval_s: float
    last_round_s: float | None

    def alive(self, now: datetime) -> bool:
        """Running and beating: no beat missed for MISSED_BEATS intervals."""
        if self.state == "stopped":
            return False
        allowed = MISSED_BEATS * self.interval_s + (self.last_round_s or 0.0) + 1.0
        return (now - self.beat_at).total_seconds() <= allowed


def started(rt: Runtime, worker_id: str, host: str, pid: int, interval_s: float) -> None:
    """Record a worker that starts (its id is new: host, pid and a random part)."""
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        connection.execute(delete(HEARTBEATS).where(HEARTBEATS.c.beat_at < now - FORGET_AFTER))
        connection.execute(
            HEARTBEATS.insert(),
            {
                "worker_id": worker_id,
                "host": host[:200],
                "pid": pid,
                "started_at": now,
                "beat_at": now,
                "state": "running",
                "rounds": 0,
                "interval_s": interval_s,
                "last_round_s": None,
            },
        )


def beat(
    rt: Runtime, worker_id: str, rounds: int, last_round_s: float, state: str = "running"
) -> None:
    """After a round (or when stopping: state `stopping`, then `stopped`)."""
    with rt.db.transaction() as connection:
        connection.execute(
            update(HEARTBEATS)
            .where(HEARTBEATS.c.worker_id == worker_id)
            .values(
                beat_at=to_ms(rt.clock.now()),
                rounds=rounds,
                last_round_s=last_round_s,
                state=state,
            )
        )


def listed(rt: Runtime) -> list[Heartbeat]:
    """Every worker seen in the last day, newest start first."""
    with rt.db.snapshot() as connection:
        rows = connection.execute(select(HEARTBEATS).order_by(HEARTBEATS.c.started_at.desc())).all()
    return [
        Heartbeat(
            r.worker_id,
            r.host,
            r.pid,
            r.started_at,
            r.beat_at,
            r.state,
            r.rounds,
            r.interval_s,
            r.last_round_s,
        )
        for r in rows
    ]
