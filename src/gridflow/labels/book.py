"""The labels of a process or decision file in every language, read from the file itself.

The English label is the element's own attribute (a flow node's `name`, a form field's
`label`, a choice's `name`, a DMN input's `label`); every other language is a
`<gridflow:label lang="zh-Hans">` in the element's `extensionElements`, so a version carries
its own translations and an old instance shows the labels of its own version (see
docs/translations.md). A form field, a choice and a standard's source are translated on the
user task that holds them: `field="…"`, `field="…" value="…"`, `property="standard_source"`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree

LABELS_NS = "urn:gridflow:labels:1.0"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = frozenset(
    {
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    }
)
SOURCE_LANGUAGE = "en"
# The languages every shipped label must have besides the source (BCP 47 tags).
TARGET_LANGUAGES = ("zh-Hans",)
# Flask-Babel's locale names → the tags the files use.
LOCALE_TAGS = {"zh_Hans": "zh-Hans", "en": "en"}

# Elements whose `name` is a key other elements refer to (a message's name is what a rule
# correlates on), not a label a person reads.
_NOT_LABELS = frozenset(
    {"message", "signal", "error", "escalation", "definitions", "itemDefinition"}
)


def language_tag(locale: str) -> str:
    """`zh_Hans` → `zh-Hans`; a tag passes unchanged."""
    return LOCALE_TAGS.get(locale, locale.replace("_", "-"))


@dataclass(frozen=True, order=True)
class LabelKey:
    """Where a label sits: an element, optionally one of its form fields, one choice of that
    field, or one of its properties (a standard's source)."""

    element_id: str
    field: str = ""
    value: str = ""
    property: str = ""

    def describe(self) -> str:
        if self.property:
            return f"property {self.property}"
        if self.value:
            return f"choice {self.value} of field {self.field}"
        if self.field:
            return f"form field {self.field}"
        return "name"

    def context(self, file_name: str) -> str:
        """The PO message context: `file#element[/field[=value]][@property]`."""
        text = f"{file_name}#{self.element_id}"
        if self.field:
            text += f"/{self.field}"
            if self.value:
                text += f"={self.value}"
        if self.property:
            text += f"@{self.property}"
        return text

    @classmethod
    def from_context(cls, context: str) -> tuple[str, LabelKey]:
        """The file name and key a PO context names; ValueError when it names none."""
        file_name, sep, rest = context.partition("#")
        if not sep or not file_name or not rest:
            raise ValueError(f"{context!r} is not file#element")
        rest, _, prop = rest.partition("@")
        element_id, _, field_part = rest.partition("/")
        field_id, _, value = field_part.partition("=")
        if not element_id:
            raise ValueError(f"{context!r} names no element")
        return file_name, cls(element_id, field_id, value, prop)


@dataclass(frozen=True)
class Label:
    """One label: its English text, the line of the element that holds it, its translations."""

    key: LabelKey
    source: str
    line: int | None
    kind: str  # the element's kind: userTask, lane, formField, …
    translations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelBook:
    """Every label of one file, by key."""

    labels: Mapping[LabelKey, Label]

    def text(
        self,
        locale: str,
        element_id: str,
        fallback: str,
        *,
        field: str = "",
        value: str = "",
        property: str = "",
    ) -> str:
        """The label in the reader's language, else the fallback (the English one stored)."""
        label = self.labels.get(LabelKey(element_id, field, value, property))
        if label is None:
            return fallback
        tag = language_tag(locale)
        if tag == SOURCE_LANGUAGE:
            return label.source or fallback
        return label.translations.get(tag) or label.source or fallback

    def __len__(self) -> int:
        return len(self.labels)


EMPTY = LabelBook({})


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _ns(element: etree._Element) -> str:
    return etree.QName(element).namespace or "" if isinstance(element.tag, str) else ""


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def translation_elements(element: etree._Element) -> Iterator[etree._Element]:
    """The `gridflow:label` children of an element's extensionElements."""
    for ext in element:
        if isinstance(ext.tag, str) and _local(ext) == "extensionElements":
            for child in ext:
                if isinstance(child.tag, str) and child.tag == f"{{{LABELS_NS}}}label":
                    yield child


def labelled(root: etree._Element) -> Iterator[tuple[etree._Element, LabelKey, str, str]]:
    """Each (element that holds the translations, key, English text, kind) in a BPMN or DMN
    tree, in document order."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        ns, kind = _ns(element), _local(element)
        element_id = element.get("id")
        if not element_id or kind in _NOT_LABELS:
            continue
        if ns == BPMN_NS:
            name = _text(element.get("name"))
            if name:
                yield element, LabelKey(element_id), name, kind
            yield from _extension_labels(element, element_id)
        elif ns in DMN_NAMESPACES:
            attribute = (
                "name" if kind == "decision" else "label" if kind in ("input", "output") else None
            )
            if attribute is None:
                continue
            name = _text(element.get(attribute))
            if name:
                yield element, LabelKey(element_id), name, kind


def _extension_labels(
    element: etree._Element, element_id: str
) -> Iterator[tuple[etree._Element, LabelKey, str, str]]:
    for ext in element:
        if not (isinstance(ext.tag, str) and _local(ext) == "extensionElements"):
            continue
        for form in ext.findall(f"{{{CAMUNDA_NS}}}formData"):
            for form_field in form.findall(f"{{{CAMUNDA_NS}}}formField"):
                field_id = form_field.get("id") or ""
                if not field_id:
                    continue
                yield (
                    element,
                    LabelKey(element_id, field_id),
                    _text(form_field.get("label")) or field_id,
                    "formField",
                )
                for choice in form_field.findall(f"{{{CAMUNDA_NS}}}value"):
                    if choice.get("id"):
                        yield (
                            element,
                            LabelKey(element_id, field_id, choice.get("id") or ""),
                            _text(choice.get("name")) or choice.get("id") or "",
                            "choice",
                        )
        for props in ext.findall(f"{{{CAMUNDA_NS}}}properties"):
            for prop in props.findall(f"{{{CAMUNDA_NS}}}property"):
                prop_name = prop.get("name") or ""
                if prop_name.startswith("standard_source") and _text(prop.get("value")):
                    yield (
                        element,
                        LabelKey(element_id, property=prop_name),
                        _text(prop.get("value")),
                        "standard source",
                    )


def translations_of(element: etree._Element) -> dict[LabelKey, dict[str, str]]:
    """The translations an element holds, by key and language tag."""
    element_id = element.get("id") or ""
    found: dict[LabelKey, dict[str, str]] = {}
    for node in translation_elements(element):
        key = LabelKey(
            element_id, node.get("field") or "", node.get("value") or "", node.get("property") or ""
        )
        lang = node.get("lang") or ""
        text = _text(node.text)
        if lang and text:
            found.setdefault(key, {})[lang] = text
    return found


def read(root: etree._Element) -> LabelBook:
    """The label book of a parsed BPMN or DMN document."""
    labels: dict[LabelKey, Label] = {}
    # by the element's id attribute: lxml's proxies are short-lived, their id() is reused
    holders: dict[str, dict[LabelKey, dict[str, str]]] = {}
    for element, key, source, kind in labelled(root):
        held = holders.get(key.element_id)
        if held is None:
            held = holders[key.element_id] = translations_of(element)
        labels[key] = Label(key, source, _line(element), kind, held.get(key, {}))
    return LabelBook(labels)


def read_xml(xml: bytes) -> LabelBook:
    """The label book of stored (already checked) XML; empty when it cannot be read."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        return EMPTY
    return read(root)


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def localized_xml(xml: bytes, locale: str) -> bytes:
    """The document with each element's own label (a name, a DMN input's or output's label) in
    the reader's language, for a diagram or table drawn for reading; the stored file keeps
    English. Form fields and choices are not drawn, so they stay as they are."""
    tag = language_tag(locale)
    if tag == SOURCE_LANGUAGE:
        return xml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        return xml
    held: dict[str, dict[LabelKey, dict[str, str]]] = {}
    for element, key, _source, kind in list(labelled(root)):
        if key.field or key.property:
            continue
        translations = held.get(key.element_id)
        if translations is None:
            translations = held[key.element_id] = translations_of(element)
        text = translations.get(key, {}).get(tag)
        if text:
            attribute = "label" if kind in ("input", "output") else "name"
            element.set(attribute, text)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)
