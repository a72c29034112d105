"""The engine: runs one process instance on SpiffWorkflow, in memory, with gridflow's safe
expression evaluator and injectable clock; saves and restores it without its definition.

With `definitions`, the only module that imports SpiffWorkflow. It knows nothing of the
database: `instances` and `work_items` persist what a run reports.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    MultiInstanceTaskConverter,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from gridflow.clock import Clock
from gridflow.decisions import Decision, evaluate, map_result
from gridflow.definitions import ISO_LITERAL, TIMER_FUNCTIONS, ProcessDefinition, timer_problems
from gridflow.definitions.decision_task import DecisionRef, DecisionTask, DecisionTaskConverter
from gridflow.definitions.spiff import (
    MI_COUNTERS,
    CalledProcess,
    ExternalTask,
    ParallelLoop,
    SequentialLoop,
    VariableMapping,
    boundary_catchers,
)
from gridflow.errors import ExpressionError, GridflowError, Reason
from gridflow.expressions import compile_expression, compile_script
from gridflow.texts import _
from gridflow.working_time import WorkingCalendar


class MigrationRefused(GridflowError):
    """A run that cannot move to another version; each reason names the element."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class EngineError(GridflowError):
    """The process itself failed (a condition on undefined data, for example); names the element.

    `instance_id` is the stored instance it happened in, once known (the verb that restored the
    run sets it), so the failure can be recorded as an incident."""

    def __init__(
        self,
        element_id: str | None,
        message: str,
        instance_id: int | None = None,
        cause: GridflowError | None = None,
    ):
        self.element_id = element_id
        self.detail = message
        self.instance_id = instance_id
        self.incident_id: int | None = None
        super().__init__(f"{element_id or 'process'}: {message}")
        # The detail people read, translatable (texts.refusal): the cause's own catalogue text.
        self.template, self.params = message, {}
        if cause is not None:
            self.template, self.params = cause.template, dict(cause.params)


# --- one clock for SpiffWorkflow's timers -------------------------------------------------------
# SpiffWorkflow reads datetime.now() in its timer module. We replace that module's `datetime`
# with a subclass whose now() reads the clock of the run being stepped, so simulated time drives
# every timer and nothing else in the process changes.

_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar(
    "gridflow_clock", default=None
)


class _ClockDateTime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:  # noqa: ANN401 - signature of datetime.now
        clock = _current.get()
        moment = clock.now() if clock is not None else datetime.now(UTC)
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


spiff_timer.datetime = _ClockDateTime


