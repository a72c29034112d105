"""Folding completed links into the roll-ups (the worker): `refresh` from the watermark,
`rebuild` from scratch; on PostgreSQL in one transaction under an advisory lock, on SQLite
read beside the writers and stored in a short write transaction (`_fold_beside_writers`);
`_store` merges a fold into the stored rows and `_set_watermark` moves the watermark."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, text, update

from gridflow.link_rollups.buckets import Histogram
from gridflow.link_rollups.fold import Fold, _fold
from gridflow.link_rollups.stored import _stored, watermark
from gridflow.models import (
    AuditLinkHistogram,
    AuditLinkRollup,
    AuditPersonRollup,
    AuditRollupState,
)
from gridflow.runtime import Runtime

LAG = timedelta(minutes=15)
LOCK = "gridflow.audit_rollups"


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": LOCK})


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
