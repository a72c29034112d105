"""gridflow's own SpiffWorkflow task specs and the parser that builds them from what Camunda
Modeler writes.

SpiffWorkflow would run a service task by calling out from the engine, run a call activity as
a subprocess inside the caller's document, and run a multi-instance task with its own idea of
collections. gridflow does none of that:

- an **external task** (`serviceTask camunda:type="external" camunda:topic=…`) waits, READY, until
  a worker of another system completes it through the API (Camunda 7's external-task pattern);
- a **called process** (`callActivity calledElement=…`) waits, READY, while a child instance of
  the called process runs on its own version, and is completed with the child's outputs;
- a **multi-instance** task follows Camunda's semantics: `camunda:collection` (an expression or a
  variable name) or `loopCardinality`, `camunda:elementVariable` set in each instance,
  `completionCondition` read after each instance ends, with `nrOfInstances`,
  `nrOfCompletedInstances` and `nrOfActiveInstances`; each instance's form values land in the
  task's data (the last one wins, as process variables do in Camunda).

The engine stores runs without their specs, so these specs need no serializer of their own;
the engine registers converters only so that version diffs (migration) can compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.bpmn.specs.mixins import BpmnSpecMixin
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS,
    CamundaTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from gridflow.bpmn import BPMN_NS
from gridflow.definitions.decision_task import DecisionTask, DecisionTaskParser

_CAMUNDA = "{" + CAMUNDA_MODEL_NS + "}"
# Variables the engine keeps for each instance of a multi-instance task and for the task itself.
LOOP_COUNTER = "loopCounter"
MI_COUNTERS = ("nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances")


class ExternalTask(BpmnSpecMixin):
    """A service task a worker of another system fetches, locks and completes."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, priority: int = 0, **kwargs: Any):  # noqa: ANN401
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = True
        self.topic = topic
        self.priority = priority


@dataclass(frozen=True)
class VariableMapping:
    """One `camunda:in` or `camunda:out`: a variable (or an expression) copied under a name, or
    every variable (`variables="all"`)."""

    source: str | None = None
    source_expression: str | None = None
    target: str | None = None
    all: bool = False


class CalledProcess(BpmnSpecMixin):
    """A call activity: waits while a child instance of another process runs."""

    def __init__(
        self,
        wf_spec: Any,  # noqa: ANN401
        bpmn_id: str,
        called_element: str,
        binding: str = "latest",
        version: int | None = None,
        in_mappings: tuple[VariableMapping, ...] = (),
        out_mappings: tuple[VariableMapping, ...] = (),
        **kwargs: Any,
    ):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = True
        self.called_element = called_element
        self.binding = binding
        self.version = version
        self.in_mappings = in_mappings
        self.out_mappings = out_mappings


