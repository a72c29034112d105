"""Auditors' figures, computed by SQL aggregation over work items (one row per link execution):
per-link durations against standards, breaches, rework, per-department ranking, and the
whole-process figures of finished instances against their process's cap.

Percentiles are linear interpolation between closest ranks (numpy's default, Hyndman & Fan
type 7): for n sorted values x[0..n-1] and fraction p, h = (n-1)·p, and the percentile is
x[⌊h⌋] + (h-⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]). In SQL: ROW_NUMBER and COUNT over each link's rows, and
integer division for ⌊h⌋, so one statement gives exact figures on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, aliased

from gridflow import link_rollups
from gridflow.models import AuditInstance, Definition, Demand, Instance, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

PERCENTILES = (("median", 50), ("p90", 90), ("p95", 95))
# Each measure: its JSON key stem and the work-item column(s) it sums.
MEASURES: dict[str, str] = {
    "waiting": "waiting_s",  # ready → claimed
    "handling": "handling_s",  # claimed → completed
    "total": "total_s",  # ready → completed
    "waiting_working": "waiting_working_s",
    "handling_working": "handling_working_s",
    "total_working": "total_working_s",
}
CALENDAR_MEASURES = ("waiting", "handling", "total")
WORKING_MEASURES = ("waiting_working", "handling_working", "total_working")
VIEW_ROLES = ("auditor", "supervisor", "admin")
# Filters outside these are refused: no task event is older, and dates near the ends of the
# calendar overflow once turned into instants.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)
MAX_VERSION = 2**31 - 1
FILTER_ARGUMENTS = (
    "process",
    "version",
    "since",
    "until",
    "department",
    "person",
    "customer_category",
)
# World Bank Doing Business 2020, China, "Getting Electricity" (see DESIGN.md).
GETTING_ELECTRICITY_REFERENCE = {"procedures": 2, "calendar_days": 32, "rank": 12, "year": 2020}


class AuditFilterError(ValueError):
    """A filter value that cannot be used; the message names it."""


@dataclass(frozen=True)
class AuditFilter:
    """Which link executions count: ended in [since, until), of a department, completed by a
    person, for a customer category, of a process (and version). `departments` is the viewer's
    own limit (a supervisor's departments), None for everything."""

    since: datetime | None = None
    until: datetime | None = None
    department: str | None = None
    person: str | None = None
    customer_category: str | None = None
    process_id: str | None = None
    version: int | None = None
    departments: frozenset[str] | None = None

    def as_query(self, calendar: Any) -> dict[str, str]:  # noqa: ANN401 - a WorkingCalendar
        """The filter as query-string arguments (for links to exports and charts): local
        days, `until` inclusive, as `parse_filter` reads them."""
        last_day = self.until - timedelta(microseconds=1) if self.until else None
        values = {
            "since": calendar.local_date(self.since).isoformat() if self.since else None,
            "until": calendar.local_date(last_day).isoformat() if last_day else None,
            "department": self.department,
            "person": self.person,
            "customer_category": self.customer_category,
            "process": self.process_id,
            "version": str(self.version) if self.version is not None else None,
        }
        return {k: v for k, v in values.items() if v}


EVERYTHING = AuditFilter()


def visible_departments(actor: Actor, rt: Runtime) -> frozenset[str] | None:
    """What a viewer may see: auditors and admins everything (None); a supervisor the
    departments of their roles (supervisor's own department included)."""
    if actor.is_system or actor.roles & {"auditor", "admin"}:
        return None
    if "supervisor" in actor.roles:
        return frozenset(rt.roles[r].department.id for r in actor.roles if r in rt.roles)
    raise PermissionError("only auditors, supervisors and administrators see audit figures")


def may_view(actor: Actor) -> bool:
    return actor.is_system or bool(actor.roles & set(VIEW_ROLES))


def parse_filter(
    args: Any,  # noqa: ANN401 - a Mapping of query arguments (werkzeug MultiDict or dict)
    calendar: Any,  # noqa: ANN401 - the runtime's WorkingCalendar
    departments: frozenset[str] | None = None,
) -> AuditFilter:
    """A filter from query arguments; dates are local calendar days (until is inclusive)."""
    if any("\x00" in str(args.get(name) or "") for name in FILTER_ARGUMENTS):
        raise AuditFilterError("filters must not contain NUL characters")

    def day(name: str) -> date | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            found = date.fromisoformat(raw) if len(raw) <= 10 else None
        except ValueError:
            found = None
        if found is None:
            raise AuditFilterError(f"{name}: {raw[:40]!r} is not a date (YYYY-MM-DD)")
        if not FIRST_DAY <= found <= LAST_DAY:
            raise AuditFilterError(f"{name}: {raw} is not between {FIRST_DAY} and {LAST_DAY}")
        return found

    since, until = day("since"), day("until")
    zone = ZoneInfo(calendar.timezone)
    raw_version = (args.get("version") or "").strip()
    if raw_version and not (
        raw_version.isascii()
        and raw_version.isdigit()
        and len(raw_version) <= 10
        and 1 <= int(raw_version) <= MAX_VERSION
    ):
        raise AuditFilterError(f"version: {raw_version[:40]!r} is not a version number")
    return AuditFilter(
        since=datetime.combine(since, time(), zone).astimezone(UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), zone).astimezone(UTC)
        if until
        else None,
        department=(args.get("department") or "").strip() or None,
        person=(args.get("person") or "").strip() or None,
        customer_category=(args.get("customer_category") or "").strip() or None,
        process_id=(args.get("process") or "").strip() or None,
        version=int(raw_version) if raw_version else None,
        departments=departments,
    )


