"""Whole-process figures: finished instances' end-to-end figures recorded once
(`refresh_instances`), then per process the share within its cap, links, procedures and
durations, and their trend per week or month."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from gridflow.audit.filters import EVERYTHING, AuditFilter, AuditFilterError
from gridflow.audit.measures import PERCENTILES, _float, _percentile, _ranked_columns, duration_keys
from gridflow.models import AuditInstance, Definition, Demand, Instance, WorkItem
from gridflow.runtime import Runtime


def refresh_instances(rt: Runtime, batch: int = 2000) -> int:
    """Record the end-to-end figures of instances finished since the last call (one row each,
    never changed afterwards), so whole-process reports aggregate them in SQL. Returns how many
    were added.

    An instance's links and procedures count those of the processes its call activities
    started too (the meter installation a connection calls is part of the connection, and
    the customer meets the installer), one call deep as the shipped processes are."""
    added = 0
    called = aliased(Instance)
    own_or_called = or_(
        WorkItem.instance_id == Instance.id,
        WorkItem.instance_id.in_(
            select(called.id).where(called.parent_instance_id == Instance.id).correlate(Instance)
        ),
    )
    procedures = (
        select(func.count())
        .where(
            own_or_called,
            WorkItem.state == "completed",
            WorkItem.customer_facing.is_(True),
        )
        .correlate(Instance)
        .scalar_subquery()
    )
    links = (
        select(func.count())
        .where(own_or_called, WorkItem.state == "completed")
        .correlate(Instance)
        .scalar_subquery()
    )
    while True:
        query = (
            select(
                Instance.id,
                Instance.definition_id,
                Instance.started_at,
                Instance.ended_at,
                Instance.variables,
                Demand.customer_category,
                links,
                procedures,
            )
            .outerjoin(Demand, Demand.id == Instance.demand_id)
            .where(
                Instance.status == "completed",
                Instance.ended_at.is_not(None),
                Instance.id.not_in(select(AuditInstance.instance_id)),
            )
            .order_by(Instance.id)
            .limit(batch)
        )
        with rt.db.read() as session:
            found = session.execute(query).all()
        if not found:
            return added
        rows = []
        for instance_id, definition_id, started, ended, variables, category, n, trips in found:
            standard = rt.definition(definition_id).standard
            local_end = rt.calendar.local_date(ended)
            row: dict[str, Any] = {
                "instance_id": instance_id,
                "definition_id": definition_id,
                "customer_category": category,
                "started_at": started,
                "ended_at": ended,
                "ended_week": (local_end - timedelta(days=local_end.weekday())).isoformat(),
                "ended_month": local_end.strftime("%Y-%m"),
                "calendar_s": (ended - started).total_seconds(),
                "working_s": rt.calendar.between(started, ended, "working").total_seconds(),
                "links": int(n),
                "procedures": int(trips),
                "cap_target": None,
                "cap_basis": None,
                "within_cap": None,
            }
            if standard is not None:
                target = standard.target_for(variables or {})
                row["cap_target"] = target
                row["cap_basis"] = standard.basis
                row["within_cap"] = ended <= rt.calendar.due(started, target, standard.basis)
            rows.append(row)
        try:
            with rt.db.transaction() as connection:
                connection.execute(insert(AuditInstance), rows)
        except IntegrityError:
            continue  # another request recorded them meanwhile; read again
        added += len(rows)


@dataclass
class ProcessFigures:
    process_id: str
    process_name: str
    category: str | None
    instances: int
    within_cap_share: float | None
    cap_targets: str
    cap_basis: str | None
    links_mean: float | None
    procedures_mean: float | None
    durations: dict[str, float | None]


def _instance_conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.since is not None:
        conditions.append(AuditInstance.ended_at >= flt.since)
    if flt.until is not None:
        conditions.append(AuditInstance.ended_at < flt.until)
    if flt.customer_category:
        conditions.append(AuditInstance.customer_category == flt.customer_category)
    if flt.process_id:
        conditions.append(Definition.process_id == flt.process_id)
    if flt.version is not None:
        conditions.append(Definition.version == flt.version)
    return conditions


def _instance_percentiles(
    keys: Sequence[Any], conditions: Sequence[ColumnElement[bool]]
) -> Select[Any]:
    """Per group: count, within-cap share, means, and calendar/working medians and p95."""
    names, columns = _ranked_columns(
        keys, {m: getattr(AuditInstance, m) for m in ("calendar_s", "working_s")}
    )
    columns.extend(
        [
            AuditInstance.within_cap.label("within_cap"),
            AuditInstance.links.label("links"),
            AuditInstance.procedures.label("procedures"),
            AuditInstance.cap_target.label("cap_target"),
            AuditInstance.cap_basis.label("cap_basis"),
        ]
    )
    ranked = (
        select(*columns)
        .join(Definition, Definition.id == AuditInstance.definition_id)
        .where(*conditions)
        .subquery("ranked")
    )
    n = ranked.c.n
    out: list[ColumnElement[Any]] = [ranked.c[name] for name in names]
    out.append(func.count().label("count"))
    out.append(
        func.avg(
            case((ranked.c.within_cap.is_(True), 1.0), (ranked.c.within_cap.is_(False), 0.0))
        ).label("within_cap_share")
    )
    out.append(func.avg(ranked.c.links).label("links_mean"))
    out.append(func.avg(ranked.c.procedures).label("procedures_mean"))
    out.append(func.min(ranked.c.cap_target).label("cap_min"))
    out.append(func.max(ranked.c.cap_target).label("cap_max"))
    out.append(func.max(ranked.c.cap_basis).label("cap_basis"))
    for measure in ("calendar_s", "working_s"):
        value, rank = ranked.c[f"v_{measure}"], ranked.c[f"r_{measure}"]
        stem = measure.removesuffix("_s")
        out.append(func.avg(value).label(f"{stem}_mean_s"))
        for label, k in PERCENTILES:
            out.append(_percentile(value, rank, n, k).label(f"{stem}_{label}_s"))
        out.append(func.max(value).label(f"{stem}_max_s"))
    return select(*out).select_from(ranked).group_by(*[ranked.c[name] for name in names])


PROCESS_DURATIONS = duration_keys(("calendar", "working"))


def process_figures(rt: Runtime, flt: AuditFilter = EVERYTHING) -> list[ProcessFigures]:
    """End-to-end figures per process (all its versions) of the instances finished."""
    refresh_instances(rt)
    statement = _instance_percentiles([Definition.process_id], _instance_conditions(flt))
    names = _process_names(rt)
    with rt.db.snapshot(replica=True) as connection:
        rows = connection.execute(statement).mappings().all()
    result = []
    for row in rows:
        name, category = names.get(row["k0"], (row["k0"], None))
        caps = (
            row["cap_min"]
            if row["cap_min"] == row["cap_max"]
            else (f"{row['cap_min']}–{row['cap_max']}" if row["cap_min"] else "")
        )
        result.append(
            ProcessFigures(
                process_id=row["k0"],
                process_name=name,
                category=category,
                instances=int(row["count"]),
                within_cap_share=_float(row["within_cap_share"]),
                cap_targets=caps or "",
                cap_basis=row["cap_basis"],
                links_mean=_float(row["links_mean"]),
                procedures_mean=_float(row["procedures_mean"]),
                durations={k: _float(row[k]) for k in PROCESS_DURATIONS},
            )
        )
    return sorted(result, key=lambda p: p.process_id)


def _process_names(rt: Runtime) -> dict[str, tuple[str, str | None]]:
    query = select(Definition.process_id, Definition.name, Definition.category).order_by(
        Definition.version
    )
    with rt.db.read(replica=True) as session:
        return {pid: (name, category) for pid, name, category in session.execute(query)}


@dataclass(frozen=True)
class TrendPoint:
    period: str
    instances: int
    within_cap_share: float | None
    working_median_s: float | None
    calendar_median_s: float | None


def trend(rt: Runtime, flt: AuditFilter, by: str = "week") -> dict[str, list[TrendPoint]]:
    """Per process, per week (Monday's date) or month of ending: instances, share within the
    cap and median end-to-end durations."""
    if by not in ("week", "month"):
        raise AuditFilterError(f"trend by {by!r}: use 'week' or 'month'")
    refresh_instances(rt)
    period = AuditInstance.ended_week if by == "week" else AuditInstance.ended_month
    statement = _instance_percentiles([Definition.process_id, period], _instance_conditions(flt))
    with rt.db.snapshot(replica=True) as connection:
        rows = connection.execute(statement).mappings().all()
    result: dict[str, list[TrendPoint]] = {}
    for row in sorted(rows, key=lambda r: (r["k0"], r["k1"])):
        result.setdefault(row["k0"], []).append(
            TrendPoint(
                period=row["k1"],
                instances=int(row["count"]),
                within_cap_share=_float(row["within_cap_share"]),
                working_median_s=_float(row["working_median_s"]),
                calendar_median_s=_float(row["calendar_median_s"]),
            )
        )
    return result
