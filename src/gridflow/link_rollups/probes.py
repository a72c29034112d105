"""Exact percentiles from the merged buckets: which ranks a percentile needs (`_plan`), which
of them the buckets give and which need a probe of the measure's covering index inside a
bucket (`_locate`), and the `Prober` that sends those probes (one statement each on SQLite,
a list per process version on PostgreSQL)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from gridflow.link_rollups.buckets import MEASURES, Histogram, Key, bounds

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
