"""Tests of gridflow.layout: generated BPMN diagram information for hand-written BPMN files."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest
from lxml import etree

from gridflow.bpmn import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, FLOW_NODES
from gridflow.layout import layout_document, layout_file, main

BPMN, BPMNDI, DC, DI = BPMN_NS, BPMNDI_NS, DC_NS, DI_NS
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)

# Two lanes plus a supervisor lane; a parallel split and join; an exclusive gateway whose "no"
# branch loops back to an earlier task; a non-interrupting breach timer that leads to an
# escalation in the Supervisor lane.  The boundary event is in no lane's flowNodeRefs.
CONNECTION = (
    HEADER
    + """  <!-- hand-written: <no diagram> yet -->
  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" name="Connection" processRef="Process_1" />
  </bpmn:collaboration>
  <bpmn:process id="Process_1" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_desk" name="Service desk">
        <bpmn:flowNodeRef>Start_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_accept</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Split_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_documents</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_fee</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Join_1</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_design" name="Planning and design">
        <bpmn:flowNodeRef>Task_design</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_ok</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_connect</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_1</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_supervisor" name="Supervisor">
        <bpmn:flowNodeRef>Task_escalate</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_escalated</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="Start_1" name="Demand received" />
    <bpmn:userTask id="Task_accept" name="Accept demand" />
    <bpmn:parallelGateway id="Split_1" />
    <bpmn:userTask id="Task_documents" name="Check documents" />
    <bpmn:scriptTask id="Task_fee" name="Compute fee" scriptFormat="python">
      <bpmn:script>fee = capacity_kw * 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:parallelGateway id="Join_1" />
    <bpmn:userTask id="Task_design" name="Design the connection" />
    <bpmn:exclusiveGateway id="Gateway_ok" name="Design approved?" default="Flow_yes" />
    <bpmn:serviceTask id="Task_connect" name="Connect" />
    <bpmn:endEvent id="End_1" name="Connected" />
    <bpmn:boundaryEvent id="Timer_breach" name="Standard breached" cancelActivity="false" \
attachedToRef="Task_design">
      <bpmn:timerEventDefinition id="TimerDef_1">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">${standard_due()}</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_escalate" name="Escalate" />
    <bpmn:endEvent id="End_escalated" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start_1" targetRef="Task_accept" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_accept" targetRef="Split_1" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Split_1" targetRef="Task_documents" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Split_1" targetRef="Task_fee" />
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Task_documents" targetRef="Join_1" />
    <bpmn:sequenceFlow id="Flow_6" sourceRef="Task_fee" targetRef="Join_1" />
    <bpmn:sequenceFlow id="Flow_7" sourceRef="Join_1" targetRef="Task_design" />
    <bpmn:sequenceFlow id="Flow_8" sourceRef="Task_design" targetRef="Gateway_ok" />
    <bpmn:sequenceFlow id="Flow_yes" name="yes" sourceRef="Gateway_ok" targetRef="Task_connect" />
    <bpmn:sequenceFlow id="Flow_no" name="no" sourceRef="Gateway_ok" targetRef="Task_accept">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${!approved}\
</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_9" sourceRef="Task_connect" targetRef="End_1" />
    <bpmn:sequenceFlow id="Flow_breach" sourceRef="Timer_breach" targetRef="Task_escalate" />
    <bpmn:sequenceFlow id="Flow_10" sourceRef="Task_escalate" targetRef="End_escalated" />
  </bpmn:process>
