"""The task-event table partitioned by month on PostgreSQL.

`task_events` is a range-partitioned table on `at` (migration 0016): one partition per UTC
month, `task_events_yYYYYmMM`, and a default partition `task_events_default` that catches
any event outside them. The worker (and `gridflow init-db`) keeps the partitions of the last
month, this month and the next ones made ahead, so the events of a working day never land in
the default partition; a month found in the default partition (old data, a clock set far
back) gets its partition, and its rows move there, at the next round. SQLite has one table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from gridflow.runtime import Runtime

PARENT = "task_events"
DEFAULT = "task_events_default"
AHEAD = 2  # months made before they start


def partition_name(month: datetime) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def is_partition(table_name: str) -> bool:
    """A table that is one of task_events' partitions (not described by the models)."""
    return table_name == DEFAULT or (
        table_name.startswith(f"{PARENT}_y") and len(table_name) == len(PARENT) + len("_y2026m01")
    )


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return datetime(moment.year, moment.month, 1)


def add_months(month: datetime, n: int) -> datetime:
    index = month.year * 12 + month.month - 1 + n
    return datetime(index // 12, index % 12 + 1, 1)


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT}
    )
    return kind == "p"


def existing(connection: Connection) -> set[str]:
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    )
    return {row[0] for row in rows}


def ensure(
    connection: Connection, now: datetime, *, behind: int = 1, ahead: int = AHEAD
) -> list[str]:
    """Make the monthly partitions from `behind` months before `now` to `ahead` after it, and
    those of every month the default partition holds rows of (moving its rows there). Returns
    the partitions made. Nothing on SQLite or on a table not partitioned."""
    if not is_partitioned(connection):
        return []
    # Two workers (or hosts) at once: the second waits for the first, then finds its work done.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('gridflow.partitions'))"))
    this_month = month_start(now)
    months = {add_months(this_month, n) for n in range(-behind, ahead + 1)}
    stray = connection.execute(
        text(f"SELECT DISTINCT date_trunc('month', at) FROM {DEFAULT}")  # noqa: S608 - constant
    )
    months |= {row[0] for row in stray}
    have = existing(connection)
    made = []
    for month in sorted(months):
        name = partition_name(month)
        if name in have:
            continue
        _make(connection, name, month, add_months(month, 1))
        made.append(name)
    return made


def _make(connection: Connection, name: str, start: datetime, end: datetime) -> None:
    """A month's partition, with the rows the default partition holds for it moved in: made
    as a table of its own, filled, then attached (a partition cannot be created over rows the
    default partition holds)."""
    bounds = {"start": start, "end": end}
    # Names and bounds are made here from datetimes, never from input.
    connection.execute(
        text(f'CREATE TABLE "{name}" (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    )
    connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE at >= :start AND at < :end RETURNING *) "  # noqa: S608
            f'INSERT INTO "{name}" SELECT * FROM moved'
        ),
        bounds,
    )
    start_sql = start.strftime("%Y-%m-%d %H:%M:%S")
    end_sql = end.strftime("%Y-%m-%d %H:%M:%S")
    connection.execute(
        text(
            f'ALTER TABLE {PARENT} ATTACH PARTITION "{name}" '
            f"FOR VALUES FROM ('{start_sql}') TO ('{end_sql}')"
        )
    )


def ensure_ahead(rt: Runtime) -> list[str]:
    """The worker's part: `ensure` on the runtime's clock, in a transaction of its own."""
    if rt.db.is_sqlite:
        return []
    with rt.db.transaction() as connection:
        return ensure(connection, rt.clock.now())


def placed(connection: Connection, event_ids: list[int]) -> dict[int, str]:
    """Which partition holds each of these events (for tests and operators)."""
    rows = connection.execute(
        text(f"SELECT id, tableoid::regclass::text FROM {PARENT} WHERE id = ANY(:ids)"),  # noqa: S608
        {"ids": event_ids},
    )
    return {row[0]: row[1].strip('"') for row in rows}
