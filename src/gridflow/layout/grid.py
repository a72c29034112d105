"""The grid of one process or sub-process: columns are the flow nodes' ranks (longest path from
the start events, back edges of loops ignored), rows are the lanes split into sub-rows; then
the shapes' places and the orthogonal routes of the sequence flows, through the gaps between
columns and the channels along a row's top and bottom."""

from __future__ import annotations

import sys

from lxml import etree

from gridflow.bpmn import CONTAINERS, EVENTS, FLOW_NODES, GATEWAYS
from gridflow.layout.geometry import (
    BAND,
    BOUNDARY_SPACING,
    CHANNEL_OFFSET,
    COL_W,
    CONTENT_MARGIN,
    MAX_TRACKS,
    ROW_H,
    TRACK_STEP,
    Point,
    Rect,
    _segment_hits,
    _simplify,
)
from gridflow.layout.labels import _flow_label, _label_below
from gridflow.layout.model import _Edge, _Flow, _Lane, _local, _Node, _Shape


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
