"""Process instances: start one for a demand, deliver messages and signals, fire due timers.

Each verb is one transaction that saves the workflow, its work items, its waits and its task
events together: a failure anywhere leaves the previous committed state.

The verbs write with SQLAlchemy Core on one connection, not with ORM objects: the rows, the
versions (`lock_version` + 1 per UPDATE of a row, as the ORM's version counter would do) and the
order of the task events are those the ORM unit of work wrote, at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from gridflow import request_ids
from gridflow.database import DEFER_ROWCOUNT, expect_rows
from gridflow.engine import EngineError, Run, Snapshot
from gridflow.errors import ConflictError, NotFoundError
from gridflow.models import (
    Definition,
    Demand,
    Incident,
    Instance,
    TaskEvent,
    User,
    Wait,
    WorkItem,
    to_ms,
)
from gridflow.roles import SYSTEM, Actor, Role
from gridflow.runtime import Deployed, Runtime
from gridflow.texts import _


def on_engine_error(verb: Any) -> Any:  # noqa: ANN401 - see incidents.on_engine_error
    from gridflow import incidents

    return incidents.on_engine_error(verb)


OPEN = ("ready", "claimed")

DEFINITIONS = cast(Table, Definition.__table__)
INSTANCES = cast(Table, Instance.__table__)
WORK_ITEMS = cast(Table, WorkItem.__table__)
TASK_EVENTS = cast(Table, TaskEvent.__table__)
WAITS = cast(Table, Wait.__table__)
USERS = cast(Table, User.__table__)
INCIDENTS = cast(Table, Incident.__table__)

# What a task event copies from its work item.
EVENT_SOURCE = (
    WORK_ITEMS.c.id,
    WORK_ITEMS.c.instance_id,
    WORK_ITEMS.c.definition_id,
    WORK_ITEMS.c.element_id,
    WORK_ITEMS.c.link_name,
    WORK_ITEMS.c.lane,
    WORK_ITEMS.c.role,
    WORK_ITEMS.c.department,
)
_WAIT_FIELDS = ("kind", "name", "task_id", "element_id", "due_at", "attached_task_id")

# Statements are built once: SQLAlchemy then finds each compiled form by a memoized key instead
# of building and hashing a new statement on every call. UPDATEs set the columns named by the
# parameters given; the WHERE parameters are prefixed so they never clash with a column.
INSERT_INSTANCE = INSTANCES.insert()
INSERT_ITEM = WORK_ITEMS.insert()
# Inline: no RETURNING of the new id, so a single row need not be waited for (see database).
INSERT_EVENTS = TASK_EVENTS.insert().inline()
INSERT_WAITS = WAITS.insert().inline()
# Their row counts are checked with `expect_rows`: on PostgreSQL they need no round trip of
# their own (see database).
UPDATE_ITEM = (
    WORK_ITEMS.update()
    .where(
        WORK_ITEMS.c.id == bindparam("where_id"),
        WORK_ITEMS.c.lock_version == bindparam("where_version"),
    )
    .execution_options(**DEFER_ROWCOUNT)
)
UPDATE_INSTANCE = (
    INSTANCES.update()
    .where(
        INSTANCES.c.id == bindparam("where_id"),
        INSTANCES.c.lock_version == bindparam("where_version"),
    )
    .execution_options(**DEFER_ROWCOUNT)
)
DELETE_WAITS = WAITS.delete().where(WAITS.c.instance_id == bindparam("instance_id"))


@dataclass(frozen=True)
class Started:
    instance_id: int
    process_id: str
    version: int
    # A process that ran to its end at once (a called process with no step to wait for):
    # its final variables, for the caller.
    completed: bool = False
    variables: Mapping[str, object] | None = None


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


def start_instance(
    rt: Runtime,
    process_id: str,
    variables: Mapping[str, object],
    *,
    business_key: str,
    demand_id: int | None = None,
    actor: Actor = SYSTEM,
    session: Session | None = None,
    connection: Connection | None = None,
) -> Started:
    """Start the newest version of a process and run it to its first links, in the caller's
    transaction (a session or a connection) or in one of its own."""
    if connection is not None:
        return _start(rt, connection, process_id, variables, business_key, demand_id, actor)
    if session is None:
        with rt.db.transaction() as own:
            return _start(rt, own, process_id, variables, business_key, demand_id, actor)
    return _start(rt, session.connection(), process_id, variables, business_key, demand_id, actor)


def _start(
    rt: Runtime,
    connection: Connection,
    process_id: str,
    variables: Mapping[str, object],
    business_key: str,
    demand_id: int | None,
    actor: Actor,
    *,
    deployed: Deployed | None = None,
    parent: tuple[int, str] | None = None,
) -> Started:
    """Start `deployed` (the newest version of the process unless given); `parent` is the
    calling instance and its call activity's task, for a called process."""
    deployed = deployed or rt.latest(process_id, connection)
    now = to_ms(rt.clock.now())
    run = rt.engine.start(deployed.definition, dict(variables))
    # The ORM inserted the row (version 1) and updated it with the saved run (version 2);
    # one INSERT of the final row leaves the same row.
    instance = Held(0, deployed.definition_id, "running", "", {}, None, 1, demand_id=demand_id)
    new: dict[str, object] = {
        "definition_id": deployed.definition_id,
        "demand_id": demand_id,
        "business_key": business_key,
        "started_at": now,
    }
    if parent is not None:
        new["parent_instance_id"], new["parent_task_id"] = parent
        instance.parent_instance_id, instance.parent_task_id = parent
    write_run(rt, connection, instance, run, now, actor, new=new)
    completed = instance.status == "completed"
    return Started(
        instance.id,
        process_id,
        deployed.version,
        completed,
        run.data if completed else None,
    )


