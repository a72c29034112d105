"""Roll-ups of the auditors' per-link figures, so the page costs the same at 10M events as at
1M: what the links completed before a watermark (`ended_at`) add up to, folded in by the
worker, merged at read time with the live tail past the watermark. Exact, not approximate:

- per process version and link: executions, within standard, breaches, the instances in which
  it completed and of those the instances in which it completed more than once (rework);
- per link and measure, a histogram of fine buckets (EDGES: 32 per doubling of the value, so a
  bucket spans 2 %), each with its count, sum, smallest and largest value: the count and sum
  give the mean, the largest bucket's largest value the maximum;
- a percentile needs the values at one or two ranks: the merged bucket counts say which bucket
  holds a rank and where in it; the value is the bucket's smallest or largest when the rank is
  at an end of it (or all its values are equal), else one probe of the measure's covering
  index inside the bucket's bounds (`LIMIT 2 OFFSET k`, k within the bucket, from the nearer
  end), so the walk is bounded by a bucket, not by the link's history; on PostgreSQL a page
  sends its probes a process version at a time, each statement a list of them (`Prober`);
- per department and person who completed: executions and breaches.

The watermark trails the clock by LAG, far longer than any transaction that completes a link
stays open, so no completion can appear below it after a refresh; the completion path itself
writes nothing here. Links completed at or after the watermark are read live (the breaches
index walks them by `ended_at`). A refresh runs in one transaction on PostgreSQL (under an
advisory lock, so two workers fold each row once); on SQLite it reads in a read transaction,
so writers go on meanwhile, and stores in a short write transaction unless another refresh
moved the watermark since it read;
a reader reads the roll-ups, the watermark and the tail in one snapshot (REPEATABLE READ on
PostgreSQL)."""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from gridflow.models import (
    AuditLinkHistogram,
    AuditLinkRollup,
    AuditPersonRollup,
    AuditRollupState,
    WorkItem,
)
from gridflow.runtime import Runtime

# The measures, as in gridflow.audit.MEASURES (name → work-item column).
MEASURES: dict[str, str] = {
    "waiting": "waiting_s",
    "handling": "handling_s",
    "total": "total_s",
    "waiting_working": "waiting_working_s",
    "handling_working": "handling_working_s",
    "total_working": "total_working_s",
}
STEPS_PER_DOUBLING = 32
# Inner bucket edges from 1 s to 2^30 s (34 years); bucket b holds INNER[b-1] <= v < INNER[b],
# bucket 0 everything below one second, the last everything from 2^30 s.
INNER: tuple[float, ...] = tuple(
    2.0 ** (i / STEPS_PER_DOUBLING) for i in range(30 * STEPS_PER_DOUBLING + 1)
)
LAG = timedelta(minutes=15)
LOCK = "gridflow.audit_rollups"
Key = tuple[int, str]


def bucket_of(value: float) -> int:
    return bisect_right(INNER, value)


def bounds(bucket: int) -> tuple[float, float]:
    low = INNER[bucket - 1] if bucket > 0 else -math.inf
    high = INNER[bucket] if bucket < len(INNER) else math.inf
    return low, high


@dataclass
class Bucket:
    count: int
    total: float
    low: float
    high: float

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.low:
            self.low = value
        elif value > self.high:
            self.high = value

    def merge(self, other: Bucket) -> Bucket:
        return Bucket(
            self.count + other.count,
            self.total + other.total,
            min(self.low, other.low),
            max(self.high, other.high),
        )


