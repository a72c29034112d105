"""Work items: a clerk claims a link, releases it, or completes it with the link's form.

One verb, one transaction. Every verb checks the version the clerk read, so two clerks acting
on the same link get one success and one ConflictError, never a double completion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridflow.errors import ConflictError, ForbiddenError, InvalidStateError, NotFoundError
from gridflow.instances import OPEN, record, save_run
from gridflow.models import Instance, WorkItem, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime


def claim(
    rt: Runtime, work_item_id: int, actor: Actor, *, expected_version: int | None = None
) -> WorkItem:
    """Take a ready link into one's own queue."""
    with rt.db.write() as session:
        item = _open_item(session, work_item_id, actor, expected_version)
        if item.state == "claimed":
            if item.assignee == actor.username:
                return item  # claiming twice (a retried request) changes nothing
            raise ConflictError(f"{item.link_name} is already held by {item.assignee}")
        now = to_ms(rt.clock.now())
        item.state = "claimed"
        item.assignee = actor.username
        item.claimed_at = now
        record(session, item, "claimed", now, actor)
        _flush(session, item)
        return item


def release(
    rt: Runtime, work_item_id: int, actor: Actor, *, expected_version: int | None = None
) -> WorkItem:
    """Hand a claimed link back to the team queue; waiting time goes on from its first ready."""
    with rt.db.write() as session:
        item = _open_item(session, work_item_id, actor, expected_version)
        if item.state != "claimed":
            raise InvalidStateError(f"{item.link_name} is not held by anyone")
        if item.assignee != actor.username and "supervisor" not in actor.roles:
            raise ForbiddenError(f"{item.link_name} is held by {item.assignee}, not by you")
        now = to_ms(rt.clock.now())
        item.state = "ready"
        item.assignee = None
        item.claimed_at = None
        record(session, item, "released", now, actor)
        _flush(session, item)
        return item


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
    with rt.db.write() as session:
        item = _open_item(session, work_item_id, actor, expected_version)
        if item.state == "claimed" and item.assignee != actor.username:
            raise ConflictError(f"{item.link_name} is held by {item.assignee}")
        definition = rt.definition(item.definition_id)
        link = definition.links[item.element_id]
        values = link.form.validate(form)
        instance = session.get(Instance, item.instance_id, with_for_update=True)
        assert instance is not None
        run = rt.engine.restore(definition, instance.document)
        run.complete(item.task_id, values)
        now = to_ms(rt.clock.now())
        if item.state == "ready":
            # Completed straight from the team queue: claimed and completed at once.
            item.assignee = actor.username
            item.claimed_at = now
            record(session, item, "claimed", now, actor)
        item.state = "completed"
        item.ended_at = now
        item.completed_by = actor.username
        item.form_data = values
        set_durations(rt, item)
        record(session, item, "completed", now, actor)
        save_run(rt, session, instance, run, now, actor)
        _flush(session, item)
        return item


def set_durations(rt: Runtime, item: WorkItem) -> None:
    """Waiting (ready → claimed) and handling (claimed → end), calendar and working, kept on
    the row so reports aggregate one row per link execution."""
    assert item.claimed_at is not None and item.ended_at is not None
    item.waiting_s = _seconds(item.ready_at, item.claimed_at)
    item.handling_s = _seconds(item.claimed_at, item.ended_at)
    item.waiting_working_s = rt.calendar.between(
        item.ready_at, item.claimed_at, "working"
    ).total_seconds()
    item.handling_working_s = rt.calendar.between(
        item.claimed_at, item.ended_at, "working"
    ).total_seconds()
    item.within_standard = item.ended_at <= item.due_at


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _open_item(
    session: Session, work_item_id: int, actor: Actor, expected_version: int | None
) -> WorkItem:
    # Lock the row: a second clerk waits here until the first commits, then sees the outcome.
    item = session.get(WorkItem, work_item_id, with_for_update=True)
    if item is None:
        raise NotFoundError(f"work item {work_item_id} does not exist")
    if not actor.may_work_as(item.role) and item.assignee != actor.username:
        raise ForbiddenError(f"{item.link_name} belongs to role {item.role!r}, not to yours")
    if item.state not in OPEN:
        who = f" by {item.completed_by}" if item.completed_by else ""
        raise ConflictError(f"{item.link_name} was already {item.state}{who}")
    if expected_version is not None and item.lock_version != expected_version:
        raise ConflictError(
            f"{item.link_name} changed since you opened it (version {expected_version}, "
            f"now {item.lock_version}); reload it"
        )
    return item


def _flush(session: Session, item: WorkItem) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"{item.link_name} was changed by someone else; reload it") from exc
