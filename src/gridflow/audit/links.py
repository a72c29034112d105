"""Per-link figures: per process version and link, how many executions, their durations against
the link's standard, breaches and rework (from the roll-ups, the summary index or one ranked
scan), and how one link's executions spread over duration bins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, select
from sqlalchemy.dialects import postgresql

from gridflow import link_rollups
from gridflow.audit.filters import EVERYTHING, AuditFilter, AuditFilterError, _item_conditions
from gridflow.audit.measures import MEASURES, PERCENTILES, _float, _grouped, _measure, duration_keys
from gridflow.models import Definition, WorkItem
from gridflow.runtime import Runtime


@dataclass
class LinkFigures:
    """One process version's link: count, durations (seconds) and compliance."""

    process_id: str
    process_name: str
    version: int
    definition_id: int
    element_id: str
    link_name: str
    count: int
    within_standard_share: float | None
    breaches: int
    rework_instances: int
    rework_executions: int
    standard_target: str | None
    standard_basis: str | None
    standard_s: float | None
    durations: dict[str, float | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "process_id": self.process_id,
            "process_name": self.process_name,
            "version": self.version,
            "definition_id": self.definition_id,
            "element_id": self.element_id,
            "link_name": self.link_name,
            "count": self.count,
            "within_standard_share": self.within_standard_share,
            "breaches": self.breaches,
            "rework_instances": self.rework_instances,
            "rework_executions": self.rework_executions,
            "standard_target": self.standard_target,
            "standard_basis": self.standard_basis,
            "standard_s": self.standard_s,
            **self.durations,
        }


