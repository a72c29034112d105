"""What every lint rule needs: the namespaces, an element's kind, line and extension
properties, and the shape of a problem report."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

from gridflow.bpmn import BPMN_NS, CAMUNDA_NS, FLOW_NODES
from gridflow.expressions import Node

NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

# How a rule reports a problem: the element it concerns (its id and line are taken from it)
# and the message. `Linter.problem` is one.
Report = Callable[[etree._Element | None, str], None]


def line(element: etree._Element | None) -> int | None:
    found = element.sourceline if element is not None else None
    return found if isinstance(found, int) else None


def local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return etree.QName(tag).localname


def namespace(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).namespace or "" if isinstance(tag, str) else ""


def camunda(element: etree._Element, attribute: str) -> str | None:
    """A `camunda:` attribute of an element."""
    return element.get(f"{{{CAMUNDA_NS}}}{attribute}")


def properties(element: etree._Element) -> dict[str, str]:
    """The element's `camunda:properties` (name → value)."""
    found: dict[str, str] = {}
    for prop in element.findall("bpmn:extensionElements/camunda:properties/camunda:property", NS):
        if prop.get("name"):
            found[prop.get("name", "")] = prop.get("value", "")
    return found


def flow_nodes(container: etree._Element) -> list[etree._Element]:
    """The flow nodes directly inside a process or subprocess, in document order."""
    return [e for e in container if local(e) in FLOW_NODES and namespace(e) == BPMN_NS]


def by_id(root: etree._Element, element_id: str) -> etree._Element | None:
    """The BPMN element with this id, compared as a plain string: an id may hold quotes or
    brackets, so it is never spliced into an XPath."""
    for element in root.iter():
        if element.get("id") == element_id and namespace(element) == BPMN_NS:
            return element
    return None


def name_of(element: etree._Element) -> str:
    return element.get("name") or element.get("id") or local(element)


def nodes(tree: Node) -> Iterator[Node]:
    """Every node of an expression tree, the root first."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(node.children())
