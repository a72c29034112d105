"""What each kind of element reads and produces, for the variable analysis (`variables`).

This is the extension point: one function per element kind, registered with `effects_of`,
returns the element's `Effects`. A new construct plugs in beside the others, for example

    @effects_of("serviceTask")
    def _outputs(element, scope): return Effects(writes=scope.outputs(element))

Several functions may serve one kind (their effects are pooled); `ANY` serves every element
(multi-instance markers, for instance, sit on any activity). Register in this module, or in a
module that `rules/__init__.py` imports, so the function is known before any file is linted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lxml import etree

from gridflow.definitions.rules.common import NS, camunda, local, name_of, properties
from gridflow.definitions.rules.timers import (
    ISO_LITERAL,
    TIMER_FUNCTIONS,
    TIMER_KINDS,
    misread_iso,
)
from gridflow.definitions.rules.types import VarType, result_type
from gridflow.errors import ExpressionError
from gridflow.expressions import Expression, Script, compile_expression, compile_script
from gridflow.forms import FIELD_TYPES

ANY = "*"
# A Produced with this name sets variables not known from this file (a call activity's
# `camunda:out variables="all"`: whatever the called process holds); reads after it on every
# path are taken as set.
UNKNOWN_VARIABLES = "*"
# What a multi-instance activity gives each of its instances (Camunda's names).
MULTI_INSTANCE_VARIABLES = ("loopCounter", "nrOfInstances", "nrOfActiveInstances")
COMPLETION_VARIABLES = ("nrOfCompletedInstances",)
_PLAIN_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True)
class Produced:
    """A variable some element sets: its name, where (element id and words for a designer),
    its type when known, and whether it is always set (an optional form field left empty is
    not)."""

    name: str
    element_id: str
    origin: str
    type: VarType | None = None
    certain: bool = True


@dataclass(frozen=True)
class Use:
    """Variables an element reads: the expression (its names are the variables), or plain
    variable names; `values` are literal values written for the variable elsewhere (a
    standard's variants by `standard_by`), checked against its choices."""

    element: etree._Element
    what: str
    names: frozenset[str]
    expression: Expression | None = None
    values: tuple[str, ...] = ()


@dataclass
class Effects:
    """What an element reads when it starts (`reads`), what it sets for what follows it
    (`writes`), what exists only inside it (`scoped`: a multi-instance element variable), and
    what it reads inside, seeing `scoped` and `writes` (`reads_inside`: a completion
    condition)."""

    reads: list[Use] = field(default_factory=list)
    writes: list[Produced] = field(default_factory=list)
    scoped: list[Produced] = field(default_factory=list)
    reads_inside: list[Use] = field(default_factory=list)

    def add(self, other: Effects) -> None:
        self.reads += other.reads
        self.writes += other.writes
        self.scoped += other.scoped
        self.reads_inside += other.reads_inside


@dataclass
class Scope:
    """What effect functions may ask about the file: its messages, and what other files say
    (the inputs of a decision, once decisions are deployed beside processes)."""

    messages: dict[str, str]
    # decisionRef → the input expressions of its table, None while unknown.
    decision_inputs: Callable[[str], Sequence[str] | None] = lambda _ref: None

    def expression(self, element: etree._Element, what: str, text: str) -> Use | None:
        """A use of the expression; None when it does not compile (the linter reports it)."""
        text = text.strip()
        if not text:
            return None
        try:
            compiled = compile_expression(text, TIMER_FUNCTIONS)
        except ExpressionError:
            return None
        return Use(element, what, compiled.names, compiled)

    def variable(self, element: etree._Element, what: str, text: str) -> Use | None:
        """A use of a variable named plainly (`x`) or as an expression (`${x}`)."""
        text = text.strip()
        if re.fullmatch(_PLAIN_NAME, text):
            return Use(element, what, frozenset({text}))
        return self.expression(element, what, text)

    def produced(
        self,
        element: etree._Element,
        name: str,
        origin: str,
        type: VarType | None = None,
        certain: bool = True,
    ) -> Produced:
        return Produced(name, element.get("id", ""), origin, type, certain)

    def outputs(self, element: etree._Element) -> list[Produced]:
        """An external task's declared outputs: `camunda:properties` `outputs` = "a, b"."""
        declared = properties(element).get("outputs", "")
        origin = f"output of {name_of(element)!r}"
        return [
            self.produced(element, name.strip(), origin)
            for name in declared.split(",")
            if name.strip()
        ]

    def form_fields(self, element: etree._Element) -> list[Produced]:
        """The fields of the element's form: set when it completes. A required field is always
        set; an optional one only when filled in; a read-only one never by the form."""
        found = []
        origin = f"form field of {name_of(element)!r}"
        for xml_field in element.findall(
            "bpmn:extensionElements/camunda:formData/camunda:formField", NS
        ):
            field_id = xml_field.get("id", "")
            field_type = xml_field.get("type", "")
            constraints = {
                c.get("name")
                for c in xml_field.findall("camunda:validation/camunda:constraint", NS)
            }
            if not field_id or "readonly" in constraints:
                continue
            choices = tuple(v.get("id", "") for v in xml_field.findall("camunda:value", NS))
            declared = VarType(field_type, choices) if field_type in FIELD_TYPES else None
            found.append(
                self.produced(element, field_id, origin, declared, "required" in constraints)
            )
        return found


EffectsOf = Callable[[etree._Element, Scope], Effects]
_REGISTRY: dict[str, list[EffectsOf]] = {}


def effects_of(*kinds: str) -> Callable[[EffectsOf], EffectsOf]:
    """Register a function giving the effects of elements of these kinds (`ANY`: all)."""

    def register(function: EffectsOf) -> EffectsOf:
        for kind in kinds:
            _REGISTRY.setdefault(kind, []).append(function)
        return function

    return register


def effects(element: etree._Element, scope: Scope) -> Effects:
    """Everything the registered functions say about one element."""
    pooled = Effects()
    for function in _REGISTRY.get(local(element), []) + _REGISTRY.get(ANY, []):
        pooled.add(function(element, scope))
    return pooled


# --- the element kinds gridflow knows ------------------------------------------------------


@effects_of("userTask", "startEvent")
def _form(element: etree._Element, scope: Scope) -> Effects:
    return Effects(writes=scope.form_fields(element))


@effects_of("userTask")
def _standard_by(element: etree._Element, scope: Scope) -> Effects:
    props = properties(element)
    by = props.get("standard_by", "").strip()
    if not by:
        return Effects()
    variants = tuple(
        k.removeprefix("standard_target.") for k in props if k.startswith("standard_target.")
    )
    return Effects(
        reads=[Use(element, "service standard (standard_by)", frozenset({by}), None, variants)]
    )


@effects_of("userTask")
def _assignment(element: etree._Element, scope: Scope) -> Effects:
    """`camunda:candidateGroups="${signer}"` or `camunda:assignee="${owner}"`: read when the
    task is reached, inside it (a multi-instance element variable is there)."""
    found = Effects()
    for attribute in ("candidateGroups", "candidateUsers", "assignee"):
        value = (camunda(element, attribute) or "").strip()
        if value.startswith(("${", "#{")):
            use = scope.expression(element, f"camunda:{attribute}", value)
            if use is not None:
                found.reads_inside.append(use)
    return found


@effects_of("scriptTask")
def _script(element: etree._Element, scope: Scope) -> Effects:
    text = element.findtext("bpmn:script", "", NS) or ""
    try:
        script: Script = compile_script(text)
    except ExpressionError:
        return Effects()  # the linter reports it
    origin = f"script {name_of(element)!r}"
    kinds = {a.name: result_type(a.expression) for a in script.assignments}
    return Effects(
        reads=[Use(element, "script", script.names)],
        writes=[scope.produced(element, name, origin, kinds[name]) for name in kinds],
    )


@effects_of("serviceTask", "sendTask")
def _external_task(element: etree._Element, scope: Scope) -> Effects:
    return Effects(writes=scope.outputs(element))


@effects_of("businessRuleTask")
def _decision(element: etree._Element, scope: Scope) -> Effects:
    found = Effects()
    result = camunda(element, "resultVariable")
    if result:
        found.writes.append(
            scope.produced(element, result, f"decision result of {name_of(element)!r}")
        )
    reference = camunda(element, "decisionRef")
    for text in (scope.decision_inputs(reference) or ()) if reference else ():
        use = scope.expression(element, f"decision input of {reference!r}", text)
        if use is not None:
            found.reads.append(use)
    return found


@effects_of("callActivity")
def _call(element: etree._Element, scope: Scope) -> Effects:
    found = Effects()
    origin = f"output of call activity {name_of(element)!r}"
    for mapping in element.findall("bpmn:extensionElements/camunda:in", NS):
        source, expression = mapping.get("source"), mapping.get("sourceExpression")
        use = (
            scope.variable(element, "call-activity input", source)
            if source
            else scope.expression(element, "call-activity input", expression or "")
        )
        if use is not None:
            found.reads.append(use)
    for mapping in element.findall("bpmn:extensionElements/camunda:out", NS):
        target = mapping.get("target")
        if target:
            found.writes.append(scope.produced(element, target, origin))
        elif mapping.get("variables") == "all":
            found.writes.append(scope.produced(element, UNKNOWN_VARIABLES, origin))
    return found


@effects_of("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask")
def _message(element: etree._Element, scope: Scope) -> Effects:
    """A message's payload lands in a variable named after the message (the engine delivers
    it so), or the `camunda:resultVariable` given."""
    found = Effects()
    definitions = element.findall("bpmn:messageEventDefinition", NS)
    refs = [d.get("messageRef") for d in definitions] + [element.get("messageRef")]
    for ref in refs:
        name = scope.messages.get(ref or "")
        if name:
            found.writes.append(scope.produced(element, name, f"payload of message {name!r}"))
    return found


@effects_of("startEvent", "intermediateCatchEvent", "boundaryEvent")
def _timer(element: etree._Element, scope: Scope) -> Effects:
    found = Effects()
    for definition in element.findall("bpmn:timerEventDefinition", NS):
        for part in definition:
            text = (part.text or "").strip()
            if local(part) in TIMER_KINDS and text and not ISO_LITERAL.match(text):
                use = scope.expression(element, f"timer {local(part)}", text)
                # A misread ISO text (P5X) is the timer rules' to report, not a variable.
                if use is not None and use.expression and not misread_iso(use.expression):
                    found.reads.append(use)
    return found


@effects_of(ANY)
def _multi_instance(element: etree._Element, scope: Scope) -> Effects:
    loop = element.find("bpmn:multiInstanceLoopCharacteristics", NS)
    if loop is None:
        return Effects()
    found = Effects()
    collection = camunda(loop, "collection")
    if collection:
        use = scope.variable(element, "multi-instance collection", collection)
        if use is not None:
            found.reads.append(use)
    cardinality = loop.findtext("bpmn:loopCardinality", "", NS) or ""
    use = scope.expression(element, "multi-instance loop cardinality", cardinality)
    if use is not None:
        found.reads.append(use)
    origin = f"multi-instance {name_of(element)!r}"
    element_variable = camunda(loop, "elementVariable")
    if element_variable:
        found.scoped.append(scope.produced(element, element_variable, origin))
    for name in MULTI_INSTANCE_VARIABLES + COMPLETION_VARIABLES:
        found.scoped.append(scope.produced(element, name, origin, VarType("long")))
    condition = loop.findtext("bpmn:completionCondition", "", NS) or ""
    use = scope.expression(element, "completion condition", condition)
    if use is not None:
        found.reads_inside.append(use)
    return found