def who_and_when(
    flt: AuditFilter,
    at: QueryableAttribute[Any],
    department: QueryableAttribute[Any],
    person: QueryableAttribute[Any],
) -> list[ColumnElement[bool]]:
    """The filter's period, department(s) and person, on the given columns."""
    conditions: list[ColumnElement[bool]] = []
    if flt.since is not None:
        conditions.append(at >= flt.since)
    if flt.until is not None:
        conditions.append(at < flt.until)
    if flt.department:
        conditions.append(department == flt.department)
    if flt.departments is not None:
        conditions.append(department.in_(sorted(flt.departments)))
    if flt.person:
        conditions.append(person == flt.person)
    return conditions


def _item_conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    conditions = [
        WorkItem.state == "completed",
        *who_and_when(flt, WorkItem.ended_at, WorkItem.department, WorkItem.completed_by),
    ]
    if flt.process_id or flt.version is not None:
        definitions = select(Definition.id)
        if flt.process_id:
            definitions = definitions.where(Definition.process_id == flt.process_id)
        if flt.version is not None:
            definitions = definitions.where(Definition.version == flt.version)
        conditions.append(WorkItem.definition_id.in_(definitions.scalar_subquery()))
    if flt.customer_category:
        instances = (
            select(Instance.id)
            .join(Demand, Demand.id == Instance.demand_id)
            .where(Demand.customer_category == flt.customer_category)
        )
        conditions.append(WorkItem.instance_id.in_(instances.scalar_subquery()))
    return conditions


def _percentile(
    value: ColumnElement[Any], rank: ColumnElement[Any], n: ColumnElement[Any], k: int
) -> ColumnElement[Any]:
    """The k-th percentile of `value` within a group, from each row's rank (1-based) and the
    group's size n: h = (n-1)·k/100, ⌊h⌋ by integer division, the fraction from the remainder."""
    low = (n - 1) * k // 100
    fraction = func.max(((n - 1) * k % 100) / literal(100.0))
    at_low = func.max(case((rank == low + 1, value)))
    above = func.coalesce(func.max(case((rank == low + 2, value))), at_low)
    return at_low + fraction * (above - at_low)


def _measure(name: str) -> Any:  # noqa: ANN401 - a mapped column
    return getattr(WorkItem, MEASURES[name])


def _ranked_columns(
    keys: Sequence[Any], values: Mapping[str, ColumnElement[Any]]
) -> tuple[list[str], list[ColumnElement[Any]]]:
    """The group keys (labelled k0, k1, …), each value with its rank in its group (v_name,
    r_name) and the group's size n: what `_percentile` reads."""
    names = [f"k{i}" for i in range(len(keys))]
    columns: list[ColumnElement[Any]] = [k.label(n) for k, n in zip(keys, names, strict=True)]
    for name, value in values.items():
        columns.append(value.label(f"v_{name}"))
        columns.append(
            func.row_number().over(partition_by=list(keys), order_by=value).label(f"r_{name}")
        )
    columns.append(func.count().over(partition_by=list(keys)).label("n"))
    return names, columns


