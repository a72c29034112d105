"""A run's waits (timers, messages, signals) in the waits table, rewritten only when they
changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from gridflow.engine import Snapshot
from gridflow.instances.statements import _WAIT_FIELDS, DELETE_WAITS, INSERT_WAITS, WAITS
from gridflow.models import (
    to_ms,
)

_STORED_WAITS = (
    select(*(WAITS.c[name] for name in _WAIT_FIELDS))
    .where(WAITS.c.instance_id == bindparam("instance_id"))
    .order_by(WAITS.c.id)
)


def _wait_rows(waits: Sequence[Any]) -> list[dict[str, object]]:
    return [
        {
            "kind": wait.kind,
            "name": wait.name,
            "task_id": wait.task_id,
            "element_id": wait.element_id,
            "due_at": to_ms(wait.due_at) if wait.due_at is not None else None,
            "attached_task_id": wait.attached_to,
        }
        for wait in waits
    ]


def _write_waits(
    connection: Connection,
    instance_id: int,
    snapshot: Snapshot,
    fresh: bool,
    stored: Sequence[Any] | None = None,
) -> None:
    """Replace the instance's waits by the run's, unless the stored ones are the same.
    `stored` are the waits of the run as it was saved last (read from the table when None)."""
    rows = _wait_rows(snapshot.waits)
    if not fresh:
        if stored is not None:
            saved = [tuple(row.values()) for row in _wait_rows(stored)]
        else:
            saved = [
                tuple(row)
                for row in connection.execute(_STORED_WAITS, {"instance_id": instance_id})
            ]
        if [tuple(row[name] for name in _WAIT_FIELDS) for row in rows] == saved:
            return
        if saved:
            connection.execute(DELETE_WAITS, {"instance_id": instance_id})
    if rows:
        for row in rows:
            row["instance_id"] = instance_id
        connection.execute(INSERT_WAITS, rows)
