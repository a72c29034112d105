"""System steps in the store: the rows of external tasks and call activities a run reaches,
the child instances call activities start, a finished child's outputs handed back to its
caller, and cancelling an instance with everything below it.

All of it happens inside the transaction of the verb that moved the run (`instances.write_run`
calls in here), so a step is never created, lost or doubled on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, or_, select

from gridflow import incidents
from gridflow.database import DEFER_ROWCOUNT, expect_rows
from gridflow.engine import EngineError, Run, Snapshot, SystemStep
from gridflow.errors import ConflictError, InvalidStateError, NotFoundError
from gridflow.instances import (
    INSTANCES,
    OPEN,
    UPDATE_INSTANCE,
    WAITS,
    WORK_ITEMS,
    Held,
    Started,
    _instance,
    _restore,
    _start,
    event_row,
    insert_events,
    left_behind,
    update_item,
    write_run,
)
from gridflow.models import Definition, SystemTask, to_ms
from gridflow.roles import SYSTEM, Actor
from gridflow.runtime import Deployed, Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

SYSTEM_TASKS = cast(Table, SystemTask.__table__)
DEFINITIONS = cast(Table, Definition.__table__)
# States in which a system step still holds its process.
OPEN_STEPS = ("ready", "locked", "incident", "running")
# What task events of system steps say where a link's say role and department.
SYSTEM_ROLE = {"external": "integration", "call": "system"}
SYSTEM_DEPARTMENT = "system"
MAX_CALL_DEPTH = 10

INSERT_STEP = SYSTEM_TASKS.insert()
UPDATE_STEP = (
    SYSTEM_TASKS.update()
    .where(
        SYSTEM_TASKS.c.id == bindparam("where_id"),
        SYSTEM_TASKS.c.lock_version == bindparam("where_version"),
    )
    .execution_options(**DEFER_ROWCOUNT)
)
_KNOWN_STEPS = (
    select(SYSTEM_TASKS)
    .where(
        and_(
            SYSTEM_TASKS.c.instance_id == bindparam("instance_id"),
            or_(
                SYSTEM_TASKS.c.state.in_(OPEN_STEPS),
                SYSTEM_TASKS.c.task_id.in_(bindparam("ready_ids", expanding=True)),
            ),
        )
    )
    .order_by(SYSTEM_TASKS.c.id)
)
_STEP_OF_TASK = select(SYSTEM_TASKS).where(SYSTEM_TASKS.c.task_id == bindparam("task_id"))
_CALLER = select(INSTANCES.c.business_key, INSTANCES.c.demand_id).where(
    INSTANCES.c.id == bindparam("instance_id")
)


def step_event(
    step: Any,  # noqa: ANN401 - a system_tasks row or anything with its columns
    lifecycle: str,
    at: datetime,
    actor: str | None,
    details: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The task_events row of a system step's lifecycle change."""
    return {
        "work_item_id": None,
        "system_task_id": step.id,
        "instance_id": step.instance_id,
        "definition_id": step.definition_id,
        "element_id": step.element_id,
        "link_name": step.step_name,
        "lifecycle": lifecycle,
        "at": at,
        "actor": actor,
        "lane": step.lane,
        "role": SYSTEM_ROLE.get(step.kind, "system"),
        "department": SYSTEM_DEPARTMENT,
        "details": dict(details) if details else None,
    }


def update_step(
    connection: Connection,
    step: Any,
    values: Mapping[str, object],
    conflict: str,  # noqa: ANN401
) -> int:
    """One UPDATE of a system step under the version read (+1); ConflictError when it moved."""
    version = int(step.lock_version)
    result = connection.execute(
        UPDATE_STEP,
        {**values, "lock_version": version + 1, "where_id": step.id, "where_version": version},
    )
    expect_rows(result, 1, lambda: ConflictError(conflict))
    return version + 1


class _Row:
    """A system step's values as attributes (an inserted row, or a read row being changed)."""

    def __init__(self, values: Mapping[str, Any]):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - only for type checkers
        raise AttributeError(name)