def _grouped(
    keys: Sequence[Any],
    measures: Sequence[str],
    conditions: Sequence[ColumnElement[bool]],
) -> tuple[Select[Any], Any]:
    """One statement: per group of `keys`, count, mean, percentiles and max of each measure;
    and the ranked rows it reads (with within_standard, instance_id and link_name), for the
    caller's own aggregates."""
    names, ranked_columns = _ranked_columns(keys, {m: _measure(m) for m in measures})
    ranked_columns.extend(
        [
            WorkItem.within_standard.label("within_standard"),
            WorkItem.instance_id.label("instance_id"),
            WorkItem.link_name.label("link_name"),
        ]
    )
    ranked = select(*ranked_columns).where(*conditions).subquery("ranked")
    n = ranked.c.n
    out: list[ColumnElement[Any]] = [ranked.c[name] for name in names]
    out.append(func.count().label("count"))
    for measure in measures:
        value, rank = ranked.c[f"v_{measure}"], ranked.c[f"r_{measure}"]
        out.append(func.avg(value).label(f"{measure}_mean_s"))
        for label, k in PERCENTILES:
            out.append(_percentile(value, rank, n, k).label(f"{measure}_{label}_s"))
        out.append(func.max(value).label(f"{measure}_max_s"))
    statement = select(*out).select_from(ranked).group_by(*[ranked.c[name] for name in names])
    return statement, ranked


# --- per-link figures ----------------------------------------------------------------------------


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


def duration_keys(measures: Iterable[str]) -> list[str]:
    keys = []
    for measure in measures:
        keys.append(f"{measure}_mean_s")
        keys.extend(f"{measure}_{label}_s" for label, _ in PERCENTILES)
        keys.append(f"{measure}_max_s")
    return keys


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
    prober = link_rollups.Prober(connection)
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


def _float(value: object) -> float | None:
    return float(value) if value is not None else None  # type: ignore[arg-type]


# --- breaches, departments, distribution -----------------------------------------------------


@dataclass(frozen=True)
class Breach:
    work_item_id: int
    instance_id: int
    process_id: str
    element_id: str
    link_name: str
    department: str
    person: str | None
    due_at: datetime
    ended_at: datetime
    standard_target: str
    standard_basis: str
    definition_id: int | None = None  # the version whose labels it shows

    @property
    def late_by(self) -> timedelta:
        return self.ended_at - self.due_at


def breaches(rt: Runtime, flt: AuditFilter = EVERYTHING, limit: int = 50) -> list[Breach]:
    """The latest completed links that ended after their due time, with who was responsible."""
    query = (
        select(
            WorkItem.id,
            WorkItem.instance_id,
            Definition.process_id,
            WorkItem.element_id,
            WorkItem.link_name,
            WorkItem.department,
            WorkItem.completed_by,
            WorkItem.due_at,
            WorkItem.ended_at,
            WorkItem.standard_target,
            WorkItem.standard_basis,
            WorkItem.definition_id,
        )
        .join(Definition, Definition.id == WorkItem.definition_id)
        .where(*_item_conditions(flt), WorkItem.within_standard.is_(False))
        .order_by(WorkItem.ended_at.desc(), WorkItem.id.desc())
        .limit(limit)
    )
    with rt.db.read(replica=True) as session:
        return [Breach(*row) for row in session.execute(query).all()]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Responsible:
    """Breaches per department and person."""

    department: str
    person: str | None
    count: int
    breaches: int


def breaches_by_person(
    rt: Runtime, flt: AuditFilter = EVERYTHING, *, method: str = "auto"
) -> list[Responsible]:
    """Completed links and breaches per department and person: from the roll-ups and the
    live tail (`rollup`) when the filter is by department or person only and a refresh has
    run, else by one grouped scan (`scan`)."""
    whole = not (
        flt.since or flt.until or flt.customer_category or flt.process_id or flt.version is not None
    )
    if method == "auto" or (method == "rollup" and not whole):
        method = "rollup" if whole else "scan"
    if method == "rollup":
        with rt.db.snapshot(replica=True) as connection:
            link_rollups.begin_snapshot(connection)
            data = link_rollups.merged_people(connection)
        if data is not None:
            rows = [
                Responsible(department, person or None, executions, breaches)
                for (department, person), (executions, breaches) in data.items()
                if executions
                and (not flt.department or department == flt.department)
                and (flt.departments is None or department in flt.departments)
                and (not flt.person or person == flt.person)
            ]
            return sorted(rows, key=lambda r: (-r.breaches, r.department, r.person or ""))
    elif method != "scan":
        raise ValueError(f"method {method!r}: use auto, rollup or scan")
    query = (
        select(
            WorkItem.department,
            WorkItem.completed_by,
            func.count(),
            func.sum(case((WorkItem.within_standard.is_(False), 1), else_=0)),
        )
        .where(*_item_conditions(flt))
        .group_by(WorkItem.department, WorkItem.completed_by)
    )
    with rt.db.read(replica=True) as session:
        rows = [Responsible(d, p, int(c), int(b or 0)) for d, p, c, b in session.execute(query)]
    return sorted(rows, key=lambda r: (-r.breaches, r.department, r.person or ""))


