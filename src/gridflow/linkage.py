"""Linkage events: an event is taken once under its key, checked against its type's schema,
and every rule on its type whose condition holds acts; then a dispatch round gives the work it
started to people. Breached standards (the `escalated` task events the timer worker records)
come in as internal `standard_breached` events.

Starting processes, notes and escalations are written in the event's own transaction with the
event row, marked unfinished; messages and signals reach running instances right after it (each
instance in its own transaction, as instances.deliver_message does), then the dispatch round,
then the answer is stored. A retry of an event a crash left unfinished finishes it: deliveries
reach only instances still waiting and the round is keyed by the event, so nothing is doubled.
An escalation the instance already raised itself (a boundary timer to a link of the role) is
not raised a second time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from gridflow import definitions, dispatch, linkage_notes
from gridflow.errors import ConflictError, DefinitionError
from gridflow.instances import deliver_message, send_signal, start_instance
from gridflow.models import (
    Comment,
    Definition,
    Demand,
    Instance,
    LinkageEvent,
    TaskEvent,
    Wait,
    WorkItem,
    to_ms,
)
from gridflow.notifications import triggers
from gridflow.roles import SYSTEM, RoleBook
from gridflow.rules import (
    RULES_FILE,
    EventError,
    RuleBook,
    catalogue_of,
    note_key,
)
from gridflow.rules import load as load_rules
from gridflow.runtime import Runtime, processes_dir

EVENTS = cast(Table, LinkageEvent.__table__)
COMMENTS = cast(Table, Comment.__table__)
MAX_KEY = 100
NOTE_AUTHOR = linkage_notes.NOTE_AUTHOR
# How long the request that takes an event has to finish it (deliveries, dispatch) before a
# retry may finish it instead; requests with the same key meanwhile wait for its answer, at
# most WAIT_FOR_ANSWER seconds of wall time (then 409: try again).
LEASE = timedelta(seconds=60)
WAIT_FOR_ANSWER = 30.0
POLL = 0.02


@dataclass(frozen=True)
class Received:
    body: dict[str, Any]
    replayed: bool = False
    # The event's own transaction committed but its deliveries and dispatch did not finish.
    unfinished: bool = False


# Actions that reach running instances after the event's own transaction (each instance in its
# own transaction); the others are written with the event row.
DELIVERED_AFTER = ("signal", "correlate")


_books: dict[tuple[str, float], RuleBook] = {}
_books_lock = threading.Lock()


def rulebook(roles: RoleBook, folder: Path | None = None) -> RuleBook:
    """The rules in `folder`/rules.yaml (default: the processes folder), checked against the
    BPMN files beside it; read again when the file changes."""
    folder = folder or processes_dir()
    path = folder / RULES_FILE
    stamp = (str(path.resolve()), path.stat().st_mtime)
    with _books_lock:
        if stamp not in _books:
            _books[stamp] = load_rules(path, catalogue_for(folder, roles))
        return _books[stamp]


def catalogue_for(folder: Path, roles: RoleBook) -> Any:  # noqa: ANN401 - a rules.Catalogue
    found = []
    for path in definitions.bpmn_files([folder]):
        try:
            found.append(definitions.load(path, roles))
        except DefinitionError:
            continue  # its own lint reports it
    return catalogue_of(found)


def receive(
    rt: Runtime,
    book: RuleBook,
    event_type: object,
    key: object,
    payload: object,
    *,
    source: str,
    internal: bool = False,
    task_event_id: int | None = None,
) -> Received:
    """Take one event: the first time under its key, act on it; again, answer the same."""
    if not isinstance(key, str) or not 1 <= len(key.strip()) <= MAX_KEY:
        raise EventError(f"key is required: a text of 1 to {MAX_KEY} characters")
    key = key.strip()
    kind = book.event_type(event_type, internal=internal)
    checked = kind.check(payload)
    earlier = _replay(rt, key, kind.name)
    if earlier is not None and not earlier.unfinished:
        return earlier
    if earlier is None:
        try:
            event_id, started, actions = _act(
                rt, book, kind.name, key, checked, source, task_event_id
            )
        except IntegrityError:
            earlier = _replay(rt, key, kind.name)
            if earlier is None:
                raise
            if not earlier.unfinished:
                return earlier
    if earlier is not None:
        # Taken, not finished: another request is finishing it (wait for its answer), or one
        # crashed between the event's transaction and its deliveries (finish it now:
        # deliveries reach only instances still waiting, and the dispatch round is keyed by
        # the event, so nothing is done twice).
        answer = _answer_or_take(rt, key, kind.name)
        if answer is not None:
            return answer
        event_id = earlier.body["id"]
        started = list(earlier.body["started"])
        actions = list(earlier.body["actions"])
    try:
        return _finish(rt, book, kind.name, key, checked, event_id, started, actions)
    except BaseException:
        # Let a retry finish it at once rather than when the lease runs out.
        with rt.db.transaction() as connection:
            connection.execute(
                update(EVENTS).where(EVENTS.c.id == event_id).values(taken_until=None)
            )
        raise


def _answer_or_take(rt: Runtime, key: str, event_type: str) -> Received | None:
    """The answer of the request finishing this event (waiting for it), or None when this
    request has taken the event over (its taker's lease ran out, or it gave the event up)."""
    waited_until = time.monotonic() + WAIT_FOR_ANSWER
    while True:
        now = to_ms(rt.clock.now())
        with rt.db.transaction() as connection:
            taken = connection.execute(
                update(EVENTS)
                .where(
                    EVENTS.c.key == key,
                    or_(EVENTS.c.taken_until.is_(None), EVENTS.c.taken_until < now),
                )
                .values(taken_until=now + LEASE)
            )
            if taken.rowcount == 1:
                outcome = dict(
                    connection.scalar(select(EVENTS.c.outcome).where(EVENTS.c.key == key)) or {}
                )
                if not outcome.get("unfinished"):
                    # Finished between our look and our take: give it back, answer as it did.
                    connection.execute(
                        update(EVENTS).where(EVENTS.c.key == key).values(taken_until=None)
                    )
                    return Received(outcome, replayed=True)
                return None
        earlier = _replay(rt, key, event_type)
        if earlier is not None and not earlier.unfinished:
            return earlier
        if time.monotonic() > waited_until:
            raise ConflictError(f"event {key!r} is still being taken by another request; retry")
        time.sleep(POLL)


def _finish(
    rt: Runtime,
    book: RuleBook,
    event_type: str,
    key: str,
    checked: Mapping[str, object],
    event_id: int,
    started: list[int],
    actions: list[dict[str, Any]],
) -> Received:
    """Deliver the event's messages and signals, dispatch the work it started, keep the
    answer (and give up the lease)."""
    for rule in book.for_event(event_type):
        if rule.applies(checked):
            for action in rule.actions:
                if action.kind in DELIVERED_AFTER:
                    values = {name: e.evaluate(checked) for name, e in action.values.items()}
                    actions.append(_deliver(rt, rule.id, action, values, checked))
    body: dict[str, Any] = {
        "id": event_id,
        "key": key,
        "type": event_type,
        "payload": checked,
        "rules": sorted({a["rule"] for a in actions}),
        "actions": actions,
        "dispatched": [],
    }
    if started:
        round_ = dispatch.run_round(rt, f"event:{key}"[:100])
        body["dispatched"] = [
            {
                "work_item_id": a.work_item_id,
                "link_name": a.link_name,
                "assignee": a.username,
                "equipment": a.equipment,
                "reasons": a.reasons,
            }
            for a in round_.assignments
        ]
    with rt.db.transaction() as connection:
        connection.execute(
            update(EVENTS).where(EVENTS.c.id == event_id).values(outcome=body, taken_until=None)
        )
    return Received(body)


def _replay(rt: Runtime, key: str, event_type: str) -> Received | None:
    with rt.db.read() as session:
        row = session.execute(
            select(LinkageEvent.type, LinkageEvent.outcome).where(LinkageEvent.key == key)
        ).first()
    if row is None:
        return None
    if row.type != event_type:
        raise ConflictError(f"key {key!r} was already used for a {row.type} event")
    outcome = dict(row.outcome)
    return Received(outcome, replayed=True, unfinished=bool(outcome.get("unfinished")))


def _act(
    rt: Runtime,
    book: RuleBook,
    event_type: str,
    key: str,
    payload: Mapping[str, object],
    source: str,
    task_event_id: int | None,
) -> tuple[int, list[int], list[dict[str, Any]]]:
    now = to_ms(rt.clock.now())
    actions: list[dict[str, Any]] = []
    started: list[int] = []
    with rt.db.transaction() as connection:
        event_id = connection.execute(
            EVENTS.insert().returning(EVENTS.c.id),
            {
                "key": key,
                "type": event_type,
                "payload": dict(payload),
                "source": source[:200],
                "received_at": now,
                "outcome": {},
                "task_event_id": task_event_id,
                "taken_until": now + LEASE,
            },
        ).scalar_one()
        business_key = f"{event_type}:{key}"[:100]
        for rule in book.for_event(event_type):
            if not rule.applies(payload):
                continue
            for action in rule.actions:
                values = {name: e.evaluate(payload) for name, e in action.values.items()}
                if action.kind == "start":
                    done = start_instance(
                        rt,
                        action.target,
                        values,
                        business_key=business_key,
                        demand_id=_demand_named(connection, payload),
                        connection=connection,
                    )
                    started.append(done.instance_id)
                    actions.append(
                        {
                            "rule": rule.id,
                            "action": "start",
                            "process": action.target,
                            "instance_id": done.instance_id,
                        }
                    )
                elif action.kind == "note_demands":
                    refs = _note(
                        connection,
                        action.target,
                        values[action.target],
                        linkage_notes.body(note_key(rule, action), action.text, payload),
                        now,
                    )
                    actions.append({"rule": rule.id, "action": "note_demands", "demands": refs})
                elif action.kind == "notify_customers":
                    area = payload.get("area")
                    refs = triggers.outage(
                        rt,
                        connection,
                        now,
                        f"{event_type}:{key}",
                        str(values["feeder"]),
                        area if isinstance(area, str) else None,
                    )
                    actions.append({"rule": rule.id, "action": "notify_customers", "demands": refs})
                elif action.kind == "escalate":
                    held = _escalated_in_process(connection, action.target, payload)
                    if held is not None:
                        # The process escalated in itself (a boundary timer to a link of
                        # this role): one late arrival is one link for the role, not two.
                        actions.append(
                            {
                                "rule": rule.id,
                                "action": "escalate",
                                "role": action.target,
                                "escalated_in_process": held,
                            }
                        )
                        continue
                    instance_id = _escalate(
                        rt, connection, action.target, values, payload, business_key
                    )
                    started.append(instance_id)
                    actions.append(
                        {
                            "rule": rule.id,
                            "action": "escalate",
                            "role": action.target,
                            "instance_id": instance_id,
                        }
                    )
        # What is done so far, so that a retry after a crash finishes the event (receive).
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.id == event_id)
            .values(
                outcome={"id": event_id, "unfinished": True, "started": started, "actions": actions}
            )
        )
    return event_id, started, actions