_HELD_BY_ID = (
    select(*HELD_COLUMNS).where(INSTANCES.c.id == bindparam("instance_id")).with_for_update()
)


@on_engine_error
def deliver_message(
    rt: Runtime,
    instance_id: int,
    name: str,
    payload: Mapping[str, object] | None = None,
    actor: Actor = SYSTEM,
) -> bool:
    """Deliver a message to one instance; False, changing nothing, when it does not wait for it."""
    with rt.db.transaction() as connection:
        instance = _instance(connection, instance_id)
        run = _restore(rt, instance)
        before = run.snapshot()
        if not run.deliver_message(name, payload):
            return False
        write_run(rt, connection, instance, run, to_ms(rt.clock.now()), actor, before=before)
        return True


@on_engine_error
def send_signal(
    rt: Runtime, name: str, payload: Mapping[str, object] | None = None, actor: Actor = SYSTEM
) -> int:
    """Send a signal to every running instance waiting for it; returns how many it reached."""
    with rt.db.read() as session:
        ids = list(
            session.scalars(
                select(Wait.instance_id).where(Wait.kind == "signal", Wait.name == name).distinct()
            )
        )
    reached = 0
    for instance_id in ids:
        with rt.db.transaction() as connection:
            instance = _instance(connection, instance_id)
            run = _restore(rt, instance)
            if run.send_signal(name, payload):
                write_run(rt, connection, instance, run, to_ms(rt.clock.now()), actor)
                reached += 1
    return reached


def next_timer_due(rt: Runtime) -> datetime | None:
    with rt.db.read() as session:
        return session.scalar(
            select(Wait.due_at)
            .join(Instance, Instance.id == Wait.instance_id)
            .where(Wait.kind == "timer", Instance.status == "running")
            .order_by(Wait.due_at)
            .limit(1)
        )


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