@contextlib.contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    """Let SpiffWorkflow's timers read this clock inside the block (runs do it themselves)."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)


# --- safe expressions instead of eval/exec ------------------------------------------------


class DecisionSource(Protocol):
    """Where business-rule tasks find their decision tables (the store, in gridflow)."""

    def decision(
        self, reference: DecisionRef, process: ProcessDefinition, element_id: str
    ) -> Decision: ...


class SafeScriptEngine(PythonScriptEngine):
    """Evaluates conditions, timer expressions and scripts with gridflow's expression tree.

    SpiffWorkflow's default engine eval()s Python with full builtins; this one never does.
    """

    def __init__(
        self,
        definition: ProcessDefinition,
        clock: Clock,
        calendar: WorkingCalendar,
        decisions: DecisionSource | None = None,
    ):
        super().__init__(environment=None)
        self.definition = definition
        self.clock = clock
        self.calendar = calendar
        self.decisions = decisions

    def validate(self, expression: str) -> None:
        compile_expression(expression, TIMER_FUNCTIONS)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:  # noqa: ANN401
        text = (expression or "").strip()
        kind = _timer_kind(task)
        if ISO_LITERAL.match(text):
            # Camunda writes timer durations and dates as bare ISO 8601 text.
            value: Any = text
        else:
            try:
                compiled = compile_expression(text, TIMER_FUNCTIONS)
                value = compiled.evaluate(task.data, self._functions(task))
            except ExpressionError as exc:
                raise EngineError(_element_id(task), str(exc), cause=exc) from exc
        if kind is not None:
            # What the lint checks on literals, checked on what the timer is about to use: a
            # malformed, endless or centuries-long timer stops here, naming its event, instead
            # of failing inside SpiffWorkflow or firing every second for ever.
            if not isinstance(value, str):
                raise EngineError(
                    _element_id(task), f"the {kind} timer's value {value!r} is not ISO 8601 text"
                )
            problems = timer_problems(kind, value)
            if problems:
                raise EngineError(_element_id(task), f"{kind}: {problems[0]}")
        return value

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:  # noqa: ANN401
        try:
            updates = compile_script(script).run(task.data, self._functions(task))
        except ExpressionError as exc:
            raise EngineError(_element_id(task), str(exc), cause=exc) from exc
        task.data.update(updates)
        return True

    def decide(self, task: Any, reference: DecisionRef) -> dict[str, object]:  # noqa: ANN401
        """A business-rule task: its decision table evaluated by gridflow.decisions (never
        SpiffWorkflow's DMN engine), the result mapped and stored in the result variable."""
        element_id = _element_id(task) or ""
        if self.decisions is None:
            raise EngineError(element_id, "this engine has no decision tables")
        try:
            decision = self.decisions.decision(reference, self.definition, element_id)
            value = map_result(decision, evaluate(decision, task.data), reference.mapping)
        except GridflowError as exc:
            raise EngineError(element_id, str(exc)) from exc
        return {reference.result_variable: value} if reference.result_variable else {}

    def call_service(self, task: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        raise EngineError(_element_id(task), "service tasks are not supported")

    def _functions(self, task: Any) -> dict[str, Any]:
        def due(duration: str, basis: str = "calendar") -> str:
            return self.calendar.due(self.clock.now(), str(duration), str(basis)).isoformat()

        def standard_due() -> str:
            link_task = _attached_link_task(task)
            if link_task is None:
                raise ExpressionError("standard_due()", "not on a boundary event of a user task")
            link = self.definition.links.get(link_task.task_spec.bpmn_id)
            if link is None:
                raise ExpressionError("standard_due()", "the attached task has no standard")
            return link.standard.due(self.clock.now(), link_task.data, self.calendar).isoformat()

        return {"due": due, "standard_due": standard_due}


_TIMER_KINDS = {
    "TimeDateEventDefinition": "timeDate",
    "DurationTimerEventDefinition": "timeDuration",
    "CycleTimerEventDefinition": "timeCycle",
}


def _timer_kind(task: Any) -> str | None:  # noqa: ANN401
    """timeDate, timeDuration or timeCycle when the task is a timer event being evaluated."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    return _TIMER_KINDS.get(type(definition).__name__)


def _element_id(task: Any) -> str | None:  # noqa: ANN401
    return getattr(task.task_spec, "bpmn_id", None) or getattr(task.task_spec, "name", None)


def _attached_link_task(task: Any) -> Any:  # noqa: ANN401
    """The user task a boundary event task is attached to (its sibling under the split)."""
    if not isinstance(task.task_spec, BoundaryEvent) or task.parent is None:
        return None
    for sibling in task.parent.children:
        if not isinstance(sibling.task_spec, BoundaryEvent):
            return sibling
    return None


# --- what a run reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkTask:
    """A human task of a run as gridflow sees it."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    state: str  # ready | completed | cancelled | future
    data: Mapping[str, object]


@dataclass(frozen=True)
class SystemStep:
    """A step the run hands to the world outside it: an external task for a worker (`kind`
    "external", with its topic and priority) or a called process (`kind` "call")."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    kind: str  # external | call
    state: str  # ready | completed | cancelled | future
    data: Mapping[str, object]
    topic: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class Call:
    """What a called process needs to start: which process, which version, with what."""

    process_id: str
    binding: str  # latest | version | deployment
    version: int | None
    variables: dict[str, object]


@dataclass(frozen=True)
class Wait:
    """Something a run is waiting for: a timer (with its due time) or a message or signal."""

    kind: str  # timer | message | signal
    name: str
    task_id: str
    element_id: str
    due_at: datetime | None = None
    attached_to: str | None = None  # task id of the link a boundary event sits on


# More automatic steps than any process of the company takes between two waits.
MAX_AUTOMATIC_STEPS = 10_000

_STATES = {
    TaskState.READY: "ready",
    TaskState.COMPLETED: "completed",
    TaskState.CANCELLED: "cancelled",
    TaskState.ERROR: "error",
}


class Run:
    """One process instance in memory."""

    def __init__(self, definition: ProcessDefinition, workflow: BpmnWorkflow, clock: Clock):
        self.definition = definition
        self.workflow = workflow
        self.clock = clock
        self.instance_id: int | None = None  # the stored instance, once it has one

    def step(self) -> None:
        """Run every automatic task and fire every timer that is due now."""
        ran = 0

        def count(task: Any) -> None:  # noqa: ANN401
            # A loop of automatic steps with nothing to wait for would spin forever.
            nonlocal ran
            ran += 1
            if ran > MAX_AUTOMATIC_STEPS:
                raise EngineError(
                    _element_id(task),
                    f"the process ran {MAX_AUTOMATIC_STEPS} automatic steps without waiting "
                    "for anyone: a loop with no user task, timer or message in it",
                    self.instance_id,
                )

        with using_clock(self.clock), self._errors():
            # do_engine_steps ends by refreshing timers: a timer that is due becomes READY
            # there and runs only on the next call, so step until nothing automatic is ready.
            for _ in range(1000):
                self.workflow.do_engine_steps(will_complete_task=count)
                if not self._ready_automatic():
                    break

    def _ready_automatic(self) -> bool:
        """Whether a READY task that is not a human task is left (what
        `get_tasks(state=READY, manual=False)` finds, without building the list)."""
        for task, above in _walk(self.workflow):
            if (
                task._state == TaskState.READY
                and above >= TaskState.FUTURE
                and not task.task_spec.manual
            ):
                return True
        return False

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except EngineError as exc:
            exc.instance_id = exc.instance_id or self.instance_id
            raise
        except SpiffWorkflowException as exc:
            cause = exc.__cause__ or getattr(exc, "exception", None)
            if isinstance(cause, EngineError):
                cause.instance_id = cause.instance_id or self.instance_id
                raise cause from exc
            task = getattr(exc, "task", None)
            spec = task.task_spec if task is not None else getattr(exc, "task_spec", None)
            element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
            failed = EngineError(element, str(exc), self.instance_id)
            if str(exc).startswith("No conditions satisfied"):
                failed.template = _("no outgoing flow of this gateway has a condition that holds")
            raise failed from exc
        except (RecursionError, MemoryError, ValueError, TypeError, KeyError) as exc:
            # SpiffWorkflow's own slips on odd data: still the process's failure, not a crash.
            raise EngineError(None, f"{type(exc).__name__}: {exc}", self.instance_id) from exc

    @property
    def completed(self) -> bool:
        return bool(self.workflow.is_completed())

    @property
    def data(self) -> dict[str, object]:
        """The instance's variables: the end's data when finished, else the latest task's."""
        return self.snapshot().data

    def links(self) -> list[LinkTask]:
        """Every human task that is ready, completed or cancelled, in tree order."""
        return self.snapshot().links

    def snapshot(self) -> Snapshot:
        """Links, waits and variables of the run as it stands, from one walk of the task tree.

        Each part equals what SpiffWorkflow's `get_tasks` filters would give (same tasks, same
        tree order): links are human tasks in any state, waits are WAITING catching events
        under unfinished-or-finished parents, the variables are the end's data when finished,
        else those of the completed task that changed state last.
        """
        links: list[LinkTask] = []
        steps: list[SystemStep] = []
        waiting: list[Any] = []
        latest: Any = None
        latest_at = 0.0
        for task, above in _walk(self.workflow):
            state = task._state
            spec = task.task_spec
            if spec.manual:
                name = _STATES.get(state)
                if name is None:
                    pass
                elif isinstance(spec, ExternalTask | CalledProcess):
                    steps.append(_system_step(task, spec, name))
                else:
                    links.append(
                        LinkTask(
                            task_id=str(task.id),
                            element_id=spec.bpmn_id,
                            name=spec.bpmn_name or spec.bpmn_id,
                            lane=spec.lane,
                            state=name,
                            data=task.data,
                        )
                    )
            if state == TaskState.WAITING:
                if above >= TaskState.FUTURE:
                    waiting.append(task)
            elif (
                state == TaskState.COMPLETED
                and above >= TaskState.COMPLETED
                # sorted(..., key=last_state_change)[-1]: the latest, the last one on a tie
                and (latest is None or task.last_state_change >= latest_at)
            ):
                latest = task
                latest_at = task.last_state_change
        completed = self.completed
        if completed:
            data = dict(self.workflow.data)
        else:
            data = dict(latest.data) if latest is not None else {}
        return Snapshot(links, _waits(waiting), data, completed, steps)

    def ready_links(self) -> list[LinkTask]:
        return [link for link in self.links() if link.state == "ready"]

    def complete(self, task_id: str, data: Mapping[str, object]) -> None:
        """Complete a ready human task with (already validated) form data, then step on."""
        task = self._ready_manual(task_id)
        task.data.update(data)
        with using_clock(self.clock), self._errors():
            task.run()
        self.step()

    def _ready_manual(self, task_id: str) -> Any:  # noqa: ANN401
        task = self.workflow.get_task_from_id(UUID(task_id))
        if task is None or not task.task_spec.manual:
            raise EngineError(None, f"no human or system task {task_id} in this instance")
        if task.state != TaskState.READY:
            raise EngineError(task.task_spec.bpmn_id, "this step is not ready")
        return task

    def throw_error(
        self, task_id: str, code: str, variables: Mapping[str, object] | None = None
    ) -> str:
        """A BPMN error from the world outside (a worker) at a ready external task: the task's
        error boundary event for that code (or one that catches every code) takes over, with the
        variables; EngineError naming the element when none catches it. Returns the id of the
        boundary event that caught it."""
        task = self._ready_manual(task_id)
        element = task.task_spec.bpmn_id
        catchers = [
            b
            for b in boundary_catchers(task)
            if isinstance(b.task_spec.event_definition, ErrorEventDefinition)
            and b.task_spec.event_definition.code in (None, "", code)
        ]
        # A boundary event naming the code wins over one that catches every code.
        catchers.sort(key=lambda b: b.task_spec.event_definition.code != code)
        if not catchers:
            raise EngineError(element, f"no error boundary event on it catches error code {code!r}")
        catcher = catchers[0]
        definition = catcher.task_spec.event_definition
        with using_clock(self.clock), self._errors():
            catcher.task_spec.catch(catcher, BpmnEvent(definition, payload=dict(variables or {})))
            catcher.task_spec._update(catcher)
        self.step()
        return str(catcher.task_spec.bpmn_id)

    def call(self, task_id: str) -> Call:
        """What the ready call activity `task_id` starts: the called process, its binding and
        the variables its `camunda:in` mappings give (every variable when it has none)."""
        task = self._ready_manual(task_id)
        spec = task.task_spec
        if not isinstance(spec, CalledProcess):
            raise EngineError(spec.bpmn_id, "not a call activity")
        variables = self._mapped(task, task.data, spec.in_mappings)
        return Call(spec.called_element, spec.binding, spec.version, variables)

    def call_outputs(self, task_id: str, child_data: Mapping[str, object]) -> dict[str, object]:
        """The variables a finished child gives back to the call activity `task_id` through its
        `camunda:out` mappings (none without mappings: Camunda copies nothing unless told)."""
        task = self._ready_manual(task_id)
        spec = task.task_spec
        if not isinstance(spec, CalledProcess):
            raise EngineError(spec.bpmn_id, "not a call activity")
        return self._mapped(task, child_data, spec.out_mappings)

    def _mapped(
        self,
        task: Any,
        source: Mapping[str, object],
        mappings: tuple[VariableMapping, ...],  # noqa: ANN401
    ) -> dict[str, object]:
        result: dict[str, object] = {}
        element = task.task_spec.bpmn_id
        engine = self.workflow.script_engine
        for mapping in mappings:
            if mapping.all:
                result.update({k: v for k, v in source.items() if k not in MI_COUNTERS})
            elif mapping.source_expression:
                try:
                    compiled = compile_expression(mapping.source_expression)
                    value = compiled.evaluate(dict(source), engine._functions(task))
                except ExpressionError as exc:
                    raise EngineError(element, str(exc)) from exc
                result[mapping.target or ""] = value
            elif mapping.source:
                if mapping.source not in source:
                    raise EngineError(element, f"variable {mapping.source!r} to map is not set")
                result[mapping.target or mapping.source] = source[mapping.source]
        return result

    def deliver_message(self, name: str, payload: Mapping[str, object] | None = None) -> bool:
        """Deliver a message to this instance; False when nothing here waits for it.

        The payload lands in the task data under the message's name.
        """
        if not any(w.kind == "message" and w.name == name for w in self.waits()):
            return False
        event = BpmnEvent(
            MessageEventDefinition(name),
            payload={"payload": dict(payload or {}), "result_var": name},
        )
        with using_clock(self.clock), self._errors():
            self.workflow.send_event(event)
        self.step()
        return True

    def send_signal(self, name: str, payload: Mapping[str, object] | None = None) -> bool:
        if not any(w.kind == "signal" and w.name == name for w in self.waits()):
            return False
        event = BpmnEvent(SignalEventDefinition(name), payload=dict(payload or {}))
        with using_clock(self.clock), self._errors():
            self.workflow.send_event(event)
        self.step()
        return True

    def waits(self) -> list[Wait]:
        """Timers, messages and signals this run waits for, with each timer's due time."""
        return _waits(
            task
            for task, above in _walk(self.workflow)
            if task._state == TaskState.WAITING and above >= TaskState.FUTURE
        )


@dataclass(frozen=True)
class Snapshot:
    """What a save needs from a run, computed in one walk: see `Run.snapshot`."""

    links: list[LinkTask]
    waits: list[Wait]
    data: dict[str, object]
    completed: bool
    steps: list[SystemStep] = field(default_factory=list)


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


class _ExternalTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: Any) -> dict[str, Any]:  # noqa: ANN401
        dct = self.get_default_attributes(spec)
        dct.update(topic=spec.topic, priority=spec.priority)
        return dct


class _CalledProcessConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: Any) -> dict[str, Any]:  # noqa: ANN401
        dct = self.get_default_attributes(spec)
        dct.update(
            called_element=spec.called_element,
            binding=spec.binding,
            version=spec.version,
            in_mappings=[m.__dict__ for m in spec.in_mappings],
            out_mappings=[m.__dict__ for m in spec.out_mappings],
        )
        return dct