_OPEN_DEMAND_INSTANCES = (
    select(Instance.id, Demand.reference, Demand.details)
    .join(Demand, Demand.id == Instance.demand_id)
    .where(Instance.status == "running")
    .order_by(Instance.id)
)


def _note(
    connection: Connection, detail: str, value: object, text: str, now: datetime
) -> list[str]:
    """A note on the latest link of every running instance of a demand whose detail matches."""
    matching = [
        (row.id, row.reference)
        for row in connection.execute(_OPEN_DEMAND_INSTANCES)
        if (row.details or {}).get(detail) == value
    ]
    if not matching:
        return []
    ids = [instance_id for instance_id, _ in matching]
    latest = dict(
        connection.execute(
            select(WorkItem.instance_id, func.max(WorkItem.id))
            .where(WorkItem.instance_id.in_(ids))
            .group_by(WorkItem.instance_id)
        ).all()
    )
    connection.execute(
        COMMENTS.insert(),
        [
            {
                "instance_id": instance_id,
                "work_item_id": latest.get(instance_id),
                "author": NOTE_AUTHOR,
                "body": text,
                "at": now,
            }
            for instance_id, _ in matching
        ],
    )
    return sorted({reference for _, reference in matching})


def _escalated_in_process(
    connection: Connection, role: str, payload: Mapping[str, object]
) -> int | None:
    """The link of `role` the instance the event names opened itself after the breached link
    became ready (a boundary timer to an escalation link), whether or not it is done yet."""
    instance_id, breached = payload.get("instance_id"), payload.get("work_item_id")
    if not isinstance(instance_id, int) or not isinstance(breached, int):
        return None
    return connection.scalar(
        select(func.min(WorkItem.id)).where(
            WorkItem.instance_id == instance_id,
            WorkItem.role == role,
            WorkItem.id > breached,
        )
    )


