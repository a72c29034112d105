"""What a set of completed links adds up to (`Fold`): per link its totals, per link and
measure its buckets, per department and person its executions and breaches; `_fold` reads
them for the links that ended in a range (the roll-ups' part, or the live tail)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from gridflow.link_rollups.buckets import INNER, MEASURES, Bucket, Key
from gridflow.models import WorkItem


@dataclass
class LinkTotals:
    executions: int = 0
    within: int = 0
    breaches: int = 0
    instances: int = 0
    repeated: int = 0

    def merge(self, other: LinkTotals) -> LinkTotals:
        return LinkTotals(
            self.executions + other.executions,
            self.within + other.within,
            self.breaches + other.breaches,
            self.instances + other.instances,
            self.repeated + other.repeated,
        )


@dataclass
class Fold:
    """What a set of completed links adds up to (the roll-ups, or the live tail)."""

    links: dict[Key, LinkTotals] = field(default_factory=dict)
    buckets: dict[tuple[int, str, str], dict[int, Bucket]] = field(default_factory=dict)
    people: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    items: int = 0


def _range(since: datetime | None, until: datetime | None) -> list[Any]:
    """Completed links that ended in [since, until): through the breaches index
    (within_standard, ended_at) when bounded below."""
    conditions: list[Any] = [WorkItem.state == "completed"]
    if since is not None:
        conditions.append(
            or_(WorkItem.within_standard.in_([False, True]), WorkItem.within_standard.is_(None))
        )
        conditions.append(WorkItem.ended_at >= since)
    if until is not None:
        conditions.append(WorkItem.ended_at < until)
    return conditions


def _fold(connection: Connection, since: datetime | None, until: datetime | None) -> Fold:
    """The completed links that ended in [since, until); rework counted against the links
    completed before `since` (one probe per instance and link in the range)."""
    fold = Fold()
    conditions = _range(since, until)
    columns = [getattr(WorkItem, column) for column in MEASURES.values()]
    query = select(
        WorkItem.definition_id,
        WorkItem.element_id,
        WorkItem.within_standard,
        WorkItem.department,
        WorkItem.completed_by,
        WorkItem.instance_id,
        *columns,
    ).where(*conditions)
    names = list(MEASURES)
    links, buckets, people = fold.links, fold.buckets, fold.people
    # A bounded range (the tail, a worker's minute) is counted per instance here: a GROUP BY
    # would have SQLite walk every completed link in the summary index's order to skip a sort.
    in_range: dict[tuple[int, str, int], int] | None = {} if since is not None else None
    # From the start: millions of rows, read in batches (a server-side cursor on PostgreSQL).
    options = {"stream_results": True, "yield_per": 10_000} if since is None else {}
    for row in connection.execute(query, execution_options=options):
        definition_id, element_id, within, department, person, instance_id = row[:6]
        key = (definition_id, element_id)
        totals = links.get(key)
        if totals is None:
            totals = links[key] = LinkTotals()
        totals.executions += 1
        if within is True:
            totals.within += 1
        elif within is False:
            totals.breaches += 1
        counts = people.setdefault((department, person or ""), [0, 0])
        counts[0] += 1
        counts[1] += within is False
        for name, value in zip(names, row[6:], strict=True):
            if value is None:
                continue
            histogram = buckets.setdefault((definition_id, element_id, name), {})
            b = bisect_right(INNER, value)
            known = histogram.get(b)
            if known is None:
                histogram[b] = Bucket(1, value, value, value)
            else:
                known.add(value)
        if in_range is not None:
            group = (definition_id, element_id, instance_id)
            in_range[group] = in_range.get(group, 0) + 1
        fold.items += 1
    found: Iterable[Any]
    before: dict[tuple[int, str, int], int] = {}
    if in_range is None:
        # From the start, nothing before: one pass of the summary index, streamed.
        groups = (
            select(WorkItem.definition_id, WorkItem.element_id, WorkItem.instance_id, func.count())
            .where(*conditions)
            .group_by(WorkItem.definition_id, WorkItem.element_id, WorkItem.instance_id)
        )
        found = connection.execute(groups, execution_options=options)
    else:
        found = [(*group, count) for group, count in in_range.items()]
        # The same links completed in these instances before the range, in one statement per
        # few hundred instances (through the work items' instance index).
        ids = sorted({group[2] for group in in_range})
        for start in range(0, len(ids), 500):
            query = (
                select(
                    WorkItem.definition_id,
                    WorkItem.element_id,
                    WorkItem.instance_id,
                    func.count(),
                )
                .where(
                    WorkItem.instance_id.in_(ids[start : start + 500]),
                    WorkItem.state == "completed",
                    WorkItem.ended_at < since,
                )
                .group_by(WorkItem.definition_id, WorkItem.element_id, WorkItem.instance_id)
            )
            for d, e, i, c in connection.execute(query):
                before[(d, e, i)] = c
    for definition_id, element_id, instance_id, count in found:
        prior = before.get((definition_id, element_id, instance_id), 0)
        totals = links[(definition_id, element_id)]
        if prior == 0:
            totals.instances += 1
        if prior < 2 <= prior + count:
            totals.repeated += 1
    return fold
