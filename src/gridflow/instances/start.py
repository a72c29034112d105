"""Starting an instance of a process for a demand (or for a calling process), run to its
first links and written in the caller's transaction or one of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from gridflow.instances.reading import Held
from gridflow.instances.write import write_run
from gridflow.models import (
    to_ms,
)
from gridflow.roles import SYSTEM, Actor
from gridflow.runtime import Deployed, Runtime


@dataclass(frozen=True)
class Started:
    instance_id: int
    process_id: str
    version: int
    # A process that ran to its end at once (a called process with no step to wait for):
    # its final variables, for the caller.
    completed: bool = False
    variables: Mapping[str, object] | None = None


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
