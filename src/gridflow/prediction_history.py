"""The predictor's history: every finished demand process recorded once (`refresh`: one row
per process and one per completed link, with the time the process still ran after it), the
demands still running at a cut-off (censored histories: they took at least that long), and
the statistics over both (percentiles; Kaplan-Meier quantiles where some are censored). Times
are on the process's basis: working time, or calendar time where its standard counts calendar
time. `gridflow.predictions` predicts from it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from gridflow.models import (
    Definition,
    Demand,
    Instance,
    PredictionInstance,
    PredictionSample,
    WorkItem,
)
from gridflow.runtime import Runtime

HISTORY_LIMIT = 400


class RootOf(Protocol):
    """The demand process (a root instance) a history is wanted for."""

    @property
    def id(self) -> int: ...
    @property
    def process_id(self) -> str: ...
    @property
    def basis(self) -> str: ...


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks of sorted `values` (numpy's default)."""
    if not values:
        raise ValueError("no values")
    h = (len(values) - 1) * fraction
    low = math.floor(h)
    high = min(low + 1, len(values) - 1)
    return values[low] + (h - low) * (values[high] - values[low])


# --- the history --------------------------------------------------------------------------------


def refresh(rt: Runtime, batch: int = 200) -> int:
    """Record every finished demand process (a root instance: no caller) not yet in the
    history, with one sample per completed link of it and of the processes it called.
    Returns how many were added; idempotent (a second writer's rows win, nothing doubles)."""
    added = 0
    while True:
        with rt.db.snapshot() as connection:
            roots = connection.execute(
                select(
                    Instance.id,
                    Instance.definition_id,
                    Instance.started_at,
                    Instance.ended_at,
                    Instance.variables,
                    Definition.process_id,
                    Definition.version,
                    Demand.customer_category,
                    Demand.details,
                )
                .join(Definition, Definition.id == Instance.definition_id)
                .outerjoin(Demand, Demand.id == Instance.demand_id)
                .where(
                    Instance.status == "completed",
                    Instance.parent_instance_id.is_(None),
                    Instance.ended_at.is_not(None),
                    Instance.id.not_in(select(PredictionInstance.instance_id)),
                )
                .order_by(Instance.id)
                .limit(batch)
            ).all()
            if not roots:
                return added
            families = family_roots(connection, [row.id for row in roots])
            items = connection.execute(
                select(
                    WorkItem.instance_id,
                    WorkItem.element_id,
                    WorkItem.ready_at,
                    WorkItem.total_working_s,
                    WorkItem.total_s,
                    Definition.process_id,
                )
                .join(Definition, Definition.id == WorkItem.definition_id)
                .where(
                    WorkItem.instance_id.in_(list(families)),
                    WorkItem.state == "completed",
                    WorkItem.total_working_s.is_not(None),
                )
            ).all()
        by_root: dict[int, list[Any]] = {}
        for item in items:
            by_root.setdefault(families[item.instance_id], []).append(item)
        instance_rows: list[dict[str, Any]] = []
        sample_rows: list[dict[str, Any]] = []
        for root in roots:
            category, area = group_of(root.customer_category, root.variables, root.details)
            basis = process_basis(rt, root.definition_id)
            instance_rows.append(
                {
                    "instance_id": root.id,
                    "process_id": root.process_id,
                    "version": root.version,
                    "customer_category": category,
                    "area": area,
                    "started_at": root.started_at,
                    "ended_at": root.ended_at,
                    "basis": basis,
                    "duration_s": span(rt, root.started_at, root.ended_at, basis),
                }
            )
            for item in by_root.get(root.id, []):
                sample_rows.append(
                    {
                        "instance_id": root.id,
                        "process_id": root.process_id,
                        "version": root.version,
                        "link_process_id": item.process_id,
                        "element_id": item.element_id,
                        "customer_category": category,
                        "area": area,
                        "ended_at": root.ended_at,
                        "link_s": float(
                            item.total_working_s if basis == "working" else item.total_s
                        ),
                        "remaining_s": span(rt, item.ready_at, root.ended_at, basis),
                    }
                )
        try:
            with rt.db.transaction() as connection:
                connection.execute(insert(PredictionInstance), instance_rows)
                if sample_rows:
                    connection.execute(insert(PredictionSample), sample_rows)
        except IntegrityError:
            continue  # another request recorded them meanwhile; read again
        added += len(instance_rows)


def span(rt: Runtime, start: datetime, end: datetime, basis: str) -> float:
    """Seconds from start to end on the basis (working or calendar time)."""
    if end <= start:
        return 0.0
    return rt.calendar.between(start, end, basis).total_seconds()


def add(rt: Runtime, start: datetime, seconds: float, basis: str) -> datetime:
    return rt.calendar.add(start, timedelta(seconds=seconds), basis)


def process_basis(rt: Runtime, definition_id: int) -> str:
    """A process is timed on its standard's basis (calendar for repairs), else working time."""
    standard = rt.definition(definition_id).standard
    return standard.basis if standard is not None else "working"


def group_of(
    category: str | None, variables: Mapping[str, Any] | None, details: Mapping[str, Any] | None
) -> tuple[str, str]:
    area = (variables or {}).get("area") or (details or {}).get("area") or ""
    return category or "", str(area)[:20]


