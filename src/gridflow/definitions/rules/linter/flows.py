"""Flow rules: a sequence flow joins elements of its process, its condition is one gridflow
accepts, and every element is reachable from a start event."""

from __future__ import annotations

from lxml import etree

from gridflow.bpmn import FLOW_NODES
from gridflow.definitions.rules.common import local as _local
from gridflow.definitions.rules.linter.base import NS, LinterBase
from gridflow.errors import ExpressionError
from gridflow.expressions import compile_expression


class FlowRules(LinterBase):
    """The sequence flows of a process or subprocess and what they reach."""

    def _check_flows(self, container: etree._Element) -> None:
        ids = {e.get("id") for e in container if _local(e) in FLOW_NODES}
        for flow in container.findall("bpmn:sequenceFlow", NS):
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in ids:
                    self.problem(flow, f"{end} {flow.get(end)!r} is not an element of this process")
            condition = flow.find("bpmn:conditionExpression", NS)
            if condition is None:
                continue
            language = condition.get("language")
            if language and language.lower() not in ("juel", "python", "gridflow"):
                self.problem(flow, f"condition language {language!r} is refused")
                continue
            if condition.get("{http://camunda.org/schema/1.0/bpmn}resource"):
                self.problem(flow, "external condition resources are refused")
                continue
            text = (condition.text or "").strip()
            if not text:
                self.problem(flow, "condition is empty")
                continue
            try:
                compile_expression(text)
            except ExpressionError as exc:
                self.problem(flow, f"condition refused: {exc.message}")

    def _check_reachable(self, container: etree._Element) -> None:
        nodes = {e.get("id", ""): e for e in container if _local(e) in FLOW_NODES}
        outgoing: dict[str, list[str]] = {node_id: [] for node_id in nodes}
        for flow in container.findall("bpmn:sequenceFlow", NS):
            source = flow.get("sourceRef", "")
            if source in outgoing:
                outgoing[source].append(flow.get("targetRef", ""))
        for node_id, element in nodes.items():
            attached = element.get("attachedToRef")
            if _local(element) == "boundaryEvent" and attached in outgoing:
                outgoing[attached].append(node_id)
        starts = [i for i, e in nodes.items() if _local(e) == "startEvent"]
        if not starts:
            self.problem(container, "no start event")
            return
        reached: set[str] = set()
        pending = list(starts)
        while pending:
            node_id = pending.pop()
            if node_id in reached:
                continue
            reached.add(node_id)
            pending.extend(outgoing.get(node_id, []))
        for node_id, element in nodes.items():
            if node_id not in reached:
                name = element.get("name") or node_id
                self.problem(
                    element, f"{_local(element)} {name!r} is unreachable from any start event"
                )
            elif _local(element) == "subProcess":
                self._check_reachable(element)
