"""The histogram buckets of the per-link roll-ups: the measures, the bucket edges (32 per
doubling of the value) and a bucket's bounds, a bucket's count, sum, smallest and largest
value, and a link's measure as a `Histogram` (packed to bytes for the database), with the
mean and maximum it gives."""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

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


def mean_and_max(histogram: Histogram | None) -> tuple[float | None, float | None]:
    if histogram is None or not histogram.n:
        return None, None
    return math.fsum(histogram.totals) / histogram.n, max(histogram.highs)
