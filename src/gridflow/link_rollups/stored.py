"""The roll-ups as stored (`Stored`: per link its totals and histograms, per department
and person its counts) and the watermark they reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from gridflow.link_rollups.buckets import Histogram, Key
from gridflow.link_rollups.fold import LinkTotals
from gridflow.models import (
    AuditLinkHistogram,
    AuditLinkRollup,
    AuditPersonRollup,
    AuditRollupState,
)


def watermark(connection: Connection) -> datetime | None:
    return connection.execute(
        select(AuditRollupState.watermark).where(AuditRollupState.id == 1)
    ).scalar_one_or_none()


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
