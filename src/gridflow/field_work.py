"""Field work: links done at the customer's site, which a crew works from a phone.

A user task is field work when its BPMN file says so (`camunda:property field_work`):

* `repair` (fault repair, active repair): *arrive*, *restore supply*, *complete*. A repair job
  is one trip, so its arrival and its restoration are facts of the instance: recorded once, on
  whichever of its repair links the crew holds then ("Arrive on site", "Restore supply"), and
  seen by the others.
* `visit` (site survey, inspection, meter installation…): *arrive*, *complete*. Each visit is a
  trip of its own: the arrival belongs to the link.

An arrival and a restoration are task events (`arrived`, `restored`) at the clock's time, by
the link's holder (a ready link is claimed by arriving); the timeline shows them. A field link
is completed from the field view only once the arrival is recorded. Recording one twice (a
retried request) changes nothing and answers the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from gridflow import work_items
from gridflow.errors import InvalidStateError, NotFoundError
from gridflow.instances import event_row
from gridflow.models import TaskEvent, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

ARRIVED = "arrived"
RESTORED = "restored"
MARKS = (ARRIVED, RESTORED)


class FieldWorkError(InvalidStateError):
    """A field action that does not fit the link; `reason` says which: `not_field` (a desk
    link), `visit` (no supply to restore on a site visit), `arrive_first` (restoring or
    completing before the arrival is recorded)."""

    def __init__(self, reason: str, message: str, /, **params: object):
        self.reason = reason
        super().__init__(message, **params)


@dataclass(frozen=True)
class FieldMark:
    """One recorded arrival or restoration."""

    lifecycle: str  # arrived | restored
    at: datetime
    actor: str | None
    work_item_id: int
    link_name: str
    element_id: str = ""


@dataclass(frozen=True)
class FieldState:
    """Where a field link stands: its kind and what has been recorded for it."""

    kind: str  # repair | visit
    arrived: FieldMark | None
    restored: FieldMark | None

    @property
    def restores(self) -> bool:
        return self.kind == "repair"


def kind_of(rt: Runtime, item: WorkItem) -> str | None:
    """The link's field-work kind, or None for a desk link."""
    link = rt.definition(item.definition_id).links.get(item.element_id)
    return link.field_work if link is not None else None


_MARKS = (
    select(
        TaskEvent.lifecycle,
        TaskEvent.at,
        TaskEvent.actor,
        TaskEvent.work_item_id,
        TaskEvent.link_name,
        TaskEvent.element_id,
    )
    .where(
        TaskEvent.instance_id.in_(bindparam("ids", expanding=True)),
        TaskEvent.lifecycle.in_(MARKS),
    )
    .order_by(TaskEvent.id)
)


def marks_of(connection: Connection, instance_ids: Iterable[int]) -> list[FieldMark]:
    """Every arrival and restoration recorded on these instances, in the order recorded."""
    ids = sorted(set(instance_ids))
    if not ids:
        return []
    return [
        FieldMark(row.lifecycle, row.at, row.actor, row.work_item_id, row.link_name, row.element_id)
        for row in connection.execute(_MARKS, {"ids": ids})
    ]


def _state(connection: Connection, item: WorkItem, kind: str) -> FieldState:
    found: dict[str, FieldMark] = {}
    for mark in marks_of(connection, [item.instance_id]):
        if kind == "visit" and mark.work_item_id != item.id:
            continue  # another visit's arrival
        found.setdefault(mark.lifecycle, mark)
    return FieldState(kind, found.get(ARRIVED), found.get(RESTORED))


def field_state(rt: Runtime, item: WorkItem) -> FieldState | None:
    """The link's field state, or None for a desk link."""
    kind = kind_of(rt, item)
    if kind is None:
        return None
    with rt.db.snapshot() as connection:
        return _state(connection, item, kind)


def _field_kind(rt: Runtime, work_item_id: int) -> tuple[WorkItem, str]:
    with rt.db.read() as session:
        item = session.get(WorkItem, work_item_id)
    if item is None:
        raise NotFoundError(gettext("work item %(id)s does not exist"), id=work_item_id)
    kind = kind_of(rt, item)
    if kind is None:
        raise FieldWorkError(
            "not_field", gettext("%(link)s is not work on site"), link=item.link_name
        )
    return item, kind


def _record(rt: Runtime, work_item_id: int, actor: Actor, lifecycle: str) -> FieldMark:
    _, kind = _field_kind(rt, work_item_id)
    if lifecycle == RESTORED and kind != "repair":
        raise FieldWorkError(
            "visit", gettext("only a repair restores supply; this link is a site visit")
        )
    recorded: list[FieldMark] = []

    def record(connection: Connection, item: WorkItem, now: datetime) -> list[dict[str, Any]]:
        state = _state(connection, item, kind)
        already = state.arrived if lifecycle == ARRIVED else state.restored
        if already is not None:
            recorded.append(already)  # recorded before (a retried request): nothing new
            return []
        if lifecycle == RESTORED and state.arrived is None:
            raise FieldWorkError(
                "arrive_first",
                gettext("%(link)s: record the arrival on site first"),
                link=item.link_name,
            )
        recorded.append(
            FieldMark(lifecycle, now, actor.username, item.id, item.link_name, item.element_id)
        )
        return [event_row(item, lifecycle, now, actor)]

    work_items.record_on_held(rt, work_item_id, actor, record)
    return recorded[0]


def arrive(rt: Runtime, work_item_id: int, actor: Actor) -> FieldMark:
    """The crew is on site: an `arrived` event now (the link is claimed if it was ready)."""
    return _record(rt, work_item_id, actor, ARRIVED)


def restore(rt: Runtime, work_item_id: int, actor: Actor) -> FieldMark:
    """Supply is back (a repair, after the arrival): a `restored` event now."""
    return _record(rt, work_item_id, actor, RESTORED)


def complete(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    form: Mapping[str, object],
    *,
    expected_version: int | None = None,
) -> WorkItem:
    """Complete a field link with its form, once the arrival on site is recorded."""
    item, kind = _field_kind(rt, work_item_id)
    with rt.db.snapshot() as connection:
        state = _state(connection, item, kind)
    if state.arrived is None:
        raise FieldWorkError(
            "arrive_first",
            gettext("%(link)s: record the arrival on site first"),
            link=item.link_name,
        )
    return work_items.complete(rt, work_item_id, actor, form, expected_version=expected_version)
