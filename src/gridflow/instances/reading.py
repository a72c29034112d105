"""An instance as a write transaction holds it: its row, locked where the database can
(`Held`, `held`, `_instance`), and its run restored from the saved document (`_restore`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from gridflow.engine import Run
from gridflow.errors import NotFoundError
from gridflow.instances.statements import INSTANCES
from gridflow.runtime import Runtime
from gridflow.texts import _


@dataclass
class Held:
    """An instance row as a write transaction read it (locked where the database can)."""

    id: int
    definition_id: int
    status: str
    document: str
    variables: dict[str, Any] | None
    ended_at: datetime | None
    lock_version: int
    parent_instance_id: int | None = None
    parent_task_id: str | None = None
    demand_id: int | None = None


HELD_COLUMNS = (
    INSTANCES.c.id,
    INSTANCES.c.definition_id,
    INSTANCES.c.status,
    INSTANCES.c.document,
    INSTANCES.c.variables,
    INSTANCES.c.ended_at,
    INSTANCES.c.lock_version,
    INSTANCES.c.parent_instance_id,
    INSTANCES.c.parent_task_id,
    INSTANCES.c.demand_id,
)


def held(row: Sequence[Any], start: int = 0) -> Held:
    """The Held instance from a row that has HELD_COLUMNS from position `start`."""
    values = tuple(row)
    return Held(*values[start : start + len(HELD_COLUMNS)])


_HELD_BY_ID = (
    select(*HELD_COLUMNS).where(INSTANCES.c.id == bindparam("instance_id")).with_for_update()
)


def _instance(connection: Connection, instance_id: int) -> Held:
    row = connection.execute(_HELD_BY_ID, {"instance_id": instance_id}).first()
    if row is None:
        raise NotFoundError(_("instance %(id)s does not exist"), id=instance_id)
    return held(row)


def _restore(rt: Runtime, instance: Held) -> Run:
    run = rt.engine.restore(rt.definition(instance.definition_id), instance.document)
    run.instance_id = instance.id
    return run