def _demand_named(connection: Connection, payload: Mapping[str, object]) -> int | None:
    """The demand an event is about, when its payload names one (a `demand` reference, or the
    `instance_id` of one of its processes): a process a rule starts runs on its timeline."""
    reference = payload.get("demand")
    if isinstance(reference, str):
        return connection.scalar(select(Demand.id).where(Demand.reference == reference))
    instance_id = payload.get("instance_id")
    if isinstance(instance_id, int):
        return connection.scalar(select(Instance.demand_id).where(Instance.id == instance_id))
    return None


def _escalate(
    rt: Runtime,
    connection: Connection,
    role: str,
    values: Mapping[str, object],
    payload: Mapping[str, object],
    business_key: str,
) -> int:
    demand_id = None
    if isinstance(payload.get("instance_id"), int):
        demand_id = _demand_named(connection, {"instance_id": payload["instance_id"]})
    variables = {k: v for k, v in payload.items() if v is not None}
    variables.update(values)
    variables["role"] = role
    started = start_instance(
        rt,
        "escalation",
        variables,
        business_key=business_key,
        demand_id=demand_id,
        connection=connection,
    )
    return started.instance_id


def _deliver(
    rt: Runtime,
    rule_id: str,
    action: Any,  # noqa: ANN401 - a rules.Action
    values: Mapping[str, object],
    payload: Mapping[str, object],
) -> dict[str, Any]:
    if action.kind == "signal":
        reached = send_signal(rt, action.target, dict(payload))
        return {"rule": rule_id, "action": "signal", "signal": action.target, "reached": reached}
    with rt.db.read() as session:
        waiting = session.execute(
            select(Instance.id, Instance.business_key, Instance.variables)
            .where(
                Instance.status == "running",
                Instance.id.in_(
                    select(Wait.instance_id).where(
                        Wait.kind == "message", Wait.name == action.target
                    )
                ),
            )
            .order_by(Instance.id)
        ).all()
    delivered = []
    for row in waiting:
        variables = row.variables or {}
        if all(
            (row.business_key if name == "business_key" else variables.get(name)) == value
            for name, value in values.items()
        ) and deliver_message(rt, row.id, action.target, dict(payload)):
            delivered.append(row.id)
    return {
        "rule": rule_id,
        "action": "correlate",
        "message": action.target,
        "instances": delivered,
    }