class _LoopConverter(MultiInstanceTaskConverter):
    def to_dict(self, spec: Any) -> dict[str, Any]:  # noqa: ANN401
        dct = super().to_dict(spec)
        dct.update(collection=spec.collection, element_variable=spec.element_variable)
        return dct


# Converters only let version diffs (migration) compare gridflow's own specs; runs are saved
# without their specs.
_CONFIG = {
    **CAMUNDA_CONFIG,
    ExternalTask: _ExternalTaskConverter,
    CalledProcess: _CalledProcessConverter,
    ParallelLoop: _LoopConverter,
    SequentialLoop: _LoopConverter,
    # Business-rule tasks are gridflow's DecisionTask (see definitions.decision_task).
    DecisionTask: DecisionTaskConverter,
}


class Engine:
    """Starts and restores runs; one per application, shared by every request."""

    def __init__(
        self, clock: Clock, calendar: WorkingCalendar, decisions: DecisionSource | None = None
    ):
        self.clock = clock
        self.calendar = calendar
        self.decisions = decisions
        self._serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_CONFIG))
        registry = self._serializer.registry
        self._converter = _workflow_converter(registry)
        self._encoder = self._serializer._encoder_cls(separators=(",", ":"))
        # dump() writes what BpmnWorkflowConverter.to_dict writes, minus the specs it would
        # convert only for us to drop, and converts tasks as TaskConverter does, with less
        # machinery around it; restore() reads tasks as TaskConverter.from_dict does. Both
        # take the long way when the registry holds converters other than those.
        self._task_converter = _converter_of(registry, "Task")
        self._short_dump = type(self._converter).to_dict is BpmnWorkflowConverter.to_dict
        self._short_tasks = (
            self._short_dump
            and type(self._task_converter).to_dict is TaskConverter.to_dict
            and type(self._task_converter).from_dict is TaskConverter.from_dict
            and registry.typenames.get(self._task_converter.target_class) == "Task"
        )

    def _script_engine(self, definition: ProcessDefinition) -> SafeScriptEngine:
        return SafeScriptEngine(definition, self.clock, self.calendar, self.decisions)

    def _new_workflow(self, definition: ProcessDefinition) -> BpmnWorkflow:
        spec, subprocess_specs = definition.spiff_specs
        workflow = BpmnWorkflow(spec, subprocess_specs)
        workflow.script_engine = self._script_engine(definition)
        return workflow

    def start(self, definition: ProcessDefinition, variables: Mapping[str, object]) -> Run:
        """A new run with the demand's variables, stepped to its first links.

        A process whose start event waits for a message gets that message here, with the same
        variables as its payload (the event that starts it carries them).
        """
        workflow = self._new_workflow(definition)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        run = Run(definition, workflow, self.clock)
        run.step()
        if definition.message_start is not None:
            for task in workflow.get_tasks(state=TaskState.WAITING):
                task.data.update(variables)
            if not run.deliver_message(definition.message_start, variables):
                raise EngineError(
                    None, f"start event does not wait for {definition.message_start!r}"
                )
            run.workflow.task_tree.data.update(variables)
        return run

    def dump(self, run: Run) -> str:
        """The run as JSON, without its process definition (stored once per version)."""
        registry = self._serializer.registry
        workflow = run.workflow
        registry._encoder_mode = True
        try:
            if self._short_dump:
                conv = self._converter
                # BpmnWorkflowConverter.to_dict without "spec" and "subprocess_specs", in the
                # same key order, then the typename the registry adds.
                if self._short_tasks:
                    document = {
                        "data": registry.convert(registry.clean(workflow.data)),
                        "correlations": workflow.correlations,
                        "last_task": (
                            str(workflow.last_task.id) if workflow.last_task is not None else None
                        ),
                        "success": workflow.success,
                        "completed": workflow.completed,
                        "tasks": self._tasks_to_dict(workflow),
                        "root": str(workflow.task_tree.id),
                    }
                else:
                    document = WorkflowConverter.to_dict(conv, workflow)
                document["subprocesses"] = conv.mapping_to_dict(workflow.subprocesses)
                document["bpmn_events"] = registry.convert(workflow.bpmn_events)
                document["typename"] = conv.typename
            else:
                document = self._serializer.to_dict(workflow)
                document.pop("spec", None)
                document.pop("subprocess_specs", None)
            document[BpmnWorkflowSerializer.VERSION_KEY] = VERSION
            return str(self._encoder.encode(document))
        finally:
            registry._encoder_mode = False

    def restore(self, definition: ProcessDefinition, document: str) -> Run:
        """The run saved by `dump`, on the definition of the version it started on."""
        data = json.loads(document, cls=self._serializer.json_decoder_cls)
        self._serializer.migrate(data)
        spec, subprocess_specs = definition.spiff_specs
        converter = self._serializer.registry
        # Nothing runs while a workflow is built for deserializing, so it can get its script
        # engine at once instead of a default one first.
        workflow = BpmnWorkflow(
            spec,
            subprocess_specs,
            script_engine=self._script_engine(definition),
            deserializing=True,
        )
        conv = self._converter
        if self._short_tasks:
            workflow.tasks = self._tasks_from_dict(data["tasks"], workflow)
        else:
            workflow.tasks = conv.mapping_from_dict(data["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(data["root"]))
        conv.set_default_attributes(workflow, data)
        conv.subprocesses_from_dict(data["subprocesses"], workflow)
        workflow.bpmn_events = converter.restore(data.pop("bpmn_events", []))
        return Run(definition, workflow, self.clock)

    def migrate(self, run: Run, definition: ProcessDefinition) -> Run:
        """The run moved onto another version's definition, or MigrationRefused saying why not.

        Tasks are matched to the new version by element id (SpiffWorkflow's `diff_workflow`
        and `migrate_workflow`); ready links and waiting events are re-predicted on the new
        version and keep their task ids. Every link the run holds open must exist in the new
        version under the same element id, and every task the run has (finished ones too)
        must have its element there, or the saved document could not be restored.

        Timers already waiting keep the due time they had: a link's promised time does not move
        because its process was redesigned. `run` itself is changed; restore it again to retry.
        """
        workflow = run.workflow
        spec, subprocess_specs = definition.spiff_specs
        reasons: list[str] = []
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            element_id = task.task_spec.bpmn_id
            if element_id not in definition.links:
                reasons.append(
                    Reason(
                        _("open link %(link)s does not exist in the new version"),
                        link=repr(element_id),
                    )
                )
        if reasons:
            raise MigrationRefused(reasons)
        timers = {
            task.id: (task.task_spec.bpmn_id, task.internal_data.get("event_value"))
            for task in workflow.get_tasks(state=TaskState.WAITING)
            if "event_value" in task.internal_data
        }
        top_diff, subprocess_diffs = diff_workflow(
            self._serializer.registry, workflow, spec, subprocess_specs
        )
        workflow.script_engine = self._script_engine(definition)
        with using_clock(self.clock), run._errors():
            migrate_workflow(top_diff, workflow, spec)
            for subprocess_id, subprocess_diff in subprocess_diffs.items():
                subprocess = workflow.subprocesses.get(subprocess_id)
                if subprocess is None:
                    continue
                if subprocess_diff is None:
                    reasons.append(
                        Reason(
                            _("subprocess %(name)s does not exist in the new version"),
                            name=repr(subprocess.spec.name),
                        )
                    )
                    continue
                migrate_workflow(
                    subprocess_diff, subprocess, subprocess_specs[subprocess.spec.name]
                )
        workflow.subprocess_specs = subprocess_specs
        for task in workflow.get_tasks():
            task_specs = task.workflow.spec.task_specs
            if task_specs.get(task.task_spec.name) is not task.task_spec:
                name = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
                reasons.append(
                    Reason(
                        _("step %(name)s, already reached, does not exist in the new version"),
                        name=repr(name),
                    )
                )
        if reasons:
            raise MigrationRefused(sorted(set(reasons)))
        for task in workflow.get_tasks(state=TaskState.WAITING):
            kept = timers.get(task.id)
            if kept is not None and kept[0] == task.task_spec.bpmn_id:
                task.internal_data["event_value"] = kept[1]
        moved = Run(definition, workflow, self.clock)
        moved.step()
        return moved

    def _tasks_to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """`mapping_to_dict(workflow.tasks)` in encoder mode: TaskConverter.to_dict of each task
        plus its typename, the same dictionaries in the same order."""
        convert = self._serializer.registry.convert
        task_class = self._task_converter.target_class
        tasks = workflow.tasks
        result: dict[str, Any] = {}
        for key, task in tasks.items():
            if task.__class__ is not task_class:
                result[str(key)] = convert(task)
                continue
            parent = task.workflow.tasks.get(task._parent)
            if parent is None:
                data = task.data
                delta: dict[str, Any] = {}
            else:
                data = {}
                before = parent.data
                after = task.data
                delta = {
                    # DeepMerge.get_updated_keys and get_deleted_keys
                    "updates": {
                        k: after[k] for k in after if k not in before or after[k] != before[k]
                    },
                    "deletions": [k for k in before if k not in after],
                }
            result[str(key)] = {
                "id": str(task.id),
                "parent": str(task._parent) if parent is not None else None,
                "children": [str(child) for child in task._children],
                "last_state_change": task.last_state_change,
                "state": task.state,
                "task_spec": task.task_spec.name,
                "triggered": task.triggered,
                "internal_data": convert(task.internal_data),
                "data": data,
                "delta": delta,
                "typename": "Task",
            }
        return result

    def _tasks_from_dict(self, dcts: Mapping[str, Any], workflow: BpmnWorkflow) -> dict[UUID, Any]:
        """`mapping_from_dict(tasks, UUID, workflow=workflow)`: TaskConverter.from_dict of each
        task, in order, each id parsed once."""
        registry = self._serializer.registry
        restore = registry.restore
        task_class = self._task_converter.target_class
        specs = workflow.spec.task_specs
        tasks = workflow.tasks
        uuids: dict[str, UUID] = {}

        def uuid(text: str) -> UUID:
            value = uuids.get(text)
            if value is None:
                value = uuids[text] = UUID(text)
            return value

        result: dict[UUID, Any] = {}
        for key, dct in dcts.items():
            if dct.get("typename") != "Task":
                result[UUID(key)] = restore(dct, workflow=workflow)
                continue
            task_spec = specs.get(dct["task_spec"])
            task = task_class(workflow, task_spec, state=dct["state"], id=uuid(dct["id"]))
            task._parent = uuid(dct["parent"]) if dct["parent"] is not None else None
            task._children = [uuid(child) for child in dct["children"]]
            task.last_state_change = dct["last_state_change"]
            task.triggered = dct["triggered"]
            internal = dct["internal_data"]
            task.internal_data = {} if internal == {} else restore(internal)
            if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
                task.workflow.top_workflow.event_manager.add_task(task)
            delta = dct.get("delta")
            parent = tasks.get(task._parent)
            if delta and parent is not None:
                data = DeepMerge.merge({}, parent.data)
                data.update(restore(delta.get("updates", {})))
                for name in delta.get("deletions", {}):
                    if name in data:
                        del data[name]
            else:
                data = restore(dct["data"])
            task.data = data
            result[uuid(key)] = task
        return result


def _workflow_converter(registry: Any) -> Any:  # noqa: ANN401
    return _converter_of(registry, "BpmnWorkflow")


def _converter_of(registry: Any, typename: str) -> Any:  # noqa: ANN401
    from_dict = registry.convert_from_dict[typename]
    # DictionaryConverter wraps each converter's from_dict in functools.partial(_obj_from_dict, f)
    return from_dict.args[0].__self__
