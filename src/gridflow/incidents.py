"""Incidents: what a person must look at because the engine cannot go on by itself.

Two kinds: an external task whose worker's retries ran out (`failed_external_task`), and an
instance the engine could not move past an element (`engine_error`: a condition on data the
process does not have, a candidate group variable holding no role, a called process with no
version to start). The verb that failed changed nothing; the incident is recorded in a
transaction of its own so that it survives that rollback. One open incident per instance,
element and kind: the same failure again counts as another occurrence.

Admins and supervisors see open incidents and retry them: a failed external task gets its
retries back and is fetched again; an engine error is marked retried, and the timer or verb
that hit it runs again (after a designer fixed the process and the instance was migrated, say).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, Table, bindparam, func, select

from gridflow.engine import EngineError
from gridflow.errors import InvalidStateError, NotFoundError
from gridflow.models import Definition, Incident, Instance, SystemTask, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

INCIDENTS = cast(Table, Incident.__table__)
SYSTEM_TASKS = cast(Table, SystemTask.__table__)
KINDS = ("failed_external_task", "engine_error")
MAX_MESSAGE = 2000

_OPEN_SAME = select(INCIDENTS.c.id, INCIDENTS.c.occurrences).where(
    INCIDENTS.c.instance_id == bindparam("instance_id"),
    INCIDENTS.c.kind == bindparam("kind"),
    INCIDENTS.c.state == "open",
    INCIDENTS.c.element_id == bindparam("element_id"),
)


def open_incident(
    connection: Connection,
    instance_id: int,
    kind: str,
    element_id: str | None,
    message: str,
    now: datetime,
    *,
    details: str | None = None,
    system_task_id: int | None = None,
) -> int:
    """Open an incident, or count one more occurrence of the same open one; its id."""
    message = message[:MAX_MESSAGE]
    same = connection.execute(
        _OPEN_SAME, {"instance_id": instance_id, "kind": kind, "element_id": element_id or ""}
    ).first()
    if same is not None:
        connection.execute(
            INCIDENTS.update()
            .where(INCIDENTS.c.id == same.id)
            .values(
                occurrences=same.occurrences + 1,
                last_seen_at=now,
                message=message,
                details=details,
                system_task_id=system_task_id,
            )
        )
        return int(same.id)
    inserted = connection.execute(
        INCIDENTS.insert().values(
            instance_id=instance_id,
            system_task_id=system_task_id,
            element_id=element_id or "",
            kind=kind,
            message=message,
            details=details,
            state="open",
            created_at=now,
            last_seen_at=now,
            occurrences=1,
        )
    ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def record_engine_error(rt: Runtime, error: EngineError) -> int | None:
    """Record an engine error of a stored instance as an incident (its own transaction, after
    the failed verb rolled back); the incident's id, or None for an instance not yet stored."""
    if error.instance_id is None:
        return None
    with rt.db.transaction() as connection:
        incident_id = open_incident(
            connection,
            error.instance_id,
            "engine_error",
            error.element_id,
            error.detail,
            to_ms(rt.clock.now()),
        )
    error.incident_id = incident_id
    return incident_id


P = ParamSpec("P")
R = TypeVar("R")


def on_engine_error(verb: Callable[P, R]) -> Callable[P, R]:
    """A verb whose engine errors leave an incident behind (the verb's first argument is the
    runtime); the error goes on to the caller, which answers 422."""

    @wraps(verb)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return verb(*args, **kwargs)
        except EngineError as exc:
            rt = args[0]
            assert isinstance(rt, Runtime)
            record_engine_error(rt, exc)
            raise

    return wrapped


@contextmanager
def recorded(rt: Runtime) -> Iterator[None]:
    """The same as `on_engine_error`, for a block."""
    try:
        yield
    except EngineError as exc:
        record_engine_error(rt, exc)
        raise


@dataclass(frozen=True)
class IncidentView:
    id: int
    instance_id: int
    process_id: str
    version: int
    business_key: str
    element_id: str | None
    step_name: str | None
    kind: str
    message: str
    details: str | None
    state: str
    created_at: datetime
    last_seen_at: datetime
    occurrences: int
    system_task_id: int | None
    topic: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    definition_id: int | None = None  # the version whose labels it shows

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "instance_id": self.instance_id,
            "process_id": self.process_id,
            "version": self.version,
            "business_key": self.business_key,
            "element_id": self.element_id,
            "step_name": self.step_name,
            "kind": self.kind,
            "message": self.message,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "occurrences": self.occurrences,
            "external_task_id": self.system_task_id,
            "topic": self.topic,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
        }


