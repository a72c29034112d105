"""Writing a run's changes in the verb's transaction (`write_run`): the document and status
under the instance's version, work items for new links and cancelled ones, system steps, waits
and task events; a called process that ends hands back to its caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from gridflow.database import expect_rows
from gridflow.engine import Run, Snapshot
from gridflow.errors import ConflictError
from gridflow.instances.events import _Source, event_row, insert_events
from gridflow.instances.items import (
    _desk_owner,
    _due,
    _insert_items,
    _known_items,
    _named_assignee,
    _role_held,
    update_item,
)
from gridflow.instances.reading import Held
from gridflow.instances.statements import INSERT_INSTANCE, OPEN, UPDATE_INSTANCE
from gridflow.instances.waits import _write_waits
from gridflow.roles import Actor
from gridflow.runtime import Runtime
from gridflow.texts import _


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


def _json_safe(data: Mapping[str, object]) -> dict[str, object]:
    safe: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, str | int | float | bool | list | dict) or value is None:
            safe[key] = value
    return safe
