"""External tasks: the contract of Camunda 7's external-task pattern, for workers of the
marketing, metering, finance and other systems.

A worker fetches and locks tasks of the topics it serves for a lock duration, then completes
each with variables, reports a failure (the retries it gives count down; at none an incident
opens for a person), throws a BPMN error (the task's error boundary event takes over), extends
its lock or unlocks. A lock that expires makes the task fetchable again, so a dead worker loses
nothing. One verb, one transaction; every change is a task event of the system step.

Workers act as `integration` accounts limited to their topics (`Worker.topics`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select

from gridflow import incidents
from gridflow.errors import (
    ConflictError,
    ForbiddenError,
    FormError,
    InvalidStateError,
    NotFoundError,
)
from gridflow.instances import HELD_COLUMNS, INSTANCES, held, insert_events, write_run
from gridflow.models import Definition, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime
from gridflow.system_tasks import SYSTEM_TASKS, step_event, update_step

DEFINITIONS = cast(Table, Definition.__table__)
MIN_LOCK_MS = 1_000
MAX_LOCK_MS = 7 * 24 * 3600 * 1000
MAX_TASKS = 100
MAX_RETRIES = 1000
MAX_RETRY_TIMEOUT_MS = 7 * 24 * 3600 * 1000
MAX_VALUE_BYTES = 64 * 1024
WORKER_ID = re.compile(r"[A-Za-z0-9_.:@\-]{1,200}")
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


@dataclass(frozen=True)
class Worker:
    """Who is calling: the account and the worker id it gives, and the topics it may serve
    (None: every topic, for administrators)."""

    account: str
    worker_id: str
    topics: frozenset[str] | None

    def __post_init__(self) -> None:
        if not WORKER_ID.fullmatch(self.worker_id or ""):
            raise InvalidStateError(
                f"workerId must be 1 to 200 letters, digits or _ . : @ -, not {self.worker_id!r}"
            )

    def may_serve(self, topic: str) -> bool:
        return self.topics is None or topic in self.topics

    @property
    def actor(self) -> Actor:
        return Actor(self.account)


@dataclass(frozen=True)
class TopicRequest:
    name: str
    lock_duration_ms: int
    variables: tuple[str, ...] | None = None  # None: all of them


@dataclass(frozen=True)
class LockedTask:
    """An external task as a worker sees it."""

    id: int
    topic: str
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    error_message: str | None
    instance_id: int
    process_id: str
    process_version: int
    element_id: str
    step_name: str
    business_key: str
    priority: int
    state: str
    created_at: datetime
    variables: dict[str, object] = field(default_factory=dict)


_FETCHABLE = (
    select(SYSTEM_TASKS.c.id)
    .where(
        SYSTEM_TASKS.c.kind == "external",
        SYSTEM_TASKS.c.topic.in_(bindparam("topics", expanding=True)),
        or_(
            SYSTEM_TASKS.c.state == "ready",
            and_(
                SYSTEM_TASKS.c.state == "locked", SYSTEM_TASKS.c.lock_expires_at < bindparam("now")
            ),
        ),
        or_(SYSTEM_TASKS.c.retry_at.is_(None), SYSTEM_TASKS.c.retry_at <= bindparam("now")),
    )
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_BY_PRIORITY = _FETCHABLE.order_by(SYSTEM_TASKS.c.priority.desc(), SYSTEM_TASKS.c.id)
_BY_AGE = _FETCHABLE.order_by(SYSTEM_TASKS.c.id)
_VIEW_COLUMNS = (
    SYSTEM_TASKS,
    INSTANCES.c.business_key,
    DEFINITIONS.c.process_id,
    DEFINITIONS.c.version,
)
_VIEW = (
    select(*_VIEW_COLUMNS)
    .join_from(SYSTEM_TASKS, INSTANCES, INSTANCES.c.id == SYSTEM_TASKS.c.instance_id)
    .join(DEFINITIONS, DEFINITIONS.c.id == SYSTEM_TASKS.c.definition_id)
)
_VIEW_IDS = _VIEW.where(SYSTEM_TASKS.c.id.in_(bindparam("ids", expanding=True))).order_by(
    SYSTEM_TASKS.c.id
)
_STEP_ROW = select(SYSTEM_TASKS).where(SYSTEM_TASKS.c.id == bindparam("id")).with_for_update()
_STEP_AND_INSTANCE = (
    select(SYSTEM_TASKS, *HELD_COLUMNS)
    .join_from(SYSTEM_TASKS, INSTANCES, INSTANCES.c.id == SYSTEM_TASKS.c.instance_id)
    .where(SYSTEM_TASKS.c.id == bindparam("id"))
    .with_for_update()
)


def check_topics(worker: Worker, topics: Sequence[TopicRequest]) -> None:
    """A fetch names 1 to 20 topics the worker serves, each with a sane lock duration."""
    if not topics:
        raise InvalidStateError("name at least one topic to fetch")
    if len(topics) > 20:
        raise InvalidStateError("fetch at most 20 topics at once")
    for topic in topics:
        if not worker.may_serve(topic.name):
            raise ForbiddenError(f"account {worker.account!r} does not serve topic {topic.name!r}")
        if not MIN_LOCK_MS <= topic.lock_duration_ms <= MAX_LOCK_MS:
            raise InvalidStateError(
                f"lockDuration of {topic.name!r} must be {MIN_LOCK_MS} to {MAX_LOCK_MS} ms"
            )


def fetch_and_lock(
    rt: Runtime,
    worker: Worker,
    topics: Sequence[TopicRequest],
    max_tasks: int,
    *,
    use_priority: bool = True,
) -> list[LockedTask]:
    """Lock up to `max_tasks` fetchable tasks of the topics for the worker (highest priority
    first, then oldest); each lock lasts its topic's lock duration. Tasks are claimed with
    FOR UPDATE SKIP LOCKED, so two workers never get the same task."""
    check_topics(worker, topics)
    if not 1 <= max_tasks <= MAX_TASKS:
        raise InvalidStateError(f"maxTasks must be 1 to {MAX_TASKS}")
    by_name = {topic.name: topic for topic in topics}
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        ids = list(
            connection.scalars(
                _BY_PRIORITY if use_priority else _BY_AGE,
                {"topics": sorted(by_name), "now": now, "limit": max_tasks},
            )
        )
        if not ids:
            return []
        rows = connection.execute(_VIEW_IDS, {"ids": ids}).all()
        events = []
        locked = []
        for row in rows:
            topic = by_name[row.topic]
            expires = now + timedelta(milliseconds=topic.lock_duration_ms)
            details: dict[str, object] = {"worker": worker.worker_id}
            if row.state == "locked":
                details["after_lock_expired_of"] = row.worker_id
            update_step(
                connection,
                row,
                {
                    "state": "locked",
                    "worker_id": worker.worker_id,
                    "locked_by": worker.account,
                    "lock_expires_at": expires,
                    "attempts": row.attempts + 1,
                    "first_locked_at": row.first_locked_at or now,
                },
                "someone else locked this task first",
            )
            events.append(step_event(row, "locked", now, worker.account, details))
            locked.append(
                _view(
                    row,
                    state="locked",
                    worker_id=worker.worker_id,
                    expires=expires,
                    names=topic.variables,
                )
            )
        insert_events(connection, events)
    return locked


def _view(
    row: Any,  # noqa: ANN401
    *,
    state: str | None = None,
    worker_id: str | None = None,
    expires: datetime | None = None,
    names: tuple[str, ...] | None = None,
) -> LockedTask:
    inputs = row.inputs or {}
    variables = dict(inputs) if names is None else {n: inputs[n] for n in names if n in inputs}
    return LockedTask(
        id=row.id,
        topic=row.topic,
        worker_id=worker_id if worker_id is not None else row.worker_id,
        lock_expires_at=expires if expires is not None else row.lock_expires_at,
        retries=row.retries,
        error_message=row.error_message,
        instance_id=row.instance_id,
        process_id=row.process_id,
        process_version=row.version,
        element_id=row.element_id,
        step_name=row.step_name,
        business_key=row.business_key,
        priority=row.priority,
        state=state or row.state,
        created_at=row.created_at,
        variables=variables,
    )


def get(rt: Runtime, task_id: int, worker: Worker | None = None) -> LockedTask:
    """One external task (a worker sees only those of its topics)."""
    with rt.db.snapshot() as connection:
        row = connection.execute(_VIEW.where(SYSTEM_TASKS.c.id == task_id)).first()
    if (
        row is None
        or row.kind != "external"
        or (worker is not None and not worker.may_serve(row.topic))
    ):
        raise NotFoundError(f"external task {task_id} does not exist")
    return _view(row)


def listing(
    rt: Runtime,
    *,
    topic: str | None = None,
    states: Sequence[str] = ("ready", "locked", "incident"),
    worker: Worker | None = None,
    limit: int = 200,
) -> list[LockedTask]:
    """External tasks by state (open ones by default), oldest first."""
    query = _VIEW.where(SYSTEM_TASKS.c.kind == "external", SYSTEM_TASKS.c.state.in_(list(states)))
    if topic is not None:
        query = query.where(SYSTEM_TASKS.c.topic == topic)
    if worker is not None and worker.topics is not None:
        query = query.where(SYSTEM_TASKS.c.topic.in_(sorted(worker.topics)))
    with rt.db.snapshot() as connection:
        rows = connection.execute(query.order_by(SYSTEM_TASKS.c.id).limit(limit)).all()
    return [_view(row) for row in rows]


def _locked_by(row: Any, worker: Worker, what: str) -> Any:  # noqa: ANN401
    """The task must be locked by this worker of this account (an expired lock still counts
    until another worker takes the task)."""
    if row is None or row.kind != "external" or not worker.may_serve(row.topic):
        raise NotFoundError("this external task does not exist")
    if row.state in ("completed", "error", "cancelled"):
        raise ConflictError(f"external task {row.id} is {row.state}; cannot {what}")
    if (
        row.state != "locked"
        or row.worker_id != worker.worker_id
        or row.locked_by != worker.account
    ):
        raise ConflictError(
            f"external task {row.id} is not locked by worker {worker.worker_id!r}; cannot {what}"
        )
    return row


def check_variables(
    variables: Mapping[str, object], declared: Sequence[str], element_id: str
) -> dict[str, object]:
    """Only the variables the task declares (its `outputs` property), each a JSON value of
    sane size: a worker never overwrites a process's other data."""
    errors: dict[str, str] = {}
    allowed = set(declared)
    result: dict[str, object] = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not VARIABLE.fullmatch(name) or "__" in name:
            errors[str(name)[:100]] = "not a variable name"
        elif name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            errors[name] = f"{element_id} does not declare this output (it declares: {known})"
        elif not _json_value(value):
            errors[name] = "must be a string, number, boolean, null, list or object"
        elif len(repr(value)) > MAX_VALUE_BYTES:
            errors[name] = f"value is larger than {MAX_VALUE_BYTES} bytes"
        else:
            result[name] = value
    if errors:
        raise FormError(errors)
    return result


