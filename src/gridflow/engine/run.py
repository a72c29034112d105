"""One process instance in memory (`Run`): stepping it, completing its links, throwing a
worker's BPMN error, calling and returning from called processes, delivering messages and
signals, and what it reports; SpiffWorkflow's failures become `EngineError`s here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from gridflow.clock import Clock
from gridflow.definitions import ProcessDefinition
from gridflow.definitions.spiff import (
    MI_COUNTERS,
    CalledProcess,
    ExternalTask,
    VariableMapping,
    boundary_catchers,
)
from gridflow.engine.clock_hook import using_clock
from gridflow.engine.errors import EngineError
from gridflow.engine.reports import Call, LinkTask, Snapshot, SystemStep, Wait
from gridflow.engine.scripts import _element_id
from gridflow.engine.tree import _system_step, _waits, _walk
from gridflow.errors import ExpressionError
from gridflow.expressions import compile_expression
from gridflow.texts import _

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
