"""Site-visit booking and the rating at the end, as the portal uses them: the one place that
calls `gridflow.appointments` (free slots of qualified people, booking a slot onto a link) and
`gridflow.ratings` (a finished demand rated once), turning their refusals into the portal's
`ServiceError`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from gridflow import appointments, ratings
from gridflow.errors import GridflowError, NotFoundError
from gridflow.models import Instance, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime


class ServiceError(GridflowError):
    """A booking or rating refused; the message says why. It keeps the refusal's catalogue
    text and values, so the portal says it in the customer's language (texts.refusal)."""

    @classmethod
    def of(cls, exc: GridflowError) -> ServiceError:
        """The portal's refusal for an engine's: the same English sentence, the same catalogue
        text and values."""
        refused = cls(str(exc))
        refused.template, refused.params = exc.template, dict(exc.params)
        return refused


def visit_link(rt: Runtime, demand_id: int, work_item_id: int) -> bool:
    """Whether the link is an open site visit of this demand that the customer books (not an
    emergency repair: its crew comes at once)."""
    with rt.db.snapshot() as connection:
        row = connection.execute(
            select(WorkItem.state)
            .join(Instance, Instance.id == WorkItem.instance_id)
            .where(WorkItem.id == work_item_id, Instance.demand_id == demand_id)
        ).first()
    if row is None or row.state not in ("ready", "claimed"):
        return False
    return appointments.bookable(rt, work_item_id)


def bookable(rt: Runtime, demand_id: int, work_item_ids: list[int]) -> set[int]:
    """Which of these open links the customer can book a visit for."""
    return {i for i in work_item_ids if visit_link(rt, demand_id, i)}


def free_slots(rt: Runtime, work_item_id: int) -> list[appointments.Slot]:
    return list(appointments.free_slots(rt, work_item_id))


def booking(rt: Runtime, work_item_id: int) -> appointments.Booking | None:
    return appointments.for_work_item(rt, work_item_id)


def book(
    rt: Runtime, demand_id: int, work_item_id: int, starts_at: datetime, actor: Actor
) -> appointments.Booking:
    """Book (or move) the visit; the booking tells the customer in its own transaction."""
    try:
        return appointments.book(rt, work_item_id, starts_at, actor)
    except GridflowError as exc:
        raise ServiceError.of(exc) from exc


def rating_of(rt: Runtime, demand_id: int) -> ratings.RatingView | None:
    return ratings.rating_of(rt, demand_id)


def visits_to_rate(rt: Runtime, demand_id: int) -> list[ratings.VisitLink]:
    return list(ratings.visits_to_rate(rt, demand_id))


def rate(
    rt: Runtime,
    demand_id: int,
    stars: int,
    comment: str,
    on_time: dict[int, bool],
    actor: Actor,
) -> ratings.RatingView:
    try:
        return ratings.rate(rt, demand_id, stars, comment, on_time, actor)
    except GridflowError as exc:
        if isinstance(exc, NotFoundError):
            raise
        raise ServiceError.of(exc) from exc