def write_steps(
    rt: Runtime,
    connection: Connection,
    instance: Held,
    run: Run,
    snapshot: Snapshot,
    now: datetime,
    actor: Actor,
    events: list[dict[str, Any]],
    *,
    before: list[SystemStep] | None = None,
    handled: str | None = None,
) -> list[tuple[str, Mapping[str, object]]]:
    """Rows for the system steps the run reached, cancelled rows (and child instances) for
    those it moved past; starts the child instance of each new call activity. Returns the
    call activities whose child ended at once, with the child's variables.

    `before` are the steps of the run as last saved (see `instances.write_run`): when none
    ready then was left behind, the stored rows are not read back."""
    ready = [step for step in snapshot.steps if step.state == "ready"]
    known: dict[str, Any] = {}
    if before is not None and not left_behind(before, snapshot.steps, handled):
        has_row = {step.task_id for step in before if step.state == "ready"}
    else:
        rows = connection.execute(
            _KNOWN_STEPS,
            {"instance_id": instance.id, "ready_ids": [step.task_id for step in ready]},
        )
        known = {row.task_id: row for row in rows}
        has_row = set(known)
    finished: list[tuple[str, Mapping[str, object]]] = []
    for step in ready:
        if step.task_id in has_row:
            continue
        values: dict[str, Any] = {
            "instance_id": instance.id,
            "definition_id": instance.definition_id,
            "task_id": step.task_id,
            "element_id": step.element_id,
            "step_name": step.name,
            "lane": step.lane or "",
            "kind": step.kind,
            "state": "ready" if step.kind == "external" else "running",
            "topic": step.topic,
            "priority": step.priority,
            "attempts": 0,
            "inputs": _json_safe(step.data) if step.kind == "external" else None,
            "created_at": now,
            "lock_version": 1,
        }
        inserted = connection.execute(INSERT_STEP, values).inserted_primary_key
        assert inserted is not None
        values["id"] = inserted[0]
        row: Any = _Row(values)
        details = {"topic": step.topic} if step.topic else None
        events.append(step_event(row, "ready", now, None, details))
        if step.kind == "call":
            started = _start_child(rt, connection, instance, run, step, actor)
            row.lock_version = update_step(
                connection, row, {"child_instance_id": started.instance_id}, _CHANGED
            )
            if started.completed:
                finished.append((step.task_id, started.variables or {}))
    states = {step.task_id: step.state for step in snapshot.steps}
    for task_id, row in known.items():
        if row.state in OPEN_STEPS and states.get(task_id) != "ready":
            # The process moved past it (an interrupting event, a BPMN error, a cancel).
            update_step(connection, row, {"state": "cancelled", "ended_at": now}, _CHANGED)
            events.append(step_event(row, "cancelled", now, actor.username))
            if row.child_instance_id is not None:
                cancel_tree(rt, connection, row.child_instance_id, now, actor)
    return finished


_CHANGED = "someone else changed this step first; nothing was saved"


def _start_child(
    rt: Runtime, connection: Connection, caller: Held, run: Run, step: SystemStep, actor: Actor
) -> Started:
    call = run.call(step.task_id)
    element = step.element_id
    if _depth(connection, caller) >= MAX_CALL_DEPTH:
        raise EngineError(element, f"calls nest deeper than {MAX_CALL_DEPTH} processes")
    deployed = _called_version(rt, connection, caller, call.process_id, call.binding, call.version)
    if deployed is None:
        raise EngineError(
            element,
            f"the called process {call.process_id!r} has no deployed version for binding "
            f"{call.binding!r}" + (f" version {call.version}" if call.version else ""),
        )
    business_key, demand_id = connection.execute(_CALLER, {"instance_id": caller.id}).one()
    return _start(
        rt,
        connection,
        call.process_id,
        call.variables,
        business_key,
        demand_id,
        actor,
        deployed=deployed,
        parent=(caller.id, step.task_id),
    )


