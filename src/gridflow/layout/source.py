"""The BPMN file's own text: where its root's start tag, children and end tag are, and the
rendered diagrams spliced in (namespace declarations added where missing, an old diagram
removed on replace) so that every other byte of the file is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from gridflow.bpmn import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS
from gridflow.layout.geometry import Rect
from gridflow.layout.model import _Diagram


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