_VIEW = (
    select(
        Incident.id,
        Incident.instance_id,
        Definition.process_id,
        Definition.version,
        Instance.business_key,
        Incident.element_id,
        SystemTask.step_name,
        Incident.kind,
        Incident.message,
        Incident.details,
        Incident.state,
        Incident.created_at,
        Incident.last_seen_at,
        Incident.occurrences,
        Incident.system_task_id,
        SystemTask.topic,
        Incident.resolved_at,
        Incident.resolved_by,
        Incident.resolution,
        Instance.definition_id,
    )
    .join(Instance, Instance.id == Incident.instance_id)
    .join(Definition, Definition.id == Instance.definition_id)
    .outerjoin(SystemTask, SystemTask.id == Incident.system_task_id)
)


def listing(rt: Runtime, *, state: str = "open", limit: int = 200) -> list[IncidentView]:
    """Incidents in a state (open or resolved), newest first."""
    if state not in ("open", "resolved"):
        raise InvalidStateError(
            gettext("state must be open or resolved, not %(state)s"), state=repr(state)
        )
    with rt.db.read() as session:
        rows = session.execute(
            _VIEW.where(Incident.state == state).order_by(Incident.id.desc()).limit(limit)
        ).all()
    return [IncidentView(*tuple(row)) for row in rows]


def count_open(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(
            session.scalar(select(func.count(Incident.id)).where(Incident.state == "open")) or 0
        )


def get(rt: Runtime, incident_id: int) -> IncidentView:
    with rt.db.read() as session:
        row = session.execute(_VIEW.where(Incident.id == incident_id)).first()
    if row is None:
        raise NotFoundError(gettext("incident %(id)s does not exist"), id=incident_id)
    return IncidentView(*tuple(row))


def retry(rt: Runtime, incident_id: int, actor: Actor, retries: int = 1) -> IncidentView:
    """Resolve an open incident by retrying: a failed external task gets `retries` again and
    is fetched by the next worker; an engine error's timer or verb runs again."""
    if not 1 <= retries <= 100:
        raise InvalidStateError(gettext("retries must be 1 to 100"))
    from gridflow import external_tasks

    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        row = connection.execute(
            select(INCIDENTS).where(INCIDENTS.c.id == incident_id).with_for_update()
        ).first()
        if row is None:
            raise NotFoundError(gettext("incident %(id)s does not exist"), id=incident_id)
        if row.state != "open":  # open | resolved
            raise InvalidStateError(gettext("incident %(id)s is already resolved"), id=incident_id)
        if row.kind == "failed_external_task" and row.system_task_id is not None:
            external_tasks.give_retries(connection, row.system_task_id, retries, now, actor)
        resolve(connection, incident_id, now, actor, "retried")
    return get(rt, incident_id)


def resolve(
    connection: Connection, incident_id: int, now: datetime, actor: Actor, resolution: str
) -> None:
    _resolve(connection, INCIDENTS.c.id == incident_id, now, actor, resolution)


def resolve_for_instance(
    connection: Connection, instance_id: int, now: datetime, actor: Actor, resolution: str
) -> None:
    """Resolve every open incident of an instance (it was cancelled)."""
    _resolve(connection, INCIDENTS.c.instance_id == instance_id, now, actor, resolution)


def _resolve(
    connection: Connection,
    which: ColumnElement[bool],
    now: datetime,
    actor: Actor,
    resolution: str,
) -> None:
    connection.execute(
        INCIDENTS.update()
        .where(which, INCIDENTS.c.state == "open")
        .values(
            state="resolved", resolved_at=now, resolved_by=actor.username, resolution=resolution
        )
    )


def open_for(rt: Runtime, instance_ids: list[int]) -> dict[int, list[Any]]:
    """Open incidents of the given instances, by instance (for timelines)."""
    if not instance_ids:
        return {}
    with rt.db.read() as session:
        rows = session.execute(
            select(Incident).where(Incident.instance_id.in_(instance_ids), Incident.state == "open")
        ).scalars()
        result: dict[int, list[Any]] = {}
        for incident in rows:
            result.setdefault(incident.instance_id, []).append(incident)
    return result
