"""Moving running instances from one version of a process to another.

A dry run tries each move in memory and says which instances can move and why the others
cannot; a move does the same and saves it, one transaction per instance: the instance's
version and saved run, its open work items (each gets a `migrated` event) and a migration
record with who, when, from and to.

Open work items keep their due time and the standard it was computed from: what staff and the
customer were promised does not move because the process was redesigned. Links that become
ready after the move get the new version's standards; timers already waiting keep their time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, select

from gridflow.engine import EngineError, MigrationRefused
from gridflow.errors import ConflictError, InvalidStateError, NotFoundError, Reason
from gridflow.instances import (
    HELD_COLUMNS,
    INSTANCES,
    OPEN,
    WORK_ITEMS,
    Held,
    event_row,
    held,
    update_item,
    write_run,
)
from gridflow.models import Definition, InstanceMigration, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

MIGRATIONS = cast(Table, InstanceMigration.__table__)


@dataclass(frozen=True)
class Candidate:
    """One running instance of the source version: whether it can move, and why not."""

    instance_id: int
    business_key: str
    started_at: datetime | None
    open_links: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    moved: bool = False

    @property
    def movable(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class _Versions:
    process_id: str
    from_id: int
    from_version: int
    to_id: int
    to_version: int


def _versions(rt: Runtime, from_definition_id: int, to_definition_id: int) -> _Versions:
    with rt.db.read() as session:
        source = session.get(Definition, from_definition_id)
        target = session.get(Definition, to_definition_id)
        if source is None or target is None:
            missing = from_definition_id if source is None else to_definition_id
            raise NotFoundError(gettext("definition %(id)s does not exist"), id=missing)
        if source.process_id != target.process_id:
            raise InvalidStateError(
                gettext("versions of different processes (%(source)s, %(target)s)"),
                source=source.process_id,
                target=target.process_id,
            )
        if source.id == target.id:
            raise InvalidStateError(gettext("choose two different versions"))
        return _Versions(source.process_id, source.id, source.version, target.id, target.version)


_RUNNING = (
    select(INSTANCES.c.id, INSTANCES.c.business_key, INSTANCES.c.started_at)
    .where(
        INSTANCES.c.definition_id == bindparam("definition_id"),
        INSTANCES.c.status == "running",
    )
    .order_by(INSTANCES.c.id)
)
_OPEN_LINKS = (
    select(WORK_ITEMS.c.instance_id, WORK_ITEMS.c.element_id)
    .where(
        WORK_ITEMS.c.instance_id.in_(bindparam("ids", expanding=True)),
        WORK_ITEMS.c.state.in_(OPEN),
    )
    .order_by(WORK_ITEMS.c.id)
)
_HELD = (
    select(*HELD_COLUMNS, INSTANCES.c.business_key, INSTANCES.c.started_at)
    .where(INSTANCES.c.id == bindparam("instance_id"))
    .with_for_update()
)
_OPEN_ITEMS = (
    select(WORK_ITEMS)
    .where(WORK_ITEMS.c.instance_id == bindparam("instance_id"), WORK_ITEMS.c.state.in_(OPEN))
    .order_by(WORK_ITEMS.c.id)
)
_MOVE_INSTANCE = (
    INSTANCES.update()
    .where(
        INSTANCES.c.id == bindparam("where_id"),
        INSTANCES.c.lock_version == bindparam("where_version"),
    )
    .values(definition_id=bindparam("to_id"), lock_version=bindparam("new_version"))
)


def dry_run(
    rt: Runtime,
    from_definition_id: int,
    to_definition_id: int,
    instance_ids: Iterable[int] | None = None,
) -> list[Candidate]:
    """Every running instance of the source version (or the chosen ones), each tried on the
    target version in memory: movable, or the reasons it cannot move. Nothing is saved."""
    versions = _versions(rt, from_definition_id, to_definition_id)
    source = rt.definition(versions.from_id)
    target = rt.definition(versions.to_id)
    chosen = set(instance_ids) if instance_ids is not None else None
    with rt.db.snapshot() as connection:
        rows = [
            r
            for r in connection.execute(_RUNNING, {"definition_id": versions.from_id})
            if chosen is None or r.id in chosen
        ]
        links: dict[int, list[str]] = {}
        for link in connection.execute(_OPEN_LINKS, {"ids": [r.id for r in rows]}):
            links.setdefault(link.instance_id, []).append(link.element_id)
        documents = {
            r.id: r.document
            for r in connection.execute(
                select(INSTANCES.c.id, INSTANCES.c.document).where(
                    INSTANCES.c.id.in_([r.id for r in rows])
                )
            )
        }
    result = []
    for row in rows:
        open_links = tuple(links.get(row.id, []))
        reasons: list[str] = [
            _missing_link(element_id, versions.to_version)
            for element_id in open_links
            if element_id not in target.links
        ]
        if not reasons:
            try:
                rt.engine.migrate(rt.engine.restore(source, documents[row.id]), target)
            except (MigrationRefused, EngineError) as exc:
                reasons = _reasons(exc)
        result.append(
            Candidate(row.id, row.business_key, row.started_at, open_links, tuple(reasons))
        )
    return result


def _missing_link(element_id: str, version: int) -> Reason:
    return Reason(
        gettext("open link %(link)s does not exist in version %(version)s"),
        link=repr(element_id),
        version=version,
    )


def _reasons(exc: Exception) -> list[str]:
    if isinstance(exc, MigrationRefused):
        return list(exc.reasons)
    if isinstance(exc, ConflictError | InvalidStateError):
        return [Reason(exc.template, **exc.params)]
    return [str(exc)]


def migrate(
    rt: Runtime,
    from_definition_id: int,
    to_definition_id: int,
    instance_ids: Iterable[int],
    actor: Actor,
) -> list[Candidate]:
    """Move the chosen instances, each in its own transaction; the result says for each
    whether it moved or, untouched, why not."""
    versions = _versions(rt, from_definition_id, to_definition_id)
    chosen = list(dict.fromkeys(instance_ids))
    with rt.db.snapshot() as connection:
        known = {
            r.id: r
            for r in connection.execute(
                select(INSTANCES.c.id, INSTANCES.c.business_key, INSTANCES.c.started_at).where(
                    INSTANCES.c.id.in_(chosen)
                )
            )
        }
    result = []
    for instance_id in chosen:
        try:
            result.append(_move(rt, versions, instance_id, actor))
        except (MigrationRefused, EngineError, ConflictError, InvalidStateError) as exc:
            row = known.get(instance_id)
            result.append(
                Candidate(
                    instance_id,
                    row.business_key if row is not None else "",
                    row.started_at if row is not None else None,
                    (),
                    tuple(_reasons(exc)),
                )
            )
    return result


def _move(rt: Runtime, versions: _Versions, instance_id: int, actor: Actor) -> Candidate:
    source = rt.definition(versions.from_id)
    target = rt.definition(versions.to_id)
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        row = connection.execute(_HELD, {"instance_id": instance_id}).first()
        if row is None:
            raise InvalidStateError(gettext("instance %(id)s does not exist"), id=instance_id)
        instance: Held = held(row)
        if instance.status != "running" or instance.definition_id != versions.from_id:
            raise InvalidStateError(
                gettext("instance %(id)s is not running on version %(version)s"),
                id=instance_id,
                version=versions.from_version,
            )
        items = connection.execute(_OPEN_ITEMS, {"instance_id": instance_id}).all()
        missing = [i.element_id for i in items if i.element_id not in target.links]
        if missing:
            raise MigrationRefused(
                [_missing_link(element_id, versions.to_version) for element_id in missing]
            )
        run = rt.engine.migrate(rt.engine.restore(source, instance.document), target)
        moved = connection.execute(
            _MOVE_INSTANCE,
            {
                "to_id": versions.to_id,
                "new_version": instance.lock_version + 1,
                "where_id": instance.id,
                "where_version": instance.lock_version,
            },
        )
        if moved.rowcount != 1:
            raise ConflictError(
                gettext("instance %(id)s was changed by someone else"), id=instance_id
            )
        instance.definition_id = versions.to_id
        instance.lock_version += 1
        events: list[dict[str, Any]] = []
        for item in items:
            link = target.links[item.element_id]
            values: dict[str, Any] = {
                "definition_id": versions.to_id,
                "link_name": link.name,
                "customer_facing": link.customer_facing,
            }
            if link.role is not None:
                # A role decided when the link was reached (a countersign's) stays decided.
                values.update(lane=link.lane, role=link.role.id, department=link.department)
            update_item(
                connection,
                item.id,
                item.lock_version,
                values,
                f"link {item.element_id} was changed by someone else; nothing was moved",
            )
            source_values = {**item._asdict(), **values}
            events.append(
                event_row(
                    SimpleNamespace(**source_values),
                    "migrated",
                    now,
                    actor,
                    {
                        "from_version": versions.from_version,
                        "to_version": versions.to_version,
                        "from_definition_id": versions.from_id,
                        "to_definition_id": versions.to_id,
                        # What the open link keeps (see the module's first lines).
                        "due_at": item.due_at.isoformat(),
                        "standard_target": item.standard_target,
                        "standard_basis": item.standard_basis,
                    },
                )
            )
        write_run(rt, connection, instance, run, now, actor, events=events)
        connection.execute(
            MIGRATIONS.insert(),
            {
                "instance_id": instance.id,
                "process_id": versions.process_id,
                "from_definition_id": versions.from_id,
                "to_definition_id": versions.to_id,
                "from_version": versions.from_version,
                "to_version": versions.to_version,
                "actor": actor.username,
                "at": now,
            },
        )
    return Candidate(
        instance_id,
        row.business_key,
        row.started_at,
        tuple(i.element_id for i in items),
        (),
        moved=True,
    )