</bpmn:definitions>
"""
)

# No collaboration, no lanes: one row; a loop over two steps, a long straight flow that must
# detour around a node, and a task with two boundary events.
PLAIN = (
    HEADER
    + """  <bpmn:process id="Process_plain" isExecutable="true">
    <bpmn:startEvent id="S" />
    <bpmn:task id="A" name="A" />
    <bpmn:exclusiveGateway id="G" />
    <bpmn:task id="B" name="B" />
    <bpmn:task id="C" name="C" />
    <bpmn:exclusiveGateway id="M" />
    <bpmn:endEvent id="E" />
    <bpmn:boundaryEvent id="T1" attachedToRef="A" cancelActivity="false">
      <bpmn:timerEventDefinition />
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="T2" attachedToRef="A">
      <bpmn:errorEventDefinition />
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="E2" />
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="A" />
    <bpmn:sequenceFlow id="f2" sourceRef="A" targetRef="G" />
    <bpmn:sequenceFlow id="f3" sourceRef="G" targetRef="M" />
    <bpmn:sequenceFlow id="f4" sourceRef="G" targetRef="B" />
    <bpmn:sequenceFlow id="f5" sourceRef="B" targetRef="C" />
    <bpmn:sequenceFlow id="f6" sourceRef="C" targetRef="M" />
    <bpmn:sequenceFlow id="f7" sourceRef="M" targetRef="E" />
    <bpmn:sequenceFlow id="f8" sourceRef="C" targetRef="A" />
    <bpmn:sequenceFlow id="f9" sourceRef="T1" targetRef="E2" />
    <bpmn:sequenceFlow id="f10" sourceRef="T2" targetRef="A" />
    <bpmn:sequenceFlow id="f11" sourceRef="B" targetRef="B" />
  </bpmn:process>
