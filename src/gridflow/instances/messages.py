"""Messages, signals and timers: delivering a message to one instance, a signal to every
instance waiting for it, and when the next timer is due. Engine errors leave an incident."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gridflow.instances.reading import _instance, _restore
from gridflow.instances.write import write_run
from gridflow.models import (
    Instance,
    Wait,
    to_ms,
)
from gridflow.roles import SYSTEM, Actor
from gridflow.runtime import Runtime


def on_engine_error(verb: Any) -> Any:  # noqa: ANN401 - see incidents.on_engine_error
    from gridflow import incidents

    return incidents.on_engine_error(verb)


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
