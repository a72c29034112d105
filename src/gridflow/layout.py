"""Generate BPMN diagram information (BPMNDI) for BPMN 2.0 files written by hand.

The layout is a grid: columns are the flow nodes' ranks (longest path from the start events
over sequence flows, back edges of loops ignored), rows are the lanes of the pool stacked in
document order, each lane split into as many sub-rows as its busiest column needs.  Boundary
events sit on the bottom edge of the activity they are attached to.  Sequence flows are drawn
with orthogonal waypoints: vertical segments run in the free gaps between columns, detours
and loops run in the free channels along the top and bottom of a row, so no flow crosses a
shape.  Sizes follow Camunda Modeler (tasks 100x80, events 36x36, gateways 50x50).

Only the new ``bpmndi:BPMNDiagram`` is added (plus the ``bpmndi``/``dc``/``di`` namespace
declarations on the root when they are missing); every other byte of the file is kept.
With ``replace`` an existing diagram is removed first.

Usage: ``python -m gridflow.layout [--replace] FILE...``
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import re
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from lxml import etree

from gridflow.bpmn import (
    BPMN_NS,
    BPMNDI_NS,
    CONTAINERS,
    DC_NS,
    DI_NS,
    EVENTS,
    FLOW_NODES,
    GATEWAYS,
)

TASK_SIZE = (100, 80)
EVENT_SIZE = (36, 36)
GATEWAY_SIZE = (50, 50)
COL_W = 160  # one column: the widest shape (100) plus a 60 px gap for vertical segments
ROW_H = 160  # one sub-row: the tallest shape (80) plus room for boundary events and channels
BAND = 30  # the label band on the left of a pool or lane
CONTENT_MARGIN = 20  # between the innermost label band and the first column
POOL_X = 160
POOL_Y = 80
POOL_GAP = 60  # between stacked pools
BLACK_BOX_H = 100  # a participant without a process
PLAIN_X = 100  # left of the first column when there is no pool
PLAIN_Y = 60  # top of the first row when there is no pool
CHANNEL_OFFSET = 8  # first channel track, from the row's top or bottom border
TRACK_STEP = 6
MAX_TRACKS = 3
BOUNDARY_SPACING = 40  # between the centres of boundary events on one activity
LABEL_MAX_W = 90
LABEL_LINE_H = 14
LABEL_GAP = 7  # between a shape's bottom and its label


Point = tuple[int, int]


# --------------------------------------------------------------------------------------------
# Geometry


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle with integer coordinates."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def cx(self) -> int:
        return self.x + self.width // 2

    @property
    def cy(self) -> int:
        return self.y + self.height // 2

    def contains(self, other: Rect) -> bool:
        """True if ``other`` lies inside this rectangle (borders may touch)."""
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def overlaps(self, other: Rect) -> bool:
        """True if the interiors of the two rectangles intersect."""
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def on_border(self, point: Point, tolerance: int = 1) -> bool:
        """True if ``point`` lies on the border of this rectangle."""
        px, py = point
        inside = (
            self.x - tolerance <= px <= self.right + tolerance
            and self.y - tolerance <= py <= self.bottom + tolerance
        )
        near = min(abs(px - self.x), abs(px - self.right), abs(py - self.y), abs(py - self.bottom))
        return inside and near <= tolerance


def _segment_hits(a: Point, b: Point, rect: Rect, margin: int = 2) -> bool:
    """True if the axis-parallel segment a-b passes through ``rect`` grown by ``margin``."""
    x1, x2 = sorted((a[0], b[0]))
    y1, y2 = sorted((a[1], b[1]))
    rx1, ry1 = rect.x - margin, rect.y - margin
    rx2, ry2 = rect.right + margin, rect.bottom + margin
    if x1 == x2:
        return rx1 < x1 < rx2 and max(y1, ry1) < min(y2, ry2)
    if y1 == y2:
        return ry1 < y1 < ry2 and max(x1, rx1) < min(x2, rx2)
    return Rect(x1, y1, x2 - x1, y2 - y1).overlaps(Rect(rx1, ry1, rx2 - rx1, ry2 - ry1))


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and the middle one of three collinear points."""
    out: list[Point] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2:
            a, b = out[-2], out[-1]
            if (a[0] == b[0] == p[0]) or (a[1] == b[1] == p[1]):
                out[-1] = p
                continue
        out.append(p)
    return out


