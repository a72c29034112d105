"""The serializer's configuration: SpiffWorkflow's Camunda converters plus gridflow's own task
specs (`_CONFIG`), and how `Engine` finds the registry's converters for its short dump and
restore."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    MultiInstanceTaskConverter,
)
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from gridflow.definitions.decision_task import DecisionTask, DecisionTaskConverter
from gridflow.definitions.spiff import CalledProcess, ExternalTask, ParallelLoop, SequentialLoop


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


def _workflow_converter(registry: Any) -> Any:  # noqa: ANN401
    return _converter_of(registry, "BpmnWorkflow")


def _converter_of(registry: Any, typename: str) -> Any:  # noqa: ANN401
    from_dict = registry.convert_from_dict[typename]
    # DictionaryConverter wraps each converter's from_dict in functools.partial(_obj_from_dict, f)
    return from_dict.args[0].__self__