class Histogram:
    """One link's measure in buckets, as arrays (bucket, count, sum, smallest, largest), kept
    in the database as their bytes, so a page reads hundreds of them without parsing text."""

    __slots__ = ("counts", "highs", "ids", "lows", "totals", "_ends")

    def __init__(
        self,
        ids: array[int],
        counts: array[int],
        totals: array[float],
        lows: array[float],
        highs: array[float],
    ) -> None:
        self.ids, self.counts, self.totals, self.lows, self.highs = ids, counts, totals, lows, highs
        self._ends: list[int] | None = None

    @classmethod
    def of(cls, buckets: dict[int, Bucket]) -> Histogram:
        order = sorted(buckets)
        return cls(
            array("i", order),
            array("q", (buckets[b].count for b in order)),
            array("d", (buckets[b].total for b in order)),
            array("d", (buckets[b].low for b in order)),
            array("d", (buckets[b].high for b in order)),
        )

    def pack(self) -> bytes:
        parts: list[array[Any]] = [self.ids, self.counts, self.totals, self.lows, self.highs]
        if sys.byteorder != "little":
            parts = [array(a.typecode, a) for a in parts]
            for a in parts:
                a.byteswap()
        return len(self.ids).to_bytes(4, "little") + b"".join(a.tobytes() for a in parts)

    @classmethod
    def unpack(cls, blob: bytes) -> Histogram:
        k = int.from_bytes(blob[:4], "little")
        arrays: list[array[Any]] = []
        at = 4
        for code in ("i", "q", "d", "d", "d"):
            a: array[Any] = array(code)
            size = a.itemsize * k
            a.frombytes(blob[at : at + size])
            if sys.byteorder != "little":
                a.byteswap()
            arrays.append(a)
            at += size
        return cls(*arrays)

    def as_dict(self) -> dict[int, Bucket]:
        return {
            b: Bucket(c, t, lo, hi)
            for b, c, t, lo, hi in zip(
                self.ids, self.counts, self.totals, self.lows, self.highs, strict=True
            )
        }

    def merge(self, more: dict[int, Bucket]) -> Histogram:
        """With a few more buckets (the tail's): those it has updated, the others inserted."""
        if not more:
            return self
        ids, counts = list(self.ids), list(self.counts)
        totals, lows, highs = list(self.totals), list(self.lows), list(self.highs)
        for b in sorted(more):
            bucket = more[b]
            i = bisect_left(ids, b)
            if i < len(ids) and ids[i] == b:
                counts[i] += bucket.count
                totals[i] += bucket.total
                lows[i] = min(lows[i], bucket.low)
                highs[i] = max(highs[i], bucket.high)
            else:
                ids.insert(i, b)
                counts.insert(i, bucket.count)
                totals.insert(i, bucket.total)
                lows.insert(i, bucket.low)
                highs.insert(i, bucket.high)
        return Histogram(
            array("i", ids),
            array("q", counts),
            array("d", totals),
            array("d", lows),
            array("d", highs),
        )

    @property
    def ends(self) -> list[int]:
        """Cumulative counts: bucket i holds ranks ends[i-1] .. ends[i]-1."""
        if self._ends is None:
            self._ends = list(accumulate(self.counts))
        return self._ends

    @property
    def n(self) -> int:
        return self.ends[-1] if self.ids else 0


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


def _merge_histograms(a: dict[int, Bucket], b: dict[int, Bucket]) -> dict[int, Bucket]:
    merged = dict(a)
    for key, bucket in b.items():
        merged[key] = merged[key].merge(bucket) if key in merged else bucket
    return merged


# --- refresh (the worker) ----------------------------------------------------------------------


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": LOCK})


def watermark(connection: Connection) -> datetime | None:
    return connection.execute(
        select(AuditRollupState.watermark).where(AuditRollupState.id == 1)
    ).scalar_one_or_none()


def refresh(rt: Runtime, upto: datetime | None = None) -> int:
    """Fold the links completed since the watermark and before `upto` (the clock less LAG by
    default) into the roll-ups; returns how many were folded."""
    upto = upto if upto is not None else rt.clock.now() - LAG
    if rt.db.is_sqlite:
        return _fold_beside_writers(rt, upto, from_scratch=False)
    # Not pipelined: the first fold streams its rows through a server-side cursor.
    with rt.db.transaction(pipeline=False) as connection:
        _lock(connection)
        old = watermark(connection)
        if old is not None and upto <= old:
            return 0
        fold = _fold(connection, old, upto)
        _store(connection, fold)
        _set_watermark(connection, upto, rt)
    return fold.items


def rebuild(rt: Runtime, upto: datetime | None = None) -> int:
    """Empty the roll-ups and fold everything completed before `upto` again (after data was
    loaded below the watermark, e.g. by an import)."""
    upto = upto if upto is not None else rt.clock.now() - LAG
    if rt.db.is_sqlite:
        return _fold_beside_writers(rt, upto, from_scratch=True)
    # Not pipelined: the first fold streams its rows through a server-side cursor.
    with rt.db.transaction(pipeline=False) as connection:
        _lock(connection)
        _empty(connection)
        fold = _fold(connection, None, upto)
        _store(connection, fold)
        _set_watermark(connection, upto, rt)
    return fold.items


