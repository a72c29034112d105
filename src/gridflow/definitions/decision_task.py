"""Business-rule tasks (`camunda:decisionRef`) as gridflow runs them: a task spec that asks the
workflow's script engine to decide, its parser, and its serializer converter.

SpiffWorkflow's CamundaParser parses a businessRuleTask through its own DMN engine, which
evaluates cells with Python `eval`; `spiff.GridflowParser` replaces that parser, so SpiffWorkflow's
DMN engine is never built, let alone run. The spec only names the decision (id, binding,
version) and where the result goes; the engine resolves and evaluates it with
`gridflow.decisions` at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, CamundaTaskParser

BINDINGS = ("latest", "version", "deployment")


@dataclass(frozen=True)
class DecisionRef:
    """What a business-rule task decides and where the answer goes (Camunda's attributes):

    - `decision_id`: `camunda:decisionRef`;
    - `binding`: `camunda:decisionRefBinding` latest (default) | version | deployment;
    - `version`: `camunda:decisionRefVersion` (binding version);
    - `result_variable`: `camunda:resultVariable` (None: the result is not stored);
    - `mapping`: `camunda:mapDecisionResult` (default resultList).
    """

    decision_id: str
    binding: str = "latest"
    version: int | None = None
    result_variable: str | None = None
    mapping: str = "resultList"


def decision_ref(attributes: dict[str, str]) -> DecisionRef:
    """The reference from a businessRuleTask's camunda attributes (already linted)."""
    version = attributes.get("decisionRefVersion")
    return DecisionRef(
        decision_id=attributes.get("decisionRef", ""),
        binding=attributes.get("decisionRefBinding") or "latest",
        version=int(version) if version and version.isdigit() else None,
        result_variable=attributes.get("resultVariable") or None,
        mapping=attributes.get("mapDecisionResult") or "resultList",
    )


class DecisionTask(BpmnSpecMixin):
    """A businessRuleTask: on run, `workflow.script_engine.decide(task, reference)` returns the
    variables to set (the result variable), or raises naming the element."""

    def __init__(self, wf_spec: Any, bpmn_id: str, reference: DecisionRef, **kwargs: Any):  # noqa: ANN401
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.reference = reference

    def _run_hook(self, my_task: Any) -> bool:  # noqa: ANN401
        decide = getattr(my_task.workflow.script_engine, "decide", None)
        if decide is None:
            raise RuntimeError(f"{self.bpmn_id}: this workflow has no decision engine")
        my_task.data.update(decide(my_task, self.reference))
        return True


class DecisionTaskParser(CamundaTaskParser):
    @staticmethod
    def get_decision_ref(node: Any) -> str:  # noqa: ANN401 - SpiffWorkflow lists dependencies
        return str(node.attrib.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef", ""))

    def create_task(self) -> DecisionTask:
        camunda = f"{{{CAMUNDA_MODEL_NS}}}"
        attributes = {
            str(key)[len(camunda) :]: str(value)
            for key, value in self.node.attrib.items()
            if str(key).startswith(camunda)
        }
        return DecisionTask(
            self.spec, self.bpmn_id, reference=decision_ref(attributes), **self.bpmn_attributes
        )


class DecisionTaskConverter(BpmnTaskSpecConverter):
    """Serializes the reference (SpiffWorkflow's migration diff converts specs to compare)."""

    def to_dict(self, spec: DecisionTask) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        reference = spec.reference
        dct["reference"] = {
            "decision_id": reference.decision_id,
            "binding": reference.binding,
            "version": reference.version,
            "result_variable": reference.result_variable,
            "mapping": reference.mapping,
        }
        return dct

    def from_dict(self, dct: dict[str, Any]) -> DecisionTask:
        dct["reference"] = DecisionRef(**dct["reference"])
        spec: DecisionTask = self.task_spec_from_dict(dct)
        return spec
