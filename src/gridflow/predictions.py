"""Predicted completion dates for a demand and each of its open links: "likely by" (p50) and
"at the latest" (p90) from the history of finished demands, laid on the working calendar, with
the standard's promise beside them.

The model. A demand's end is predicted from where it stands, not by adding up its links: for
the link reached last (the *anchor*), finished demands of the same process tell how much working
time still passed from the moment that link became ready until their end. Those *remaining
times* already hold everything after the link (the links in sequence, parallel branches,
waiting for the customer, the called processes), so no percentiles are summed (a sum of p90s
overshoots). Only histories that were still running as long after the anchor as this demand is
now count (the demand is known not to have ended yet), so a prediction moves on as time passes
and as each link completes (a new anchor).

Demands still running at the cut-off (now, or the benchmark's end of training) count too, as
histories that took at least as long as they have run so far (Kaplan-Meier quantiles): without
them a process's slow cases, still running, would be missing and the dates too early. Times
are on the process's basis: working time, or calendar time where its standard counts calendar
time (repairs run round the clock).

Histories are grouped by process version, customer category and area; a group with fewer than
`MIN_SAMPLES` fitting histories falls back to a broader one (category only, then any, then any
version), then to whole-process durations from the start, then, for a process none of whose
demands has finished yet, to the demands still running (likely by the standard's promise or
their median), then to the standard alone. Without finished history no data tells how late
the slow cases end, so "at the latest" is then no earlier than the service standards of what
is left promise: the open link's, then every link certain to come, on the working calendar
(`gridflow.standards_ahead`), nor than the longest-running demand so far.
An open link's own date is predicted the same way from that link's past durations in
finished demands, else from its durations wherever it was reached before (Kaplan-Meier, the
links still open counting as at least that long), else its due time.

The history is a table (`prediction_samples`): one row per completed link of every finished
demand process, with its remaining time already on the calendar, written once by `refresh`
(`gridflow.prediction_history`; `predict_demand` calls it first, the worker may too). A
prediction reads a few indexed rows, at most `HISTORY_LIMIT` per group, the newest first. A
migrated instance is predicted from its new version's history (falling back to the process's).

Public API:

- `refresh(rt) -> int`: record finished demand processes not yet in the history.
- `predict_demand(rt, demand_id, history_until=None) -> DemandPrediction`
- `predict_instance(rt, instance_id, history_until=None) -> Estimate | None` (a root instance)
- `predict_instance_at(rt, instance_id, at, history_until=None) -> Estimate`: as it stood at `at`
- `percentile(sorted_values, fraction) -> float` (linear, numpy's default, as the audit)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gridflow.errors import NotFoundError
from gridflow.models import (
    Definition,
    Demand,
    Instance,
    PredictionInstance,
    PredictionSample,
    WorkItem,
)
from gridflow.prediction_history import (
    HISTORY_LIMIT,
    Running,
    add,
    family_roots,
    group_of,
    link_durations,
    running_at,
    span,
)
from gridflow.prediction_history import percentile as percentile
from gridflow.prediction_history import quantiles as quantiles
from gridflow.prediction_history import refresh as refresh
from gridflow.runtime import Runtime
from gridflow.standards_ahead import promised_end

MIN_SAMPLES = 5
OPEN = ("ready", "claimed")
# Which history a prediction was drawn from, broadest last (codes the pages translate).
BASES = (
    "version_category_area",
    "version_category",
    "version",
    "process",
    "whole_process",
    "running",
    "link",
    "standard",
)


@dataclass(frozen=True)
class Estimate:
    """A predicted completion: likely by (p50), at the latest (p90), the standard's promise
    (None when there is none), the history it came from and how many histories fitted."""

    likely_by: datetime
    at_the_latest: datetime
    promised: datetime | None
    basis: str
    samples: int

    def as_json(self) -> dict[str, object]:
        return {
            "likely_by": self.likely_by.isoformat(),
            "at_the_latest": self.at_the_latest.isoformat(),
            "promised": self.promised.isoformat() if self.promised else None,
            "basis": self.basis,
            "samples": self.samples,
        }


@dataclass(frozen=True)
class LinkPrediction:
    work_item_id: int
    instance_id: int
    element_id: str
    link_name: str
    department: str
    ready_at: datetime
    estimate: Estimate

    def as_json(self) -> dict[str, object]:
        return {
            "work_item_id": self.work_item_id,
            "element_id": self.element_id,
            "link_name": self.link_name,
            "department": self.department,
            **self.estimate.as_json(),
        }


@dataclass(frozen=True)
class DemandPrediction:
    """A demand's predicted end (None once every process of it has ended, with `ended_at`)
    and each open link's."""

    demand_id: int
    estimate: Estimate | None
    ended_at: datetime | None
    links: list[LinkPrediction] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "demand_id": self.demand_id,
            "done": self.estimate is None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "demand": self.estimate.as_json() if self.estimate else None,
            "links": [link.as_json() for link in self.links],
        }