class _CamundaLoop:  # mixed into SpiffWorkflow's multi-instance specs below
    """Camunda's multi-instance semantics over SpiffWorkflow's multi-instance task specs.

    `collection` is an expression or a variable name giving a list; `element_variable` is set in
    each instance's data; `cardinality` gives a count when there is no collection.
    """

    cardinality: str | None
    condition: str | None
    task_spec: str

    def __init__(
        self,
        wf_spec: Any,  # noqa: ANN401
        bpmn_id: str,
        collection: str | None = None,
        element_variable: str | None = None,
        **kwargs: Any,
    ):
        # Before SpiffWorkflow's multi-instance spec in the method order of both loops.
        super().__init__(wf_spec, bpmn_id, **kwargs)  # type: ignore[call-arg]
        self.collection = collection
        self.element_variable = element_variable

    def merge_child(self, workflow: Any, child: Any) -> None:  # noqa: ANN401
        raise NotImplementedError

    def _items(self, my_task: Any) -> list[Any]:  # noqa: ANN401
        engine = my_task.workflow.script_engine
        if self.collection is not None:
            value = engine.evaluate(my_task, _as_expression(self.collection))
            if not isinstance(value, list | tuple):
                raise WorkflowDataException(
                    f"the collection {self.collection!r} is {type(value).__name__}, not a list",
                    task=my_task,
                )
            return list(value)
        count = engine.evaluate(my_task, _as_expression(self.cardinality or "0"))
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000:
            raise WorkflowDataException(
                f"the loop cardinality {self.cardinality!r} is {count!r}, "
                "not a count from 0 to 1000",
                task=my_task,
            )
        return list(range(count))

    def _start_loop(self, my_task: Any) -> list[Any]:  # noqa: ANN401
        BpmnSpecMixin._update_hook(self, my_task)
        items = self._items(my_task)
        my_task.internal_data["merged"] = []
        my_task.internal_data["items"] = items
        my_task.internal_data["created"] = 0
        my_task.data.update({"nrOfInstances": len(items), "nrOfCompletedInstances": 0})
        return items

    def _add_instance(self, my_task: Any) -> None:  # noqa: ANN401
        index = my_task.internal_data["created"]
        item = my_task.internal_data["items"][index]
        my_task.internal_data["created"] = index + 1
        child_spec = my_task.workflow.spec.task_specs[self.task_spec]
        child = my_task._add_child(child_spec, TaskState.WAITING)
        child.triggered = True
        child.internal_data["key_or_index"] = index
        child.task_spec._update(child)
        # After _update: the child inherited its parent's data there.
        child.data[LOOP_COUNTER] = index
        if self.element_variable:
            child.data[self.element_variable] = item

    def _merge(self, my_task: Any, child: Any) -> None:  # noqa: ANN401
        values = {
            key: value
            for key, value in child.data.items()
            if key not in (LOOP_COUNTER, self.element_variable, *MI_COUNTERS)
        }
        DeepMerge.merge(my_task.data, values)
        merged = my_task.internal_data["merged"]
        merged.append(str(child.id))
        active = sum(
            1
            for c in my_task.children
            if c.task_spec.name == self.task_spec and not c.has_state(TaskState.FINISHED_MASK)
        )
        my_task.data["nrOfCompletedInstances"] = len(merged)
        my_task.data["nrOfActiveInstances"] = active

    def _condition_met(self, my_task: Any) -> bool:  # noqa: ANN401
        if self.condition is None:
            return False
        return bool(my_task.workflow.script_engine.evaluate(my_task, self.condition))

    def _all_done(self, my_task: Any) -> bool:  # noqa: ANN401
        return len(my_task.internal_data.get("merged", [])) >= len(
            my_task.internal_data.get("items", [])
        )

    def _finish(self, my_task: Any) -> None:  # noqa: ANN401
        # The counters belong to the loop, as in Camunda: the process never sees them.
        for name in MI_COUNTERS:
            my_task.data.pop(name, None)
        my_task._set_state(TaskState.READY)


class ParallelLoop(_CamundaLoop, ParallelMultiInstanceTask):
    """Every instance at once; done when all end or the completion condition holds."""

    def _update_hook(self, my_task: Any) -> bool | None:  # noqa: ANN401
        items = self._start_loop(my_task)
        for _ in items:
            self._add_instance(my_task)
        my_task.data["nrOfActiveInstances"] = len(items)
        if not items:
            self._finish(my_task)
            return True
        my_task._set_state(TaskState.STARTED)
        return None

    def merge_child(self, workflow: Any, child: Any) -> None:  # noqa: ANN401
        my_task = child.parent
        self._merge(my_task, child)
        if self._condition_met(my_task):
            for other in list(my_task.children):
                if other.task_spec.name == self.task_spec and not other.has_state(
                    TaskState.FINISHED_MASK
                ):
                    other.cancel()
            self._finish(my_task)
        elif self._all_done(my_task):
            self._finish(my_task)


class SequentialLoop(_CamundaLoop, SequentialMultiInstanceTask):
    """One instance after another; done after the last or when the completion condition holds."""

    def _update_hook(self, my_task: Any) -> bool | None:  # noqa: ANN401
        items = self._start_loop(my_task)
        if not items:
            self._finish(my_task)
            return True
        self._add_instance(my_task)
        my_task.data["nrOfActiveInstances"] = 1
        my_task._set_state(TaskState.STARTED)
        return None

    def merge_child(self, workflow: Any, child: Any) -> None:  # noqa: ANN401
        my_task = child.parent
        self._merge(my_task, child)
        if self._condition_met(my_task) or self._all_done(my_task):
            self._finish(my_task)
        else:
            self._add_instance(my_task)
            my_task.data["nrOfActiveInstances"] = 1


def _as_expression(text: str) -> str:
    """`signers` and `${signers}` both name the variable."""
    return text.strip()


