"""Lint rules for what Camunda Modeler writes beyond lanes and user tasks: external service
tasks, call activities, multi-instance loops, candidate groups and assignees, error, signal and
escalation events, and extensions of other vendors bound to the `camunda` prefix.

Each rule reports through the linter (`problem(element, message)`) and, for a step gridflow
runs, describes it (`Step`) for the engine, the API and the pages.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree

from gridflow.bpmn import BPMN_NS, CAMUNDA_NS
from gridflow.definitions.describe import Step
from gridflow.errors import ExpressionError
from gridflow.expressions import compile_expression

if TYPE_CHECKING:
    # These rules use only what every part of the linter has (root, roles, problem,
    # properties), so the user-task rules (`rules.linter.user_tasks`) call them too.
    from gridflow.definitions.rules.linter.base import LinterBase as Linter

NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
TOPIC = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,99}")
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ${name} or #{name}: a variable holding the role or the user name.
VARIABLE_REFERENCE = re.compile(r"^[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")
BINDINGS = ("latest", "deployment", "version")
CODE_ATTRIBUTES = ("class", "delegateExpression", "expression")
# Namespaces of engines whose extensions look like Camunda's but are not read by gridflow.
OTHER_VENDORS = {
    "http://activiti.org/bpmn": "Activiti",
    "http://flowable.org/bpmn": "Flowable",
    "http://www.activiti.org/bpmn": "Activiti",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8 (Zeebe)",
}


def _camunda(element: etree._Element, attribute: str) -> str | None:
    return element.get(f"{{{CAMUNDA_NS}}}{attribute}")


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def check_vendor_extensions(linter: Linter) -> None:
    """Refuse extensions of another engine, naming what would be lost: gridflow reads Camunda
    7's; another vendor's form fields or assignments must never be dropped without a word."""
    root = linter.root
    for prefix, uri in (root.nsmap or {}).items():
        if prefix == "camunda" and uri != CAMUNDA_NS:
            vendor = OTHER_VENDORS.get(uri or "", "another engine")
            linter.problem(
                None,
                f"the camunda prefix is bound to {uri!r} ({vendor}); gridflow reads Camunda 7's "
                f"extensions ({CAMUNDA_NS}): rebind the prefix or export the file from "
                "Camunda Modeler for Camunda 7",
            )
    reported: set[str] = set()
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        uri = etree.QName(tag).namespace or ""
        attributes = [a for a in element.attrib if etree.QName(a).namespace in OTHER_VENDORS]
        vendor_uri = uri if uri in OTHER_VENDORS else None
        if vendor_uri is None and attributes:
            vendor_uri = etree.QName(attributes[0]).namespace
        if vendor_uri is None:
            continue
        owner: etree._Element | None = element
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        key = f"{owner.get('id') if owner is not None else ''}:{vendor_uri}"
        if key in reported:
            continue
        reported.add(key)
        what = (
            etree.QName(tag).localname
            if uri in OTHER_VENDORS
            else ", ".join(etree.QName(a).localname for a in attributes)
        )
        linter.problem(
            owner,
            f"{OTHER_VENDORS[vendor_uri or '']} extension {what!r} is not read by gridflow "
            f"(it reads Camunda 7's, {CAMUNDA_NS}); it would be lost: write it as the Camunda "
            'equivalent (camunda:formData, camunda:candidateGroups, camunda:type="external")',
        )


def check_code_attributes(linter: Linter, element: etree._Element, kind: str) -> bool:
    """Refuse Java delegates and bean expressions; True when the element has none."""
    for attribute in CODE_ATTRIBUTES:
        value = _camunda(element, attribute)
        if value:
            linter.problem(
                element,
                f"{kind} with camunda:{attribute}={value!r} is refused: gridflow runs no Java "
                'delegates or bean expressions; make it an external task (camunda:type="external" '
                'camunda:topic="...") served by a worker',
            )
            return False
    return True


def check_external_task(linter: Linter, element: etree._Element) -> Step | None:
    """A service task must be an external task with a topic; its `outputs` property names the
    variables its worker may set."""
    if not check_code_attributes(linter, element, "serviceTask"):
        return None
    if _camunda(element, "type") != "external":
        linter.problem(
            element,
            'a service task must be an external task: camunda:type="external" '
            'camunda:topic="..." (a worker of another system completes it)',
        )
        return None
    topic = (_camunda(element, "topic") or "").strip()
    if not TOPIC.fullmatch(topic):
        linter.problem(
            element,
            f"external task topic {topic!r} must be a name (letters, digits, _ . -, at most 100)",
        )
        return None
    priority = _camunda(element, "taskPriority")
    if priority is not None and not re.fullmatch(r"-?\d{1,9}", priority.strip()):
        linter.problem(element, f"camunda:taskPriority {priority!r} is not a whole number")
    outputs: list[str] = []
    for name in (n.strip() for n in linter.properties(element).get("outputs", "").split(",")):
        if not name:
            continue
        if not VARIABLE.fullmatch(name) or "__" in name:
            linter.problem(element, f"outputs: {name!r} is not a variable name")
            continue
        outputs.append(name)
    return Step(
        element_id=element.get("id", ""),
        name=element.get("name") or element.get("id") or "",
        kind="external",
        topic=topic,
        outputs=tuple(outputs),
        line=_line(element),
    )


def check_call_activity(linter: Linter, element: etree._Element) -> Step | None:
    """A call activity names the process it calls, how the version is chosen and which
    variables go in and out."""
    ok = True
    called = (element.get("calledElement") or "").strip()
    if not called or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", called):
        linter.problem(element, f"call activity calls {called!r}: name a process id")
        ok = False
    if _camunda(element, "caseRef"):
        linter.problem(element, "camunda:caseRef (CMMN cases) is not supported")
        ok = False
    binding = _camunda(element, "calledElementBinding") or "latest"
    version = _camunda(element, "calledElementVersion")
    if binding not in BINDINGS:
        linter.problem(
            element,
            f"camunda:calledElementBinding {binding!r} is not supported; use one of {BINDINGS}",
        )
        ok = False
    elif binding == "version" and not (version or "").isdigit():
        linter.problem(
            element,
            f"binding 'version' needs camunda:calledElementVersion as a number: {version!r}",
        )
        ok = False
    for attribute in ("variableMappingClass", "variableMappingDelegateExpression"):
        if _camunda(element, attribute):
            linter.problem(element, f"camunda:{attribute} is refused: gridflow runs no Java code")
            ok = False
    for kind in ("in", "out"):
        for mapping in element.findall(f"bpmn:extensionElements/camunda:{kind}", NS):
            ok = _check_mapping(linter, element, kind, mapping) and ok
    if not ok:
        return None
    ins = element.findall("bpmn:extensionElements/camunda:in", NS)
    outs = element.findall("bpmn:extensionElements/camunda:out", NS)
    every = any(m.get("variables") == "all" for m in ins)
    return Step(
        element_id=element.get("id", ""),
        name=element.get("name") or element.get("id") or "",
        kind="call",
        called_element=called,
        line=_line(element),
        in_targets=None if every else tuple(m.get("target") or "" for m in ins if m.get("target")),
        out_sources=tuple(m.get("source") or "" for m in outs if m.get("source")),
    )


def _check_mapping(
    linter: Linter, element: etree._Element, kind: str, mapping: etree._Element
) -> bool:
    where = f"camunda:{kind}"
    if mapping.get("businessKey") is not None:
        return True  # the child always carries its caller's business key
    if mapping.get("variables") is not None:
        if mapping.get("variables") != "all":
            linter.problem(element, f'{where} variables={mapping.get("variables")!r}: only "all"')
            return False
        return True
    if mapping.get("local") == "true":
        linter.problem(element, f'{where} local="true" is not supported')
        return False
    target = mapping.get("target") or ""
    if not VARIABLE.fullmatch(target):
        linter.problem(element, f"{where} target {target!r} is not a variable name")
        return False
    source, expression = mapping.get("source"), mapping.get("sourceExpression")
    if bool(source) == bool(expression):
        linter.problem(element, f"{where} needs exactly one of source and sourceExpression")
        return False
    if source and not VARIABLE.fullmatch(source):
        linter.problem(element, f"{where} source {source!r} is not a variable name")
        return False
    if expression:
        try:
            compile_expression(expression)
        except ExpressionError as exc:
            linter.problem(element, f"{where} sourceExpression refused: {exc.message}")
            return False
    return True


def check_loop(linter: Linter, element: etree._Element) -> None:
    """Multi-instance: a collection or a cardinality, expressions gridflow can evaluate."""
    loop = element.find("bpmn:multiInstanceLoopCharacteristics", NS)
    if element.find("bpmn:standardLoopCharacteristics", NS) is not None:
        linter.problem(element, "standard loops are not supported: model the loop with a gateway")
    if loop is None:
        return
    collection = _camunda(loop, "collection")
    cardinality = loop.find("bpmn:loopCardinality", NS)
    if collection is None and cardinality is None:
        linter.problem(element, "a multi-instance task needs camunda:collection or loopCardinality")
    if loop.find("bpmn:loopDataInputRef", NS) is not None:
        linter.problem(
            element,
            "loopDataInputRef is not read by gridflow: use camunda:collection and "
            "camunda:elementVariable",
        )
    variable = _camunda(loop, "elementVariable")
    if variable is not None and not VARIABLE.fullmatch(variable):
        linter.problem(element, f"camunda:elementVariable {variable!r} is not a variable name")
    texts = [("camunda:collection", collection)]
    if cardinality is not None:
        texts.append(("loopCardinality", (cardinality.text or "").strip()))
    condition = loop.find("bpmn:completionCondition", NS)
    if condition is not None:
        texts.append(("completionCondition", (condition.text or "").strip()))
    for what, text in texts:
        if text is None:
            continue
        if not text:
            linter.problem(element, f"{what} is empty")
            continue
        try:
            compile_expression(text)
        except ExpressionError as exc:
            linter.problem(element, f"{what} refused: {exc.message}")


def role_of_task(
    linter: Linter, element: etree._Element, lane: str | None
) -> tuple[bool, str | None, str | None]:
    """Who a user task goes to: (found, static role id or None, role variable or None).

    `camunda:candidateGroups` names one role id (or `${variable}` holding one, decided when
    the task is reached, as a countersign's department is); without it, the lane's role."""
    groups = (_camunda(element, "candidateGroups") or "").strip()
    if _camunda(element, "candidateUsers"):
        linter.problem(
            element,
            "camunda:candidateUsers is not supported: name a role with camunda:candidateGroups "
            "or one person with camunda:assignee",
        )
    assignee = (_camunda(element, "assignee") or "").strip()
    if assignee and not (
        VARIABLE_REFERENCE.match(assignee) or re.fullmatch(r"[A-Za-z0-9_.\-@]{1,100}", assignee)
    ):
        linter.problem(
            element, f"camunda:assignee {assignee!r} must be a user name or ${{variable}}"
        )
    if groups:
        if "," in groups:
            linter.problem(
                element,
                f"camunda:candidateGroups={groups!r}: a link belongs to one role; model one "
                "task per role, or a multi-instance task over the roles",
            )
            return False, None, None
        reference = VARIABLE_REFERENCE.match(groups)
        if reference:
            return True, None, reference.group(1)
        if "{" in groups or groups not in linter.roles or not linter.roles[groups].owns_lanes:
            known = ", ".join(r.id for r in linter.roles.roles.values() if r.owns_lanes)
            linter.problem(
                element,
                f"camunda:candidateGroups={groups!r} names no role that does work (roles: {known})",
            )
            return False, None, None
        return True, groups, None
    if lane is None:
        linter.problem(
            element,
            f"user task {element.get('name') or element.get('id')!r} is outside any lane and "
            "has no camunda:candidateGroups",
        )
        return False, None, None
    role = linter.roles.for_lane(lane)
    return role is not None, role.id if role is not None else None, None


def check_code_events(linter: Linter, element: etree._Element) -> None:
    """Error, escalation and signal events refer to a declared error, escalation or signal."""
    refs = {
        "errorEventDefinition": ("errorRef", "error", "errorCode"),
        "escalationEventDefinition": ("escalationRef", "escalation", "escalationCode"),
        "signalEventDefinition": ("signalRef", "signal", "name"),
    }
    for definition in element:
        if not isinstance(definition.tag, str):
            continue
        local = etree.QName(definition.tag).localname
        if local not in refs:
            continue
        attribute, declared_kind, key = refs[local]
        ref = definition.get(attribute)
        if ref is None:
            if local == "signalEventDefinition" or etree.QName(element.tag).localname != (
                "boundaryEvent"
            ):
                linter.problem(element, f"{local} refers to no {declared_kind} ({attribute})")
            continue  # a boundary error or escalation without a ref catches every code
        declared = [
            d for d in linter.root.findall(f"bpmn:{declared_kind}", NS) if d.get("id") == ref
        ]
        if not declared:
            linter.problem(element, f"{local} refers to unknown {declared_kind} {ref!r}")
        elif not (declared[0].get(key) or "").strip():
            linter.problem(declared[0], f"{declared_kind} {ref!r} has no {key}")