# --------------------------------------------------------------------------------------------
# Labels


def _char_width(ch: str) -> float:
    """A rough width in px of one character in bpmn-js' 12 px Arial."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 12.0
    if ch in "il.,:;'|!":
        return 3.0
    if ch in "fjrtI()[]- ":
        return 4.0
    if ch in "mwMW":
        return 10.0
    if ch.isupper():
        return 8.0
    return 6.5


def _label_size(text: str) -> tuple[int, int]:
    """Width and height of a label wrapped at LABEL_MAX_W, as bpmn-js lays it out roughly."""
    lines: list[float] = []
    current = 0.0
    space = _char_width(" ")
    for word in text.split():
        chunks: list[float] = []
        width = 0.0
        for ch in word:
            w = _char_width(ch)
            if width + w > LABEL_MAX_W and width > 0:
                chunks.append(width)
                width = 0.0
            width += w
        chunks.append(width)
        for chunk in chunks:
            if current > 0 and current + space + chunk <= LABEL_MAX_W:
                current += space + chunk
            else:
                if current > 0:
                    lines.append(current)
                current = chunk
    if current > 0:
        lines.append(current)
    if not lines:
        return 0, 0
    return min(LABEL_MAX_W, max(1, math.ceil(max(lines)))), LABEL_LINE_H * len(lines)


def _flow_label(points: list[Point], text: str) -> Rect | None:
    """A flow's label: above a straight flow, else beside its first vertical segment."""
    width, height = _label_size(text)
    if not width:
        return None
    (x1, y1), (x2, y2) = points[0], points[1]
    if y1 == y2 and len(points) > 2:  # leaves horizontally, then turns
        x1, y1 = x2, y2
        y2 = points[2][1]
    if y1 == y2:
        return Rect(x1 + 5, y1 - height - 3, width, height)
    return Rect(x1 + 5, (y1 + y2) // 2 - height // 2, width, height)


def _label_below(rect: Rect, text: str) -> Rect | None:
    width, height = _label_size(text)
    if not width:
        return None
    return Rect(rect.cx - width // 2, rect.bottom + LABEL_GAP, width, height)


# --------------------------------------------------------------------------------------------
# The model read from the BPMN file


def _local(el: etree._Element) -> str | None:
    """The local name of a BPMN model element, None for anything else."""
    if not isinstance(el.tag, str):
        return None
    qname = etree.QName(el)
    return qname.localname if qname.namespace == BPMN_NS else None


@dataclass(eq=False)
class _Lane:
    id: str
    depth: int  # 1 for the lanes directly in the pool
    refs: list[str] = field(default_factory=list)
    children: list[_Lane] = field(default_factory=list)
    rows: int = 1
    rect: Rect = Rect(0, 0, 0, 0)
    virtual: bool = False  # stands for a pool or process without lanes; gets no shape


@dataclass(eq=False)
class _Node:
    id: str
    kind: str
    name: str
    index: int
    element: etree._Element
    host: str | None = None  # for boundary events: the activity they are attached to
    lane: _Lane | None = None
    rank: int = 0
    row: int = 0
    row_top: int = 0
    rect: Rect = Rect(0, 0, 0, 0)

    @property
    def size(self) -> tuple[int, int]:
        if self.kind in EVENTS:
            return EVENT_SIZE
        if self.kind in GATEWAYS:
            return GATEWAY_SIZE
        return TASK_SIZE


@dataclass(eq=False)
class _Flow:
    id: str
    source: str
    target: str
    name: str
    index: int
    back: bool = False


@dataclass
class _Shape:
    element_id: str
    rect: Rect
    attrs: list[tuple[str, str]] = field(default_factory=list)
    label: Rect | None = None


@dataclass
class _Edge:
    element_id: str
    points: list[Point]
    label: Rect | None = None


@dataclass
class _Diagram:
    plane_element: str
    shapes: list[_Shape] = field(default_factory=list)
    edges: list[_Edge] = field(default_factory=list)


class _Channels:
    """Tracks of the horizontal channels along a row's top or bottom border."""

    def __init__(self) -> None:
        self._used: dict[tuple[int, str], list[list[tuple[int, int]]]] = {}

    def y(self, row_top: int, side: str, x1: int, x2: int) -> int:
        a, b = sorted((x1, x2))
        tracks = self._used.setdefault((row_top, side), [])
        chosen = None
        for i, spans in enumerate(tracks):
            if all(b < s or e < a for s, e in spans):
                chosen = i
                break
        if chosen is None:
            if len(tracks) < MAX_TRACKS:
                tracks.append([])
                chosen = len(tracks) - 1
            else:
                chosen = sum(len(spans) for spans in tracks) % MAX_TRACKS
        tracks[chosen].append((a, b))
        offset = CHANNEL_OFFSET + chosen * TRACK_STEP
        return row_top + offset if side == "above" else row_top + ROW_H - offset


class _Container:
    """The flow nodes of one process or sub-process: ranks, lanes, rows, then geometry."""

    def __init__(self, element: etree._Element, *, with_lanes: bool) -> None:
        self.element = element
        self.nodes: dict[str, _Node] = {}
        self.flows: list[_Flow] = []
        self._collect()
        self.lanes = self._read_lanes() if with_lanes else []
        self.leaves = [lane for lane in self._all_lanes() if not lane.children]
        if not self.leaves:
            self.leaves = [_Lane("", 1, virtual=True)]
        self.depth = max((lane.depth for lane in self._all_lanes()), default=0)
        self.outgoing: dict[str, list[_Flow]] = {nid: [] for nid in self.nodes}
        self.incoming: dict[str, list[_Flow]] = {nid: [] for nid in self.nodes}
        for f in self.flows:
            self.outgoing[f.source].append(f)
            self.incoming[f.target].append(f)
        self._rank()
        self._assign_lanes()
        self._assign_rows()
        self.columns = 1 + max((n.rank for n in self.nodes.values()), default=0)
        self.content_x0 = 0

    # -- reading

    def _collect(self) -> None:
        index = 0
        for child in self.element:
            kind = _local(child)
            node_id = child.get("id")
            if kind in FLOW_NODES and node_id and node_id not in self.nodes:
                self.nodes[node_id] = _Node(
                    node_id, kind, (child.get("name") or "").strip(), index, child
                )
                index += 1
        for node in self.nodes.values():
            if node.kind == "boundaryEvent":
                host = self.nodes.get(node.element.get("attachedToRef", ""))
                if host is not None and host.kind != "boundaryEvent":
                    node.host = host.id
        for child in self.element:
            flow_id = child.get("id")
            if _local(child) != "sequenceFlow" or not flow_id:
                continue
            source, target = child.get("sourceRef", ""), child.get("targetRef", "")
            if source in self.nodes and target in self.nodes:
                name = (child.get("name") or "").strip()
                self.flows.append(_Flow(flow_id, source, target, name, len(self.flows)))

    def _read_lanes(self) -> list[_Lane]:
        def read(lane_set: etree._Element, depth: int) -> list[_Lane]:
            lanes = []
            for el in lane_set:
                if _local(el) != "lane" or not el.get("id"):
                    continue
                lane = _Lane(el.get("id", ""), depth)
                for sub in el:
                    if _local(sub) == "flowNodeRef" and sub.text:
                        lane.refs.append(sub.text.strip())
                    elif _local(sub) == "childLaneSet":
                        lane.children.extend(read(sub, depth + 1))
                lanes.append(lane)
            return lanes

        for child in self.element:
            if _local(child) == "laneSet":
                return read(child, 1)
        return []

    def _all_lanes(self) -> list[_Lane]:
        out: list[_Lane] = []

        def walk(lanes: list[_Lane]) -> None:
            for lane in lanes:
                out.append(lane)
                walk(lane.children)

        walk(self.lanes)
        return out

    def _host(self, node_id: str) -> _Node:
        """The node itself, or for a boundary event the activity it is attached to."""
        node = self.nodes[node_id]
        return self.nodes[node.host] if node.host else node

    # -- columns

    def _rank(self) -> None:
        """Longest path from the starts, with back edges found by depth-first search."""
        ranked = [n for n in self.nodes.values() if n.host is None]
        adjacency: dict[str, list[_Flow]] = {n.id: [] for n in ranked}
        has_incoming: set[str] = set()
        for f in self.flows:
            adjacency[self._host(f.source).id].append(f)
            has_incoming.add(self._host(f.target).id)
        roots = (
            [n.id for n in ranked if n.kind == "startEvent"]
            + [n.id for n in ranked if n.id not in has_incoming]
            + [n.id for n in ranked]
        )
        state: dict[str, int] = {}  # 1 = on the stack, 2 = finished
        postorder: list[str] = []
        for root in roots:
            if root in state:
                continue
            state[root] = 1
            stack = [(root, iter(adjacency[root]))]
            while stack:
                current, pending = stack[-1]
                for f in pending:
                    target = self._host(f.target).id
                    seen = state.get(target)
                    if seen is None:
                        state[target] = 1
                        stack.append((target, iter(adjacency[target])))
                        break
                    if seen == 1:
                        f.back = True
                else:
                    state[current] = 2
                    postorder.append(current)
                    stack.pop()
        for node_id in reversed(postorder):
            node = self.nodes[node_id]
            for f in adjacency[node_id]:
                if not f.back:
                    successor = self._host(f.target)
                    successor.rank = max(successor.rank, node.rank + 1)
        for node in self.nodes.values():
            if node.host:
                node.rank = self.nodes[node.host].rank

    # -- rows

    def _assign_lanes(self) -> None:
        ranked = sorted(
            (n for n in self.nodes.values() if n.host is None), key=lambda n: (n.rank, n.index)
        )
        for lane in self.leaves:
            for ref in lane.refs:
                node = self.nodes.get(ref)
                if node is not None and node.host is None and node.lane is None:
                    node.lane = lane
        for lane in self._all_lanes():
            if lane.children:
                first_leaf = lane
                while first_leaf.children:
                    first_leaf = first_leaf.children[0]
                for ref in lane.refs:
                    node = self.nodes.get(ref)
                    if node is not None and node.host is None and node.lane is None:
                        node.lane = first_leaf
        changed = True
        while changed:  # a node in no lane goes to the lane of a neighbour
            changed = False
            for node in ranked:
                if node.lane is not None:
                    continue
                neighbours = [self._host(f.source) for f in self.incoming[node.id]] + [
                    self._host(f.target) for f in self.outgoing[node.id]
                ]
                for other in neighbours:
                    if other.lane is not None:
                        node.lane = other.lane
                        changed = True
                        break
        for node in ranked:
            if node.lane is None:
                node.lane = self.leaves[0]
        for node in self.nodes.values():
            if node.host:
                node.lane = self.nodes[node.host].lane

    def _assign_rows(self) -> None:
        """Sub-rows per lane: a node keeps its predecessor's row when that row is free."""
        for lane in self.leaves:
            columns: dict[int, list[_Node]] = {}
            for node in self.nodes.values():
                if node.lane is lane and node.host is None:
                    columns.setdefault(node.rank, []).append(node)
            rows_used = 0
            for rank in sorted(columns):
                keyed: list[tuple[tuple[int, int, int], int, _Node]] = []
                for node in columns[rank]:
                    preferences = []
                    for f in self.incoming[node.id]:
                        source = self.nodes[f.source]
                        pred = self._host(f.source)
                        if f.back or pred.lane is not lane or pred.rank >= node.rank:
                            continue
                        from_boundary = 1 if source.host else 0
                        preferences.append((pred.row + from_boundary, from_boundary, f.index))
                    key = min(preferences) if preferences else (0, 0, sys.maxsize)
                    keyed.append((key, node.index, node))
                keyed.sort(key=lambda item: (item[0], item[1]))
                taken: set[int] = set()
                for key, _, node in keyed:
                    row = key[0]
                    while row in taken:
                        row += 1
                    taken.add(row)
                    node.row = row
                    rows_used = max(rows_used, row + 1)
            lane.rows = max(1, rows_used)

    # -- geometry

    def width(self, pooled: bool) -> int:
        if pooled:
            return BAND * (1 + self.depth) + CONTENT_MARGIN + self.columns * COL_W
        return self.columns * COL_W

    def height(self) -> int:
        return sum(lane.rows for lane in self.leaves) * ROW_H

    def gap_x(self, column: int) -> int:
        """The x of the gap on the left of ``column``."""
        return self.content_x0 + column * COL_W

    def place(self, x0: int, y0: int, width: int, *, pooled: bool) -> None:
        self.content_x0 = x0 + (BAND * (1 + self.depth) + CONTENT_MARGIN if pooled else 0)

        def place_lane(lane: _Lane, y: int) -> int:
            if lane.children:
                height = 0
                for child in lane.children:
                    height += place_lane(child, y + height)
            else:
                height = lane.rows * ROW_H
            lane.rect = Rect(x0 + BAND * lane.depth, y, width - BAND * lane.depth, height)
            return height

        y = y0
        for lane in self.lanes if self.lanes else self.leaves:
            y += place_lane(lane, y)
        boundaries: dict[str, list[_Node]] = {}
        for node in self.nodes.values():
            if node.host:
                boundaries.setdefault(node.host, []).append(node)
                continue
            assert node.lane is not None
            node.row_top = node.lane.rect.y + node.row * ROW_H
            w, h = node.size
            cx = self.content_x0 + node.rank * COL_W + COL_W // 2
            cy = node.row_top + ROW_H // 2
            node.rect = Rect(cx - w // 2, cy - h // 2, w, h)
        for host_id, attached in boundaries.items():
            host = self.nodes[host_id]
            count = len(attached)
            for i, node in enumerate(attached):
                w, h = node.size
                cx = host.rect.cx + (2 * i - (count - 1)) * BOUNDARY_SPACING // 2
                node.rect = Rect(cx - w // 2, host.rect.bottom - h // 2, w, h)
                node.row_top = host.row_top

    def lane_shapes(self) -> list[_Shape]:
        return [
            _Shape(lane.id, lane.rect, [("isHorizontal", "true")])
            for lane in self._all_lanes()
            if not lane.virtual
        ]

    def node_shapes(self) -> list[_Shape]:
        shapes = []
        for node in self.nodes.values():
            attrs: list[tuple[str, str]] = []
            if node.kind == "exclusiveGateway":
                attrs.append(("isMarkerVisible", "true"))
            elif node.kind in CONTAINERS:
                attrs.append(("isExpanded", "false"))
            label = None
            if node.name and (node.kind in EVENTS or node.kind in GATEWAYS):
                label = _label_below(node.rect, node.name)
            shapes.append(_Shape(node.id, node.rect, attrs, label))
        return shapes

    # -- edges

    def edges(self) -> list[_Edge]:
        channels = _Channels()
        edges = []
        for f in self.flows:
            points = _simplify(self._route(f, channels))
            edges.append(_Edge(f.id, points, _flow_label(points, f.name)))
        return edges

    def _free(self, points: list[Point], exclude: set[str]) -> bool:
        for node in self.nodes.values():
            if node.id in exclude:
                continue
            for a, b in zip(points, points[1:], strict=False):
                if _segment_hits(a, b, node.rect):
                    return False
        return True

    def _route(self, f: _Flow, channels: _Channels) -> list[Point]:
        source, target = self.nodes[f.source], self.nodes[f.target]
        exclude = {source.id, target.id}
        q = (target.rect.x, target.rect.cy)
        before_target = self.gap_x(target.rank)
        if source.host:  # a boundary event: leave at the bottom
            p = (source.rect.cx, source.rect.bottom)
            if not f.back and q[1] > p[1]:
                candidate = [p, (p[0], q[1]), q]
                if self._free(candidate, exclude):
                    return candidate
            ch = channels.y(source.row_top, "below", p[0], before_target)
            return [p, (p[0], ch), (before_target, ch), (before_target, q[1]), q]
        p = (source.rect.right, source.rect.cy)
        after_source = self.gap_x(source.rank + 1)
        if not f.back:
            if p[1] == q[1]:
                if self._free([p, q], exclude):
                    return [p, q]
            else:
                columns = list(range(source.rank + 1, target.rank + 1))
                if len(self.outgoing[source.id]) <= 1:
                    columns.reverse()
                for column in columns:
                    gx = self.gap_x(column)
                    candidate = [p, (gx, p[1]), (gx, q[1]), q]
                    if self._free(candidate, exclude):
                        return candidate
            side = "below" if q[1] >= p[1] else "above"
        else:
            side = "above" if q[1] <= p[1] else "below"
        ch = channels.y(source.row_top, side, after_source, before_target)
        return [
            p,
            (after_source, p[1]),
            (after_source, ch),
            (before_target, ch),
            (before_target, q[1]),
            q,
        ]

    def sub_containers(self) -> list[tuple[str, _Container]]:
        """Sub-processes with content: each gets its own drill-down diagram."""
        out = []
        for node in self.nodes.values():
            if node.kind in CONTAINERS and any(_local(c) in FLOW_NODES for c in node.element):
                out.append((node.id, _Container(node.element, with_lanes=False)))
        return out


# --------------------------------------------------------------------------------------------
# Building the diagrams


def _plain_diagrams(plane_element: str, container: _Container) -> list[_Diagram]:
    """A diagram without pool for ``container``, then its sub-processes' diagrams."""
    container.place(PLAIN_X, PLAIN_Y, container.width(False), pooled=False)
    diagram = _Diagram(plane_element, container.node_shapes(), container.edges())
    return [diagram, *_sub_diagrams(container)]


def _sub_diagrams(container: _Container) -> list[_Diagram]:
    out: list[_Diagram] = []
    for node_id, sub in container.sub_containers():
        out.extend(_plain_diagrams(node_id, sub))
    return out


def _message_edges(
    collaboration: etree._Element, rects: dict[str, Rect], pools: dict[str, Rect]
) -> list[_Edge]:
    edges = []
    for flow in collaboration:
        flow_id = flow.get("id")
        if _local(flow) != "messageFlow" or not flow_id:
            continue
        source, target = flow.get("sourceRef", ""), flow.get("targetRef", "")
        if source not in rects or target not in rects:
            continue
        s, t = rects[source], rects[target]
        pool = pools.get(target)
        if s.cy <= t.cy:
            p, q = (s.cx, s.bottom), (t.cx, t.y)
            mid = pool.y - POOL_GAP // 2 if pool else (p[1] + q[1]) // 2
        else:
            p, q = (s.cx, s.y), (t.cx, t.bottom)
            mid = pool.bottom + POOL_GAP // 2 if pool else (p[1] + q[1]) // 2
        points = [p, q] if p[0] == q[0] else [p, (p[0], mid), (q[0], mid), q]
        edges.append(_Edge(flow_id, _simplify(points)))
    return edges


def _build(root: etree._Element) -> list[_Diagram]:
    processes: dict[str, etree._Element] = {}
    collaboration = None
    for child in root:
        kind = _local(child)
        if kind == "process" and child.get("id"):
            processes.setdefault(child.get("id", ""), child)
        elif (
            kind == "collaboration"
            and collaboration is None
            and child.get("id")
            and any(_local(c) == "participant" and c.get("id") for c in child)
        ):
            collaboration = child
    if collaboration is None:
        if not processes:
            raise ValueError("the document has no bpmn:process")
        executable = [p for p in processes.values() if p.get("isExecutable") == "true"]
        process = (executable or list(processes.values()))[0]
        return _plain_diagrams(process.get("id", ""), _Container(process, with_lanes=False))

    pools: list[tuple[str, _Container | None]] = []
    used: set[str] = set()
    for participant in collaboration:
        participant_id = participant.get("id")
        if _local(participant) != "participant" or not participant_id:
            continue
        ref = participant.get("processRef", "")
        container = None
        if ref in processes and ref not in used:
            used.add(ref)
            container = _Container(processes[ref], with_lanes=True)
        pools.append((participant_id, container))
    width = max(
        [c.width(True) for _, c in pools if c is not None] + [BAND + CONTENT_MARGIN + COL_W]
    )
    diagram = _Diagram(collaboration.get("id", ""))
    rects: dict[str, Rect] = {}
    pool_of: dict[str, Rect] = {}
    extra: list[_Diagram] = []
    y = POOL_Y
    for participant_id, container in pools:
        height = container.height() if container else BLACK_BOX_H
        pool = Rect(POOL_X, y, width, height)
        diagram.shapes.append(_Shape(participant_id, pool, [("isHorizontal", "true")]))
        rects[participant_id] = pool
        pool_of[participant_id] = pool
        if container is not None:
            container.place(POOL_X, y, width, pooled=True)
            diagram.shapes.extend(container.lane_shapes())
            for shape in container.node_shapes():
                diagram.shapes.append(shape)
                rects[shape.element_id] = shape.rect
                pool_of[shape.element_id] = pool
            diagram.edges.extend(container.edges())
            extra.extend(_sub_diagrams(container))
        y += height + POOL_GAP
    diagram.edges.extend(_message_edges(collaboration, rects, pool_of))
    return [diagram, *extra]


# --------------------------------------------------------------------------------------------
# Rendering and splicing into the source text


def _render(diagrams: list[_Diagram], prefixes: dict[str, str], unit: str, nl: str) -> str:
    bd, dc, di = prefixes[BPMNDI_NS], prefixes[DC_NS], prefixes[DI_NS]
    lines: list[str] = []

    def add(level: int, text: str) -> None:
        lines.append(unit * level + text)

    def bounds(level: int, r: Rect) -> None:
        add(
            level,
            f'<{dc}:Bounds x="{r.x}" y="{r.y}" width="{r.width}" height="{r.height}" />',
        )

    def label(level: int, r: Rect | None) -> None:
        if r is not None:
            add(level, f"<{bd}:BPMNLabel>")
            bounds(level + 1, r)
            add(level, f"</{bd}:BPMNLabel>")

    for number, diagram in enumerate(diagrams, start=1):
        suffix = "1" if number == 1 else diagram.plane_element
        add(1, f"<{bd}:BPMNDiagram id={quoteattr('BPMNDiagram_' + suffix)}>")
        add(
            2,
            f"<{bd}:BPMNPlane id={quoteattr('BPMNPlane_' + suffix)} "
            f"bpmnElement={quoteattr(diagram.plane_element)}>",
        )
        for shape in diagram.shapes:
            extra = "".join(f" {k}={quoteattr(v)}" for k, v in shape.attrs)
            add(
                3,
                f"<{bd}:BPMNShape id={quoteattr(shape.element_id + '_di')} "
                f"bpmnElement={quoteattr(shape.element_id)}{extra}>",
            )
            bounds(4, shape.rect)
            label(4, shape.label)
            add(3, f"</{bd}:BPMNShape>")
        for edge in diagram.edges:
            add(
                3,
                f"<{bd}:BPMNEdge id={quoteattr(edge.element_id + '_di')} "
                f"bpmnElement={quoteattr(edge.element_id)}>",
            )
            for x, y in edge.points:
                add(4, f'<{di}:waypoint x="{x}" y="{y}" />')
            label(4, edge.label)
            add(3, f"</{bd}:BPMNEdge>")
        add(2, f"</{bd}:BPMNPlane>")
        add(1, f"</{bd}:BPMNDiagram>")
    return "".join(nl + line for line in lines)


_OPAQUE = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)
_START_TAG = re.compile(r"""<[^\s/>"']+(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?>""")
_ATTRIBUTE = re.compile(r"""(\s+)[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*')""")
_WHITESPACE = " \t\r\n"


@dataclass
class _Source:
    """The text of the document and where its root's start tag, children and end tag are."""

    text: str
    encoding: str
    root: etree._Element
    root_tag: tuple[int, int]
    children: list[tuple[int, int]]  # one span per element child of the root, in order
    root_end: int

    @classmethod
    def parse(cls, xml: bytes) -> _Source:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, remove_blank_text=False, load_dtd=False
        )
        try:
            root = etree.fromstring(xml, parser)
        except etree.XMLSyntaxError as exc:
            raise ValueError(f"not well-formed XML: {exc}") from exc
        docinfo = root.getroottree().docinfo
        if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
            raise ValueError("a DOCTYPE is not allowed in a BPMN file")
        if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
            raise ValueError("the root element is not bpmn:definitions")
        encoding = docinfo.encoding or "UTF-8"
        try:
            text = xml.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot decode the document as {encoding}: {exc}") from exc
        masked = _OPAQUE.sub(lambda m: " " * len(m.group()), text)
        if "<!DOCTYPE" in masked:
            raise ValueError("a DOCTYPE is not allowed in a BPMN file")
        root_tag, children, root_end = cls._scan(masked)
        if len(children) != sum(1 for c in root if isinstance(c.tag, str)):
            raise ValueError("cannot match the document's text to its elements")
        return cls(text, encoding, root, root_tag, children, root_end)

    @staticmethod
    def _scan(masked: str) -> tuple[tuple[int, int], list[tuple[int, int]], int]:
        depth = 0
        pos = 0
        root_tag: tuple[int, int] | None = None
        children: list[tuple[int, int]] = []
        child_start = 0
        while True:
            lt = masked.find("<", pos)
            if lt < 0:
                break
            if masked.startswith("</", lt):
                gt = masked.index(">", lt)
                depth -= 1
                if depth == 1:
                    children.append((child_start, gt + 1))
                elif depth == 0:
                    assert root_tag is not None
                    return root_tag, children, lt
                pos = gt + 1
                continue
            match = _START_TAG.match(masked, lt)
            if match is None:
                raise ValueError(f"cannot read the tag at offset {lt}")
            end = match.end()
            if depth == 0:
                root_tag = (lt, end)
            elif depth == 1:
                child_start = lt
            if masked[end - 2] == "/":
                if depth == 1:
                    children.append((lt, end))
                if depth == 0:
                    break
            else:
                depth += 1
            pos = end
        raise ValueError("the root element has no content")

    def elements(self) -> list[etree._Element]:
        return [c for c in self.root if isinstance(c.tag, str)]

    def has_diagram(self) -> bool:
        return any(_is_diagram(c) for c in self.elements())

    def rewrite(self, diagrams: list[_Diagram]) -> bytes:
        text = self.text
        nl = "\r\n" if "\r\n" in text else "\n"
        unit = "  "
        elements = self.elements()
        if self.children:
            before_first = text[self.root_tag[1] : self.children[0][0]].split("\n")[-1]
            if before_first and not before_first.strip(" \t"):
                unit = before_first
        edits: list[tuple[int, int, str]] = []
        nsmap = self.root.nsmap
        prefixes: dict[str, str] = {}
        declarations = []
        for uri, preferred in ((BPMNDI_NS, "bpmndi"), (DC_NS, "dc"), (DI_NS, "di")):
            bound = [p for p, u in nsmap.items() if u == uri and p]
            if bound:
                prefixes[uri] = preferred if preferred in bound else sorted(bound)[0]
                continue
            prefix, n = preferred, 1
            while prefix in nsmap or prefix in prefixes.values():
                n += 1
                prefix = f"{preferred}{n}"
            prefixes[uri] = prefix
            declarations.append(f"xmlns:{prefix}={quoteattr(uri)}")
        if declarations:
            start, end = self.root_tag
            tag = text[start:end]
            attributes = list(_ATTRIBUTE.finditer(tag))
            if attributes:
                sep = attributes[-1].group(1)
                at = start + attributes[-1].end()
            else:
                sep = " "
                name = re.match(r"<[^\s/>]+", tag)
                at = start + (name.end() if name else len(tag) - 1)
            edits.append((at, at, "".join(sep + d for d in declarations)))
        for element, (start, end) in zip(elements, self.children, strict=True):
            if _is_diagram(element):
                while start > 0 and text[start - 1] in _WHITESPACE:
                    start -= 1
                edits.append((start, end, ""))
        at = self.root_end
        while at > 0 and text[at - 1] in _WHITESPACE:
            at -= 1
        edits.append((at, at, _render(diagrams, prefixes, unit, nl)))
        for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            text = text[:start] + replacement + text[end:]
        return text.encode(self.encoding, "xmlcharrefreplace")


def _is_diagram(el: etree._Element) -> bool:
    if not isinstance(el.tag, str):
        return False
    qname = etree.QName(el)
    return qname.namespace == BPMNDI_NS and qname.localname == "BPMNDiagram"


# --------------------------------------------------------------------------------------------
# API


def layout_document(xml: bytes, *, replace: bool = False) -> bytes:
    """Return ``xml`` with a generated BPMN diagram.

    A document that already has a ``bpmndi:BPMNDiagram`` is returned unchanged unless
    ``replace`` is true, in which case its diagrams are replaced.  Raises ValueError for a
    document that is not well-formed, has a DOCTYPE, or is not a BPMN definitions document.
    """
    source = _Source.parse(xml)
    if source.has_diagram() and not replace:
        return xml
    return source.rewrite(_build(source.root))


def layout_file(path: pathlib.Path, *, replace: bool = False) -> bool:
    """Lay out the BPMN file at ``path`` in place; True if the file was changed."""
    path = pathlib.Path(path)
    original = path.read_bytes()
    result = layout_document(original, replace=replace)
    if result == original:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(result)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gridflow.layout",
        description="Generate BPMN diagram information (pools, lanes, shapes, edges).",
    )
    parser.add_argument("--replace", action="store_true", help="replace an existing diagram")
    parser.add_argument("files", nargs="+", type=pathlib.Path, metavar="FILE")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            changed = layout_file(path, replace=args.replace)
        except (OSError, ValueError) as exc:
            print(f"{path}: error: {exc}")
            status = 1
            continue
        if changed:
            print(f"{path}: diagram {'replaced' if args.replace else 'generated'}")
        elif args.replace:
            print(f"{path}: unchanged")
        else:
            print(f"{path}: unchanged (already has a diagram)")
    return status


if __name__ == "__main__":
    sys.exit(main())