# --- predicting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Root:
    id: int
    process_id: str
    version: int
    category: str
    area: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    promised: datetime | None
    basis: str = "working"  # what its times count: working or calendar time


def predict_demand(
    rt: Runtime, demand_id: int, *, history_until: datetime | None = None
) -> DemandPrediction:
    """The demand's predicted end (the latest of its processes') and each open link's.

    `history_until` learns only from demands finished before it (the benchmark's cut-off);
    by default everything finished so far, recorded first by `refresh`."""
    if history_until is None:
        refresh(rt)
    with rt.db.snapshot() as connection:
        if connection.scalar(select(Demand.id).where(Demand.id == demand_id)) is None:
            raise NotFoundError(f"demand {demand_id} does not exist")
        root_ids = list(
            connection.scalars(
                select(Instance.id)
                .where(Instance.demand_id == demand_id, Instance.parent_instance_id.is_(None))
                .order_by(Instance.id)
            )
        )
        roots = [_root(rt, connection, root_id) for root_id in root_ids]
        families = family_roots(connection, root_ids)
        items = _items(connection, list(families))
        now = rt.clock.now()
        estimates: list[Estimate] = []
        links: list[LinkPrediction] = []
        for root in roots:
            family_items = [i for i in items if families[i.instance_id] == root.id]
            if root.status == "running":
                estimate = _predict_root(rt, connection, root, family_items, now, history_until)
                estimates.append(estimate)
            for item in family_items:
                if item.state in OPEN:
                    links.append(_predict_link(rt, connection, root, item, now, history_until))
    ended = [r.ended_at for r in roots if r.ended_at is not None]
    if not estimates:
        return DemandPrediction(demand_id, None, max(ended) if ended else None, links)
    promises = [e.promised for e in estimates if e.promised is not None]
    latest = max(estimates, key=lambda e: (e.likely_by, e.at_the_latest))
    combined = Estimate(
        likely_by=latest.likely_by,
        at_the_latest=max(e.at_the_latest for e in estimates),
        promised=max(promises) if promises else None,
        basis=latest.basis,
        samples=latest.samples,
    )
    return DemandPrediction(demand_id, combined, None, links)


def predict_instance(
    rt: Runtime, instance_id: int, *, history_until: datetime | None = None
) -> Estimate | None:
    """A running root instance's predicted end (None once it has ended)."""
    if history_until is None:
        refresh(rt)
    with rt.db.snapshot() as connection:
        root = _root(rt, connection, instance_id)
        if root.status != "running":
            return None
        families = family_roots(connection, [instance_id])
        items = _items(connection, list(families))
        return _predict_root(rt, connection, root, items, rt.clock.now(), history_until)


def predict_instance_at(
    rt: Runtime, instance_id: int, at: datetime, *, history_until: datetime | None = None
) -> Estimate:
    """What the predictor would have said of a root instance at the moment `at` (its links as
    they stood then: those ready by then, open unless they had ended): the benchmark replays
    finished demands with it."""
    with rt.db.snapshot() as connection:
        root = _root(rt, connection, instance_id)
        families = family_roots(connection, [instance_id])
        then = [
            _ItemThen(
                item.id,
                item.instance_id,
                item.definition_id,
                item.process_id,
                item.element_id,
                item.ready_at,
                "completed" if item.ended_at is not None and item.ended_at <= at else "ready",
            )
            for item in _items(connection, list(families))
            if item.ready_at <= at
        ]
        return _predict_root(rt, connection, root, then, at, history_until)


@dataclass(frozen=True)
class _ItemThen:
    id: int
    instance_id: int
    definition_id: int
    process_id: str
    element_id: str
    ready_at: datetime
    state: str


