"""Reading SpiffWorkflow's task tree: the walk `get_tasks` makes (`_walk`), in one pass, and
what a waiting event or a system step's task becomes in a run's report."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition

from gridflow.definitions.spiff import ExternalTask
from gridflow.engine.reports import SystemStep, Wait
from gridflow.engine.scripts import _attached_link_task

_NO_STATE = 1 << 30
_MAX_DEPTH = 1000  # SpiffWorkflow's TaskIterator default


def _walk(workflow: BpmnWorkflow) -> Iterator[tuple[Any, int]]:
    """Every task `workflow.get_tasks()` can reach, in its order, each with the lowest state
    that stops the walk above it.

    `get_tasks` walks with SpiffWorkflow's BpmnTaskIterator: depth first, a task's subprocess
    (an embedded subprocess's own tree) before its children. It descends below a task only when
    the task's state is at least the lowest state its filter could match, or when the task has
    a subprocess. So a task is part of `get_tasks(state=S)` exactly when it has state S and the
    state returned with it (the lowest state of the ancestors that have no subprocess) is at
    least that bound: FUTURE for the definite states, COMPLETED for the finished ones, MAYBE
    (any) otherwise.
    """
    subprocesses = workflow.subprocesses
    stack: list[tuple[Any, int, int]] = [(workflow.task_tree, _NO_STATE, 0)]
    pop = stack.pop
    push = stack.append
    while stack:
        task, above, depth = pop()
        yield task, above
        children = task._children
        subprocess = subprocesses.get(task.id) if subprocesses else None
        if (children or subprocess is not None) and depth < _MAX_DEPTH:
            below = above
            if subprocess is None:
                state = task._state
                if state < above:
                    below = state
            tasks = task.workflow.tasks
            for child in reversed(children):
                push((tasks.get(child), below, depth + 1))
            if subprocess is not None:
                push((subprocess.task_tree, below, depth + 1))


def _waits(tasks: Iterable[Any]) -> list[Wait]:
    result: list[Wait] = []
    for task in tasks:
        spec = task.task_spec
        if not isinstance(spec, CatchingEvent):
            continue
        attached = _attached_link_task(task)
        attached_id = str(attached.id) if attached is not None else None
        definition = spec.event_definition
        # An event-based gateway waits for each of its events at once (SpiffWorkflow keeps
        # them in one MultipleEventDefinition on the gateway).
        for one in getattr(definition, "event_definitions", None) or [definition]:
            wait = _wait(task, spec, one, attached_id)
            if wait is not None:
                result.append(wait)
    return result


def _wait(task: Any, spec: Any, definition: Any, attached_id: str | None) -> Wait | None:  # noqa: ANN401
    if isinstance(definition, TimerEventDefinition):
        value = task.internal_data.get("event_value")
        due = None
        if isinstance(value, str):
            due = TimerEventDefinition.get_datetime(value)
        elif isinstance(value, dict) and "next" in value:
            due = TimerEventDefinition.get_datetime(value["next"])
        name = definition.name or spec.bpmn_id
        return Wait("timer", name, str(task.id), spec.bpmn_id, _plain(due), attached_id)
    if isinstance(definition, MessageEventDefinition):
        return Wait("message", definition.name, str(task.id), spec.bpmn_id, None, attached_id)
    if isinstance(definition, SignalEventDefinition):
        return Wait("signal", definition.name, str(task.id), spec.bpmn_id, None, attached_id)
    return None


def _system_step(task: Any, spec: Any, state: str) -> SystemStep:  # noqa: ANN401
    external = isinstance(spec, ExternalTask)
    return SystemStep(
        str(task.id),
        spec.bpmn_id,
        spec.bpmn_name or spec.bpmn_id,
        spec.lane,
        "external" if external else "call",
        state,
        task.data,
        spec.topic if external else None,
        spec.priority if external else 0,
    )


def _plain(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment.timestamp(), UTC)