def family_roots(connection: Connection, roots: Sequence[int]) -> dict[int, int]:
    """Every instance of the roots' families (the roots and whatever they called, at any
    depth) → its root."""
    owner = {root: root for root in roots}
    frontier = list(roots)
    while frontier:
        children = connection.execute(
            select(Instance.id, Instance.parent_instance_id).where(
                Instance.parent_instance_id.in_(frontier)
            )
        ).all()
        frontier = []
        for child_id, parent_id in children:
            if child_id not in owner and parent_id is not None:
                owner[child_id] = owner[parent_id]
                frontier.append(child_id)
    return owner


def quantiles(
    events: Sequence[float], censored: Sequence[float], fractions: Sequence[float]
) -> list[float | None]:
    """Quantiles of a duration from finished histories (`events`) and histories still running
    (`censored`: at least that long). Without censored ones: linear interpolation (numpy's
    default, as the audit). With them: the Kaplan-Meier estimate's quantiles (the smallest
    duration by which that share has ended); None where the histories never get that far."""
    if not censored:
        ordered = sorted(events)
        return [percentile(ordered, f) if ordered else None for f in fractions]
    # Events before censored ones at the same value: a history censored at t was still at risk.
    observations = sorted([(v, 0) for v in events] + [(c, 1) for c in censored])
    at_risk = len(observations)
    survival = 1.0
    found: dict[float, float] = {}
    i = 0
    while i < len(observations):
        value = observations[i][0]
        ended = still = 0
        while i < len(observations) and observations[i][0] == value:
            ended += observations[i][1] == 0
            still += observations[i][1] == 1
            i += 1
        if ended:
            survival *= 1 - ended / at_risk
            for f in fractions:
                if f not in found and 1 - survival >= f - 1e-12:
                    found[f] = value
        at_risk -= ended + still
    return [found.get(f) for f in fractions]


@dataclass(frozen=True)
class Running:
    """A history still running at the cut-off: the time it has run past the anchor's
    ready moment (it took at least that long), with its group."""

    version: int
    category: str
    area: str
    remaining_s: float


def running_at(
    rt: Runtime,
    connection: Connection,
    root: RootOf,
    link_process_id: str,
    element_id: str,
    cutoff: datetime,
) -> list[Running]:
    """Other demands of the root's process that had reached the link before `cutoff` and had
    not ended by then (censored histories: they ran at least cutoff − ready, on the root's
    basis)."""
    items = connection.execute(
        select(WorkItem.instance_id, WorkItem.ready_at)
        .join(Definition, Definition.id == WorkItem.definition_id)
        .where(
            Definition.process_id == link_process_id,
            WorkItem.element_id == element_id,
            WorkItem.ready_at < cutoff,
            WorkItem.state != "cancelled",
        )
        .order_by(WorkItem.ready_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    if not items:
        return []
    # Each item's root: walk up the callers.
    root_of = {item.instance_id: item.instance_id for item in items}
    frontier = set(root_of)
    parents: dict[int, int] = {}
    while frontier:
        found = connection.execute(
            select(Instance.id, Instance.parent_instance_id).where(
                Instance.id.in_(sorted(frontier)), Instance.parent_instance_id.is_not(None)
            )
        ).all()
        frontier = set()
        for child, parent in found:
            if parent is not None:
                parents[child] = parent
                frontier.add(parent)
    for instance_id in root_of:
        current = instance_id
        while current in parents:
            current = parents[current]
        root_of[instance_id] = current
    roots = {
        row.id: row
        for row in connection.execute(
            select(
                Instance.id,
                Instance.variables,
                Definition.version,
                Demand.customer_category,
                Demand.details,
            )
            .join(Definition, Definition.id == Instance.definition_id)
            .outerjoin(Demand, Demand.id == Instance.demand_id)
            .where(
                Instance.id.in_(sorted(set(root_of.values()) - {root.id})),
                Definition.process_id == root.process_id,
                Instance.started_at < cutoff,
                Instance.status != "cancelled",
                (Instance.ended_at.is_(None)) | (Instance.ended_at >= cutoff),
            )
        )
    }
    running = []
    for item in items:
        found_root = roots.get(root_of[item.instance_id])
        if found_root is None:
            continue
        category, area = group_of(
            found_root.customer_category, found_root.variables, found_root.details
        )
        running.append(
            Running(found_root.version, category, area, span(rt, item.ready_at, cutoff, root.basis))
        )
    return running


def link_durations(
    rt: Runtime,
    connection: Connection,
    link_process_id: str,
    element_id: str,
    cutoff: datetime,
    basis: str,
    leave_out: int,
) -> tuple[list[float], list[float]]:
    """A link's own durations in every demand process that reached it before `cutoff`, the
    newest `HISTORY_LIMIT` (but `leave_out`, the one predicted): those done by then, and those
    still open then (censored: open at least cutoff − ready). A link of a demand that has not
    finished, as a high-voltage connection's early links, counts here too."""
    rows = connection.execute(
        select(WorkItem.ready_at, WorkItem.ended_at, WorkItem.state)
        .join(Definition, Definition.id == WorkItem.definition_id)
        .where(
            Definition.process_id == link_process_id,
            WorkItem.element_id == element_id,
            WorkItem.ready_at < cutoff,
            WorkItem.state != "cancelled",
            WorkItem.id != leave_out,
        )
        .order_by(WorkItem.ready_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    done: list[float] = []
    still_open: list[float] = []
    for row in rows:
        if row.state == "completed" and row.ended_at is not None and row.ended_at < cutoff:
            done.append(span(rt, row.ready_at, row.ended_at, basis))
        else:
            still_open.append(span(rt, row.ready_at, cutoff, basis))
    return done, still_open
