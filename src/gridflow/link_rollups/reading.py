"""Reading the roll-ups (the page): in one snapshot, the stored roll-ups merged with the live
tail past the watermark, per link (`merged`) or per department and person (`merged_people`)."""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from gridflow.link_rollups.buckets import Histogram
from gridflow.link_rollups.fold import _fold, _range
from gridflow.link_rollups.stored import Stored, _stored, _stored_people, watermark
from gridflow.models import WorkItem


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