_PARENT_OF = select(INSTANCES.c.parent_instance_id).where(
    INSTANCES.c.id == bindparam("instance_id")
)


def _depth(connection: Connection, instance: Held) -> int:
    depth = 0
    parent = instance.parent_instance_id
    while parent is not None and depth <= MAX_CALL_DEPTH:
        depth += 1
        parent = connection.scalar(_PARENT_OF, {"instance_id": parent})
    return depth


_VERSION = select(DEFINITIONS.c.id, DEFINITIONS.c.version).where(
    DEFINITIONS.c.process_id == bindparam("process_id"),
    DEFINITIONS.c.version == bindparam("version"),
)
_DEPLOYED_WITH = (
    select(DEFINITIONS.c.id, DEFINITIONS.c.version)
    .where(
        DEFINITIONS.c.process_id == bindparam("process_id"),
        DEFINITIONS.c.deployed_at
        <= select(DEFINITIONS.c.deployed_at)
        .where(DEFINITIONS.c.id == bindparam("caller_definition_id"))
        .scalar_subquery(),
    )
    .order_by(DEFINITIONS.c.version.desc())
    .limit(1)
)


def _called_version(
    rt: Runtime,
    connection: Connection,
    caller: Held,
    process_id: str,
    binding: str,
    version: int | None,
) -> Deployed | None:
    """The version a call activity starts, by Camunda's bindings: `latest` (the newest now),
    `version` (the one named), `deployment` (the newest deployed with or before the caller's
    version, so a caller and the processes it was deployed with stay together)."""
    if binding == "latest":
        try:
            return rt.latest(process_id, connection)
        except NotFoundError:
            return None
    if binding == "version":
        row = connection.execute(_VERSION, {"process_id": process_id, "version": version}).first()
    else:
        row = connection.execute(
            _DEPLOYED_WITH,
            {"process_id": process_id, "caller_definition_id": caller.definition_id},
        ).first()
    if row is None:
        return None
    return Deployed(row.id, row.version, rt.definition(row.id))


def complete_call(
    rt: Runtime,
    connection: Connection,
    caller: Held,
    run: Run,
    task_id: str,
    child_variables: Mapping[str, object],
    now: datetime,
) -> None:
    """Complete the caller's call activity with what its `camunda:out` mappings take from the
    finished child; its step row ends with them."""
    outputs = run.call_outputs(task_id, child_variables)
    run.complete(task_id, outputs)
    step = connection.execute(_STEP_OF_TASK, {"task_id": task_id}).first()
    if step is None or step.state != "running":
        raise ConflictError(f"the call step of instance {caller.id} is not running")
    handling = (now - step.created_at).total_seconds()
    update_step(
        connection,
        step,
        {
            "state": "completed",
            "ended_at": now,
            "variables": _json_safe(outputs),
            "waiting_s": 0.0,
            "handling_s": handling,
        },
        _CHANGED,
    )
    insert_events(
        connection,
        [step_event(step, "completed", now, None, {"child_instance_id": step.child_instance_id})],
    )


def return_to_parent(
    rt: Runtime, connection: Connection, child: Held, run: Run, now: datetime, actor: Actor
) -> None:
    """A called process ended: its caller's call activity completes and the caller moves on."""
    assert child.parent_instance_id is not None and child.parent_task_id is not None
    caller = _instance(connection, child.parent_instance_id)
    if caller.status != "running":
        return  # the caller was cancelled meanwhile; nothing waits for this child
    caller_run = _restore(rt, caller)
    complete_call(rt, connection, caller, caller_run, child.parent_task_id, run.data, now)
    write_run(rt, connection, caller, caller_run, now, actor)


# --- cancelling ----------------------------------------------------------------------------

