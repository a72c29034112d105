"""The measures auditors read (a link execution's waiting, handling and total time, in calendar
and working seconds) and the SQL that gives, per group, the count, mean, percentiles and maximum
of each; shared by the per-link, department, process and system-step figures.

Percentiles are linear interpolation between closest ranks (numpy's default, Hyndman & Fan
type 7): for n sorted values x[0..n-1] and fraction p, h = (n-1)·p, and the percentile is
x[⌊h⌋] + (h-⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]). In SQL: ROW_NUMBER and COUNT over each link's rows, and
integer division for ⌊h⌋, so one statement gives exact figures on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select

from gridflow.models import WorkItem

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


def duration_keys(measures: Iterable[str]) -> list[str]:
    keys = []
    for measure in measures:
        keys.append(f"{measure}_mean_s")
        keys.extend(f"{measure}_{label}_s" for label, _ in PERCENTILES)
        keys.append(f"{measure}_max_s")
    return keys


def _float(value: object) -> float | None:
    return float(value) if value is not None else None  # type: ignore[arg-type]
