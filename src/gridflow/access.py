"""Who may see and act on a link, and who sees a demand's personal data: the domain's side of
the permission table (`gridflow.app.permissions`), used by the verbs and by the web alike.

A link is *viewed* by its role, the person holding it, who completed it, its helpers,
supervisors, auditors and admins; *worked* (claimed, completed, a specialist consulted) by its
role, its holder and admins; *passed on* (released, handed over, a helper added) by those who
work it and supervisors; *commented on* by those who view it and hold work (auditors read).

A demand's customer name, phone and address are shown by need: to its front-end (who took it
in, its account manager, front-end staff of its area), to the roles holding one of its links,
to supervisors, auditors and admins. Everyone else gets the demand without them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import Connection, or_, select

from gridflow.models import Demand, Instance, LinkHelper, StaffProfile, WorkItem
from gridflow.roles import Actor, RoleBook

SUPERVISING = frozenset({"supervisor", "admin"})
READING = frozenset({"supervisor", "auditor", "admin"})
PERSONAL_FIELDS = ("customer_name", "phone", "address")


class LinkRow(Protocol):
    role: str
    assignee: str | None
    completed_by: str | None


def may_view_link(actor: Actor, item: LinkRow, helpers: Collection[str] = ()) -> bool:
    if actor.is_system or actor.roles & READING:
        return True
    return actor.may_see(item.role, item.assignee, item.completed_by) or actor.username in helpers


def may_work_link(actor: Actor, item: LinkRow, helpers: Collection[str] = ()) -> bool:
    return actor.may_act_on(item.role, item.assignee)


def may_pass_link(actor: Actor, item: LinkRow, helpers: Collection[str] = ()) -> bool:
    return bool(actor.roles & SUPERVISING) or may_work_link(actor, item)


def may_comment_link(actor: Actor, item: LinkRow, helpers: Collection[str] = ()) -> bool:
    return actor.holds_work and may_view_link(actor, item, helpers)


def helpers_of(connection: Connection, work_item_id: int) -> list[str]:
    return list(
        connection.scalars(
            select(LinkHelper.username).where(LinkHelper.work_item_id == work_item_id)
        )
    )


# --- personal data -------------------------------------------------------------------------------


def sees_all_personal_data(actor: Actor) -> bool:
    return actor.is_system or bool(actor.roles & READING)


def personal_demands(
    connection: Connection, actor: Actor, roles: RoleBook, demand_ids: Iterable[int]
) -> set[int]:
    """Of these demands, those whose personal data the actor sees (one query for a list)."""
    ids = sorted(set(demand_ids))
    if not ids:
        return set()
    if sees_all_personal_data(actor):
        return set(ids)
    me = actor.username
    linked = (
        select(Instance.demand_id)
        .join(WorkItem, WorkItem.instance_id == Instance.id)
        .outerjoin(LinkHelper, LinkHelper.work_item_id == WorkItem.id)
        .where(
            Instance.demand_id.in_(ids),
            or_(
                WorkItem.role.in_(sorted(actor.roles)),
                WorkItem.assignee == me,
                WorkItem.completed_by == me,
                LinkHelper.username == me,
            ),
        )
    )
    seen = {demand_id for demand_id in connection.scalars(linked) if demand_id is not None}
    own = select(Demand.id, Demand.created_by, Demand.owner, Demand.details).where(
        Demand.id.in_(ids)
    )
    area = _front_end_area(connection, actor, roles)
    for row in connection.execute(own):
        details = row.details or {}
        if me in (row.created_by, row.owner) or (area is not None and details.get("area") == area):
            seen.add(row.id)
    return seen


def _front_end_area(connection: Connection, actor: Actor, roles: RoleBook) -> str | None:
    """The area a front-end member of staff serves (their skill-pool profile), if any."""
    if not any(r in roles and roles[r].front_end for r in actor.roles):
        return None
    return connection.scalar(
        select(StaffProfile.area).where(StaffProfile.username == actor.username)
    )


def masked(text: str) -> str:
    """A list's stand-in for a name, phone or address: its first character, then stars."""
    text = text.strip()
    return text[:1] + "**" if text else ""


def withheld(demand: Mapping[str, Any]) -> dict[str, Any]:
    """A demand's JSON without its personal data (details keep no address either)."""
    shown = dict(demand)
    for name in PERSONAL_FIELDS:
        shown[name] = None
    details = shown.get("details")
    if isinstance(details, dict):
        shown["details"] = {k: v for k, v in details.items() if k not in PERSONAL_FIELDS}
    shown["personal_data"] = "withheld"
    return shown
