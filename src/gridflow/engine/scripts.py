"""Safe expressions instead of eval/exec: the `SafeScriptEngine` that evaluates conditions,
timer expressions, scripts and business-rule tasks with gridflow's expression tree, and where
business-rule tasks find their tables (`DecisionSource`)."""

from __future__ import annotations

from typing import Any, Protocol

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent

from gridflow.clock import Clock
from gridflow.decisions import Decision, evaluate, map_result
from gridflow.definitions import ISO_LITERAL, TIMER_FUNCTIONS, ProcessDefinition, timer_problems
from gridflow.definitions.decision_task import DecisionRef
from gridflow.engine.errors import EngineError
from gridflow.errors import ExpressionError, GridflowError
from gridflow.expressions import compile_expression, compile_script
from gridflow.working_time import WorkingCalendar


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
