"""The worker's loop: rounds of every job, a heartbeat after each, a graceful stop.

SIGTERM (or SIGINT) asks the worker to stop: the round it is in runs to its end (every claim it
made is fired or given back), the heartbeat says `stopped`, and the process exits 0. A worker
killed outright (`kill -9`) leaves its timer leases, which another worker takes over once they
run out (`--lock-time`); its PostgreSQL advisory locks end with its connection.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gridflow import heartbeats, metrics, request_ids, timers
from gridflow.errors import GridflowError
from gridflow.runtime import Runtime
from gridflow.worker.jobs import JOBS, Job, JobContext

log = logging.getLogger(__name__)
# --once stops after this many rounds even if every round found work (a safety net).
MAX_ONCE_ROUNDS = 1000


def new_worker_id() -> str:
    """host:pid:random, unique among the workers that ever ran."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(3)}"


@contextmanager
def exclusive(rt: Runtime, name: str) -> Iterator[bool]:
    """Whether this worker may run the job `name` now: on PostgreSQL, a session advisory lock
    tried without waiting (held while the block runs, released at its end or when the process
    dies); on SQLite, always (one writer at a time; keyed events guard the rest)."""
    if rt.db.is_sqlite:
        yield True
        return
    digest = hashlib.sha256(f"gridflow:job:{name}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)  # a PostgreSQL bigint
    with rt.db.engine.connect() as connection:
        got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


class Worker:
    """One worker process's loop over the jobs."""

    def __init__(
        self,
        rt: Runtime,
        *,
        worker_id: str | None = None,
        interval: float = 5.0,
        lock_time: timedelta = timers.LEASE,
        batch: int = timers.BATCH,
        jobs: Sequence[Job] | None = None,
        say: Callable[[str], None] | None = None,
    ):
        self.rt = rt
        self.worker_id = worker_id or new_worker_id()
        self.interval = interval
        self.lock_time = lock_time
        self.batch = batch
        self.jobs = list(JOBS if jobs is None else jobs)
        self.say = say or (lambda line: None)
        self.rounds = 0
        self._stop = threading.Event()
        self._periods: dict[str, int] = {}

    def stop(self) -> None:
        """Stop after the round in progress (at once if between rounds)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def on_signals(self) -> None:
        """SIGTERM and SIGINT stop the worker gracefully (main thread only)."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("worker %s: signal %d, stopping after this round", self.worker_id, signum)
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def run(self, *, once: bool = False) -> int:
        """Rounds until stopped (with `once`, until a round finds nothing to do); the number of
        rounds run."""
        heartbeats.started(
            self.rt, self.worker_id, socket.gethostname(), os.getpid(), self.interval
        )
        log.info("worker %s started", self.worker_id)
        last = 0.0
        try:
            while not self.stopping:
                began = time.monotonic()
                done = self.run_round()
                last = time.monotonic() - began
                try:
                    heartbeats.beat(self.rt, self.worker_id, self.rounds, last)
                except SQLAlchemyError as exc:  # the database is away: try again next round
                    log.error("worker %s: heartbeat failed: %s", self.worker_id, exc)
                if once and (done == 0 or self.rounds >= MAX_ONCE_ROUNDS):
                    break
                if not once:
                    self._stop.wait(self.interval)
        finally:
            heartbeats.beat(self.rt, self.worker_id, self.rounds, last, state="stopped")
            log.info("worker %s stopped after %d round(s)", self.worker_id, self.rounds)
        return self.rounds

    def run_round(self) -> int:
        """Every job once, in order; the number of things done. A job that fails is logged and
        the round goes on (the next round tries it again)."""
        self.rounds += 1
        context = JobContext(self.worker_id, self.lock_time, self.batch, self.rt.clock.now())
        total = 0
        token = request_ids.bind(f"worker:{self.worker_id}:{self.rounds}")
        try:
            for job in self.jobs:
                if job.run is None or not self._due(job, context):
                    continue
                began = time.monotonic()
                try:
                    with exclusive(self.rt, job.name) if job.exclusive else _always() as mine:
                        if not mine:
                            continue
                        done = job.run(self.rt, context)
                except (GridflowError, SQLAlchemyError) as exc:
                    log.error("worker %s: job %s failed: %s", self.worker_id, job.name, exc)
                    self.say(f"{job.name}: {exc}")
                    continue
                finally:
                    metrics.JOB_SECONDS.labels(job.name).observe(time.monotonic() - began)
                total += done
                if done:
                    metrics.JOB_ITEMS.labels(job.name).inc(done)
                    self.say(job.said.format(name=job.name, n=done))
        finally:
            request_ids.reset(token)
        return total

    def _due(self, job: Job, context: JobContext) -> bool:
        if job.every is None:
            return True
        period = int(context.started_at.timestamp() // job.every.total_seconds())
        if self._periods.get(job.name) == period:
            return False
        self._periods[job.name] = period
        return True


@contextmanager
def _always() -> Iterator[bool]:
    yield True