def _root(rt: Runtime, connection: Connection, instance_id: int) -> _Root:
    row = connection.execute(
        select(
            Instance.id,
            Instance.definition_id,
            Instance.status,
            Instance.started_at,
            Instance.ended_at,
            Instance.variables,
            Instance.parent_instance_id,
            Definition.process_id,
            Definition.version,
            Demand.customer_category,
            Demand.details,
        )
        .join(Definition, Definition.id == Instance.definition_id)
        .outerjoin(Demand, Demand.id == Instance.demand_id)
        .where(Instance.id == instance_id)
    ).first()
    if row is None:
        raise NotFoundError(f"instance {instance_id} does not exist")
    if row.parent_instance_id is not None:
        raise ValueError(f"instance {instance_id} is called by another: predict its caller")
    category, area = group_of(row.customer_category, row.variables, row.details)
    standard = rt.definition(row.definition_id).standard
    promised = None
    if standard is not None:
        target = standard.target_for(row.variables or {})
        promised = rt.calendar.due(row.started_at, target, standard.basis)
    return _Root(
        row.id,
        row.process_id,
        row.version,
        category,
        area,
        row.started_at,
        row.ended_at,
        row.status,
        promised,
        standard.basis if standard is not None else "working",
    )


def _items(connection: Connection, instance_ids: Sequence[int]) -> list[Any]:
    return list(
        connection.execute(
            select(
                WorkItem.id,
                WorkItem.instance_id,
                WorkItem.definition_id,
                WorkItem.element_id,
                WorkItem.link_name,
                WorkItem.department,
                WorkItem.state,
                WorkItem.ready_at,
                WorkItem.ended_at,
                WorkItem.due_at,
                Definition.process_id,
            )
            .join(Definition, Definition.id == WorkItem.definition_id)
            .where(WorkItem.instance_id.in_(list(instance_ids)), WorkItem.state != "cancelled")
            .order_by(WorkItem.ready_at, WorkItem.id)
        ).all()
    )


def _levels(root: _Root) -> list[tuple[str, list[Any]]]:
    """The groups a history is drawn from, narrowest first, as SQL conditions."""
    sample = PredictionSample
    same_version = [sample.process_id == root.process_id, sample.version == root.version]
    return [
        (
            "version_category_area",
            [
                *same_version,
                sample.customer_category == root.category,
                sample.area == root.area,
            ],
        ),
        ("version_category", [*same_version, sample.customer_category == root.category]),
        ("version", same_version),
        ("process", [sample.process_id == root.process_id]),
    ]


def _history(
    connection: Connection,
    conditions: list[Any],
    link_process_id: str,
    element_id: str,
    history_until: datetime | None,
) -> list[tuple[float, float]]:
    """(link s, remaining s) of the newest finished histories of a link."""
    query = select(PredictionSample.link_s, PredictionSample.remaining_s).where(
        *conditions,
        PredictionSample.link_process_id == link_process_id,
        PredictionSample.element_id == element_id,
    )
    if history_until is not None:
        query = query.where(PredictionSample.ended_at < history_until)
    query = query.order_by(PredictionSample.ended_at.desc()).limit(HISTORY_LIMIT)
    return [(float(a), float(b)) for a, b in connection.execute(query)]


def _estimate_from(
    rt: Runtime,
    start: datetime,
    values: list[float],
    promised: datetime | None,
    basis: str,
    censored: Sequence[float] = (),
    time_basis: str = "working",
) -> Estimate | None:
    p50, p90 = quantiles(values, censored, (0.5, 0.9))
    if p50 is None or p90 is None:
        return None
    likely = add(rt, start, p50, time_basis)
    latest = add(rt, start, p90, time_basis)
    return Estimate(likely, latest, promised, basis, len(values) + len(censored))


def _in_level(basis: str, root: _Root, run: Running) -> bool:
    if basis == "process":
        return True
    if run.version != root.version:
        return False
    if basis == "version":
        return True
    if run.category != root.category:
        return False
    return basis == "version_category" or run.area == root.area


