"""Id and lane rules: every BPMN id is a valid, unique XML name the engine does not reserve
for itself; every lane names a known role and refers to elements of the process, each in one
lane (what an embedded subprocess holds is in the subprocess's lane)."""

from __future__ import annotations

import re

from lxml import etree

from gridflow.bpmn import BPMN_NS, FLOW_NODES
from gridflow.definitions.rules.common import local as _local
from gridflow.definitions.rules.common import namespace as _ns
from gridflow.definitions.rules.linter.base import NS, LinterBase

# BPMN ids are XML names (xsd:ID): the engine and the modeler look elements up by them.
XML_NAME = re.compile(r"[A-Za-z_][\w.\-]*")

# SpiffWorkflow names its own hidden start and end tasks so; an element with such an id is lost.
RESERVED_IDS = frozenset({"Start", "End"})


class IdAndLaneRules(LinterBase):
    """The ids of the file and the lanes of its process."""

    def _check_ids(self) -> None:
        seen: dict[str, etree._Element] = {}
        for element in self.root.iter():
            # Only BPMN elements share one id space; camunda:value ids repeat across fields.
            element_id = element.get("id") if _ns(element) == BPMN_NS else None
            if element_id is None:
                continue
            if self.deploying and not XML_NAME.fullmatch(element_id):
                self.problem(
                    element,
                    f"id {element_id!r} is not a valid BPMN id: use letters, digits, '_', '-' "
                    "and '.', starting with a letter or '_' (as Camunda Modeler does)",
                )
            if element_id in seen:
                self.problem(element, f"duplicate id {element_id!r}")
            if element_id in RESERVED_IDS:
                self.problem(
                    element,
                    f"id {element_id!r} is reserved by the engine's own start and end tasks; "
                    "rename it (for example StartEvent_1)",
                )
            seen[element_id] = element

    def _check_lanes(self) -> None:
        assert self.process is not None
        nodes = {e.get("id") for e in self.process.iter() if _local(e) in FLOW_NODES}
        for lane in self.process.iter(f"{{{BPMN_NS}}}lane"):
            # A lane split into child lanes leaves its nodes to them; an empty childLaneSet
            # (what some modelers leave behind) splits nothing.
            if lane.find("bpmn:childLaneSet/bpmn:lane", NS) is not None:
                continue
            name = lane.get("name")
            if not (name or "").strip():
                self.problem(lane, "lane has no name: name it after the role that owns it")
            elif self.roles.for_lane(name) is None:
                known = ", ".join(self.roles.lane_names())
                self.problem(lane, f"lane {name!r} names no known role (roles: {known})")
            for ref in lane.findall("bpmn:flowNodeRef", NS):
                node_id = (ref.text or "").strip()
                if self.deploying:
                    self._check_lane_reference(lane, ref, node_id, nodes)
                if node_id in self.lane_of:
                    self.problem(ref, f"element {node_id!r} is in more than one lane")
                self.lane_of[node_id] = name or ""
        # What an embedded subprocess holds belongs to the subprocess's lane.
        for sub in self.process.iter(f"{{{BPMN_NS}}}subProcess"):
            lane_name = self.lane_of.get(sub.get("id", ""))
            if lane_name is None:
                continue
            for inner in sub.iter():
                inner_id = inner.get("id") if _local(inner) in FLOW_NODES else None
                if inner_id and inner_id not in self.lane_of:
                    self.lane_of[inner_id] = lane_name

    def _check_lane_reference(
        self, lane: etree._Element, ref: etree._Element, node_id: str, nodes: set[str | None]
    ) -> None:
        where = f"lane {lane.get('name') or lane.get('id')!r}"
        if node_id not in nodes:
            self.problem(
                lane, f"{where} refers to {node_id!r}, which is not an element of this process"
            )
        elif ref.text != node_id:
            self.problem(
                lane,
                f"{where} refers to {ref.text!r} with spaces around the id: the engine would "
                f"not place {node_id!r} in this lane",
            )
