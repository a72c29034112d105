"""Work items: a clerk claims a link, releases it, or completes it with the link's form.

One verb, one transaction. Every verb checks the version the clerk read, so two clerks acting
on the same link get one success and one ConflictError, never a double completion.

The verbs read and write with SQLAlchemy Core (see `instances`) and hand back a detached
WorkItem with the row as committed, as the ORM left it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class

from gridflow import incidents, pool
from gridflow.errors import ConflictError, ForbiddenError, InvalidStateError, NotFoundError
from gridflow.instances import (
    HELD_COLUMNS,
    INSTANCES,
    OPEN,
    WORK_ITEMS,
    Held,
    event_row,
    held,
    insert_events,
    update_item,
    write_run,
)
from gridflow.models import LinkHelper, WorkItem, to_ms
from gridflow.notifications import triggers
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue (`_` is this module's unused value).
from gridflow.texts import _ as gettext

HELPERS = cast(Table, LinkHelper.__table__)
_ITEM_COLUMNS = tuple(WORK_ITEMS.c)
_ITEM_KEYS = tuple(column.key for column in _ITEM_COLUMNS)
# Lock the row: a second clerk waits here until the first commits, then sees the outcome.
_ITEM = select(*_ITEM_COLUMNS).where(WORK_ITEMS.c.id == bindparam("id")).with_for_update()
# The item and its instance in one statement (both rows locked on PostgreSQL).
_ITEM_AND_INSTANCE = (
    select(*_ITEM_COLUMNS, *HELD_COLUMNS)
    .join_from(WORK_ITEMS, INSTANCES, INSTANCES.c.id == WORK_ITEMS.c.instance_id)
    .where(WORK_ITEMS.c.id == bindparam("id"))
    .with_for_update()
)


class _Item:
    """A work item row being changed in this transaction."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - only for type checkers
        raise AttributeError(name)

    def values(self) -> dict[str, Any]:
        return {key: self.__dict__[key] for key in _ITEM_KEYS}


def claim(
    rt: Runtime, work_item_id: int, actor: Actor, *, expected_version: int | None = None
) -> WorkItem:
    """Take a ready link into one's own queue."""
    with rt.db.transaction() as connection:
        item, _ = _open_item(connection, work_item_id, actor, expected_version)
        if item.state == "claimed":
            if item.assignee == actor.username:
                return _detached(item)  # claiming twice (a retried request) changes nothing
            raise ConflictError(
                gettext("%(link)s is already held by %(who)s"),
                link=item.link_name,
                who=item.assignee,
            )
        _refuse_if_given_to_another(item, actor)
        now = to_ms(rt.clock.now())
        _change(
            connection, item, {"state": "claimed", "assignee": actor.username, "claimed_at": now}
        )
        insert_events(connection, [event_row(item, "claimed", now, actor)])
        return _detached(item)


def record_on_held(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    record: Callable[[Connection, WorkItem, datetime], Sequence[dict[str, Any]]],
) -> WorkItem:
    """Record something the holder of a link did (an arrival on site, for `field_work`), in one
    transaction: a ready link is claimed first, as a clerk starting it would; `record` gets the
    link as it stands and the clock's time, checks what it must and returns the task events to
    add (none: nothing changes but the claim)."""
    with rt.db.transaction() as connection:
        item, _ = _open_item(connection, work_item_id, actor, None)
        now = to_ms(rt.clock.now())
        events = []
        if item.state == "claimed" and item.assignee != actor.username:
            raise ConflictError(
                gettext("%(link)s is held by %(who)s"), link=item.link_name, who=item.assignee
            )
        if item.state == "ready":
            _refuse_if_given_to_another(item, actor)
            _change(
                connection,
                item,
                {"state": "claimed", "assignee": actor.username, "claimed_at": now},
            )
            events.append(event_row(item, "claimed", now, actor))
        events.extend(record(connection, _detached(item), now))
        insert_events(connection, events)
        return _detached(item)


def release(
    rt: Runtime, work_item_id: int, actor: Actor, *, expected_version: int | None = None
) -> WorkItem:
    """Hand a claimed link back to the team queue (its holder, or a supervisor stepping in);
    waiting time goes on from its first ready."""
    with rt.db.transaction() as connection:
        item, _ = _open_item(connection, work_item_id, actor, expected_version, supervise=True)
        if item.state != "claimed" and item.assignee is None:
            raise InvalidStateError(gettext("%(link)s is not held by anyone"), link=item.link_name)
        if item.assignee != actor.username and "supervisor" not in actor.roles:
            raise ForbiddenError(
                gettext("%(link)s is held by %(who)s, not by you"),
                link=item.link_name,
                who=item.assignee,
            )
        now = to_ms(rt.clock.now())
        _change(connection, item, {"state": "ready", "assignee": None, "claimed_at": None})
        insert_events(connection, [event_row(item, "released", now, actor)])
        return _detached(item)