</bpmn:definitions>
"""
)


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )

    def contains(self, other: Box) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.x + other.w <= self.x + self.w
            and other.y + other.h <= self.y + self.h
        )

    def on_border(self, x: float, y: float) -> bool:
        inside = self.x - 1 <= x <= self.x + self.w + 1 and self.y - 1 <= y <= self.y + self.h + 1
        near = min(
            abs(x - self.x), abs(x - self.x - self.w), abs(y - self.y), abs(y - self.y - self.h)
        )
        return inside and near <= 1

    def hit_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """True if the axis-parallel segment a-b passes through the interior."""
        x1, x2 = sorted((a[0], b[0]))
        y1, y2 = sorted((a[1], b[1]))
        if x1 == x2:
            return self.x < x1 < self.x + self.w and max(y1, self.y) < min(y2, self.y + self.h)
        return self.y < y1 < self.y + self.h and max(x1, self.x) < min(x2, self.x + self.w)


def _bounds(shape: etree._Element) -> Box:
    b = shape.find("dc:Bounds", NS)
    assert b is not None
    values = [b.get(k) for k in ("x", "y", "width", "height")]
    assert all(v is not None and v.lstrip("-").isdigit() for v in values), values
    return Box(*(float(v) for v in values if v is not None))


def check_layout(xml: bytes) -> dict[str, Box]:
    """Assert the structural properties of a laid-out document; return the shapes' bounds."""
    root = etree.fromstring(xml)
    diagrams = root.findall("bpmndi:BPMNDiagram", NS)
    assert diagrams and diagrams[0].get("id") == "BPMNDiagram_1"
    plane = diagrams[0].find("bpmndi:BPMNPlane", NS)
    assert plane is not None
    collaboration = root.find("bpmn:collaboration", NS)
    processes = root.findall("bpmn:process", NS)
    if collaboration is not None:
        assert plane.get("bpmnElement") == collaboration.get("id")
    else:
        assert plane.get("bpmnElement") == processes[0].get("id")

    shapes: dict[str, Box] = {}
    for shape in plane.findall("bpmndi:BPMNShape", NS):
        element = shape.get("bpmnElement")
        assert element and element not in shapes, f"duplicate shape for {element}"
        assert shape.get("id") == f"{element}_di"
        shapes[element] = _bounds(shape)
    edges: dict[str, list[tuple[float, float]]] = {}
    for edge in plane.findall("bpmndi:BPMNEdge", NS):
        element = edge.get("bpmnElement")
        assert element and element not in edges, f"duplicate edge for {element}"
        assert edge.get("id") == f"{element}_di"
        points = []
        for w in edge.findall("di:waypoint", NS):
            x, y = w.get("x"), w.get("y")
            assert x is not None and y is not None and x.isdigit() and y.isdigit()
            points.append((float(x), float(y)))
        assert len(points) >= 2
        for a, b in zip(points, points[1:], strict=False):
            assert a[0] == b[0] or a[1] == b[1], f"{element}: segment {a}-{b} is not orthogonal"
        edges[element] = points

    process = processes[0]
    nodes = {
        el.get("id", ""): el
        for el in process
        if isinstance(el.tag, str) and etree.QName(el).localname in FLOW_NODES
    }
    flows = {el.get("id", ""): el for el in process.findall("bpmn:sequenceFlow", NS)}
    assert set(nodes) <= set(shapes), f"missing shapes: {set(nodes) - set(shapes)}"
    assert set(flows) <= set(edges), f"missing edges: {set(flows) - set(edges)}"

    # Exclusive gateways show their marker, pools and lanes are horizontal.
    for shape in plane.findall("bpmndi:BPMNShape", NS):
        node = nodes.get(shape.get("bpmnElement", ""))
        if node is not None and etree.QName(node).localname == "exclusiveGateway":
            assert shape.get("isMarkerVisible") == "true"

    # No two node shapes overlap (a boundary event overlaps only its own activity).
    node_ids = sorted(i for i in nodes if i)
    for i, first in enumerate(node_ids):
        for second in node_ids[i + 1 :]:
            pair = {nodes[first].get("attachedToRef"), nodes[second].get("attachedToRef")}
            if first in pair or second in pair:
                continue
            assert not shapes[first].overlaps(shapes[second]), f"{first} overlaps {second}"

    # Every edge starts on its source and ends on its target, and crosses no other node.
    for flow_id, flow in flows.items():
        points = edges[flow_id]
        source, target = flow.get("sourceRef", ""), flow.get("targetRef", "")
        assert shapes[source].on_border(*points[0]), f"{flow_id} does not start on {source}"
        assert shapes[target].on_border(*points[-1]), f"{flow_id} does not end on {target}"
        for node_id in node_ids:
            if node_id in (source, target):
                continue
            for p, q in zip(points, points[1:], strict=False):
                assert not shapes[node_id].hit_by(p, q), f"{flow_id} crosses {node_id}"

    if collaboration is not None:
        participant = collaboration.find("bpmn:participant", NS)
        assert participant is not None
        pool = shapes[participant.get("id", "")]
        lanes = process.findall(".//bpmn:lane", NS)
        for shape in plane.findall("bpmndi:BPMNShape", NS):
            if shape.get("bpmnElement") in {participant.get("id")} | {
                lane.get("id") for lane in lanes
            }:
                assert shape.get("isHorizontal") == "true"
        for node_id in node_ids:
            assert pool.contains(shapes[node_id]), f"{node_id} outside the pool"
        if lanes:
            assert (
                sum(
                    shapes[lane.get("id", "")].h
                    for lane in lanes
                    if not lane.findall("bpmn:childLaneSet", NS)
                )
                == pool.h
            )
            for lane in lanes:
                box = shapes[lane.get("id", "")]
                assert pool.contains(box), f"lane {lane.get('id')} outside the pool"
                lane_set = lane.getparent()
                top_level = lane_set is not None and lane_set.getparent() is process
                assert box.x == (pool.x + 30 if top_level else box.x)
                for ref in lane.findall("bpmn:flowNodeRef", NS):
                    assert box.contains(shapes[ref.text or ""]), f"{ref.text} outside its lane"
                    for attached in process.findall(
                        f"bpmn:boundaryEvent[@attachedToRef='{ref.text}']", NS
                    ):
                        assert box.contains(shapes[attached.get("id", "")])
            for i, upper in enumerate(lanes):
                for lower in lanes[i + 1 :]:
                    if upper in lower.iterancestors() or lower in upper.iterancestors():
                        continue
                    assert not shapes[upper.get("id", "")].overlaps(shapes[lower.get("id", "")])
    return shapes


def diagram_text(xml: bytes) -> bytes:
    start = xml.index(b"<bpmndi:BPMNDiagram")
    end = xml.rindex(b"</bpmndi:BPMNDiagram>") + len(b"</bpmndi:BPMNDiagram>")
    return xml[start:end]


# ------------------------------------------------------------------------------------------