def _predict_root(
    rt: Runtime,
    connection: Connection,
    root: _Root,
    items: Sequence[Any],
    now: datetime,
    history_until: datetime | None,
) -> Estimate:
    cutoff = history_until or now
    running: list[Running] = []
    anchor = None
    if items:
        # The link reached last tells most; among links ready at once, any open one first.
        anchor = max(items, key=lambda i: (i.ready_at, i.state in OPEN, i.id))
        elapsed = span(rt, anchor.ready_at, now, root.basis)
        running = running_at(rt, connection, root, anchor.process_id, anchor.element_id, cutoff)
        for basis, conditions in _levels(root):
            history = _history(
                connection, conditions, anchor.process_id, anchor.element_id, history_until
            )
            # Histories still running that long after the link became ready.
            fitting = [r for _, r in history if r > elapsed or r == elapsed == 0]
            censored = [
                run.remaining_s
                for run in running
                if run.remaining_s > elapsed and _in_level(basis, root, run)
            ]
            if len(fitting) >= MIN_SAMPLES:
                estimate = _estimate_from(
                    rt, anchor.ready_at, fitting, root.promised, basis, censored, root.basis
                )
                if estimate is not None:
                    return estimate
    # Whole-process durations from the start, among those that ran longer than this one has.
    elapsed = span(rt, root.started_at, now, root.basis)
    query = select(PredictionInstance.duration_s).where(
        PredictionInstance.process_id == root.process_id,
        PredictionInstance.duration_s > elapsed,
    )
    if history_until is not None:
        query = query.where(PredictionInstance.ended_at < history_until)
    durations = [
        float(v)
        for v in connection.scalars(
            query.order_by(PredictionInstance.ended_at.desc()).limit(HISTORY_LIMIT)
        )
    ]
    if len(durations) >= MIN_SAMPLES:
        estimate = _estimate_from(
            rt, root.started_at, durations, root.promised, "whole_process", (), root.basis
        )
        if estimate is not None:
            return estimate
    promised = max(root.promised or now, now)
    # No finished history to tell the slow cases: at the latest no earlier than the standards
    # of what is left promise (the open link's, then every link certain to come).
    cautious = promised_end(rt, connection, root.id, anchor, now)
    if anchor is not None:
        # Demands of the process still running show how long it takes at least. Likely by
        # the standard's promise (or the running demands' median, if later); at the latest as
        # long as the longest-running one so far, or the standards ahead if later.
        elapsed = span(rt, anchor.ready_at, now, root.basis)
        still = sorted(r.remaining_s for r in running if r.remaining_s > elapsed)
        if len(still) >= MIN_SAMPLES:
            median = add(rt, anchor.ready_at, percentile(still, 0.5), root.basis)
            longest = add(rt, anchor.ready_at, still[-1], root.basis)
            likely = max(promised, median)
            latest = max(likely, longest, cautious)
            return Estimate(likely, latest, root.promised, "running", len(still))
    return Estimate(promised, max(promised, cautious), root.promised, "standard", 0)


def _predict_link(
    rt: Runtime,
    connection: Connection,
    root: _Root,
    item: Any,  # noqa: ANN401 - a work-item row
    now: datetime,
    history_until: datetime | None,
) -> LinkPrediction:
    elapsed = span(rt, item.ready_at, now, root.basis)
    estimate: Estimate | None = None
    for basis, conditions in _levels(root):
        history = _history(connection, conditions, item.process_id, item.element_id, history_until)
        fitting = [link for link, _ in history if link >= elapsed]
        if len(fitting) >= MIN_SAMPLES:
            estimate = _estimate_from(
                rt, item.ready_at, fitting, item.due_at, basis, (), root.basis
            )
            if estimate is not None:
                break
    if estimate is None:
        # No finished demand to learn from: the link's own durations, wherever it was reached
        # (links of demands still running count; those still open, as at least that long).
        done, still_open = link_durations(
            rt,
            connection,
            item.process_id,
            item.element_id,
            history_until or now,
            root.basis,
            item.id,
        )
        fitting = [d for d in done if d >= elapsed]
        if len(fitting) >= MIN_SAMPLES:
            censored = [c for c in still_open if c > elapsed]
            estimate = _estimate_from(
                rt, item.ready_at, fitting, item.due_at, "link", censored, root.basis
            )
    if estimate is None:
        promised = max(item.due_at, now)
        estimate = Estimate(promised, promised, item.due_at, "standard", 0)
    return LinkPrediction(
        item.id,
        item.instance_id,
        item.element_id,
        item.link_name,
        item.department,
        item.ready_at,
        estimate,
    )
