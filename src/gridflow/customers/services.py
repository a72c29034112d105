"""Site-visit booking and the rating at the end, as the portal uses them: the one place that
calls `gridflow.appointments` (free slots of qualified people, booking a slot onto a link) and
`gridflow.ratings` (a finished demand rated once). While those modules are not installed,
`booking_available()` / `rating_available()` are False and the portal does not offer them.

Functions expected of them (issue 13's appointments and ratings):
  appointments.site_visit(rt, work_item_id) -> str | None
  appointments.free_slots(rt, work_item_id, days=7) -> [Slot(starts_at, ends_at, people)]
  appointments.book(rt, work_item_id, starts_at, actor) -> Booking(starts_at, …)
  appointments.for_work_item(rt, work_item_id) -> Booking | None
  ratings.visits_to_rate(rt, demand_id) -> [VisitLink(work_item_id, link_name, kind, ended_at)]
  ratings.rate(rt, demand_id, stars, comment, visits_on_time, actor) -> RatingView
  ratings.rating_of(rt, demand_id) -> RatingView | None
"""

from __future__ import annotations

import importlib
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import select

from gridflow.errors import GridflowError, NotFoundError
from gridflow.models import Instance, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime


class ServiceError(GridflowError):
    """A booking or rating refused; the message says why."""


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"gridflow.{name}")
    except ImportError:
        return None


def booking_available() -> bool:
    return _module("appointments") is not None


def rating_available() -> bool:
    return _module("ratings") is not None


def _need(name: str) -> Any:  # noqa: ANN401 - the module, typed by its own file
    found = _module(name)
    if found is None:
        raise NotFoundError(f"{name} are not available")
    return found


def visit_link(rt: Runtime, demand_id: int, work_item_id: int) -> bool:
    """Whether the link is an open site visit of this demand (one the customer may book)."""
    with rt.db.snapshot() as connection:
        row = connection.execute(
            select(WorkItem.state)
            .join(Instance, Instance.id == WorkItem.instance_id)
            .where(WorkItem.id == work_item_id, Instance.demand_id == demand_id)
        ).first()
    if row is None or row.state not in ("ready", "claimed"):
        return False
    return _need("appointments").site_visit(rt, work_item_id) is not None


def bookable(rt: Runtime, demand_id: int, work_item_ids: list[int]) -> set[int]:
    """Which of these open links the customer can book a visit for."""
    if _module("appointments") is None:
        return set()
    return {i for i in work_item_ids if visit_link(rt, demand_id, i)}


def free_slots(rt: Runtime, work_item_id: int) -> list[Any]:
    return list(_need("appointments").free_slots(rt, work_item_id))


def booking(rt: Runtime, work_item_id: int) -> Any:  # noqa: ANN401 - a Booking or None
    return _need("appointments").for_work_item(rt, work_item_id)


def book(rt: Runtime, demand_id: int, work_item_id: int, starts_at: datetime, actor: Actor) -> Any:  # noqa: ANN401 - a Booking
    """Book (or move) the visit; the booking tells the customer in its own transaction."""
    try:
        return _need("appointments").book(rt, work_item_id, starts_at, actor)
    except GridflowError as exc:
        raise ServiceError(str(exc)) from exc


def rating_of(rt: Runtime, demand_id: int) -> Any:  # noqa: ANN401 - a RatingView or None
    ratings = _module("ratings")
    return None if ratings is None else ratings.rating_of(rt, demand_id)


def visits_to_rate(rt: Runtime, demand_id: int) -> list[Any]:
    return list(_need("ratings").visits_to_rate(rt, demand_id))


def rate(
    rt: Runtime,
    demand_id: int,
    stars: int,
    comment: str,
    on_time: dict[int, bool],
    actor: Actor,
) -> Any:  # noqa: ANN401 - a RatingView
    try:
        return _need("ratings").rate(rt, demand_id, stars, comment, on_time, actor)
    except GridflowError as exc:
        if isinstance(exc, NotFoundError):
            raise
        raise ServiceError(str(exc)) from exc