def _empty(connection: Connection) -> None:
    for model in (AuditLinkHistogram, AuditLinkRollup, AuditPersonRollup, AuditRollupState):
        connection.execute(delete(model))


def _fold_beside_writers(rt: Runtime, upto: datetime, *, from_scratch: bool) -> int:
    """SQLite: read the fold in a read transaction, which in WAL mode leaves the clerks free
    to write (a first fold after the upgrade reads for minutes at 10M events: 169 s measured,
    every write waiting meanwhile when it ran in the write transaction), then store it in a
    short write transaction. What it folded cannot change meanwhile: links completed before
    `upto` (LAG behind the clock) were committed long before. A refresh that finds another
    has moved the watermark since it read stores nothing (the next round folds on from there);
    a rebuild replaces whatever is there."""
    with rt.db.snapshot() as connection:
        old = watermark(connection)
        if not from_scratch and old is not None and upto <= old:
            return 0
        fold = _fold(connection, None if from_scratch else old, upto)
    with rt.db.transaction() as connection:
        if from_scratch:
            _empty(connection)
        elif watermark(connection) != old:
            return 0
        _store(connection, fold)
        _set_watermark(connection, upto, rt)
    return fold.items


def _has_state(connection: Connection) -> bool:
    found = connection.execute(select(AuditRollupState.id).where(AuditRollupState.id == 1))
    return found.first() is not None


def _set_watermark(connection: Connection, upto: datetime, rt: Runtime) -> None:
    values = {"watermark": upto, "refreshed_at": rt.clock.now()}
    if _has_state(connection):
        connection.execute(
            update(AuditRollupState).where(AuditRollupState.id == 1).values(**values)
        )
    else:
        connection.execute(insert(AuditRollupState).values(id=1, **values))


def _store(connection: Connection, fold: Fold) -> None:
    """Merge a fold into the stored roll-ups: the rows it touches read, merged, replaced."""
    if not fold.items:
        return
    stored = _stored(connection)
    for key, totals in fold.links.items():
        old = stored.links.get(key)
        if old is not None:
            connection.execute(
                delete(AuditLinkRollup).where(
                    AuditLinkRollup.definition_id == key[0], AuditLinkRollup.element_id == key[1]
                )
            )
            totals = old.merge(totals)
        connection.execute(
            insert(AuditLinkRollup).values(
                definition_id=key[0], element_id=key[1], **totals.__dict__
            )
        )
    for (definition_id, element_id, measure), buckets in fold.buckets.items():
        old_histogram = stored.histograms.get((definition_id, element_id, measure))
        if old_histogram is not None:
            connection.execute(
                delete(AuditLinkHistogram).where(
                    AuditLinkHistogram.definition_id == definition_id,
                    AuditLinkHistogram.element_id == element_id,
                    AuditLinkHistogram.measure == measure,
                )
            )
            histogram = old_histogram.merge(buckets)
        else:
            histogram = Histogram.of(buckets)
        connection.execute(
            insert(AuditLinkHistogram).values(
                definition_id=definition_id,
                element_id=element_id,
                measure=measure,
                buckets=histogram.pack(),
            )
        )
    people = []
    for (department, person), (executions, breaches) in fold.people.items():
        old_counts = stored.people.get((department, person))
        if old_counts is not None:
            connection.execute(
                delete(AuditPersonRollup).where(
                    AuditPersonRollup.department == department,
                    AuditPersonRollup.person == person,
                )
            )
            executions += old_counts[0]
            breaches += old_counts[1]
        people.append(
            {
                "department": department,
                "person": person,
                "executions": executions,
                "breaches": breaches,
            }
        )
    if people:
        connection.execute(insert(AuditPersonRollup), people)


@dataclass
class Stored:
    """The roll-ups as stored (and, merged with the tail, as a page reads them)."""

    links: dict[Key, LinkTotals]
    histograms: dict[tuple[int, str, str], Histogram]
    people: dict[tuple[str, str], list[int]]