def test_connection_layout_is_complete_and_clean() -> None:
    out = layout_document(CONNECTION.encode())
    shapes = check_layout(out)
    # Columns follow the longest path; the loop back from the gateway does not shift ranks.
    assert shapes["Start_1"].x < shapes["Task_accept"].x < shapes["Split_1"].x
    assert shapes["Task_documents"].x == shapes["Task_fee"].x
    assert shapes["Task_documents"].y != shapes["Task_fee"].y
    assert shapes["Split_1"].x < shapes["Task_fee"].x < shapes["Join_1"].x
    assert shapes["Join_1"].x < shapes["Task_design"].x < shapes["Gateway_ok"].x
    # Lanes stack in document order; the desk lane grew a second sub-row for the split.
    desk, design, sup = shapes["Lane_desk"], shapes["Lane_design"], shapes["Lane_supervisor"]
    assert desk.y < design.y < sup.y
    assert desk.h > design.h
    assert shapes["Participant_1"].x + 30 == desk.x
    # The boundary timer sits on the bottom edge of its task; the escalation comes after it.
    timer, design_task = shapes["Timer_breach"], shapes["Task_design"]
    assert timer.y + timer.h / 2 == design_task.y + design_task.h
    assert design_task.x <= timer.x and timer.x + timer.w <= design_task.x + design_task.w
    assert shapes["Task_escalate"].x > design_task.x
    # Sizes as Camunda Modeler draws them.
    assert (shapes["Task_accept"].w, shapes["Task_accept"].h) == (100, 80)
    assert (shapes["Start_1"].w, shapes["Start_1"].h) == (36, 36)
    assert (shapes["Gateway_ok"].w, shapes["Gateway_ok"].h) == (50, 50)


def test_edges_leave_right_enter_left_and_loops_avoid_shapes() -> None:
    out = layout_document(CONNECTION.encode())
    root = etree.fromstring(out)
    shapes = check_layout(out)

    def points(flow: str) -> list[tuple[int, int]]:
        edge = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow}']", NS)
        assert edge is not None
        return [(int(w.get("x", "")), int(w.get("y", ""))) for w in edge.findall("di:waypoint", NS)]

    accept, split = shapes["Task_accept"], shapes["Split_1"]
    assert points("Flow_2") == [
        (int(accept.x + accept.w), int(accept.y + 40)),
        (int(split.x), int(split.y + 25)),
    ]
    # Split to the lower branch: right middle, vertical at the midpoint between the columns.
    flow4 = points("Flow_4")
    assert len(flow4) == 4 and flow4[1][0] == flow4[2][0]
    fee = shapes["Task_fee"]
    assert split.x + split.w < flow4[1][0] < fee.x
    # The loop back runs above the row of its source, then enters the task from the left.
    loop = points("Flow_no")
    gateway = shapes["Gateway_ok"]
    assert loop[0] == (int(gateway.x + gateway.w), int(gateway.y + 25))
    assert loop[-1] == (int(accept.x), int(accept.y + 40))
    assert min(y for _, y in loop) < gateway.y
    # The boundary flow leaves from the bottom of the timer.
    timer = shapes["Timer_breach"]
    breach = points("Flow_breach")
    assert breach[0] == (int(timer.x + 18), int(timer.y + 36))
    assert breach[1][0] == breach[0][0]


def test_labels_for_named_events_and_gateways() -> None:
    out = layout_document(CONNECTION.encode())
    root = etree.fromstring(out)
    for element, named in (("Start_1", True), ("Gateway_ok", True), ("End_escalated", False)):
        shape = root.find(f".//bpmndi:BPMNShape[@bpmnElement='{element}']", NS)
        assert shape is not None
        label = shape.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        assert (label is not None) == named
        if label is not None:
            body = _bounds(shape)
            assert float(label.get("y", "0")) >= body.y + body.h
    task = root.find(".//bpmndi:BPMNShape[@bpmnElement='Task_accept']", NS)
    assert task is not None and task.find("bpmndi:BPMNLabel", NS) is None


