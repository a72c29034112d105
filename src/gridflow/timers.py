"""Timers: the due timers of running instances, claimed by workers with leases and fired, each
instance in its own transaction.

A worker claims a batch: in one short transaction it picks instances with a timer due
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers never pick the same instance at once)
and writes a lease for each (`timer_leases`: the worker and until when). It then fires them one
by one; each firing locks the instance row, checks that the lease is still its own (a lease that
ran out may have been taken by another worker), steps the instance and drops the lease. So a
worker that dies (`kill -9`) mid-batch leaves its leases, and another worker fires those timers
once they run out; one that is only slow finds its lease taken and leaves the instance alone.
The firing itself is idempotent under the row lock: a timer already fired is no longer due.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, func, select

from gridflow.engine import EngineError
from gridflow.instances import (
    EVENT_SOURCE,
    HELD_COLUMNS,
    INCIDENTS,
    INSTANCES,
    OPEN,
    WAITS,
    WORK_ITEMS,
    Held,
    _restore,
    event_row,
    held,
    update_item,
    write_run,
)
from gridflow.models import TimerLease, to_ms
from gridflow.roles import SYSTEM
from gridflow.runtime import Runtime

LEASES = cast(Table, TimerLease.__table__)
BATCH = 100
LEASE = timedelta(seconds=60)
# Who fires timers when no worker names itself (tests, the demo, `serve`'s own thread).
ANONYMOUS_WORKER = "gridflow"

# An instance stuck on an engine error waits for a person, not for the next tick.
_NO_OPEN_ENGINE_ERROR = ~(
    select(INCIDENTS.c.id)
    .where(
        INCIDENTS.c.instance_id == INSTANCES.c.id,
        INCIDENTS.c.state == "open",
        INCIDENTS.c.kind == "engine_error",
    )
    .exists()
)
# A timer fires once its moment has passed (strictly), as SpiffWorkflow judges it.
_HAS_DUE_TIMER = INSTANCES.c.id.in_(
    select(WAITS.c.instance_id).where(WAITS.c.kind == "timer", WAITS.c.due_at < bindparam("now"))
)
_CLAIMABLE = (
    select(INSTANCES.c.id)
    .where(
        INSTANCES.c.status == "running",
        INSTANCES.c.id.notin_(bindparam("seen", expanding=True)),
        _NO_OPEN_ENGINE_ERROR,
        _HAS_DUE_TIMER,
        # Leased to a worker still within its lease: that worker fires it.
        ~select(LEASES.c.instance_id)
        .where(
            LEASES.c.instance_id == INSTANCES.c.id,
            LEASES.c.leased_until >= bindparam("now"),
        )
        .exists(),
    )
    .order_by(INSTANCES.c.id)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True)
)
_DROP_LEASES = LEASES.delete().where(LEASES.c.instance_id.in_(bindparam("ids", expanding=True)))
_INSERT_LEASES = LEASES.insert()
_HELD_BY_ID = (
    select(*HELD_COLUMNS).where(INSTANCES.c.id == bindparam("instance_id")).with_for_update()
)
_LEASE_HOLDER = select(LEASES.c.worker_id).where(LEASES.c.instance_id == bindparam("instance_id"))
_DROP_OWN_LEASE = LEASES.delete().where(
    LEASES.c.instance_id == bindparam("instance_id"), LEASES.c.worker_id == bindparam("worker")
)
# The same query (no ORDER BY) as always: the database's order is the events' order.
_DUE_WAITS = select(WAITS).where(
    WAITS.c.instance_id == bindparam("instance_id"),
    WAITS.c.kind == "timer",
    WAITS.c.due_at < bindparam("now"),
)
_OPEN_ITEM_OF_TASK = select(*EVENT_SOURCE, WORK_ITEMS.c.escalated, WORK_ITEMS.c.lock_version).where(
    WORK_ITEMS.c.task_id == bindparam("task_id"), WORK_ITEMS.c.state.in_(OPEN)
)
_BACKLOG = (
    select(func.count(func.distinct(WAITS.c.instance_id)), func.min(WAITS.c.due_at))
    .join(INSTANCES, INSTANCES.c.id == WAITS.c.instance_id)
    .where(
        WAITS.c.kind == "timer",
        WAITS.c.due_at < bindparam("now"),
        INSTANCES.c.status == "running",
        _NO_OPEN_ENGINE_ERROR,
    )
)


def claim(
    rt: Runtime,
    worker_id: str,
    *,
    batch: int = BATCH,
    lease: timedelta = LEASE,
    seen: Collection[int] = (),
) -> list[int]:
    """Lease up to `batch` instances with a timer due to `worker_id` until now + `lease`
    (none leased to another worker still within its lease, none in `seen`); their ids."""
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        ids = list(connection.scalars(_CLAIMABLE, {"now": now, "seen": list(seen), "batch": batch}))
        if ids:
            # Leases that ran out (their worker died or stalled) are taken over.
            connection.execute(_DROP_LEASES, {"ids": ids})
            until = now + lease
            connection.execute(
                _INSERT_LEASES,
                [{"instance_id": i, "worker_id": worker_id, "leased_until": until} for i in ids],
            )
    return ids


def fire_claimed(
    rt: Runtime,
    worker_id: str,
    instance_ids: Collection[int],
) -> int:
    """Fire the due timers of the instances leased to `worker_id`, one transaction each; the
    number of instances where a timer fired. An instance whose lease another worker took over
    meanwhile is left to it."""
    fired = 0
    for instance_id in instance_ids:
        now = rt.clock.now()
        try:
            with rt.db.transaction() as connection:
                row = connection.execute(_HELD_BY_ID, {"instance_id": instance_id}).first()
                holder = connection.scalar(_LEASE_HOLDER, {"instance_id": instance_id})
                if holder != worker_id:
                    continue  # the lease ran out and another worker has it now
                connection.execute(
                    _DROP_OWN_LEASE, {"instance_id": instance_id, "worker": worker_id}
                )
                if row is None or row.status != "running":
                    continue
                if _fire(rt, connection, held(row), now):
                    fired += 1
        except EngineError as exc:
            # The process failed at this timer: nothing changed, an incident says where, and
            # the instance is left alone (and its lease dropped) until a person retries it.
            from gridflow import incidents

            incidents.record_engine_error(rt, exc)
            with rt.db.transaction() as connection:
                connection.execute(
                    _DROP_OWN_LEASE, {"instance_id": instance_id, "worker": worker_id}
                )
    return fired


def fire_due_timers(
    rt: Runtime,
    limit: int = BATCH,
    *,
    worker_id: str = ANONYMOUS_WORKER,
    batch: int = BATCH,
    lease: timedelta = LEASE,
) -> int:
    """Claim and fire the timers due by now, up to `limit` instances, batch after batch; the
    number of instances where a timer fired. A timer whose link was escalated records an
    `escalated` event."""
    fired = 0
    seen: set[int] = set()
    while len(seen) < limit:
        ids = claim(rt, worker_id, batch=min(batch, limit - len(seen)), lease=lease, seen=seen)
        if not ids:
            break
        # Never pick the same instance twice in one call (stored due times are cut to
        # milliseconds, so a timer a few microseconds short of due waits for the next).
        seen.update(ids)
        fired += fire_claimed(rt, worker_id, ids)
    return fired


def backlog(rt: Runtime) -> tuple[int, float]:
    """The instances with a timer due and not fired yet, and the seconds since the oldest such
    timer was due (0 when none is)."""
    now = rt.clock.now()
    with rt.db.snapshot() as connection:
        count, oldest = connection.execute(_BACKLOG, {"now": to_ms(now)}).one()
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return int(count or 0), lag


def leases(rt: Runtime) -> dict[int, tuple[str, datetime]]:
    """The leases held now: instance id → (worker, until when)."""
    with rt.db.snapshot() as connection:
        rows = connection.execute(select(LEASES)).all()
    return {row.instance_id: (row.worker_id, row.leased_until) for row in rows}


def drop_leases_of(rt: Runtime, worker_id: str) -> int:
    """Give back every lease of a worker (one stopping with claims it will not fire)."""
    with rt.db.transaction() as connection:
        return connection.execute(delete(LEASES).where(LEASES.c.worker_id == worker_id)).rowcount


def _fire(rt: Runtime, connection: Connection, instance: Held, now: datetime) -> bool:
    due = connection.execute(_DUE_WAITS, {"instance_id": instance.id, "now": now}).all()
    run = _restore(rt, instance)
    run.step()
    snapshot = run.snapshot()
    still_waiting = {w.task_id for w in snapshot.waits}
    went_off = [w for w in due if w.task_id not in still_waiting]
    if not went_off:
        return False
    at = to_ms(now)
    events: list[dict[str, Any]] = []
    for wait in went_off:
        if wait.attached_task_id is None:
            continue
        _escalate(connection, wait.attached_task_id, wait.element_id, at, events)
    write_run(rt, connection, instance, run, at, SYSTEM, events=events, snapshot=snapshot)
    return True


def _escalate(
    connection: Connection,
    task_id: str,
    timer_element_id: str,
    at: datetime,
    events: list[dict[str, Any]],
) -> None:
    """Mark the open work item of a link escalated (one UPDATE, unless it already is) and
    record an `escalated` event."""
    item = connection.execute(_OPEN_ITEM_OF_TASK, {"task_id": task_id}).first()
    if item is None:
        return
    if not item.escalated:
        update_item(
            connection,
            item.id,
            item.lock_version,
            {"escalated": True},
            "someone else changed this first; nothing was saved",
        )
    events.append(event_row(item, "escalated", at, SYSTEM, {"timer": timer_element_id}))
