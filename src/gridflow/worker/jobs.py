"""The jobs a worker runs each round, in order, and what each one has waiting (for /metrics).

A job is a function of the runtime and the round's context that does one bounded batch of work
and says how many things it did. Another module adds its own job by putting a `Job` in `JOBS`
(or calling `register`): it must claim its work so that two workers never do the same thing,
with `FOR UPDATE SKIP LOCKED`, a lease, a key, or `exclusive=True` (one worker at a time, under
a PostgreSQL advisory lock).

External-task locks have no step of their own: a lock that runs out makes its task fetchable at
the next fetch (claimed under SKIP LOCKED), and until another system worker takes it, the worker
that held it may still finish it. Their job only reports, as a backlog, the locks that ran out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gridflow import timers
from gridflow.runtime import Runtime


@dataclass(frozen=True)
class JobContext:
    """What a job knows of the round it runs in."""

    worker_id: str
    # How long a claim of this worker holds before another worker may take the work over.
    lock_time: timedelta
    batch: int
    started_at: datetime


@dataclass(frozen=True)
class Backlog:
    """What a job has waiting: how many things, and how long the oldest has waited."""

    items: int
    lag_s: float


@dataclass(frozen=True)
class Job:
    """One kind of background work. `run` does one batch and returns how many things it did
    (None: the job only reports its backlog); `said` words that count for the worker's output;
    `every` runs it at most once per period of that length (its runs keyed by the period, so
    several workers in one period run it once); `exclusive` runs it on one worker at a time."""

    name: str
    run: Callable[[Runtime, JobContext], int] | None
    said: str = "{name}: {n}"
    backlog: Callable[[Runtime], Backlog] | None = None
    every: timedelta | None = None
    exclusive: bool = False


def _make_partitions(rt: Runtime, context: JobContext) -> int:
    from gridflow import partitions

    # The task events' monthly partitions ahead of the clock (PostgreSQL; nothing on SQLite).
    return len(partitions.ensure_ahead(rt))


def _fire_timers(rt: Runtime, context: JobContext) -> int:
    ids = timers.claim(rt, context.worker_id, batch=context.batch, lease=context.lock_time)
    return timers.fire_claimed(rt, context.worker_id, ids)


def _timers_backlog(rt: Runtime) -> Backlog:
    return Backlog(*timers.backlog(rt))


def _feed_breaches(rt: Runtime, context: JobContext) -> int:
    from gridflow import linkage

    return linkage.feed_breaches(rt, linkage.rulebook(rt.roles))


def _breaches_backlog(rt: Runtime) -> Backlog:
    from gridflow import linkage

    return Backlog(*linkage.unfed_breaches(rt))


DISPATCH_EVERY = timedelta(seconds=10)


def _dispatch(rt: Runtime, context: JobContext) -> int:
    from gridflow import dispatch

    # One round per period for all workers: the key names the period, so a second worker in
    # the same period gets the first one's round back instead of planning again.
    period = int(context.started_at.timestamp() // DISPATCH_EVERY.total_seconds())
    start = datetime.fromtimestamp(
        period * DISPATCH_EVERY.total_seconds(), context.started_at.tzinfo
    )
    done = dispatch.run_round(rt, f"worker:{start:%Y-%m-%dT%H:%M:%S}")
    return 0 if done.replayed else len(done.assignments)


def _refresh_predictions(rt: Runtime, context: JobContext) -> int:
    from gridflow import predictions

    return predictions.refresh(rt, batch=context.batch)


def _expired_locks_backlog(rt: Runtime) -> Backlog:
    from gridflow import external_tasks

    return Backlog(*external_tasks.expired_locks(rt))


def _late_links(rt: Runtime, context: JobContext) -> int:
    from gridflow.notifications import triggers

    return triggers.late_links(rt)


def _deliver_outbox(rt: Runtime, context: JobContext) -> int:
    import os

    from gridflow.notifications import delivery, senders

    # The worker's lock time is the messages' lease too: one killed mid-round leaves them to
    # another worker after the same wait as its timers.
    return delivery.deliver_round(
        rt, senders.from_environment(os.environ), limit=context.batch, lease=context.lock_time
    ).claimed


def _refresh_audit_rollups(rt: Runtime, context: JobContext) -> int:
    from gridflow import link_rollups

    # The auditors' per-link roll-ups: links completed up to LAG ago folded in (issue 14).
    return link_rollups.refresh(rt)


def _outbox_backlog(rt: Runtime) -> Backlog:
    from gridflow.notifications import delivery

    return Backlog(*delivery.backlog(rt))


JOBS: list[Job] = [
    Job("partitions", _make_partitions, "made {n} task-event partition(s)", exclusive=True),
    Job("timers", _fire_timers, "fired timers on {n} instance(s)", _timers_backlog),
    Job(
        "breaches",
        _feed_breaches,
        "fed {n} breached standard(s) to the linkage rules",
        _breaches_backlog,
        exclusive=True,
    ),
    Job("dispatch", _dispatch, "dispatched {n} link(s)", every=DISPATCH_EVERY),
    Job("external_task_locks", None, backlog=_expired_locks_backlog),
    # Customers are told (issue 13): late links noticed once each, then the outbox delivered
    # (its messages claimed with SKIP LOCKED and a lease, so workers share it).
    Job("late_links", _late_links, "told customers of {n} late link(s)", exclusive=True),
    Job("outbox", _deliver_outbox, "delivered {n} message(s) from the outbox", _outbox_backlog),
    # The predictor's history: demands finished since the last round (issue 13).
    Job(
        "predictions",
        _refresh_predictions,
        "recorded {n} finished demand(s) for the predicted dates",
        exclusive=True,
        every=timedelta(minutes=1),
    ),
    Job(
        "audit_rollups",
        _refresh_audit_rollups,
        "folded {n} completed link(s) into the audit roll-ups",
        exclusive=True,
        every=timedelta(minutes=1),
    ),
]


def register(job: Job) -> Job:
    """Add a job after the others (or replace the job of the same name)."""
    for n, known in enumerate(JOBS):
        if known.name == job.name:
            JOBS[n] = job
            return job
    JOBS.append(job)
    return job


def backlogs(rt: Runtime) -> list[tuple[str, int, float]]:
    """What each job has waiting: (job, items, seconds the oldest has waited)."""
    found = []
    for job in JOBS:
        if job.backlog is not None:
            backlog = job.backlog(rt)
            found.append((job.name, backlog.items, backlog.lag_s))
    return found