@incidents.on_engine_error
def complete(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    form: Mapping[str, object],
    *,
    expected_version: int | None = None,
) -> WorkItem:
    """Complete a link with its form data; the process moves on to its next links.

    Invalid data raises FormError naming each field; a link someone else completed or holds
    raises ConflictError; in both cases nothing changes.
    """
    with rt.db.transaction() as connection:
        item, instance = _open_item(
            connection, work_item_id, actor, expected_version, with_instance=True
        )
        assert instance is not None
        if item.state == "claimed" and item.assignee != actor.username:
            raise ConflictError(
                gettext("%(link)s is held by %(who)s"), link=item.link_name, who=item.assignee
            )
        _refuse_if_given_to_another(item, actor)
        definition = rt.definition(item.definition_id)
        link = definition.links[item.element_id]
        values = link.form.validate(form)
        run = rt.engine.restore(definition, instance.document)
        run.instance_id = instance.id
        before = run.snapshot()
        run.complete(item.task_id, values)
        now = to_ms(rt.clock.now())
        changes: dict[str, Any] = {}
        events = []
        claimed_at = item.claimed_at
        if item.state == "ready":
            # Completed straight from the team queue: claimed and completed at once.
            claimed_at = now
            changes["assignee"] = actor.username
            changes["claimed_at"] = now
            events.append(event_row(item, "claimed", now, actor))
        changes["state"] = "completed"
        changes["ended_at"] = now
        changes["completed_by"] = actor.username
        changes["form_data"] = values
        assert claimed_at is not None
        changes.update(durations(rt, item.ready_at, claimed_at, now, item.due_at))
        events.append(event_row(item, "completed", now, actor))
        # The item's UPDATE goes first, as the ORM flushed it before the save read the items.
        _change(connection, item, changes)
        write_run(
            rt,
            connection,
            instance,
            run,
            now,
            actor,
            events=events,
            before=before,
            handled=item.task_id,
        )
        # The customer hears of it with the link (the message commits with it, or not at all);
        # an instance of no demand has no customer to tell.
        if instance.demand_id is not None:
            triggers.link_completed(
                connection, now, item.instance_id, item.id, item.element_id, item.link_name
            )
        return _detached(item)


def _refuse_if_given_to_another(item: _Item, actor: Actor) -> None:
    """A ready link given to someone is theirs to start (a supervisor may step in)."""
    if (
        item.state == "ready"
        and item.assignee not in (None, actor.username)
        and not actor.is_system
        and not {"supervisor", "admin"} & actor.roles
    ):
        raise ConflictError(
            gettext("%(link)s was given to %(who)s"), link=item.link_name, who=item.assignee
        )


def hand_over(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    to: str,
    *,
    reason: str = "",
    expected_version: int | None = None,
) -> WorkItem:
    """Pass a link to another person (found with "find help"): it goes to their "My work" as
    it stands (held links stay held, their handling time runs on); a `handed_over` event
    records who passed it to whom."""
    to = to.strip()
    with rt.db.transaction() as connection:
        item, _ = _open_item(connection, work_item_id, actor, expected_version, supervise=True)
        _may_pass(item, actor)
        if not to or to == item.assignee:
            raise InvalidStateError(
                gettext("%(link)s: hand it over to someone else"), link=item.link_name
            )
        override = _may_take(rt, connection, item, actor, to)
        now = to_ms(rt.clock.now())
        before = item.assignee
        _change(connection, item, {"assignee": to})
        details: dict[str, object] = {"to": to, "from": before, **override}
        if reason.strip():
            details["reason"] = reason.strip()[:500]
        insert_events(connection, [event_row(item, "handed_over", now, actor, details)])
        return _detached(item)


def add_helper(
    rt: Runtime, work_item_id: int, actor: Actor, helper: str, *, reason: str = ""
) -> WorkItem:
    """Ask a person to help on a link its holder keeps: recorded as `help_requested` with the
    helper in the details, and counted in the helper's load while the link is open."""
    helper = helper.strip()
    with rt.db.transaction() as connection:
        item, _ = _open_item(connection, work_item_id, actor, None, supervise=True)
        _may_pass(item, actor)
        if helper == item.assignee:
            raise InvalidStateError(
                gettext("%(who)s already holds %(link)s"), who=helper, link=item.link_name
            )
        override = _may_take(rt, connection, item, actor, helper)
        already = connection.scalar(
            select(HELPERS.c.id).where(
                HELPERS.c.work_item_id == item.id, HELPERS.c.username == helper
            )
        )
        if already is not None:
            return _detached(item)  # asked twice: one helper
        now = to_ms(rt.clock.now())
        connection.execute(
            HELPERS.insert(),
            {"work_item_id": item.id, "username": helper, "added_by": actor.username, "at": now},
        )
        details: dict[str, object] = {"helper": helper, **override}
        if reason.strip():
            details["reason"] = reason.strip()[:500]
        insert_events(connection, [event_row(item, "help_requested", now, actor, details)])
        return _detached(item)