def write_run(
    rt: Runtime,
    connection: Connection,
    instance: Held,
    run: Run,
    now: datetime,
    actor: Actor,
    *,
    events: list[dict[str, Any]] | None = None,
    snapshot: Snapshot | None = None,
    new: Mapping[str, object] | None = None,
    starting: bool = False,
    before: Snapshot | None = None,
    handled: str | None = None,
) -> None:
    """Write a run's new state: document, status, work items for new links (ready events),
    cancelled links, system steps, waits, and the task events given (before the ones this adds).

    With `new`, insert the instance row (those columns, the id lands in `instance.id`); else
    update it under its version. Raises ConflictError when someone saved the instance first.
    A called process that ends hands its outputs back to its caller in the same transaction.

    `before` is the run as restored, before the verb changed it, and `handled` the task whose
    row the verb itself ended: the stored work items, steps and waits are those of `before`
    (every save writes them from the document it saves), so they need not be read back unless
    a link or step ready before was left behind by the change and must be cancelled.
    """
    snapshot = snapshot or run.snapshot()
    events = events if events is not None else []
    definition = run.definition
    links = snapshot.links
    ready_ids = [link.task_id for link in links if link.state == "ready"]
    # Task ids of the links that have their open work item already.
    has_item: set[str] = set()
    known: dict[str, Any] = {}
    if new is not None:
        pass
    elif before is not None and not left_behind(before.links, links, handled):
        has_item = {link.task_id for link in before.links if link.state == "ready"}
    else:
        known = _known_items(connection, instance.id, ready_ids)
        has_item = set(known)
    document = rt.engine.dump(run)
    variables = _json_safe(snapshot.data)
    status, ended_at = instance.status, instance.ended_at
    if snapshot.completed:
        status, ended_at = "completed", now
    if new is not None:
        instance.id = connection.execute(
            INSERT_INSTANCE,
            {
                **new,
                "status": status,
                "ended_at": ended_at,
                "document": document,
                "variables": variables,
                "lock_version": 2,
            },
        ).inserted_primary_key[0]  # type: ignore[index]
        instance.lock_version = 2
    else:
        _update_instance(connection, instance, document, variables, status, ended_at)
    instance.document, instance.variables = document, variables
    instance.status, instance.ended_at = status, ended_at
    ready_events: list[dict[str, Any]] = []
    owner: str | None | bool = False  # the demand's owner, looked up for a front-end link
    new_items: list[dict[str, Any]] = []
    for link in links:
        if link.state != "ready" or link.task_id in has_item:
            continue
        meta = definition.links[link.element_id]
        role = meta.role if meta.role is not None else _role_held(rt, meta, link)
        given, by = None, None
        if meta.assignee is not None or meta.assignee_variable is not None:
            given, by = _named_assignee(connection, meta, link, role), "assignee"
        elif role.front_end:
            if owner is False:
                owner = _desk_owner(connection, instance.id, new, now)
            given, by = (owner, "desk_owner") if isinstance(owner, str) else (None, None)
        values = {
            "instance_id": instance.id,
            "definition_id": instance.definition_id,
            "task_id": link.task_id,
            "element_id": link.element_id,
            "link_name": meta.name,
            "lane": meta.lane if meta.role_variable is None else role.name,
            "role": role.id,
            "department": role.department.id,
            "customer_facing": meta.customer_facing,
            "state": "ready",
            "ready_at": now,
            "due_at": _due(rt, meta, link, now, instance),
            "standard_target": meta.standard.target_for(link.data),
            "standard_basis": meta.standard.basis,
            "escalated": False,
            "lock_version": 1,
            "assignee": given,
        }
        new_items.append(values)
        values["_by"] = by
    for values in _insert_items(connection, new_items):
        ready_events.append(event_row(_Source(values), "ready", now, None))
        if values["assignee"] is not None:
            # Given first (the desk owner, or the assignee the diagram names): the link is in
            # their "My work", not yet started by them.
            ready_events.append(
                event_row(
                    _Source(values),
                    "assigned",
                    now,
                    Actor(str(values["assignee"])),
                    {"by": values["_by"]},
                )
            )
    states = {link.task_id: link.state for link in links}
    for task_id, item in known.items():
        if item.state in OPEN and states.get(task_id) != "ready":
            # The process moved past this link without it (an interrupting event, a cancel).
            update_item(
                connection,
                item.id,
                item.lock_version,
                {"state": "cancelled", "ended_at": now},
                f"instance {instance.id} was changed by someone else; nothing was saved",
            )
            ready_events.append(event_row(item, "cancelled", now, actor))
    _write_waits(
        connection,
        instance.id,
        snapshot,
        fresh=new is not None,
        stored=before.waits if before is not None else None,
    )
    finished: list[tuple[str, Mapping[str, object]]] = []
    if snapshot.steps:
        from gridflow import system_tasks

        finished = system_tasks.write_steps(
            rt,
            connection,
            instance,
            run,
            snapshot,
            now,
            actor,
            ready_events,
            before=before.steps if before is not None else None,
            handled=handled,
        )
    insert_events(connection, events + ready_events)
    starting = starting or new is not None
    if finished:
        # Called processes that ended at once: their call activities complete, the run moves
        # on, and is saved again.
        for task_id, child_variables in finished:
            system_tasks.complete_call(rt, connection, instance, run, task_id, child_variables, now)
        write_run(rt, connection, instance, run, now, actor, starting=starting)
    elif snapshot.completed and instance.parent_instance_id is not None and not starting:
        # A called process ended: its caller moves on in this transaction. (One its caller
        # is starting right now is handed back by `_start` instead.)
        from gridflow import system_tasks

        system_tasks.return_to_parent(rt, connection, instance, run, now, actor)


