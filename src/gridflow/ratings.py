"""The customer's rating of a finished demand (1-5 stars, a comment, and whether each site
visit was on time), the audit's satisfaction figures beside the durations, and the comments
supervisors read.

A rating is taken once per demand, when every process of the demand has ended. It is then
posted to the linkage rules as the internal event `service_rated` (key: the demand), so the
rule `low_rating_return_visit` in processes/rules.yaml raises a return visit by the account
manager for 1 or 2 stars, on the demand's timeline, once (the same key acts once; a retried
rating posts it again, finishing what a crash left undone).

Satisfaction is aggregated in SQL, by process (the demand's own processes), department and link
(every link the demand went through, the processes it called included: a department is rated
by the demands it worked on), and month (local month of the rating); each with the number of
ratings, mean stars, low ratings (1-2) and the site visits rated on time.

Public API:

- `rate(rt, demand_id, stars, comment, visits_on_time, actor) -> RatingView`
  (`visits_on_time`: {site-visit work item id: on time?}); RatingError (422) for bad input or
  a demand still running, ConflictError (409) when it was rated already.
- `rating_of(rt, demand_id) -> RatingView | None`
- `visits_to_rate(rt, demand_id) -> list[VisitLink]`: the demand's completed site visits.
- `satisfaction(rt, by, flt=EVERYTHING) -> list[SatisfactionRow]` (by: process | department |
  link | month)
- `comments(rt, actor, flt=EVERYTHING, limit=50) -> list[RatingComment]`: auditors and admins
  read all; a supervisor those of demands their departments worked on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from gridflow import linkage
from gridflow.audit import EVERYTHING, AuditFilter, visible_departments
from gridflow.errors import ConflictError, GridflowError, NotFoundError
from gridflow.models import (
    Definition,
    Demand,
    Instance,
    Rating,
    RatingVisit,
    WorkItem,
    to_ms,
)
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

RATINGS = cast(Table, Rating.__table__)
RATING_VISITS = cast(Table, RatingVisit.__table__)
MAX_COMMENT = 2000
LOW = 2  # stars at or below: a low rating
GROUPINGS = ("process", "department", "link", "month")
EVENT_TYPE = "service_rated"


class RatingError(GridflowError):
    """A rating that cannot be taken; the message says why."""


@dataclass(frozen=True)
class RatingView:
    id: int
    demand_id: int
    stars: int
    comment: str
    visits_on_time: dict[int, bool]
    rated_by: str
    rated_at: Any  # datetime

    def as_json(self) -> dict[str, object]:
        return {
            "stars": self.stars,
            "comment": self.comment,
            "visits_on_time": {str(k): v for k, v in self.visits_on_time.items()},
            "rated_at": self.rated_at.isoformat(),
        }


@dataclass(frozen=True)
class VisitLink:
    work_item_id: int
    link_name: str
    kind: str
    ended_at: Any  # datetime


@dataclass(frozen=True)
class SatisfactionRow:
    """One group's satisfaction: `key` is the process id, department id, month (YYYY-MM) or
    "process:element" of a link (with its `label`)."""

    key: str
    label: str
    ratings: int
    mean_stars: float
    low: int
    visits: int
    on_time: int

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.visits if self.visits else None


@dataclass(frozen=True)
class RatingComment:
    demand_id: int
    reference: str
    stars: int
    comment: str
    rated_at: Any  # datetime


# --- taking a rating ----------------------------------------------------------------------------


def _demand_state(connection: Connection, demand_id: int) -> tuple[str, list[str]]:
    reference = connection.scalar(select(Demand.reference).where(Demand.id == demand_id))
    if reference is None:
        raise NotFoundError(gettext("demand %(id)s does not exist"), id=demand_id)
    states = list(
        connection.scalars(
            select(Instance.status).where(
                Instance.demand_id == demand_id, Instance.parent_instance_id.is_(None)
            )
        )
    )
    return reference, states


def visits_to_rate(rt: Runtime, demand_id: int) -> list[VisitLink]:
    """The demand's completed site visits (survey, installation, repair), in order."""
    with rt.db.snapshot() as connection:
        rows = connection.execute(
            select(
                WorkItem.id,
                WorkItem.definition_id,
                WorkItem.element_id,
                WorkItem.link_name,
                WorkItem.ended_at,
            )
            .join(Instance, Instance.id == WorkItem.instance_id)
            .where(Instance.demand_id == demand_id, WorkItem.state == "completed")
            .order_by(WorkItem.ended_at, WorkItem.id)
        ).all()
    visits = []
    for row in rows:
        link = rt.definition(row.definition_id).links.get(row.element_id)
        if link is not None and link.site_visit is not None:
            visits.append(VisitLink(row.id, row.link_name, link.site_visit, row.ended_at))
    return visits


