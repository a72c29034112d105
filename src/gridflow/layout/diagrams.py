"""Building the diagrams of a document: the collaboration's pools stacked with their lanes and
message flows, or the executable process on its own, then one drill-down diagram for each
sub-process with content."""

from __future__ import annotations

from lxml import etree

from gridflow.layout.geometry import (
    BAND,
    BLACK_BOX_H,
    COL_W,
    CONTENT_MARGIN,
    PLAIN_X,
    PLAIN_Y,
    POOL_GAP,
    POOL_X,
    POOL_Y,
    Rect,
    _simplify,
)
from gridflow.layout.grid import _Container
from gridflow.layout.model import _Diagram, _Edge, _local, _Shape


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