def test_rest_of_document_is_kept_byte_for_byte() -> None:
    source = CONNECTION.encode()
    out = layout_document(source)
    declarations = (
        b' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"'
        b' xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"'
        b' xmlns:di="http://www.omg.org/spec/DD/20100524/DI"'
    )
    diagram = diagram_text(out)
    restored = out.replace(declarations, b"", 1).replace(b"\n  " + diagram, b"", 1)
    assert restored == source
    # The new diagram is indented by two spaces per level, like the file.
    lines = diagram.decode().splitlines()
    assert lines[1].startswith("    <bpmndi:BPMNPlane ")
    assert lines[2].startswith("      <bpmndi:BPMNShape ")
    assert lines[3].startswith("        <dc:Bounds ")
    assert out.endswith(b"</bpmndi:BPMNDiagram>\n</bpmn:definitions>\n")


def test_existing_namespace_prefixes_are_reused() -> None:
    source = CONNECTION.replace(
        'id="Definitions_1"',
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:omgdc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Definitions_1"',
    ).encode()
    out = layout_document(source)
    assert out.count(b"xmlns:bpmndi=") == 1 and b"xmlns:dc=" not in out
    assert b"<omgdc:Bounds " in out
    check_layout(out)


def test_replace_is_deterministic_and_idempotent() -> None:
    first = layout_document(CONNECTION.encode(), replace=True)
    second = layout_document(first, replace=True)
    third = layout_document(second, replace=True)
    assert first == second == third
    assert layout_document(CONNECTION.encode()) == first


def test_document_with_diagram_is_left_unchanged() -> None:
    laid_out = layout_document(CONNECTION.encode())
    # Move a shape as a person would in the modeler: without replace nothing changes.
    edited = laid_out.replace(b'x="302"', b'x="310"', 1)
    assert layout_document(edited) is edited
    replaced = layout_document(edited, replace=True)
    assert replaced == laid_out


def test_replace_removes_diagram_with_its_own_namespace_declarations() -> None:
    foreign = (
        '  <di2:BPMNDiagram xmlns:di2="http://www.omg.org/spec/BPMN/20100524/DI" id="Old">\n'
        '    <di2:BPMNPlane id="OldPlane" bpmnElement="Collaboration_1" />\n'
        "  </di2:BPMNDiagram>\n"
    )
    source = CONNECTION.replace("</bpmn:definitions>", foreign + "</bpmn:definitions>").encode()
    assert layout_document(source) == source
    out = layout_document(source, replace=True)
    assert b"Old" not in out
    assert out == layout_document(CONNECTION.encode())
    check_layout(out)


def test_plain_process_without_collaboration() -> None:
    out = layout_document(PLAIN.encode())
    shapes = check_layout(out)
    root = etree.fromstring(out)
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    assert plane is not None and plane.get("bpmnElement") == "Process_plain"
    assert not any(k.startswith(("Participant", "Lane")) for k in shapes)
    # One row: the main path shares one centre line.
    centre = {k: shapes[k].y + shapes[k].h / 2 for k in ("S", "A", "G", "M", "E")}
    assert len(set(centre.values())) == 1
    # Two boundary events on one task, side by side on its bottom edge, not overlapping.
    t1, t2, a = shapes["T1"], shapes["T2"], shapes["A"]
    assert not t1.overlaps(t2)
    assert t1.y == t2.y and t1.y + t1.h / 2 == a.y + a.h
    assert shapes["E2"].x > a.x