def left_behind(before: Sequence[Any], after: Sequence[Any], handled: str | None) -> bool:
    """Whether a link (or step) that was ready before a change, other than the one the verb
    ended itself, is no longer ready after it: its row must then be read and cancelled."""
    still = {task.task_id for task in after if task.state == "ready"}
    return any(
        task.state == "ready" and task.task_id != handled and task.task_id not in still
        for task in before
    )


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


class _Source:
    """A work item's values as the attributes `event_row` reads."""

    def __init__(self, values: Mapping[str, Any]):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - only for type checkers
        raise AttributeError(name)


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


def _update_instance(
    connection: Connection,
    instance: Held,
    document: str,
    variables: dict[str, object],
    status: str,
    ended_at: datetime | None,
) -> None:
    """UPDATE the changed columns under the version read (+1), as the ORM would; nothing when
    nothing changed."""
    values: dict[str, object] = {}
    if document != instance.document:
        values["document"] = document
    if variables != instance.variables:
        values["variables"] = variables
    if status != instance.status:
        values["status"] = status
    if ended_at != instance.ended_at:
        values["ended_at"] = ended_at
    if not values:
        return
    values["lock_version"] = instance.lock_version + 1
    values["where_id"] = instance.id
    values["where_version"] = instance.lock_version
    result = connection.execute(UPDATE_INSTANCE, values)
    expect_rows(
        result,
        1,
        lambda: ConflictError(
            _("instance %(id)s was changed by someone else; nothing was saved"), id=instance.id
        ),
    )
    instance.lock_version += 1


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


def _json_safe(data: Mapping[str, object]) -> dict[str, object]:
    safe: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, str | int | float | bool | list | dict) or value is None:
            safe[key] = value
    return safe


def _instance(connection: Connection, instance_id: int) -> Held:
    row = connection.execute(_HELD_BY_ID, {"instance_id": instance_id}).first()
    if row is None:
        raise NotFoundError(_("instance %(id)s does not exist"), id=instance_id)
    return held(row)


def _restore(rt: Runtime, instance: Held) -> Run:
    run = rt.engine.restore(rt.definition(instance.definition_id), instance.document)
    run.instance_id = instance.id
    return run