def _json_value(value: object, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if value is None or isinstance(value, str | bool | int | float):
        return not isinstance(value, float) or value == value  # no NaN
    if isinstance(value, list):
        return all(_json_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_value(v, depth + 1) for k, v in value.items())
    return False


def _with_run(
    rt: Runtime,
    task_id: int,
    worker: Worker,
    what: str,
    act: Callable[[Connection, Any, Any, Any, datetime], None],
) -> None:
    """Lock the task and its instance, check the worker's lock, restore the run, let `act`
    move it and update the task's row, then save the run."""
    with incidents.recorded(rt), rt.db.transaction() as connection:
        row = _locked_by(
            connection.execute(_STEP_AND_INSTANCE, {"id": task_id}).first(), worker, what
        )
        step_columns = len(SYSTEM_TASKS.c)
        instance = held(row, step_columns)
        if instance.status != "running":
            raise ConflictError(f"instance {instance.id} is {instance.status}")
        run = rt.engine.restore(rt.definition(instance.definition_id), instance.document)
        run.instance_id = instance.id
        before = run.snapshot()
        now = to_ms(rt.clock.now())
        act(connection, row, instance, run, now)
        write_run(
            rt, connection, instance, run, now, worker.actor, before=before, handled=row.task_id
        )


def complete(rt: Runtime, task_id: int, worker: Worker, variables: Mapping[str, object]) -> None:
    """Complete a locked task with the variables it declares; the process moves on."""

    def act(connection: Connection, row: Any, instance: Any, run: Any, now: datetime) -> None:  # noqa: ANN401
        step = run.definition.steps.get(row.element_id)
        declared = step.outputs if step is not None else ()
        values = check_variables(variables, declared, row.element_id)
        run.complete(row.task_id, values)
        first = row.first_locked_at or now
        update_step(
            connection,
            row,
            {
                "state": "completed",
                "ended_at": now,
                "completed_by": worker.worker_id,
                "variables": values,
                "lock_expires_at": None,
                "waiting_s": (first - row.created_at).total_seconds(),
                "handling_s": (now - first).total_seconds(),
            },
            "someone else changed this task first",
        )
        insert_events(
            connection,
            [step_event(row, "completed", now, worker.account, {"worker": worker.worker_id})],
        )

    _with_run(rt, task_id, worker, "complete it", act)


def bpmn_error(
    rt: Runtime,
    task_id: int,
    worker: Worker,
    error_code: str,
    error_message: str | None = None,
    variables: Mapping[str, object] | None = None,
) -> None:
    """A business error the worker found (the payment was refused, say): the task's error
    boundary event for the code takes over; 422 naming the element when none catches it."""
    code = (error_code or "").strip()
    if not code or len(code) > 100:
        raise InvalidStateError("errorCode must be 1 to 100 characters")

    def act(connection: Connection, row: Any, instance: Any, run: Any, now: datetime) -> None:  # noqa: ANN401
        step = run.definition.steps.get(row.element_id)
        declared = step.outputs if step is not None else ()
        values = check_variables(variables or {}, declared, row.element_id)
        caught_by = run.throw_error(row.task_id, code, values)
        first = row.first_locked_at or now
        update_step(
            connection,
            row,
            {
                "state": "error",
                "ended_at": now,
                "completed_by": worker.worker_id,
                "variables": values,
                "error_message": (error_message or code)[:500],
                "lock_expires_at": None,
                "waiting_s": (first - row.created_at).total_seconds(),
                "handling_s": (now - first).total_seconds(),
            },
            "someone else changed this task first",
        )
        details = {"code": code, "message": error_message or "", "caught_by": caught_by}
        insert_events(connection, [step_event(row, "error", now, worker.account, details)])

    _with_run(rt, task_id, worker, "throw an error", act)


def failure(
    rt: Runtime,
    task_id: int,
    worker: Worker,
    error_message: str,
    *,
    error_details: str | None = None,
    retries: int,
    retry_timeout_ms: int = 0,
) -> None:
    """The worker could not do it this time. With retries left the task is fetchable again
    after the retry timeout; with none an incident opens and the task waits for a person."""
    if not 0 <= retries <= MAX_RETRIES:
        raise InvalidStateError(f"retries must be 0 to {MAX_RETRIES}")
    if not 0 <= retry_timeout_ms <= MAX_RETRY_TIMEOUT_MS:
        raise InvalidStateError(f"retryTimeout must be 0 to {MAX_RETRY_TIMEOUT_MS} ms")
    message = (error_message or "").strip()[:500] or "failed without a message"
    details = (error_details or "")[:20_000] or None
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        row = _locked_by(
            connection.execute(_STEP_ROW, {"id": task_id}).first(), worker, "report a failure"
        )
        values: dict[str, object] = {
            "worker_id": None,
            "locked_by": None,
            "lock_expires_at": None,
            "retries": retries,
            "error_message": message,
            "error_details": details,
        }
        event_details = {"worker": worker.worker_id, "message": message, "retries": retries}
        events = [step_event(row, "failed", now, worker.account, event_details)]
        if retries > 0:
            values["state"] = "ready"
            values["retry_at"] = now + timedelta(milliseconds=retry_timeout_ms)
        else:
            values["state"] = "incident"
            values["retry_at"] = None
            events.append(step_event(row, "incident", now, worker.account, {"message": message}))
        update_step(connection, row, values, "someone else changed this task first")
        if retries == 0:
            incidents.open_incident(
                connection,
                row.instance_id,
                "failed_external_task",
                row.element_id,
                message,
                now,
                details=details,
                system_task_id=row.id,
            )
        insert_events(connection, events)


def extend_lock(rt: Runtime, task_id: int, worker: Worker, new_duration_ms: int) -> None:
    """Keep a lock for `new_duration_ms` more from now."""
    if not MIN_LOCK_MS <= new_duration_ms <= MAX_LOCK_MS:
        raise InvalidStateError(f"newDuration must be {MIN_LOCK_MS} to {MAX_LOCK_MS} ms")
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        row = _locked_by(
            connection.execute(_STEP_ROW, {"id": task_id}).first(), worker, "extend its lock"
        )
        expires = now + timedelta(milliseconds=new_duration_ms)
        update_step(
            connection, row, {"lock_expires_at": expires}, "someone else changed this first"
        )


def unlock(rt: Runtime, task_id: int, actor: Actor, worker: Worker | None = None) -> None:
    """Give a locked task back at once (its worker, or an administrator or supervisor)."""
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        row = connection.execute(_STEP_ROW, {"id": task_id}).first()
        if worker is not None:
            _locked_by(row, worker, "unlock it")
        elif row is None or row.kind != "external":
            raise NotFoundError(f"external task {task_id} does not exist")
        elif row.state != "locked":
            raise ConflictError(f"external task {task_id} is {row.state}, not locked")
        update_step(
            connection,
            row,
            {"state": "ready", "worker_id": None, "locked_by": None, "lock_expires_at": None},
            "someone else changed this first",
        )
        insert_events(connection, [step_event(row, "unlocked", now, actor.username)])


def give_retries(
    connection: Connection, task_id: int, retries: int, now: datetime, actor: Actor
) -> None:
    """A person gives a task retries again (resolving its incident): fetchable at once."""
    row = connection.execute(_STEP_ROW, {"id": task_id}).first()
    if row is None or row.kind != "external":
        raise NotFoundError(f"external task {task_id} does not exist")
    if row.state in ("completed", "error", "cancelled"):
        raise ConflictError(f"external task {task_id} is {row.state}")
    values: dict[str, object] = {"retries": retries, "retry_at": None}
    if row.state == "incident":
        values["state"] = "ready"
    update_step(connection, row, values, "someone else changed this first")
    insert_events(
        connection, [step_event(row, "retried", now, actor.username, {"retries": retries})]
    )


def set_retries(rt: Runtime, task_id: int, retries: int, actor: Actor) -> None:
    """Camunda's "set retries": resolves the task's open incident when it has one."""
    if not 1 <= retries <= MAX_RETRIES:
        raise InvalidStateError(f"retries must be 1 to {MAX_RETRIES}")
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        give_retries(connection, task_id, retries, now, actor)
        open_ids = connection.scalars(
            select(incidents.INCIDENTS.c.id).where(
                incidents.INCIDENTS.c.system_task_id == task_id,
                incidents.INCIDENTS.c.state == "open",
            )
        ).all()
        for incident_id in open_ids:
            incidents.resolve(connection, incident_id, now, actor, "retried")


_EXPIRED_LOCKS = select(
    func.count(SYSTEM_TASKS.c.id), func.min(SYSTEM_TASKS.c.lock_expires_at)
).where(
    SYSTEM_TASKS.c.kind == "external",
    SYSTEM_TASKS.c.state == "locked",
    SYSTEM_TASKS.c.lock_expires_at < bindparam("now"),
)


def expired_locks(rt: Runtime) -> tuple[int, float]:
    """External tasks still locked by a worker whose lock ran out (fetchable by any worker of
    their topic), and the seconds since the oldest lock ran out (0 when none did)."""
    now = to_ms(rt.clock.now())
    with rt.db.snapshot() as connection:
        count, oldest = connection.execute(_EXPIRED_LOCKS, {"now": now}).one()
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return int(count or 0), lag
