"""Process instances: start one for a demand, deliver messages and signals, fire due timers.

Each verb is one transaction that saves the workflow, its work items, its waits and its task
events together: a failure anywhere leaves the previous committed state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridflow.engine import Run
from gridflow.errors import ConflictError, NotFoundError
from gridflow.models import Instance, TaskEvent, Wait, WorkItem, to_ms
from gridflow.roles import SYSTEM, Actor
from gridflow.runtime import Runtime

OPEN = ("ready", "claimed")


@dataclass(frozen=True)
class Started:
    instance_id: int
    process_id: str
    version: int


def start_instance(
    rt: Runtime,
    process_id: str,
    variables: Mapping[str, object],
    *,
    business_key: str,
    demand_id: int | None = None,
    actor: Actor = SYSTEM,
    session: Session | None = None,
) -> Started:
    """Start the newest version of a process and run it to its first links."""
    if session is None:
        with rt.db.write() as own:
            return start_instance(
                rt,
                process_id,
                variables,
                business_key=business_key,
                demand_id=demand_id,
                actor=actor,
                session=own,
            )
    deployed = rt.latest(process_id, session)
    now = to_ms(rt.clock.now())
    run = rt.engine.start(deployed.definition, dict(variables))
    instance = Instance(
        definition_id=deployed.definition_id,
        demand_id=demand_id,
        business_key=business_key,
        status="running",
        started_at=now,
        ended_at=None,
        document="",
        variables={},
    )
    session.add(instance)
    session.flush()
    save_run(rt, session, instance, run, now, actor)
    return Started(instance.id, process_id, deployed.version)


def deliver_message(
    rt: Runtime,
    instance_id: int,
    name: str,
    payload: Mapping[str, object] | None = None,
    actor: Actor = SYSTEM,
) -> bool:
    """Deliver a message to one instance; False, changing nothing, when it does not wait for it."""
    with rt.db.write() as session:
        instance = _instance(session, instance_id)
        run = _restore(rt, instance)
        if not run.deliver_message(name, payload):
            return False
        save_run(rt, session, instance, run, to_ms(rt.clock.now()), actor)
        return True


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
        with rt.db.write() as session:
            instance = _instance(session, instance_id)
            run = _restore(rt, instance)
            if run.send_signal(name, payload):
                save_run(rt, session, instance, run, to_ms(rt.clock.now()), actor)
                reached += 1
    return reached


def fire_due_timers(rt: Runtime, limit: int = 100) -> int:
    """Fire the timers due by now, one instance per transaction; the number of instances where
    a timer fired.

    Instances are claimed with FOR UPDATE SKIP LOCKED, so several workers on PostgreSQL never
    fire the same timer; a timer whose link was escalated records an `escalated` event.
    """
    fired = 0
    now = rt.clock.now()
    seen: set[int] = set()
    while len(seen) < limit:
        with rt.db.write() as session:
            # A timer fires once its moment has passed (strictly), as SpiffWorkflow judges it.
            instance = session.scalar(
                select(Instance)
                .where(
                    Instance.status == "running",
                    Instance.id.notin_(seen),
                    Instance.id.in_(
                        select(Wait.instance_id).where(Wait.kind == "timer", Wait.due_at < now)
                    ),
                )
                .order_by(Instance.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if instance is None:
                return fired
            # Never pick the same instance twice in one round (stored due times are cut to
            # milliseconds, so a timer a few microseconds short of due waits for the next one).
            seen.add(instance.id)
            due = list(
                session.scalars(
                    select(Wait).where(
                        Wait.instance_id == instance.id, Wait.kind == "timer", Wait.due_at < now
                    )
                )
            )
            run = _restore(rt, instance)
            run.step()
            still_waiting = {w.task_id for w in run.waits()}
            went_off = [w for w in due if w.task_id not in still_waiting]
            if not went_off:
                continue
            at = to_ms(now)
            for wait in went_off:
                if wait.attached_task_id is None:
                    continue
                item = session.scalar(
                    select(WorkItem).where(
                        WorkItem.task_id == wait.attached_task_id, WorkItem.state.in_(OPEN)
                    )
                )
                if item is not None:
                    item.escalated = True
                    record(session, item, "escalated", at, SYSTEM, {"timer": wait.element_id})
            save_run(rt, session, instance, run, at, SYSTEM)
            fired += 1
    return fired


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
    """Append one task event for a lifecycle change of a link."""
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
            details=dict(details) if details else None,
        )
    )


def save_run(
    rt: Runtime, session: Session, instance: Instance, run: Run, now: datetime, actor: Actor
) -> None:
    """Write a run's new state: document, status, work items for new links (ready events),
    cancelled links, and waits. Raises ConflictError when someone saved the instance first."""
    definition = run.definition
    links = run.links()
    known = {
        item.task_id: item
        for item in session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id))
    }
    states = {link.task_id: link.state for link in links}
    for link in links:
        if link.state != "ready" or link.task_id in known:
            continue
        meta = definition.links[link.element_id]
        item = WorkItem(
            instance_id=instance.id,
            definition_id=instance.definition_id,
            task_id=link.task_id,
            element_id=link.element_id,
            link_name=meta.name,
            lane=meta.lane,
            role=meta.role.id,
            department=meta.department,
            customer_facing=meta.customer_facing,
            state="ready",
            ready_at=now,
            due_at=to_ms(meta.standard.due(now, link.data, rt.calendar)),
            standard_target=meta.standard.target_for(link.data),
            standard_basis=meta.standard.basis,
        )
        session.add(item)
        record(session, item, "ready", now, None)
    for task_id, item in known.items():
        if item.state in OPEN and states.get(task_id) != "ready":
            # The process moved past this link without it (an interrupting event, a cancel).
            item.state = "cancelled"
            item.ended_at = now
            record(session, item, "cancelled", now, actor)
    session.execute(
        delete(Wait).where(Wait.instance_id == instance.id),
        execution_options={"synchronize_session": False},
    )
    for wait in run.waits():
        session.add(
            Wait(
                instance_id=instance.id,
                kind=wait.kind,
                name=wait.name,
                task_id=wait.task_id,
                element_id=wait.element_id,
                due_at=to_ms(wait.due_at) if wait.due_at is not None else None,
                attached_task_id=wait.attached_to,
            )
        )
    instance.document = rt.engine.dump(run)
    instance.variables = _json_safe(run.data)
    if run.completed:
        instance.status = "completed"
        instance.ended_at = now
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            f"instance {instance.id} was changed by someone else; nothing was saved"
        ) from exc


def _json_safe(data: Mapping[str, object]) -> dict[str, object]:
    safe: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, str | int | float | bool | list | dict) or value is None:
            safe[key] = value
    return safe


def _instance(session: Session, instance_id: int) -> Instance:
    instance = session.get(Instance, instance_id, with_for_update=True)
    if instance is None:
        raise NotFoundError(f"instance {instance_id} does not exist")
    return instance


def _restore(rt: Runtime, instance: Instance) -> Run:
    return rt.engine.restore(rt.definition(instance.definition_id), instance.document)
