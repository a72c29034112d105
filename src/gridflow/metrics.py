"""Prometheus metrics: what each process measures (request latency and status per route,
dispatch round and worker job durations) and what the database says when scraped (open and
overdue links by role, what each worker job has waiting and for how long, worker heartbeats).

prometheus_client keeps measurements in process-wide objects, so the measured metrics are
module globals. Under gunicorn every worker process writes them to files in
PROMETHEUS_MULTIPROC_DIR (set before the first import: `gridflow.gunicorn_conf` does it) and a
scrape adds up every process's files; without it a scrape reads this process's own. The figures
from the database are computed at scrape time on the process that answers, so any host shows
the same ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError

from gridflow import heartbeats
from gridflow.models import WorkItem, to_ms

if TYPE_CHECKING:
    from gridflow.runtime import Runtime

# The classic text format every Prometheus version reads (generate_latest writes it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Requests: 5 ms to 10 s (a verb is one transaction; exports stream longer).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROUND_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUEST_SECONDS = Histogram(
    "gridflow_http_request_duration_seconds",
    "Time to answer a request, by method and route (the verb)",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
RESPONSES = Counter(
    "gridflow_http_responses",
    "Answers given, by method, route and HTTP status",
    ["method", "route", "status"],
)
DISPATCH_ROUND_SECONDS = Histogram(
    "gridflow_dispatch_round_duration_seconds",
    "Time to plan and apply one dispatch round",
    buckets=ROUND_BUCKETS,
)
JOB_SECONDS = Histogram(
    "gridflow_worker_job_duration_seconds",
    "Time a worker spent on one job in one round",
    ["job"],
    buckets=ROUND_BUCKETS,
)
JOB_ITEMS = Counter(
    "gridflow_worker_job_items",
    "Things a worker's job did (timers fired, breaches fed, links dispatched, ...)",
    ["job"],
)

_OPEN_LINKS = (
    select(WorkItem.role, WorkItem.state, func.count())
    .where(WorkItem.state.in_(("ready", "claimed")))
    .group_by(WorkItem.role, WorkItem.state)
)
_OVERDUE_LINKS = (
    select(WorkItem.role, func.count())
    .where(WorkItem.state.in_(("ready", "claimed")), WorkItem.due_at < bindparam("now"))
    .group_by(WorkItem.role)
)


class StoreCollector(Collector):
    """Figures read from the database at scrape time."""

    def __init__(self, rt: Runtime, backlogs: Callable[[], Iterable[tuple[str, int, float]]]):
        self.rt = rt
        # The worker jobs' backlogs: (job, items waiting, seconds the oldest has waited).
        self.backlogs = backlogs

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("gridflow_database_up", "1 when the database answered the scrape")
        try:
            families = list(self._families())
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        rt = self.rt
        now = rt.clock.now()
        links = GaugeMetricFamily(
            "gridflow_open_links", "Open links (ready or claimed) by role", labels=["role", "state"]
        )
        overdue = GaugeMetricFamily(
            "gridflow_overdue_links", "Open links past their due time, by role", labels=["role"]
        )
        with rt.db.snapshot() as connection:
            for role, state, count in connection.execute(_OPEN_LINKS):
                links.add_metric([role or "", state], count)
            for role, count in connection.execute(_OVERDUE_LINKS, {"now": to_ms(now)}):
                overdue.add_metric([role or ""], count)
        yield links
        yield overdue
        items = GaugeMetricFamily(
            "gridflow_backlog_items",
            "What a worker job has waiting (timers due, breaches not fed, outbox messages, ...)",
            labels=["queue"],
        )
        lag = GaugeMetricFamily(
            "gridflow_backlog_lag_seconds",
            "How long the oldest waiting thing of a worker job has waited",
            labels=["queue"],
        )
        for job, waiting, waited in self.backlogs():
            items.add_metric([job], waiting)
            lag.add_metric([job], waited)
        yield items
        yield lag
        beat = GaugeMetricFamily(
            "gridflow_worker_heartbeat_timestamp_seconds",
            "When each worker last finished a round (Unix time)",
            labels=["worker", "host", "state"],
        )
        age = GaugeMetricFamily(
            "gridflow_worker_heartbeat_age_seconds",
            "Seconds since each worker last finished a round",
            labels=["worker", "host", "state"],
        )
        alive = GaugeMetricFamily(
            "gridflow_workers", "Workers by condition (alive, dead, stopped)", labels=["condition"]
        )
        counts = {"alive": 0, "dead": 0, "stopped": 0}
        for worker in heartbeats.listed(rt):
            labels = [worker.worker_id, worker.host, worker.state]
            beat.add_metric(labels, worker.beat_at.timestamp())
            age.add_metric(labels, max((now - worker.beat_at).total_seconds(), 0.0))
            condition = (
                "stopped" if worker.state == "stopped" else "alive" if worker.alive(now) else "dead"
            )
            counts[condition] += 1
        for condition, count in counts.items():
            alive.add_metric([condition], count)
        yield beat
        yield age
        yield alive


class _ThisProcess(Collector):
    """The measured metrics of this process (outside multiprocess mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(rt: Runtime, backlogs: Callable[[], Iterable[tuple[str, int, float]]]) -> bytes:
    """The text a scrape gets: measured metrics (of every gunicorn worker of this host in
    multiprocess mode) and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StoreCollector(rt, backlogs))
    return generate_latest(registry)