def test_lane_height_grows_with_sub_rows() -> None:
    branches = "".join(
        f'    <bpmn:task id="T{i}" />\n'
        f'    <bpmn:sequenceFlow id="a{i}" sourceRef="G" targetRef="T{i}" />\n'
        f'    <bpmn:sequenceFlow id="b{i}" sourceRef="T{i}" targetRef="J" />\n'
        for i in range(4)
    )
    refs = "".join(f"<bpmn:flowNodeRef>T{i}</bpmn:flowNodeRef>" for i in range(4))
    xml = (
        HEADER
        + """  <bpmn:collaboration id="C"><bpmn:participant id="P" processRef="Pr" />
  </bpmn:collaboration>
  <bpmn:process id="Pr" isExecutable="true">
    <bpmn:laneSet><bpmn:lane id="L1"><bpmn:flowNodeRef>S</bpmn:flowNodeRef>
    <bpmn:flowNodeRef>G</bpmn:flowNodeRef>"""
        + refs
        + """<bpmn:flowNodeRef>J</bpmn:flowNodeRef>
    </bpmn:lane><bpmn:lane id="L2"><bpmn:flowNodeRef>E</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="S" /><bpmn:inclusiveGateway id="G" /><bpmn:inclusiveGateway id="J" />
    <bpmn:endEvent id="E" />
    <bpmn:sequenceFlow id="s" sourceRef="S" targetRef="G" />
    <bpmn:sequenceFlow id="e" sourceRef="J" targetRef="E" />
"""
        + branches
        + """  </bpmn:process>
</bpmn:definitions>
"""
    )
    shapes = check_layout(layout_document(xml.encode()))
    assert shapes["L1"].h == 4 * shapes["L2"].h
    assert len({shapes[f"T{i}"].x for i in range(4)}) == 1
    assert len({shapes[f"T{i}"].y for i in range(4)}) == 4


def test_nested_lanes_sub_process_and_message_flows() -> None:
    xml = (
        HEADER
        + """  <bpmn:collaboration id="C">
    <bpmn:participant id="P" name="Grid company" processRef="Pr" />
    <bpmn:participant id="Customer" name="Customer" />
    <bpmn:messageFlow id="m1" sourceRef="Customer" targetRef="S" />
    <bpmn:messageFlow id="m2" sourceRef="Sub" targetRef="Customer" />
  </bpmn:collaboration>
  <bpmn:message id="Msg" name="outage_alarm" />
  <bpmn:process id="Pr" isExecutable="true">
    <bpmn:laneSet id="LS">
      <bpmn:lane id="Ops"><bpmn:flowNodeRef>S</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Sub</bpmn:flowNodeRef><bpmn:flowNodeRef>E</bpmn:flowNodeRef>
        <bpmn:childLaneSet id="LS2">
          <bpmn:lane id="Dispatch"><bpmn:flowNodeRef>S</bpmn:flowNodeRef>
            <bpmn:flowNodeRef>Sub</bpmn:flowNodeRef></bpmn:lane>
          <bpmn:lane id="Repair"><bpmn:flowNodeRef>E</bpmn:flowNodeRef></bpmn:lane>
        </bpmn:childLaneSet>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="S"><bpmn:messageEventDefinition messageRef="Msg" /></bpmn:startEvent>
    <bpmn:subProcess id="Sub" name="Repair">
      <bpmn:startEvent id="SS" />
      <bpmn:manualTask id="Fix" name="Fix the line" />
      <bpmn:endEvent id="SE" />
      <bpmn:sequenceFlow id="sf1" sourceRef="SS" targetRef="Fix" />
      <bpmn:sequenceFlow id="sf2" sourceRef="Fix" targetRef="SE" />
    </bpmn:subProcess>
    <bpmn:endEvent id="E" />
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Sub" />
    <bpmn:sequenceFlow id="f2" sourceRef="Sub" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>
"""
    )
    out = layout_document(xml.encode())
    shapes = check_layout(out)
    assert shapes["Ops"].contains(shapes["Dispatch"]) and shapes["Ops"].contains(shapes["Repair"])
    assert shapes["Dispatch"].x == shapes["Ops"].x + 30
    assert shapes["Customer"].y > shapes["P"].y + shapes["P"].h
    assert shapes["Customer"].w == shapes["P"].w
    root = etree.fromstring(out)
    diagrams = root.findall("bpmndi:BPMNDiagram", NS)
    assert [d.get("id") for d in diagrams] == ["BPMNDiagram_1", "BPMNDiagram_Sub"]
    sub_plane = diagrams[1].find("bpmndi:BPMNPlane", NS)
    assert sub_plane is not None and sub_plane.get("bpmnElement") == "Sub"
    inner = {s.get("bpmnElement") for s in sub_plane.findall("bpmndi:BPMNShape", NS)}
    assert inner == {"SS", "Fix", "SE"}
    sub_shape = root.find(".//bpmndi:BPMNShape[@bpmnElement='Sub']", NS)
    assert sub_shape is not None and sub_shape.get("isExpanded") == "false"
    for flow in ("m1", "m2"):
        edge = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow}']", NS)
        assert edge is not None and len(edge.findall("di:waypoint", NS)) >= 2
    assert out == layout_document(out, replace=True)


