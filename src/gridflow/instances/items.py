"""A run's links as work items: who a new one goes to (the desk owner, the assignee the
diagram names, the role a candidate-group variable holds), when it is due, inserting new ones,
reading back the stored ones a save needs, and one versioned UPDATE (`update_item`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, or_, select

from gridflow.database import expect_rows
from gridflow.engine import EngineError
from gridflow.errors import ConflictError
from gridflow.instances.reading import Held
from gridflow.instances.statements import (
    EVENT_SOURCE,
    INSERT_ITEM,
    INSTANCES,
    OPEN,
    UPDATE_ITEM,
    USERS,
    WORK_ITEMS,
)
from gridflow.models import (
    Demand,
    to_ms,
)
from gridflow.roles import Role
from gridflow.runtime import Runtime


def update_item(
    connection: Connection,
    item_id: int,
    version: int,
    values: Mapping[str, object],
    conflict: str,
) -> int:
    """One UPDATE of a work item with its version check (+1), as the ORM's version counter
    does it; ConflictError, with the transaction to roll back, when the version moved."""
    result = connection.execute(
        UPDATE_ITEM,
        {**values, "lock_version": version + 1, "where_id": item_id, "where_version": version},
    )
    expect_rows(result, 1, lambda: ConflictError(conflict))
    return version + 1


_INSERT_ITEMS = INSERT_ITEM.returning(WORK_ITEMS.c.id, sort_by_parameter_order=True)


def _insert_items(connection: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert new work items in one statement (their ids come back by RETURNING, in order) and
    give each row its id."""
    if not rows:
        return rows
    columns = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    if len(rows) == 1:
        ids = [connection.execute(INSERT_ITEM, columns[0]).inserted_primary_key[0]]  # type: ignore[index]
    else:
        ids = list(connection.execute(_INSERT_ITEMS, columns).scalars())
    for row, item_id in zip(rows, ids, strict=True):
        row["id"] = item_id
    return rows


_DEMAND_OWNER = (
    select(Demand.owner)
    .join(INSTANCES, INSTANCES.c.demand_id == Demand.id)
    .where(INSTANCES.c.id == bindparam("instance_id"))
)
_OWNER_OF_DEMAND = select(Demand.owner).where(Demand.id == bindparam("demand_id"))


def _desk_owner(
    connection: Connection, instance_id: int, new: Mapping[str, object] | None, now: datetime
) -> str | None:
    """The demand's owner when they can take a front-end link now (on shift, under their
    maximum load); None sends the link to the team queue."""
    from gridflow.pool import available_for_desk

    if new is not None:
        if new.get("demand_id") is None:
            return None
        owner = connection.scalar(_OWNER_OF_DEMAND, {"demand_id": new["demand_id"]})
    else:
        owner = connection.scalar(_DEMAND_OWNER, {"instance_id": instance_id})
    if not owner or not available_for_desk(connection, owner, now):
        return None
    return str(owner)


def _due(
    rt: Runtime,
    meta: Any,
    link: Any,
    now: datetime,
    instance: Held,  # noqa: ANN401
) -> datetime:
    """When a link is due by its standard; an error naming the link when the standard cannot
    be laid on the calendar (one of centuries, forced past the lint)."""
    try:
        return to_ms(meta.standard.due(now, link.data, rt.calendar))
    except (ValueError, OverflowError) as exc:
        raise EngineError(link.element_id, f"service standard: {exc}", instance.id or None) from exc


def _role_held(rt: Runtime, meta: Any, link: Any) -> Role:  # noqa: ANN401 - Link, LinkTask
    """The role a link's `camunda:candidateGroups="${variable}"` holds when it is reached."""
    value = link.data.get(meta.role_variable)
    role = rt.roles.roles.get(value) if isinstance(value, str) else None
    if role is None or not role.owns_lanes:
        raise EngineError(
            link.element_id,
            f"candidate group variable {meta.role_variable!r} holds {value!r}, not a role that "
            "does work",
        )
    return role


_USER_ROLES = select(USERS.c.roles, USERS.c.active).where(USERS.c.username == bindparam("username"))


def _named_assignee(
    connection: Connection,
    meta: Any,
    link: Any,
    role: Role,  # noqa: ANN401 - Link, LinkTask
) -> str | None:
    """The person `camunda:assignee` names, when that account exists, is active and may do the
    link (holds its role); else nobody, and the link waits in its role's team queue."""
    name = meta.assignee
    if meta.assignee_variable is not None:
        value = link.data.get(meta.assignee_variable)
        name = value if isinstance(value, str) else None
    if not name:
        return None
    row = connection.execute(_USER_ROLES, {"username": name}).first()
    if row is None or not row.active:
        return None
    held_roles = row.roles or []
    return name if role.id in held_roles or "admin" in held_roles else None


def _known_items(connection: Connection, instance_id: int, ready_ids: list[str]) -> dict[str, Any]:
    """The instance's work items that matter to a save, by task id: the open ones (a link
    may have moved on) and those of links ready now (they have their item already)."""
    if ready_ids:
        rows = connection.execute(
            _KNOWN_OR_READY, {"instance_id": instance_id, "ready_ids": ready_ids}
        )
    else:
        rows = connection.execute(_KNOWN, {"instance_id": instance_id})
    return {row.task_id: row for row in rows}


def _known_query(*, with_ready: bool) -> Any:  # noqa: ANN401
    which: ColumnElement[bool] = WORK_ITEMS.c.state.in_(OPEN)
    if with_ready:
        which = or_(which, WORK_ITEMS.c.task_id.in_(bindparam("ready_ids", expanding=True)))
    return (
        select(*EVENT_SOURCE, WORK_ITEMS.c.task_id, WORK_ITEMS.c.state, WORK_ITEMS.c.lock_version)
        .where(and_(WORK_ITEMS.c.instance_id == bindparam("instance_id"), which))
        .order_by(WORK_ITEMS.c.id)
    )


_KNOWN = _known_query(with_ready=False)
_KNOWN_OR_READY = _known_query(with_ready=True)
