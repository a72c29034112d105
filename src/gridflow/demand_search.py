"""Finding demands: the list of demands newest first, a page at a time with the total, searched
by demand number, customer name or phone. Personal data is searched by need: who may not see a
demand's customer (`access.personal_demands`) cannot find it by that customer's name or phone
either, so a search never tells who is a customer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, or_, select

from gridflow import access
from gridflow.models import Demand
from gridflow.roles import Actor
from gridflow.runtime import Runtime

PAGE_SIZES = (25, 50, 100)
MAX_QUERY = 100
# How many name/phone matches are checked against what a clerk may see (the rest are not
# searched by personal data for them: a clerk narrows the search instead).
PERSONAL_CANDIDATES = 500
_DEMAND_NUMBER = re.compile(r"(?:D-\d{4}-)?0*(\d{1,12})", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"[+\d][\d\s\-()]{3,}")


@dataclass(frozen=True)
class DemandRow:
    id: int
    reference: str
    customer: str  # masked where the reader may not see it
    phone: str  # masked likewise
    category: str
    channel: str
    created_at: datetime


@dataclass(frozen=True)
class DemandPage:
    rows: list[DemandRow]
    total: int
    page: int
    per_page: int
    query: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_shown(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.per_page + 1

    @property
    def last_shown(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def _phone_digits() -> ColumnElement[str]:
    """A stored phone without the spaces, hyphens and brackets people type."""
    column: ColumnElement[str] = func.replace(Demand.phone, " ", "")
    for mark in ("-", "(", ")"):
        column = func.replace(column, mark, "")
    return column


def search(
    rt: Runtime, actor: Actor, text: str = "", *, page: int = 1, per_page: int = PAGE_SIZES[0]
) -> DemandPage:
    """One page of demands, newest first, with the total of those found."""
    text = text.strip()[:MAX_QUERY].replace("\x00", "")
    per_page = per_page if per_page in PAGE_SIZES else PAGE_SIZES[0]
    page = max(1, page)
    with rt.db.snapshot() as connection:
        condition: ColumnElement[bool] | None = None
        if text:
            like = f"%{text}%"
            matches: list[ColumnElement[bool]] = [Demand.reference.ilike(like)]
            number = _DEMAND_NUMBER.fullmatch(text)
            if number:
                matches.append(Demand.id == int(number.group(1)))
            personal: ColumnElement[bool] = Demand.customer_name.ilike(like)
            if _PHONE_LIKE.fullmatch(text):
                digits = re.sub(r"\D", "", text)
                personal = or_(personal, _phone_digits().like(f"%{digits}%"))
            if not access.sees_all_personal_data(actor):
                candidates = connection.scalars(
                    select(Demand.id).where(personal).limit(PERSONAL_CANDIDATES)
                )
                mine = access.personal_demands(connection, actor, rt.roles, candidates)
                personal = Demand.id.in_(sorted(mine)) if mine else false()
            condition = or_(*matches, personal)
        counted = select(func.count(Demand.id))
        listed = select(Demand).order_by(Demand.id.desc())
        if condition is not None:
            counted, listed = counted.where(condition), listed.where(condition)
        total = int(connection.scalar(counted) or 0)
        last_page = max(1, -(-total // per_page))
        page = min(page, last_page)
        found = list(connection.execute(listed.limit(per_page).offset((page - 1) * per_page)))
        shown = access.personal_demands(connection, actor, rt.roles, [d.id for d in found])
    rows = [
        DemandRow(
            id=d.id,
            reference=d.reference,
            customer=d.customer_name if d.id in shown else access.masked(d.customer_name),
            phone=(d.phone or "") if d.id in shown else access.masked(d.phone or ""),
            category=d.category,
            channel=d.channel,
            created_at=d.created_at,
        )
        for d in found
    ]
    return DemandPage(rows, total, page, per_page, text)