def _stored(connection: Connection) -> Stored:
    stored = Stored({}, {}, {})
    for row in connection.execute(select(AuditLinkRollup.__table__)).mappings():
        stored.links[(row["definition_id"], row["element_id"])] = LinkTotals(
            row["executions"], row["within"], row["breaches"], row["instances"], row["repeated"]
        )
    query = select(
        AuditLinkHistogram.definition_id,
        AuditLinkHistogram.element_id,
        AuditLinkHistogram.measure,
        AuditLinkHistogram.buckets,
    )
    histograms = stored.histograms
    for d, e, m, packed in connection.execute(query):
        histograms[(d, e, m)] = Histogram.unpack(packed)
    stored.people.update(_stored_people(connection))
    return stored


def _stored_people(connection: Connection) -> dict[tuple[str, str], list[int]]:
    """Executions and breaches per department and person, as the roll-ups hold them."""
    query = select(
        AuditPersonRollup.department,
        AuditPersonRollup.person,
        AuditPersonRollup.executions,
        AuditPersonRollup.breaches,
    )
    return {
        (department, person): [executions, breaches]
        for department, person, executions, breaches in connection.execute(query)
    }


# --- reading (the page) ------------------------------------------------------------------------


def begin_snapshot(connection: Connection) -> None:
    """On PostgreSQL, the reads that follow see one snapshot (the roll-ups and the tail must
    agree on the watermark); SQLite's read transaction is one already."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def merged(connection: Connection) -> Stored | None:
    """The roll-ups merged with the live tail, or None when no refresh has run yet."""
    mark = watermark(connection)
    if mark is None:
        return None
    stored = _stored(connection)
    tail = _fold(connection, mark, None)
    for key, totals in tail.links.items():
        known = stored.links.get(key)
        stored.links[key] = known.merge(totals) if known is not None else totals
    for measured, buckets in tail.buckets.items():
        known_histogram = stored.histograms.get(measured)
        stored.histograms[measured] = (
            known_histogram.merge(buckets) if known_histogram is not None else Histogram.of(buckets)
        )
    for who, (executions, breaches) in tail.people.items():
        counts = stored.people.setdefault(who, [0, 0])
        counts[0] += executions
        counts[1] += breaches
    return stored


HistogramKey = tuple[int, str, str]  # process version, link, measure
# Probes sent together in one statement at most on PostgreSQL (a process version needs tens).
BATCH = 1000


@dataclass(frozen=True)
class Probe:
    """One look inside a bucket: from its nearer end, `skip` entries in, the value at `ranks`
    (from the low end, the next rank's value as well: a percentile often needs both)."""

    low: float
    high: float
    skip: int
    descending: bool
    ranks: tuple[int, ...]


def _plan(n: int, points: Sequence[int], postgres: bool) -> list[tuple[int, int, float]]:
    """Per percentile, the two ranks to interpolate between and the fraction between them, as
    the full scan on the same database interpolates: on PostgreSQL as percentile_cont
    (floating rank), on SQLite as gridflow's index probes (integer rank and remainder)."""
    plan: list[tuple[int, int, float]] = []
    for k in points:
        if postgres:
            h = (k / 100.0) * (n - 1)
            first, second = math.floor(h), math.ceil(h)
            plan.append((first, second, h - first))
        else:
            low, rest = divmod((n - 1) * k, 100)
            plan.append((low, min(low + 1, n - 1), rest / 100.0))
    return plan


def _locate(histogram: Histogram, ranks: Iterable[int]) -> tuple[dict[int, float], list[Probe]]:
    """The values at these 0-based ranks that the buckets give (a rank at either end of its
    bucket, or a bucket of equal values), and a probe for each of the others."""
    ends = histogram.ends
    found: dict[int, float] = {}
    probes: list[Probe] = []
    covered: set[int] = set()
    for rank in sorted(set(ranks)):
        if rank in found or rank in covered:
            continue
        i = bisect_right(ends, rank)
        count, low_value = histogram.counts[i], histogram.lows[i]
        k = rank - (ends[i] - count)
        if k == 0 or low_value == histogram.highs[i]:
            found[rank] = low_value
        elif k == count - 1:
            found[rank] = histogram.highs[i]
        else:
            low, high = bounds(histogram.ids[i])
            if 2 * k < count:
                # k < count - 1: the next rank is in this bucket too.
                probes.append(Probe(low, high, k, False, (rank, rank + 1)))
                covered.add(rank + 1)
            else:
                probes.append(Probe(low, high, count - 1 - k, True, (rank,)))
    return found, probes


def _batch_statement() -> str:
    """One statement for a list of probes: unnest gives (measure, link, bucket bounds, offset,
    direction) rows in order, and each row's value comes from its own short scan of that
    measure's covering index in that direction (CASE runs only the branch it takes)."""
    branches = []
    for number, column in enumerate(MEASURES.values()):
        inside = (
            f"SELECT w.{column} FROM work_items w WHERE w.state = 'completed' "  # noqa: S608
            f"AND w.definition_id = p.definition_id AND w.element_id = p.element_id "
            f"AND w.{column} >= p.low AND w.{column} < p.high ORDER BY w.{column}"
        )
        branches.append(
            f"WHEN {number} THEN CASE WHEN p.descending "
            f"THEN ARRAY({inside} DESC LIMIT 1 OFFSET p.skip) "
            f"ELSE ARRAY({inside} ASC LIMIT 2 OFFSET p.skip) END"
        )
    return (
        f"SELECT CASE p.measure {' '.join(branches)} END "
        "FROM unnest(%s::smallint[], %s::integer[], %s::text[], %s::float8[], %s::float8[], "
        "%s::integer[], %s::boolean[]) WITH ORDINALITY "
        "AS p(measure, definition_id, element_id, low, high, skip, descending, n) ORDER BY p.n"
    )


class Prober:
    """The values at given ranks of a link's measure, from its merged buckets and, inside a
    bucket, a probe of the measure's covering index.

    On SQLite each probe is its own statement (in-process, a few microseconds). On PostgreSQL,
    given the page's histograms, the first request in a process version sends the probes of
    every link of that version, for every measure the page has asked for, in one statement
    (`BATCH` probes at most): a round trip costs more than several probes. By version, not for
    the whole page at once: a page filtered to a process probes only its versions (filtered
    to a supervisor's departments, also the other links of the versions they work in)."""

    BATCH_STATEMENT = _batch_statement()

    def __init__(
        self,
        connection: Connection,
        histograms: Mapping[HistogramKey, Histogram] | None = None,
    ) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.histograms = histograms if self.postgres else None
        self.by_version: dict[int, list[tuple[HistogramKey, Histogram]]] = {}
        for measured, histogram in (self.histograms or {}).items():
            if histogram.n:
                self.by_version.setdefault(measured[0], []).append((measured, histogram))
        mark = "%s" if self.postgres else "?"
        self.cursor = connection.connection.cursor()
        self.statements: dict[tuple[str, bool], str] = {}
        for measure, column in MEASURES.items():
            for descending in (False, True):
                order, limit = ("DESC", 1) if descending else ("ASC", 2)
                self.statements[(measure, descending)] = (
                    f"SELECT {column} FROM work_items WHERE state = 'completed' "  # noqa: S608
                    f"AND definition_id = {mark} AND element_id = {mark} "
                    f"AND {column} >= {mark} AND {column} < {mark} "
                    f"ORDER BY {column} {order} LIMIT {limit} OFFSET {mark}"
                )
        self.known: dict[HistogramKey, dict[int, float]] = {}
        self.asked: list[str] = []  # the measures asked for, in order
        self.first: tuple[Key, tuple[int, ...]] | None = None  # the first link asked for
        self.prepared: set[tuple[int, str, tuple[int, ...]]] = set()
        self.probes = 0  # statements sent
        self.probed = 0  # values looked up inside a bucket (probes, batched or not)
        self.walked = 0  # index entries they stepped over (OFFSET), the part that grows

    def close(self) -> None:
        self.cursor.close()

    def prepare(self, key: Key, measure: str, points: Sequence[int]) -> None:
        """On PostgreSQL with the page's histograms: look up, once, what these percentiles
        need in every histogram of this link's process version, for this measure and every
        other the page has asked for, in one statement per `BATCH` probes. The page's first
        link, before its measures are known, in one statement for every measure."""
        if self.histograms is None:
            return
        if measure not in self.asked:
            self.asked.append(measure)
        points = tuple(points)
        if (key[0], measure, points) in self.prepared or (key, points) == self.first:
            return
        group = self.by_version.get(key[0], [])
        if self.first is None:
            self.first = (key, points)
            group = [(measured, h) for measured, h in group if measured[:2] == key]
        else:
            measures = {m for m in self.asked if (key[0], m, points) not in self.prepared}
            self.prepared.update((key[0], m, points) for m in measures)
            group = [(measured, h) for measured, h in group if measured[2] in measures]
        wanted: list[tuple[HistogramKey, Probe]] = []
        for measured, histogram in group:
            plan = _plan(histogram.n, points, postgres=True)
            known = self.known.get(measured, {})
            _, probes = _locate(
                histogram, (r for first, second, _ in plan for r in (first, second))
            )
            wanted.extend((measured, probe) for probe in probes if probe.ranks[0] not in known)
        for start in range(0, len(wanted), BATCH):
            self._batch(wanted[start : start + BATCH])

    def _batch(self, wanted: Sequence[tuple[HistogramKey, Probe]]) -> None:
        """These probes in one statement (BATCH_STATEMENT)."""
        numbers = {measure: number for number, measure in enumerate(MEASURES)}
        parameters = (
            [numbers[measured[2]] for measured, _ in wanted],
            [measured[0] for measured, _ in wanted],
            [measured[1] for measured, _ in wanted],
            [probe.low for _, probe in wanted],
            [probe.high for _, probe in wanted],
            [probe.skip for _, probe in wanted],
            [probe.descending for _, probe in wanted],
        )
        self.probes += 1
        rows = self.connection.exec_driver_sql(self.BATCH_STATEMENT, parameters).all()
        for (measured, probe), (got,) in zip(wanted, rows, strict=True):
            self.probed += 1
            self.walked += probe.skip
            self.known.setdefault(measured, {}).update(zip(probe.ranks, got, strict=False))

    def values(
        self, key: Key, measure: str, histogram: Histogram, ranks: Iterable[int]
    ) -> dict[int, float]:
        """The values at these 0-based ranks."""
        found, probes = _locate(histogram, ranks)
        measured = (key[0], key[1], measure)
        known: dict[int, float] = {}
        if self.histograms is not None and self.histograms.get(measured) is histogram:
            known = self.known.get(measured, {})
        for probe in probes:
            if probe.ranks[0] in known:
                found.update((rank, known[rank]) for rank in probe.ranks if rank in known)
                continue
            self.probes += 1
            self.probed += 1
            self.walked += probe.skip
            self.cursor.execute(
                self.statements[(measure, probe.descending)],
                (key[0], key[1], probe.low, probe.high, probe.skip),
            )
            got = [row[0] for row in self.cursor.fetchall()]
            found.update(zip(probe.ranks, got, strict=False))
        return found


def percentiles(
    prober: Prober,
    key: Key,
    measure: str,
    histogram: Histogram,
    points: Sequence[int],
) -> list[float]:
    """The k-th percentiles (linear interpolation between closest ranks) as the full scan on
    the same database gives them (see `_plan`)."""
    plan = _plan(histogram.n, points, prober.postgres)
    prober.prepare(key, measure, points)
    values = prober.values(
        key, measure, histogram, [r for first, second, _ in plan for r in (first, second)]
    )
    result = []
    for first, second, fraction in plan:
        at_first, at_second = values[first], values[second]
        if prober.postgres:
            result.append(
                at_first if second == first else at_first + (at_second - at_first) * fraction
            )
        else:
            result.append(at_first + fraction * (at_second - at_first))
    return result


def mean_and_max(histogram: Histogram | None) -> tuple[float | None, float | None]:
    if histogram is None or not histogram.n:
        return None, None
    return math.fsum(histogram.totals) / histogram.n, max(histogram.highs)


def merged_people(connection: Connection) -> dict[tuple[str, str], list[int]] | None:
    """Executions and breaches per department and person (empty for none): the roll-ups and
    the live tail, or None when no refresh has run yet."""
    mark = watermark(connection)
    if mark is None:
        return None
    people = _stored_people(connection)
    tail = select(WorkItem.department, WorkItem.completed_by, WorkItem.within_standard).where(
        *_range(mark, None)
    )
    for department, completed_by, within in connection.execute(tail):
        counts = people.setdefault((department, completed_by or ""), [0, 0])
        counts[0] += 1
        counts[1] += within is False
    return people