_NEW_BREACHES = (
    select(
        TaskEvent.id,
        TaskEvent.instance_id,
        TaskEvent.work_item_id,
        TaskEvent.element_id,
        TaskEvent.link_name,
        Definition.process_id,
        Instance.variables,
    )
    .join(Instance, Instance.id == TaskEvent.instance_id)
    .join(Definition, Definition.id == TaskEvent.definition_id)
    .join(WorkItem, WorkItem.id == TaskEvent.work_item_id)
    .where(
        TaskEvent.lifecycle == "escalated",
        # A breach matters while its link is still open (history is not escalated again).
        WorkItem.state.in_(("ready", "claimed")),
        ~select(LinkageEvent.id).where(LinkageEvent.task_event_id == TaskEvent.id).exists(),
    )
    .order_by(TaskEvent.id)
    .limit(100)
)


def feed_breaches(rt: Runtime, book: RuleBook) -> int:
    """Turn breached standards not yet seen into `standard_breached` events; how many."""
    if "standard_breached" not in book.events:
        return 0
    with rt.db.read() as session:
        rows = session.execute(_NEW_BREACHES).all()
    for row in rows:
        variables = row.variables or {}
        payload: dict[str, object] = {
            "process": row.process_id,
            "link": row.element_id,
            "link_name": row.link_name,
            "instance_id": row.instance_id,
            "work_item_id": row.work_item_id,
        }
        for name in ("area", "feeder"):
            if isinstance(variables.get(name), str) and variables[name]:
                payload[name] = variables[name]
        receive(
            rt,
            book,
            "standard_breached",
            f"breach:{row.id}",
            payload,
            source=SYSTEM.username,
            internal=True,
            task_event_id=row.id,
        )
    return len(rows)


_UNFED_BREACHES = (
    select(func.count(TaskEvent.id), func.min(TaskEvent.at))
    .join(WorkItem, WorkItem.id == TaskEvent.work_item_id)
    .where(
        TaskEvent.lifecycle == "escalated",
        WorkItem.state.in_(("ready", "claimed")),
        ~select(LinkageEvent.id).where(LinkageEvent.task_event_id == TaskEvent.id).exists(),
    )
)


def unfed_breaches(rt: Runtime) -> tuple[int, float]:
    """Breached standards of open links not yet fed to the rules, and the seconds since the
    oldest was recorded (0 when none is)."""
    now = rt.clock.now()
    with rt.db.snapshot() as connection:
        count, oldest = connection.execute(_UNFED_BREACHES).one()
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return int(count or 0), lag
