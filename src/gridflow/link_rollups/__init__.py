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
PostgreSQL).

`buckets` holds the measures, the bucket edges and the `Histogram`; `fold` what a set of
completed links adds up to; `stored` the roll-ups as stored and the watermark; `refreshing`
the worker's side (`refresh`, `rebuild`); `reading` the page's (`merged`, `merged_people`);
`probes` the percentiles and the `Prober`.
"""

# `_fold` is not re-exported: refresh and rebuild look it up in `refreshing`, `merged` in
# `reading`, so patch it there.
from gridflow.link_rollups.buckets import (
    INNER,
    MEASURES,
    STEPS_PER_DOUBLING,
    Bucket,
    Histogram,
    Key,
    bounds,
    bucket_of,
    mean_and_max,
)
from gridflow.link_rollups.fold import Fold, LinkTotals
from gridflow.link_rollups.probes import (
    BATCH,
    HistogramKey,
    Probe,
    Prober,
    _locate,
    _plan,
    percentiles,
)
from gridflow.link_rollups.reading import begin_snapshot, merged, merged_people
from gridflow.link_rollups.refreshing import LAG, LOCK, rebuild, refresh
from gridflow.link_rollups.stored import Stored, watermark
from gridflow.models import AuditLinkRollup

__all__ = [
    "BATCH",
    "INNER",
    "LAG",
    "LOCK",
    "MEASURES",
    "STEPS_PER_DOUBLING",
    "AuditLinkRollup",
    "Bucket",
    "Fold",
    "Histogram",
    "HistogramKey",
    "Key",
    "LinkTotals",
    "Probe",
    "Prober",
    "Stored",
    "_locate",
    "_plan",
    "begin_snapshot",
    "bounds",
    "bucket_of",
    "mean_and_max",
    "merged",
    "merged_people",
    "percentiles",
    "rebuild",
    "refresh",
    "watermark",
]