def test_crlf_tabs_and_encoding_are_kept() -> None:
    source = (
        PLAIN.replace("\n  ", "\n\t")
        .replace("\n\t  ", "\n\t\t")
        .replace("\n", "\r\n")
        .replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
        .replace('name="A"', 'name="Réception"')
        .encode("latin-1")
    )
    out = layout_document(source)
    head = source[: source.index(b">", source.index(b"<bpmn:definitions"))]
    assert out.startswith(head)
    assert out.replace(diagram_text(out), b"").count(b"\r\n") == source.count(b"\r\n") + 1
    assert "Réception".encode("latin-1") in out
    assert b"\r\n\t<bpmndi:BPMNDiagram" in out
    assert b"\r\n\t\t<bpmndi:BPMNPlane" in out
    assert b"\n" not in out.replace(b"\r\n", b"")
    check_layout(out)


def test_cjk_names_get_wrapped_labels() -> None:
    source = PLAIN.replace(
        '<bpmn:startEvent id="S" />', '<bpmn:startEvent id="S" name="客户提交用电申请并上传材料" />'
    )
    out = layout_document(source.encode())
    root = etree.fromstring(out)
    label = root.find(".//bpmndi:BPMNShape[@bpmnElement='S']/bpmndi:BPMNLabel/dc:Bounds", NS)
    assert label is not None
    assert int(label.get("width", "0")) <= 90 and int(label.get("height", "0")) >= 28


def test_doctype_is_refused() -> None:
    evil = (
        '<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions [<!ENTITY x "boom">]>\n'
        + CONNECTION.split("\n", 1)[1]
    )
    with pytest.raises(ValueError, match="DOCTYPE"):
        layout_document(evil.encode())
    with pytest.raises(ValueError, match="DOCTYPE"):
        layout_document(
            PLAIN.replace(
                "?>\n", '?>\n<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd">\n', 1
            ).encode()
        )


def test_other_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="well-formed"):
        layout_document(b"<bpmn:definitions")
    with pytest.raises(ValueError, match="definitions"):
        layout_document(b"<definitions />")
    with pytest.raises(ValueError, match="process"):
        layout_document(HEADER.encode() + b"</bpmn:definitions>\n")


def test_layout_file_and_command_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "connection.bpmn"
    path.write_text(CONNECTION, encoding="utf-8")
    assert layout_file(path) is True
    laid_out = path.read_bytes()
    check_layout(laid_out)
    assert layout_file(path) is False
    assert layout_file(path, replace=True) is False
    assert path.read_bytes() == laid_out

    other = tmp_path / "plain.bpmn"
    other.write_text(PLAIN, encoding="utf-8")
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<nope", encoding="utf-8")
    assert main([str(other), str(path), str(broken)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(str(other)) and "generated" in lines[0]
    assert "unchanged" in lines[1]
    assert "error" in lines[2]

    result = subprocess.run(
        [sys.executable, "-m", "gridflow.layout", "--replace", str(other)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{other}: unchanged"


def test_process_files_if_present(tmp_path: pathlib.Path) -> None:
    """The repository's hand-written processes lay out cleanly (checked on copies)."""
    processes = pathlib.Path(__file__).resolve().parents[1] / "processes"
    files = sorted(processes.glob("*.bpmn"))
    if not files:
        pytest.skip("no processes/*.bpmn yet")
    for original in files:
        copy = tmp_path / original.name
        shutil.copyfile(original, copy)
        out = layout_document(copy.read_bytes(), replace=True)
        check_layout(out)
        assert layout_document(out, replace=True) == out
