"""Task events, the audit trail: one row per lifecycle change of a link, added to an ORM
session (`record`) or built (`event_row`) and inserted in order with Core (`insert_events`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from gridflow import request_ids
from gridflow.instances.statements import INSERT_EVENTS
from gridflow.models import (
    TaskEvent,
    WorkItem,
)
from gridflow.roles import Actor


def record(
    session: Session,
    item: WorkItem,
    lifecycle: str,
    at: datetime,
    actor: Actor | None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Append one task event for a lifecycle change of a link (ORM session version)."""
    session.add(
        TaskEvent(
            work_item=item,
            instance_id=item.instance_id,
            definition_id=item.definition_id,
            element_id=item.element_id,
            link_name=item.link_name,
            lifecycle=lifecycle,
            at=at,
            actor=actor.username if actor is not None else None,
            lane=item.lane,
            role=item.role,
            department=item.department,
            details=request_ids.stamped(details),
        )
    )


def event_row(
    item: Any,  # noqa: ANN401 - anything with the EVENT_SOURCE attributes
    lifecycle: str,
    at: datetime,
    actor: Actor | None,
    details: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The task_events row `record` would add, for a Core insert."""
    return {
        "work_item_id": item.id,
        "instance_id": item.instance_id,
        "definition_id": item.definition_id,
        "element_id": item.element_id,
        "link_name": item.link_name,
        "lifecycle": lifecycle,
        "at": at,
        "actor": actor.username if actor is not None else None,
        "lane": item.lane,
        "role": item.role,
        "department": item.department,
        # None is stored as JSON null, as the ORM stores it.
        "details": dict(details) if details else None,
    }


def insert_events(connection: Connection, events: Sequence[dict[str, Any]]) -> None:
    """Insert task events in list order (their ids follow it).

    A link's events name no system step and a system step's name no work item; one executemany
    takes its columns from the first row only, so every row is given every column (None where
    it has none) or a system step's events would lose their step after a link's."""
    if events:
        events = request_ids.stamp_rows(list(events))
        columns = dict.fromkeys(key for event in events for key in event)
        connection.execute(INSERT_EVENTS, [columns | event for event in events])


class _Source:
    """A work item's values as the attributes `event_row` reads."""

    def __init__(self, values: Mapping[str, Any]):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - only for type checkers
        raise AttributeError(name)
