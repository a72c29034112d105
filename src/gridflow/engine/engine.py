"""The `Engine`, one per application: starts runs, saves them as documents without their
definition (`dump`) and restores them, and moves a run onto another version (`migrate`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from gridflow.clock import Clock
from gridflow.definitions import ProcessDefinition
from gridflow.engine.clock_hook import using_clock
from gridflow.engine.errors import EngineError, MigrationRefused
from gridflow.engine.run import Run
from gridflow.engine.scripts import DecisionSource, SafeScriptEngine
from gridflow.engine.serializer import _CONFIG, _converter_of, _workflow_converter
from gridflow.errors import Reason
from gridflow.texts import _
from gridflow.working_time import WorkingCalendar


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
