"""The model of the layout: the lanes, flow nodes and sequence flows read from the BPMN file,
and the shapes, edges and diagrams built from them."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from gridflow.bpmn import BPMN_NS, EVENTS, GATEWAYS
from gridflow.layout.geometry import EVENT_SIZE, GATEWAY_SIZE, TASK_SIZE, Point, Rect


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