def _may_take(
    rt: Runtime, connection: Connection, item: _Item, actor: Actor, username: str
) -> dict[str, object]:
    """A link goes (handed over, or as a helper) only to someone who may do it: in its role,
    or with its skills by the skill pool; never to someone who holds no work (an auditor).
    A supervisor may send it to anyone else, or pass on a link not theirs: an override, which
    the task event records ({"override": "supervisor"})."""
    link = rt.definition(item.definition_id).links.get(item.element_id)
    fit = pool.qualification(connection, rt.roles, username, item.role, link.skills if link else ())
    if fit == "unknown":
        raise NotFoundError(gettext("no member of staff is called %(who)s"), who=repr(username))
    if fit == "read_only":
        raise ForbiddenError(
            gettext("%(who)s does not hold links: %(link)s cannot go to them"),
            who=username,
            link=item.link_name,
        )
    supervising = actor.is_system or bool({"supervisor", "admin"} & actor.roles)
    if fit == "unqualified" and not supervising:
        raise ForbiddenError(
            gettext("%(who)s neither works as %(role)s nor has the skills %(link)s needs"),
            who=username,
            role=item.role,
            link=item.link_name,
        )
    acting_as_supervisor = not actor.may_act_on(item.role, item.assignee)
    if supervising and not actor.is_system and (fit == "unqualified" or acting_as_supervisor):
        return {"override": "supervisor" if "supervisor" in actor.roles else "admin"}
    return {}


def _may_pass(item: _Item, actor: Actor) -> None:
    """Only the link's holder (or, for an unheld link, its role) or a supervisor passes it on."""
    if {"supervisor", "admin"} & actor.roles or actor.is_system:
        return
    if item.assignee is not None and item.assignee != actor.username:
        raise ForbiddenError(
            gettext("%(link)s is held by %(who)s, not by you"),
            link=item.link_name,
            who=item.assignee,
        )


def set_durations(rt: Runtime, item: WorkItem) -> None:
    """Waiting (ready → claimed) and handling (claimed → end), calendar and working, kept on
    the row so reports aggregate one row per link execution."""
    assert item.claimed_at is not None and item.ended_at is not None
    for key, value in durations(
        rt, item.ready_at, item.claimed_at, item.ended_at, item.due_at
    ).items():
        setattr(item, key, value)


def durations(
    rt: Runtime, ready_at: datetime, claimed_at: datetime, ended_at: datetime, due_at: datetime
) -> dict[str, Any]:
    """The columns `set_durations` fills, for these moments."""
    waiting_working = rt.calendar.between(ready_at, claimed_at, "working").total_seconds()
    handling_working = rt.calendar.between(claimed_at, ended_at, "working").total_seconds()
    return {
        "waiting_s": _seconds(ready_at, claimed_at),
        "handling_s": _seconds(claimed_at, ended_at),
        "total_s": _seconds(ready_at, ended_at),
        "waiting_working_s": waiting_working,
        "handling_working_s": handling_working,
        "total_working_s": waiting_working + handling_working,
        "within_standard": ended_at <= due_at,
    }


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _open_item(
    connection: Connection,
    work_item_id: int,
    actor: Actor,
    expected_version: int | None,
    *,
    with_instance: bool = False,
    supervise: bool = False,
) -> tuple[_Item, Held | None]:
    query = _ITEM_AND_INSTANCE if with_instance else _ITEM
    row = connection.execute(query, {"id": work_item_id}).first()
    if row is None:
        raise NotFoundError(f"work item {work_item_id} does not exist")
    item = _Item(dict(zip(_ITEM_KEYS, row, strict=False)))
    supervisor = supervise and bool({"supervisor", "admin"} & actor.roles)
    if not supervisor and not actor.may_act_on(item.role, item.assignee):
        raise ForbiddenError(
            gettext("%(link)s belongs to role %(role)s, not to yours"),
            link=item.link_name,
            role=repr(item.role),
        )
    if item.state not in OPEN:
        if item.state == "completed" and item.completed_by:
            raise ConflictError(
                gettext("%(link)s was already completed by %(who)s"),
                link=item.link_name,
                who=item.completed_by,
            )
        if item.state == "completed":
            raise ConflictError(gettext("%(link)s was already completed"), link=item.link_name)
        raise ConflictError(gettext("%(link)s was already cancelled"), link=item.link_name)
    if expected_version is not None and item.lock_version != expected_version:
        raise ConflictError(
            gettext(
                "%(link)s changed since you opened it (version %(read)s, now %(now)s); reload it"
            ),
            link=item.link_name,
            read=expected_version,
            now=item.lock_version,
        )
    return item, held(row, len(_ITEM_KEYS)) if with_instance else None


def _change(connection: Connection, item: _Item, changes: dict[str, Any]) -> None:
    """UPDATE the item under its version (+1) and keep `item` in step."""
    item.__dict__["lock_version"] = update_item(
        connection,
        item.id,
        item.lock_version,
        changes,
        f"{item.link_name} was changed by someone else; reload it",
    )
    item.__dict__.update(changes)


_WORK_ITEM_CLASS = manager_of_class(WorkItem)


def _detached(item: _Item) -> WorkItem:
    """A WorkItem for the row as committed, detached as a closed session leaves its objects
    (values put in place as a query loads them, not set one by one through the ORM's events)."""
    result: WorkItem = _WORK_ITEM_CLASS.new_instance()
    result.__dict__.update(item.values())
    make_transient_to_detached(result)
    return result
