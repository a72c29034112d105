"""Writing translations into a BPMN or DMN file: one `<gridflow:label>` per key and language
in the element's extensionElements (created where missing), the rest of the text untouched
but for lxml's serialisation of the same tree."""

from __future__ import annotations

from lxml import etree

from gridflow.labels.book import LABELS_NS, LabelKey, translation_elements

PREFIX = "gridflow"
_FIRST = ("documentation", "description")


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _indent_of(element: etree._Element) -> str:
    previous = element.getprevious()
    before = previous.tail if previous is not None else element.getparent().text  # type: ignore[union-attr]
    before = before or "\n"
    return "\n" + before.rsplit("\n", 1)[-1] if "\n" in before else "\n"


def _extension_elements(element: etree._Element) -> etree._Element:
    for child in element:
        if _local(child) == "extensionElements":
            return child
    namespace = etree.QName(element).namespace
    ext = etree.Element(f"{{{namespace}}}extensionElements")
    own = _indent_of(element)
    step = "  "
    position = 0
    for index, child in enumerate(element):
        if _local(child) in _FIRST:
            position = index + 1
    if len(element) == 0:
        element.text = own + step
        ext.tail = own
    else:
        if position == 0:
            ext.tail = element.text
        else:
            ext.tail = element[position - 1].tail
            element[position - 1].tail = element.text
    element.insert(position, ext)
    ext.text = own + step + step
    return ext


def set_translation(element: etree._Element, key: LabelKey, lang: str, text: str) -> bool:
    """Set the `lang` label of `key` on the element that holds it; True when it changed."""
    for node in translation_elements(element):
        if (
            (node.get("field") or "") == key.field
            and (node.get("value") or "") == key.value
            and (node.get("property") or "") == key.property
            and node.get("lang") == lang
        ):
            if (node.text or "") == text:
                return False
            node.text = text
            return True
    ext = _extension_elements(element)
    node = etree.Element(f"{{{LABELS_NS}}}label", nsmap={PREFIX: LABELS_NS})
    node.set("lang", lang)
    for attribute in ("field", "value", "property"):
        if getattr(key, attribute):
            node.set(attribute, getattr(key, attribute))
    node.text = text
    labels = list(translation_elements(element))
    if labels:
        # beside the element's other labels, after them
        last = labels[-1]
        node.tail = last.tail
        last.tail = ext.text
        last.addnext(node)
    else:
        node.tail = ext.text if len(ext) else (ext.text or "\n").rsplit("  ", 1)[0]
        if len(ext):
            ext.insert(0, node)
        else:
            ext.append(node)
    return True


def serialize(root: etree._Element) -> bytes:
    """The document with the labels' namespace declared once, at the top."""
    etree.cleanup_namespaces(root, top_nsmap={PREFIX: LABELS_NS})
    # Camunda Modeler's style for empty elements, so a write changes only the labels
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False).replace(b'"/>', b'" />')
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"