@dataclass(frozen=True)
class DepartmentFigures:
    department: str
    count: int
    within_standard_share: float | None
    breaches: int
    handling_working_median_s: float | None
    waiting_working_median_s: float | None


def department_ranking(rt: Runtime, flt: AuditFilter = EVERYTHING) -> list[DepartmentFigures]:
    """Departments, best share within standard first."""
    statement, ranked = _grouped(
        [WorkItem.department], ("waiting_working", "handling_working"), _item_conditions(flt)
    )
    statement = statement.add_columns(
        func.avg(case((ranked.c.within_standard.is_(True), 1.0), else_=0.0)).label("share"),
        func.sum(case((ranked.c.within_standard.is_(False), 1), else_=0)).label("breaches"),
    )
    with rt.db.snapshot(replica=True) as connection:
        rows = connection.execute(statement).mappings().all()
    result = [
        DepartmentFigures(
            department=row["k0"],
            count=int(row["count"]),
            within_standard_share=_float(row["share"]),
            breaches=int(row["breaches"] or 0),
            handling_working_median_s=_float(row["handling_working_median_s"]),
            waiting_working_median_s=_float(row["waiting_working_median_s"]),
        )
        for row in rows
    ]
    return sorted(result, key=lambda d: (-(d.within_standard_share or 0.0), d.department))


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


# --- whole-process figures ---------------------------------------------------------------------


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


@dataclass(frozen=True)
class ElectricityRow:
    """One customer category's connections, beside the World Bank reference."""

    customer_category: str
    instances: int
    procedures_mean: float | None
    calendar_days_median: float | None
    working_days_median: float | None
    within_cap_share: float | None


def getting_electricity(rt: Runtime, flt: AuditFilter = EVERYTHING) -> list[ElectricityRow]:
    """Finished connection processes by customer category: procedures (customer-facing links),
    calendar and working days, share within the cap."""
    refresh_instances(rt)
    conditions = [*_instance_conditions(flt), Definition.category == "connection"]
    statement = _instance_percentiles(
        [func.coalesce(AuditInstance.customer_category, "")], conditions
    )
    with rt.db.snapshot(replica=True) as connection:
        rows = connection.execute(statement).mappings().all()
    day = 86400.0
    working_day = rt.calendar.day_length.total_seconds()
    return sorted(
        (
            ElectricityRow(
                customer_category=row["k0"] or "-",
                instances=int(row["count"]),
                procedures_mean=_float(row["procedures_mean"]),
                calendar_days_median=row["calendar_median_s"] / day
                if row["calendar_median_s"] is not None
                else None,
                working_days_median=row["working_median_s"] / working_day
                if row["working_median_s"] is not None
                else None,
                within_cap_share=_float(row["within_cap_share"]),
            )
            for row in rows
        ),
        key=lambda r: r.customer_category,
    )


@dataclass(frozen=True)
class RepairShare:
    """Repairs started by the grid's own alarms (active) and by customers' calls."""

    active: int
    reported: int

    @property
    def active_share(self) -> float | None:
        total = self.active + self.reported
        return self.active / total if total else None


def active_repair_share(rt: Runtime, flt: AuditFilter = EVERYTHING) -> RepairShare:
    """Instances started in the period (all statuses) of active_repair vs fault_repair."""
    conditions: list[ColumnElement[bool]] = [
        Definition.process_id.in_(("active_repair", "fault_repair"))
    ]
    if flt.since is not None:
        conditions.append(Instance.started_at >= flt.since)
    if flt.until is not None:
        conditions.append(Instance.started_at < flt.until)
    query = (
        select(Definition.process_id, func.count())
        .select_from(Instance)
        .join(Definition, Definition.id == Instance.definition_id)
        .where(*conditions)
        .group_by(Definition.process_id)
    )
    with rt.db.read(replica=True) as session:
        counts = dict(session.execute(query).all())
    return RepairShare(int(counts.get("active_repair", 0)), int(counts.get("fault_repair", 0)))