_OPEN_ITEMS = (
    select(
        WORK_ITEMS.c.id,
        WORK_ITEMS.c.instance_id,
        WORK_ITEMS.c.definition_id,
        WORK_ITEMS.c.element_id,
        WORK_ITEMS.c.link_name,
        WORK_ITEMS.c.lane,
        WORK_ITEMS.c.role,
        WORK_ITEMS.c.department,
        WORK_ITEMS.c.lock_version,
    )
    .where(WORK_ITEMS.c.instance_id == bindparam("instance_id"), WORK_ITEMS.c.state.in_(OPEN))
    .order_by(WORK_ITEMS.c.id)
)
_OPEN_STEPS_OF = (
    select(SYSTEM_TASKS)
    .where(
        SYSTEM_TASKS.c.instance_id == bindparam("instance_id"),
        SYSTEM_TASKS.c.state.in_(OPEN_STEPS),
    )
    .order_by(SYSTEM_TASKS.c.id)
)
_DELETE_WAITS = WAITS.delete().where(WAITS.c.instance_id == bindparam("instance_id"))


def cancel(rt: Runtime, instance_id: int, actor: Actor, reason: str) -> None:
    """Cancel a running instance: its open links and system steps end as cancelled, the child
    instances of its call activities are cancelled with it, and nothing of it fires again.
    A called process is cancelled through its caller, never on its own."""
    reason = reason.strip()
    if not reason:
        raise InvalidStateError(gettext("say why the instance is cancelled"))
    with rt.db.transaction() as connection:
        instance = _instance(connection, instance_id)
        if instance.parent_instance_id is not None:
            raise InvalidStateError(
                gettext(
                    "instance %(id)s was started by instance %(caller)s's call activity: "
                    "cancel that instance instead"
                ),
                id=instance_id,
                caller=instance.parent_instance_id,
            )
        if instance.status == "completed":
            raise InvalidStateError(
                gettext("instance %(id)s is completed, not running"), id=instance_id
            )
        if instance.status != "running":  # running | completed | cancelled
            raise InvalidStateError(
                gettext("instance %(id)s is cancelled, not running"), id=instance_id
            )
        cancel_tree(rt, connection, instance_id, to_ms(rt.clock.now()), actor, reason)


def cancel_tree(
    rt: Runtime,
    connection: Connection,
    instance_id: int,
    now: datetime,
    actor: Actor = SYSTEM,
    reason: str | None = None,
) -> None:
    """Cancel an instance and, through its running call activities, every child below it."""
    instance = _instance(connection, instance_id)
    if instance.status != "running":
        return
    result = connection.execute(
        UPDATE_INSTANCE,
        {
            "status": "cancelled",
            "ended_at": now,
            "lock_version": instance.lock_version + 1,
            "where_id": instance.id,
            "where_version": instance.lock_version,
        },
    )
    message = f"instance {instance_id} was changed by someone else; nothing was saved"
    expect_rows(result, 1, lambda: ConflictError(message))
    details = {"reason": reason} if reason else None
    events: list[dict[str, Any]] = []
    for item in connection.execute(_OPEN_ITEMS, {"instance_id": instance_id}).all():
        update_item(
            connection,
            item.id,
            item.lock_version,
            {"state": "cancelled", "ended_at": now},
            f"instance {instance_id} was changed by someone else; nothing was saved",
        )
        events.append(event_row(item, "cancelled", now, actor, details))
    children = []
    for step in connection.execute(_OPEN_STEPS_OF, {"instance_id": instance_id}).all():
        update_step(connection, step, {"state": "cancelled", "ended_at": now}, _CHANGED)
        events.append(step_event(step, "cancelled", now, actor.username, details))
        if step.child_instance_id is not None:
            children.append(step.child_instance_id)
    connection.execute(_DELETE_WAITS, {"instance_id": instance_id})
    incidents.resolve_for_instance(connection, instance_id, now, actor, "cancelled")
    insert_events(connection, events)
    for child_id in children:
        cancel_tree(rt, connection, child_id, now, actor, reason)


def _json_safe(data: Mapping[str, object]) -> dict[str, object]:
    return {
        key: value
        for key, value in data.items()
        if isinstance(value, str | int | float | bool | list | dict) or value is None
    }