class _LoopParser(CamundaTaskParser):
    """Builds gridflow's multi-instance specs instead of SpiffWorkflow's Camunda ones."""

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:  # noqa: ANN401
        sequential = loop_characteristics.get("isSequential") == "true"
        cardinality_nodes = loop_characteristics.findall(f"{{{BPMN_NS}}}loopCardinality")
        cardinality = (cardinality_nodes[0].text or "").strip() if cardinality_nodes else None
        collection = loop_characteristics.get(f"{_CAMUNDA}collection")
        if cardinality is None and collection is None:
            self.raise_validation_exception(
                "a multi-instance task needs camunda:collection or loopCardinality"
            )
        condition_nodes = loop_characteristics.findall(f"{{{BPMN_NS}}}completionCondition")
        condition = (condition_nodes[0].text or "").strip() if condition_nodes else None
        original = self.spec.task_specs.pop(self.task.name)  # type: ignore[has-type]
        loop_class = SequentialLoop if sequential else ParallelLoop
        self.task = loop_class(
            self.spec,
            original.name,
            collection=collection,
            element_variable=loop_characteristics.get(f"{_CAMUNDA}elementVariable"),
            task_spec="",
            cardinality=cardinality,
            condition=condition or None,
            description="Multi-instance",
        )
        self._copy_task_attrs(original, loop_characteristics)


class LinkParser(_LoopParser, UserTaskParser):
    """User tasks (links), multi-instance ones included."""


class ExternalTaskParser(_LoopParser):
    def create_task(self) -> ExternalTask:
        priority = self.attribute("taskPriority", "camunda") or "0"
        return ExternalTask(
            self.spec,
            self.bpmn_id,
            topic=self.attribute("topic", "camunda") or "",
            priority=int(priority) if priority.lstrip("-").isdigit() else 0,
            **self.bpmn_attributes,
        )


class CalledProcessParser(_LoopParser):
    def create_task(self) -> CalledProcess:
        version = self.attribute("calledElementVersion", "camunda")
        return CalledProcess(
            self.spec,
            self.bpmn_id,
            called_element=self.node.get("calledElement", ""),
            binding=self.attribute("calledElementBinding", "camunda") or "latest",
            version=int(version) if version and version.isdigit() else None,
            in_mappings=self._mappings("in"),
            out_mappings=self._mappings("out"),
            **self.bpmn_attributes,
        )

    def _mappings(self, kind: str) -> tuple[VariableMapping, ...]:
        result = []
        for node in self.xpath(f"./bpmn:extensionElements/camunda:{kind}"):
            if node.get("businessKey") is not None:
                continue  # the child always carries its parent's business key
            result.append(
                VariableMapping(
                    source=node.get("source"),
                    source_expression=node.get("sourceExpression"),
                    target=node.get("target"),
                    all=node.get("variables") == "all",
                )
            )
        return tuple(result)


class GridflowParser(CamundaParser):
    """CamundaParser with gridflow's external tasks, called processes and loops."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        f"{{{BPMN_NS}}}userTask": (LinkParser, UserTask),
        f"{{{BPMN_NS}}}serviceTask": (ExternalTaskParser, ExternalTask),
        f"{{{BPMN_NS}}}callActivity": (CalledProcessParser, CalledProcess),
        # Never SpiffWorkflow's DMN engine, which evaluates cells with eval().
        f"{{{BPMN_NS}}}businessRuleTask": (DecisionTaskParser, DecisionTask),
    }


def connect_loops(spec: Any, subprocess_specs: dict[str, Any]) -> None:  # noqa: ANN401
    """Connect each multi-instance task to the end of its instances once, when the spec is
    built: SpiffWorkflow connects them only when it creates an instance, which a run restored
    in another process never does again."""
    for process_spec in (spec, *subprocess_specs.values()):
        for task_spec in process_spec.task_specs.values():
            if isinstance(task_spec, _CamundaLoop):
                child = process_spec.task_specs[task_spec.task_spec]
                if not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


def boundary_catchers(task: Any) -> list[Any]:  # noqa: ANN401
    """The boundary events waiting on a task (its siblings under the boundary split)."""
    if task.parent is None:
        return []
    return [
        sibling
        for sibling in task.parent.children
        if sibling is not task and isinstance(sibling.task_spec, CatchingEvent)
    ]