def rate(
    rt: Runtime,
    demand_id: int,
    stars: object,
    comment: object,
    visits_on_time: Mapping[int, object],
    actor: Actor,
) -> RatingView:
    """Take the customer's rating of a finished demand (once); a low one raises a return
    visit through the linkage rules."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise RatingError(gettext("stars must be a whole number from 1 to 5"))
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT or "\x00" in comment:
        raise RatingError(
            gettext("the comment must be text of at most %(max)s characters"), max=MAX_COMMENT
        )
    earlier = rating_of(rt, demand_id)
    if earlier is not None:
        _post(rt, demand_id, earlier.stars)  # finish what a crash may have left undone
        raise ConflictError(gettext("this demand has been rated already"))
    allowed = {visit.work_item_id for visit in visits_to_rate(rt, demand_id)}
    visits: dict[int, bool] = {}
    for work_item_id, on_time in visits_on_time.items():
        if work_item_id not in allowed:
            raise RatingError(
                gettext("link %(id)s is not a site visit of this demand"), id=work_item_id
            )
        if not isinstance(on_time, bool):
            raise RatingError(gettext("whether a visit was on time is yes or no"))
        visits[work_item_id] = on_time
    now = to_ms(rt.clock.now())
    try:
        with rt.db.transaction() as connection:
            reference, states = _demand_state(connection, demand_id)
            if not states or "running" in states or "completed" not in states:
                raise RatingError(gettext("a demand is rated once it is finished"))
            local = rt.calendar.local_date(now)
            rating_id = connection.execute(
                RATINGS.insert().returning(RATINGS.c.id),
                {
                    "demand_id": demand_id,
                    "stars": stars,
                    "comment": comment.strip(),
                    "rated_by": actor.username,
                    "rated_at": now,
                    "rated_month": local.strftime("%Y-%m"),
                },
            ).scalar_one()
            if visits:
                connection.execute(
                    RATING_VISITS.insert(),
                    [
                        {"rating_id": rating_id, "work_item_id": k, "on_time": v}
                        for k, v in sorted(visits.items())
                    ],
                )
    except IntegrityError as exc:
        earlier = rating_of(rt, demand_id)
        if earlier is not None:
            _post(rt, demand_id, earlier.stars)  # finish what a crash may have left undone
        raise ConflictError(gettext("this demand has been rated already")) from exc
    _post(rt, demand_id, stars, reference)
    found = rating_of(rt, demand_id)
    assert found is not None
    return found


def _post(rt: Runtime, demand_id: int, stars: int, reference: str | None = None) -> None:
    if reference is None:
        with rt.db.snapshot() as connection:
            reference = connection.scalar(select(Demand.reference).where(Demand.id == demand_id))
    book = linkage.rulebook(rt.roles)
    linkage.receive(
        rt,
        book,
        EVENT_TYPE,
        f"rated:{reference}",
        {"demand": reference, "stars": stars},
        source="gridflow (customer rating)",
        internal=True,
    )


def rating_of(rt: Runtime, demand_id: int) -> RatingView | None:
    with rt.db.snapshot() as connection:
        row = connection.execute(select(RATINGS).where(RATINGS.c.demand_id == demand_id)).first()
        if row is None:
            return None
        visits = {
            int(v.work_item_id): bool(v.on_time)
            for v in connection.execute(
                select(RATING_VISITS).where(RATING_VISITS.c.rating_id == row.id)
            )
        }
    return RatingView(
        row.id, row.demand_id, row.stars, row.comment, visits, row.rated_by, row.rated_at
    )


# --- the audit's satisfaction -------------------------------------------------------------------


def _rating_conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    """Conditions on the rating itself (its subqueries use their own aliases and correlate
    only to the rating, so they hold inside queries that join instances and links too)."""
    conditions: list[ColumnElement[bool]] = []
    if flt.since is not None:
        conditions.append(Rating.rated_at >= flt.since)
    if flt.until is not None:
        conditions.append(Rating.rated_at < flt.until)
    demand, instance = aliased(Demand), aliased(Instance)
    definition, item = aliased(Definition), aliased(WorkItem)
    if flt.customer_category is not None:
        conditions.append(
            select(demand.id)
            .where(
                demand.id == Rating.demand_id,
                demand.customer_category == flt.customer_category,
            )
            .correlate(Rating)
            .exists()
        )
    if flt.process_id is not None:
        conditions.append(
            select(instance.id)
            .join(definition, definition.id == instance.definition_id)
            .where(
                instance.demand_id == Rating.demand_id,
                instance.parent_instance_id.is_(None),
                definition.process_id == flt.process_id,
            )
            .correlate(Rating)
            .exists()
        )
    departments = set(flt.departments) if flt.departments is not None else None
    if flt.department is not None:
        departments = (
            {flt.department} & departments if departments is not None else {flt.department}
        )
    if departments is not None:
        conditions.append(
            select(item.id)
            .join(instance, instance.id == item.instance_id)
            .where(
                instance.demand_id == Rating.demand_id,
                item.department.in_(sorted(departments)),
            )
            .correlate(Rating)
            .exists()
        )
    return conditions


def satisfaction(rt: Runtime, by: str, flt: AuditFilter = EVERYTHING) -> list[SatisfactionRow]:
    """Ratings grouped by process, department, link or month, with mean stars, low ratings
    and visits on time; a supervisor's departments limit the department and link rows too."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    conditions = _rating_conditions(flt)
    # The processes the customer rated: those of the demand that had ended when it was rated
    # (a demand is rated once all have), not the return visit the rating itself raised.
    before_rating = and_(
        Instance.demand_id == Rating.demand_id, Instance.ended_at <= Rating.rated_at
    )
    label: Any
    if by == "month":
        key: Any = Rating.rated_month
        label = Rating.rated_month
        pairs = select(Rating.id.label("rating_id"), key.label("key"), label.label("label"))
        visit_match = None
    elif by == "process":
        key = Definition.process_id
        label = Definition.name
        pairs = (
            select(Rating.id.label("rating_id"), key.label("key"), func.max(label).label("label"))
            .join(Instance, before_rating)
            .join(Definition, Definition.id == Instance.definition_id)
            .where(Instance.parent_instance_id.is_(None))
            .group_by(Rating.id, key)
        )
        visit_match = None
    else:
        if by == "department":
            key = WorkItem.department
            label = WorkItem.department
        else:
            key = Definition.process_id + ":" + WorkItem.element_id
            label = WorkItem.link_name
        pairs = (
            select(Rating.id.label("rating_id"), key.label("key"), func.max(label).label("label"))
            .join(Instance, before_rating)
            .join(WorkItem, WorkItem.instance_id == Instance.id)
            .join(Definition, Definition.id == WorkItem.definition_id)
            .where(WorkItem.state == "completed")
            .group_by(Rating.id, key)
        )
        if flt.departments is not None:
            pairs = pairs.where(WorkItem.department.in_(sorted(flt.departments)))
        if flt.department is not None and by == "department":
            pairs = pairs.where(WorkItem.department == flt.department)
        visit_match = key
    pairs = pairs.where(*conditions)
    grouped = pairs.subquery("pairs")
    figures = (
        select(
            grouped.c.key,
            func.max(grouped.c.label),
            func.count(),
            func.avg(Rating.stars),
            func.sum(case((Rating.stars <= LOW, 1), else_=0)),
        )
        .join(Rating, Rating.id == grouped.c.rating_id)
        .group_by(grouped.c.key)
        .order_by(grouped.c.key)
    )
    visits_query = (
        select(
            grouped.c.key,
            func.count(RatingVisit.id),
            func.sum(case((RatingVisit.on_time.is_(True), 1), else_=0)),
        )
        .join(RatingVisit, RatingVisit.rating_id == grouped.c.rating_id)
        .group_by(grouped.c.key)
    )
    if visit_match is not None:
        visits_query = (
            visits_query.join(WorkItem, WorkItem.id == RatingVisit.work_item_id)
            .join(Definition, Definition.id == WorkItem.definition_id)
            .where(visit_match == grouped.c.key)
        )
    with rt.db.snapshot() as connection:
        rows = connection.execute(figures).all()
        visits = {k: (int(n), int(on or 0)) for k, n, on in connection.execute(visits_query)}
    return [
        SatisfactionRow(
            str(k),
            str(name),
            int(n),
            round(float(mean), 2),
            int(low or 0),
            *visits.get(k, (0, 0)),
        )
        for k, name, n, mean, low in rows
    ]


def comments(
    rt: Runtime, actor: Actor, flt: AuditFilter = EVERYTHING, limit: int = 50
) -> list[RatingComment]:
    """The newest ratings with a comment: every one for auditors and admins, those of demands
    a supervisor's departments worked on for a supervisor; anyone else is refused."""
    departments = visible_departments(actor, rt)  # PermissionError for other roles
    if departments is not None:
        flt = AuditFilter(**{**flt.__dict__, "departments": departments})
    query = (
        select(Rating.demand_id, Demand.reference, Rating.stars, Rating.comment, Rating.rated_at)
        .join(Demand, Demand.id == Rating.demand_id)
        .where(Rating.comment != "", *_rating_conditions(flt))
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    with rt.db.snapshot() as connection:
        return [RatingComment(*row) for row in connection.execute(query)]