def link_figures(
    rt: Runtime,
    flt: AuditFilter = EVERYTHING,
    measures: Sequence[str] = tuple(MEASURES),
    *,
    method: str = "auto",
) -> list[LinkFigures]:
    """Per process version and link, over the completed executions the filter keeps.

    Three ways to the same figures: filtered by process, version and department only, the
    roll-ups merged with the live tail past their watermark (`rollup`, see
    `gridflow.link_rollups`; the full scan below until a first refresh), or one scan of the
    summary index with each percentile one probe of the measure's covering index (`index`);
    with a period, person or customer category, one statement ranks the kept rows with window
    functions (`window`). `auto` picks the first that can answer."""
    for measure in measures:
        if measure not in MEASURES:
            raise AuditFilterError(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")
    indexable = not (flt.since or flt.until or flt.person or flt.customer_category)
    if method == "auto" or (method == "rollup" and not indexable):
        method = "rollup" if indexable else "window"
    with rt.db.snapshot(replica=True) as connection:
        found = None
        if method == "rollup":
            found = _by_rollup(rt, connection, flt, measures)
            method = "index"
        if found is not None:
            rows, rework = found
        elif method == "index":
            rows, rework = _by_index(rt, connection, flt, measures)
        elif method == "window":
            rows, rework = _by_window(connection, flt, measures)
        else:
            raise ValueError(f"method {method!r}: use auto, index or window")
        versions = {
            row.id: (row.process_id, row.version, row.name)
            for row in connection.execute(
                select(Definition.id, Definition.process_id, Definition.version, Definition.name)
            )
        }
    result = []
    duration_names = duration_keys(measures)
    for row in rows:
        definition_id, element_id = row["k0"], row["k1"]
        process_id, version, process_name = versions[definition_id]
        link = rt.definition(definition_id).links.get(element_id)
        standard = link.standard if link else None
        result.append(
            LinkFigures(
                process_id=process_id,
                process_name=process_name,
                version=version,
                definition_id=definition_id,
                element_id=element_id,
                link_name=link.name if link else element_id,
                count=int(row["count"]),
                within_standard_share=_float(row["share"]),
                breaches=int(row["breaches"] or 0),
                rework_instances=rework.get((definition_id, element_id), (0, 0))[0],
                rework_executions=rework.get((definition_id, element_id), (0, 0))[1],
                standard_target=standard.target if standard else None,
                standard_basis=standard.basis if standard else None,
                standard_s=standard_seconds(rt, standard.target, standard.basis)
                if standard
                else None,
                durations={name: _float(row[name]) for name in duration_names},
            )
        )
    result.sort(key=lambda f: (f.process_id, f.version, f.element_id))
    return result


Rework = dict[tuple[int, str], tuple[int, int]]


def _rework(connection: Connection, conditions: Sequence[ColumnElement[bool]]) -> Rework:
    """Per link, the instances in which it was completed more than once, and how many
    executions those repeats added (grouped in index order: no DISTINCT to sort)."""
    repeated = (
        select(
            WorkItem.definition_id,
            WorkItem.element_id,
            WorkItem.instance_id,
            (func.count() - 1).label("extra"),
        )
        .where(*conditions)
        .group_by(WorkItem.definition_id, WorkItem.element_id, WorkItem.instance_id)
        .having(func.count() > 1)
        .subquery()
    )
    query = select(
        repeated.c.definition_id, repeated.c.element_id, func.count(), func.sum(repeated.c.extra)
    ).group_by(repeated.c.definition_id, repeated.c.element_id)
    return {(d, e): (int(c), int(x)) for d, e, c, x in connection.execute(query).all()}


def _summary_columns(within: Any) -> list[ColumnElement[Any]]:  # noqa: ANN401
    return [
        func.avg(case((within.is_(True), 1.0), else_=0.0)).label("share"),
        func.sum(case((within.is_(False), 1), else_=0)).label("breaches"),
    ]


def _by_window(
    connection: Connection, flt: AuditFilter, measures: Sequence[str]
) -> tuple[list[dict[str, Any]], Rework]:
    conditions = _item_conditions(flt)
    statement, ranked = _grouped(
        [WorkItem.definition_id, WorkItem.element_id], measures, conditions
    )
    statement = statement.add_columns(*_summary_columns(ranked.c.within_standard))
    rows = [dict(row) for row in connection.execute(statement).mappings().all()]
    return rows, _rework(connection, conditions)


def _by_index(
    rt: Runtime, connection: Connection, flt: AuditFilter, measures: Sequence[str]
) -> tuple[list[dict[str, Any]], Rework]:
    """Counts, shares, means and maxima in one scan of the summary index; on SQLite each
    percentile from the one or two values at rank ⌊(n-1)p⌋ of the measure's own index, read
    from whichever end is nearer (LIMIT 2 OFFSET), so a link's p95 steps over 5 % of its rows,
    not 95 %; on PostgreSQL percentile_cont in the same scan."""
    conditions = _item_conditions(replace(flt, department=None, departments=None))
    keys = (WorkItem.definition_id, WorkItem.element_id)
    # PostgreSQL has the same percentile built in (percentile_cont: linear interpolation),
    # one sort per measure inside the one scan; SQLite probes the indexes instead.
    builtin = connection.dialect.name == "postgresql"
    fractions = postgresql.array([literal(k / 100.0) for _, k in PERCENTILES])
    spread: list[ColumnElement[Any]] = []
    for measure in measures:
        column = _measure(measure)
        spread.append(func.avg(column).label(f"{measure}_mean_s"))
        spread.append(func.max(column).label(f"{measure}_max_s"))
        if builtin:
            spread.append(
                func.percentile_cont(fractions).within_group(column).label(f"{measure}_cont")
            )
    summary = (
        select(
            *[k.label(f"k{i}") for i, k in enumerate(keys)],
            func.count().label("count"),
            *_summary_columns(WorkItem.within_standard),
            *spread,
        )
        .where(*conditions)
        .group_by(*keys)
    )
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for row in connection.execute(summary).mappings():
        link = rt.definition(row["k0"]).links.get(row["k1"])
        department = link.department if link else None
        if flt.department and department != flt.department:
            continue
        if flt.departments is not None and department not in flt.departments:
            continue
        rows[(row["k0"], row["k1"])] = dict(row)
    if builtin:
        for figures in rows.values():
            for measure in measures:
                values = figures.pop(f"{measure}_cont")
                for (label, _), value in zip(PERCENTILES, values, strict=True):
                    figures[f"{measure}_{label}_s"] = value
        rework = {k: v for k, v in _rework(connection, conditions).items() if k in rows}
        return list(rows.values()), rework
    # Hundreds of one-row probes: straight to the driver, each statement written once (the
    # column names are the model's own, never input), so a probe costs the index walk and not
    # SQLAlchemy's per-statement work, which at 10M events was most of the page's time.
    cursor = connection.connection.cursor()
    try:
        for measure in measures:
            column = MEASURES[measure]
            probe = (
                f"SELECT {column} FROM work_items WHERE state = 'completed' "  # noqa: S608
                f"AND definition_id = ? AND element_id = ? ORDER BY {column} %s LIMIT 2 OFFSET ?"
            )
            upward, downward = probe % "ASC", probe % "DESC"
            for (definition_id, element_id), figures in rows.items():
                n = int(figures["count"])
                for label, k in PERCENTILES:
                    low, rest = divmod((n - 1) * k, 100)
                    if low + 1 >= n:  # the largest value (n = 1)
                        at_low = above = figures[f"{measure}_max_s"]
                    elif 2 * low < n:
                        cursor.execute(upward, (definition_id, element_id, low))
                        (at_low,), (above,) = cursor.fetchall()
                    else:  # ranks low and low+1 counted from the top: n-1-low and n-2-low
                        cursor.execute(downward, (definition_id, element_id, n - 2 - low))
                        (above,), (at_low,) = cursor.fetchall()
                    figures[f"{measure}_{label}_s"] = at_low + (rest / 100.0) * (above - at_low)
    finally:
        cursor.close()
    rework = {k: v for k, v in _rework(connection, conditions).items() if k in rows}
    return list(rows.values()), rework


def _link_shown(rt: Runtime, flt: AuditFilter, definition_id: int, element_id: str) -> bool:
    """Whether a link's department passes the filter's department(s) (a link belongs to one
    department, its lane's)."""
    if flt.department is None and flt.departments is None:
        return True
    link = rt.definition(definition_id).links.get(element_id)
    department = link.department if link else None
    if flt.department and department != flt.department:
        return False
    return flt.departments is None or department in flt.departments


def _definitions_kept(connection: Connection, flt: AuditFilter) -> set[int] | None:
    if not (flt.process_id or flt.version is not None):
        return None
    query = select(Definition.id)
    if flt.process_id:
        query = query.where(Definition.process_id == flt.process_id)
    if flt.version is not None:
        query = query.where(Definition.version == flt.version)
    return set(connection.execute(query).scalars())


def _by_rollup(
    rt: Runtime, connection: Connection, flt: AuditFilter, measures: Sequence[str]
) -> tuple[list[dict[str, Any]], Rework] | None:
    """The figures from the roll-ups and the live tail (None before a first refresh)."""
    link_rollups.begin_snapshot(connection)
    data = link_rollups.merged(connection)
    if data is None:
        return None
    kept = _definitions_kept(connection, flt)
    rows: list[dict[str, Any]] = []
    rework: Rework = {}
    points = [k for _, k in PERCENTILES]
    prober = link_rollups.Prober(connection, data.histograms)
    try:
        for key in sorted(data.links):
            definition_id, element_id = key
            totals = data.links[key]
            if not totals.executions or (kept is not None and definition_id not in kept):
                continue
            if not _link_shown(rt, flt, definition_id, element_id):
                continue
            figures: dict[str, Any] = {
                "k0": definition_id,
                "k1": element_id,
                "count": totals.executions,
                "share": totals.within / totals.executions,
                "breaches": totals.breaches,
            }
            for measure in measures:
                histogram = data.histograms.get((definition_id, element_id, measure))
                mean, largest = link_rollups.mean_and_max(histogram)
                figures[f"{measure}_mean_s"] = mean
                figures[f"{measure}_max_s"] = largest
                values: list[float | None] = [None] * len(points)
                if histogram is not None and histogram.n:
                    values = list(link_rollups.percentiles(prober, key, measure, histogram, points))
                for (label, _), value in zip(PERCENTILES, values, strict=True):
                    figures[f"{measure}_{label}_s"] = value
            rows.append(figures)
            if totals.repeated:
                rework[key] = (totals.repeated, totals.executions - totals.instances)
    finally:
        prober.close()
    return rows, rework


def standard_seconds(rt: Runtime, target: str, basis: str) -> float:
    """A standard's target in seconds on its own basis (working seconds for working time)."""
    from gridflow.working_time import parse_iso_duration

    duration = parse_iso_duration(target)
    if basis == "working":
        return duration.working_time(rt.calendar.day_length).total_seconds()
    return duration.calendar_timedelta().total_seconds()


def distribution(
    rt: Runtime,
    flt: AuditFilter,
    definition_id: int,
    element_id: str,
    measure: str,
    edges: Sequence[float],
) -> list[int]:
    """How many executions of one link fall in each bin [edges[i], edges[i+1]) of a measure;
    the last bin is open-ended. Counted in one SQL pass."""
    if measure not in MEASURES:
        raise AuditFilterError(f"unknown measure {measure!r}")
    value = _measure(measure)
    bins = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        inside = value >= low if high is None else and_(value >= low, value < high)
        bins.append(func.sum(case((inside, 1), else_=0)))
    query = select(*bins).where(
        *_item_conditions(flt),
        WorkItem.definition_id == definition_id,
        WorkItem.element_id == element_id,
    )
    with rt.db.read(replica=True) as session:
        row = session.execute(query).one()
    return [int(v or 0) for v in row]
