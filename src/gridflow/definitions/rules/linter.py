"""The lint rules: one pass over a parsed BPMN file collecting every problem, each naming the
file, the line and the element; a file without problems is described as a ProcessDefinition."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from lxml import etree

from gridflow.bpmn import BPMN_NS, CAMUNDA_NS, EVENTS, FLOW_NODES
from gridflow.definitions import steps as step_rules
from gridflow.definitions.decision_task import BINDINGS, DecisionRef, decision_ref
from gridflow.definitions.describe import (
    FIELD_WORK_KINDS,
    Link,
    ProcessDefinition,
    Step,
    parse_equipment,
    parse_skills,
)
from gridflow.definitions.rules import run_time
from gridflow.definitions.rules.common import by_id
from gridflow.definitions.rules.common import line as _line
from gridflow.definitions.rules.common import local as _local
from gridflow.definitions.rules.common import namespace as _ns
from gridflow.definitions.rules.timers import ISO_LITERAL, TIMER_FUNCTIONS
from gridflow.errors import ExpressionError, Problem
from gridflow.expressions import compile_expression, compile_script
from gridflow.forms import FIELD_TYPES, Form, FormField
from gridflow.roles import RoleBook
from gridflow.standards import Standard, StandardError, parse_standard

NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
SCRIPT_FORMATS = ("python", "gridflow")
# BPMN ids are XML names (xsd:ID): the engine and the modeler look elements up by them.
XML_NAME = re.compile(r"[A-Za-z_][\w.\-]*")

# SpiffWorkflow names its own hidden start and end tasks so; an element with such an id is lost.
RESERVED_IDS = frozenset({"Start", "End"})
DELEGATE_ATTRIBUTES = ("class", "delegateExpression", "expression", "type", "topic")
# camunda:mapDecisionResult values (Camunda's; resultList is its default).
RESULT_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SITE_VISITS = ("survey", "installation", "repair")


class Linter:
    """One pass over a parsed file, collecting every problem it finds."""

    def __init__(
        self,
        tree: etree._ElementTree,
        file: str,
        roles: RoleBook,
        decisions: Mapping[str, int | None] | None = None,
        *,
        deploying: bool = True,
        decision_inputs: Callable[[str], Sequence[str] | None] | None = None,
    ):
        """`decisions`, when given, are the decision ids a business-rule task may name (a
        folder's .dmn files) with their number of output columns where known; without it,
        deploy checks the references against the store."""
        self.decisions = decisions
        self.decision_refs: dict[str, DecisionRef] = {}
        self.tree = tree
        self.root = tree.getroot()
        self.file = file
        self.roles = roles
        self.problems: list[Problem] = []
        self.process: etree._Element | None = None
        self.links: dict[str, Link] = {}
        self.steps: dict[str, Step] = {}
        self.lane_of: dict[str, str] = {}
        self.messages: dict[str, str] = {}
        # Deploying: also the checks added since versions were first deployed (what would
        # break at run time, see `run_time`; lanes and ids). Off when a deployed version is
        # loaded again, so its running instances keep running.
        self.deploying = deploying
        self.start_reads: frozenset[str] = frozenset()
        # decisionRef → its table's input expressions, for the variable analysis (None: not
        # known here; decisions deployed beside processes can tell).
        self.decision_inputs = decision_inputs

    def problem(self, element: etree._Element | None, message: str) -> None:
        line = _line(element)
        element_id = element.get("id") if element is not None else None
        self.problems.append(Problem(self.file, line, element_id, message))

    def run(self) -> list[Problem]:
        if _local(self.root) != "definitions" or _ns(self.root) != BPMN_NS:
            self.problem(None, "not a BPMN 2.0 file: the root element must be bpmn:definitions")
            return self.problems
        processes = [p for p in self.root.findall("bpmn:process", NS)]
        executable = [p for p in processes if p.get("isExecutable", "false") == "true"]
        if len(executable) != 1:
            ids = ", ".join(p.get("id", "?") for p in executable) or "none"
            self.problem(
                None, f"a file must hold exactly one executable process (isExecutable=true): {ids}"
            )
            return self.problems
        self.process = executable[0]
        if not self.process.get("id"):
            self.problem(self.process, "the process has no id")
            return self.problems
        self._check_ids()
        step_rules.check_vendor_extensions(self)
        for message in self.root.findall("bpmn:message", NS):
            if not message.get("name"):
                self.problem(message, "message has no name")
            self.messages[message.get("id", "")] = message.get("name", "")
        self._check_lanes()
        self._check_elements(self.process)
        self._check_flows(self.process)
        self._check_reachable(self.process)
        self.process_standard = self._standard_of(self.process, required=False)
        if self.deploying:
            findings = run_time.check(
                self.process, self.messages, self.problem, self.decision_inputs
            )
            self.start_reads = frozenset(findings.start_reads)
        return self.problems

    def _check_ids(self) -> None:
        seen: dict[str, etree._Element] = {}
        for element in self.root.iter():
            # Only BPMN elements share one id space; camunda:value ids repeat across fields.
            element_id = element.get("id") if _ns(element) == BPMN_NS else None
            if element_id is None:
                continue
            if self.deploying and not XML_NAME.fullmatch(element_id):
                self.problem(
                    element,
                    f"id {element_id!r} is not a valid BPMN id: use letters, digits, '_', '-' "
                    "and '.', starting with a letter or '_' (as Camunda Modeler does)",
                )
            if element_id in seen:
                self.problem(element, f"duplicate id {element_id!r}")
            if element_id in RESERVED_IDS:
                self.problem(
                    element,
                    f"id {element_id!r} is reserved by the engine's own start and end tasks; "
                    "rename it (for example StartEvent_1)",
                )
            seen[element_id] = element

    def _check_lanes(self) -> None:
        assert self.process is not None
        nodes = {e.get("id") for e in self.process.iter() if _local(e) in FLOW_NODES}
        for lane in self.process.iter(f"{{{BPMN_NS}}}lane"):
            # A lane split into child lanes leaves its nodes to them; an empty childLaneSet
            # (what some modelers leave behind) splits nothing.
            if lane.find("bpmn:childLaneSet/bpmn:lane", NS) is not None:
                continue
            name = lane.get("name")
            if not (name or "").strip():
                self.problem(lane, "lane has no name: name it after the role that owns it")
            elif self.roles.for_lane(name) is None:
                known = ", ".join(self.roles.lane_names())
                self.problem(lane, f"lane {name!r} names no known role (roles: {known})")
            for ref in lane.findall("bpmn:flowNodeRef", NS):
                node_id = (ref.text or "").strip()
                if self.deploying:
                    self._check_lane_reference(lane, ref, node_id, nodes)
                if node_id in self.lane_of:
                    self.problem(ref, f"element {node_id!r} is in more than one lane")
                self.lane_of[node_id] = name or ""
        # What an embedded subprocess holds belongs to the subprocess's lane.
        for sub in self.process.iter(f"{{{BPMN_NS}}}subProcess"):
            lane_name = self.lane_of.get(sub.get("id", ""))
            if lane_name is None:
                continue
            for inner in sub.iter():
                inner_id = inner.get("id") if _local(inner) in FLOW_NODES else None
                if inner_id and inner_id not in self.lane_of:
                    self.lane_of[inner_id] = lane_name

    def properties(self, element: etree._Element) -> dict[str, str]:
        """An element's camunda:properties, by name."""
        return self._properties(element)

    def _check_lane_reference(
        self, lane: etree._Element, ref: etree._Element, node_id: str, nodes: set[str | None]
    ) -> None:
        where = f"lane {lane.get('name') or lane.get('id')!r}"
        if node_id not in nodes:
            self.problem(
                lane, f"{where} refers to {node_id!r}, which is not an element of this process"
            )
        elif ref.text != node_id:
            self.problem(
                lane,
                f"{where} refers to {ref.text!r} with spaces around the id: the engine would "
                f"not place {node_id!r} in this lane",
            )

    def _properties(self, element: etree._Element) -> dict[str, str]:
        props: dict[str, str] = {}
        for prop in element.findall(
            "bpmn:extensionElements/camunda:properties/camunda:property", NS
        ):
            if prop.get("name"):
                props[prop.get("name", "")] = prop.get("value", "")
        return props

    def _standard_of(self, element: etree._Element, *, required: bool) -> Standard | None:
        try:
            standard = parse_standard(self._properties(element))
        except StandardError as exc:
            self.problem(element, f"service standard: {exc}")
            return None
        if standard is None and required:
            self.problem(
                element,
                "user task has no service standard: add camunda:properties "
                "standard_target, standard_basis and standard_source",
            )
        return standard

    def _check_elements(self, container: etree._Element) -> None:
        for element in container:
            kind = _local(element)
            if kind not in FLOW_NODES:
                continue
            self._check_listeners(element)
            step_rules.check_loop(self, element)
            step: Step | None = None
            if kind == "userTask":
                self._check_user_task(element)
            elif kind == "scriptTask":
                self._check_script(element)
            elif kind == "serviceTask":
                step = step_rules.check_external_task(self, element)
            elif kind == "businessRuleTask":
                self._check_business_rule(element)
            elif kind == "sendTask":
                self._check_delegate(element, kind)
            elif kind == "callActivity":
                step = step_rules.check_call_activity(self, element)
            elif kind in ("transaction", "adHocSubProcess"):
                self.problem(element, f"{kind} is not supported yet")
            elif kind == "subProcess":
                self._check_elements(element)
                self._check_flows(element)
            if kind in EVENTS:
                step_rules.check_code_events(self, element)
            if kind in ("startEvent", "intermediateCatchEvent", "boundaryEvent"):
                self._check_event(element)
            if step is not None:
                self.steps[step.element_id] = step
            if kind in ("manualTask", "task", "receiveTask"):
                self.problem(
                    element,
                    f"{kind} is not supported: make a human step a userTask with a form "
                    "and a standard",
                )

    def _check_listeners(self, element: etree._Element) -> None:
        for listener in element.findall("bpmn:extensionElements/*", NS):
            if _ns(listener) != CAMUNDA_NS:
                continue
            if _local(listener) in ("executionListener", "taskListener"):
                self.problem(
                    element,
                    f"camunda:{_local(listener)} is not supported: gridflow runs no Java or "
                    "script listeners",
                )
            for attribute in ("class", "delegateExpression", "expression"):
                if listener.get(attribute):
                    self.problem(
                        element,
                        f"camunda:{attribute}={listener.get(attribute)!r} is refused: "
                        "gridflow runs no Java delegates or bean expressions",
                    )

    def _check_user_task(self, element: etree._Element) -> None:
        element_id = element.get("id", "")
        name = element.get("name") or element_id
        lane = self.lane_of.get(element_id)
        found, role_id, role_variable = step_rules.role_of_task(self, element, lane)
        role = self.roles[role_id] if role_id is not None else None
        form = self._form_of(element)
        standard = self._standard_of(element, required=True)
        assignee = (element.get(f"{{{CAMUNDA_NS}}}assignee") or "").strip() or None
        assignee_reference = step_rules.VARIABLE_REFERENCE.match(assignee or "")
        props = self._properties(element)
        needs = self._needs_of(element, props)
        field_work = (props.get("field_work") or "").strip() or None
        if field_work is not None and field_work not in FIELD_WORK_KINDS:
            self.problem(
                element,
                f"field_work {field_work!r} is not one of {', '.join(FIELD_WORK_KINDS)} "
                "(repair: arrive, restore supply, complete; visit: arrive, complete)",
            )
            field_work = None
        if found and standard is not None and form is not None and needs is not None:
            self.links[element_id] = Link(
                element_id=element_id,
                name=name,
                lane=lane or (role.name if role is not None else ""),
                role=role,
                role_variable=role_variable,
                assignee=None if assignee_reference else assignee,
                assignee_variable=assignee_reference.group(1) if assignee_reference else None,
                multi_instance=element.find("bpmn:multiInstanceLoopCharacteristics", NS)
                is not None,
                form=form,
                standard=standard,
                customer_facing=props.get("customer_facing", "").lower() == "true",
                line=_line(element),
                skills=needs[0],
                equipment=needs[1],
                site_visit=self._site_visit_of(element, props),
                field_work=field_work,
            )

    def _site_visit_of(self, element: etree._Element, props: Mapping[str, str]) -> str | None:
        """The `site_visit` property: survey, installation or repair (a bookable visit)."""
        value = props.get("site_visit", "").strip()
        if not value:
            return None
        if value not in SITE_VISITS:
            self.problem(
                element,
                f"site_visit {value!r} is not one of: {', '.join(SITE_VISITS)}",
            )
            return None
        return value

    def _needs_of(
        self, element: etree._Element, props: Mapping[str, str]
    ) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]] | None:
        """The `skills` ("repair:2,live_line:1") and `equipment` ("vehicle") properties."""
        try:
            return parse_skills(props.get("skills", "")), parse_equipment(
                props.get("equipment", "")
            )
        except ValueError as exc:
            self.problem(element, str(exc))
            return None

    def _form_of(self, element: etree._Element) -> Form | None:
        fields: list[FormField] = []
        seen: set[str] = set()
        ok = True
        for xml_field in element.findall(
            "bpmn:extensionElements/camunda:formData/camunda:formField", NS
        ):
            field_id = xml_field.get("id", "")
            field_type = xml_field.get("type", "")
            where = f"form field {field_id!r}"
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field_id) or "__" in field_id:
                self.problem(element, f"{where}: the id must be a plain name (letters, digits, _)")
                ok = False
                continue
            if field_id in seen:
                self.problem(element, f"{where} appears twice")
                ok = False
            seen.add(field_id)
            if field_type not in FIELD_TYPES:
                self.problem(
                    element, f"{where} has type {field_type!r}; expected one of {FIELD_TYPES}"
                )
                ok = False
                continue
            options = tuple(
                (value.get("id", ""), value.get("name") or value.get("id") or "")
                for value in xml_field.findall("camunda:value", NS)
            )
            if field_type == "enum" and not options:
                self.problem(element, f"{where} is an enum without values")
                ok = False
            constraints = {
                c.get("name", ""): c.get("config")
                for c in xml_field.findall("camunda:validation/camunda:constraint", NS)
            }
            numbers: dict[str, float | None] = {}
            for key in ("min", "max", "minlength", "maxlength"):
                raw = constraints.get(key)
                try:
                    numbers[key] = float(raw) if raw not in (None, "") else None
                except ValueError:
                    self.problem(element, f"{where}: constraint {key} = {raw!r} is not a number")
                    ok = False
                    numbers[key] = None
            minlength, maxlength = numbers["minlength"], numbers["maxlength"]
            fields.append(
                FormField(
                    id=field_id,
                    label=xml_field.get("label") or field_id,
                    type=field_type,
                    required="required" in constraints,
                    options=options,
                    default=xml_field.get("defaultValue"),
                    min=numbers["min"],
                    max=numbers["max"],
                    minlength=int(minlength) if minlength is not None else None,
                    maxlength=int(maxlength) if maxlength is not None else None,
                    readonly="readonly" in constraints,
                )
            )
        return Form(tuple(fields)) if ok else None

    def _check_script(self, element: etree._Element) -> None:
        script_format = (element.get("scriptFormat") or "").strip().lower()
        resource = element.get(f"{{{CAMUNDA_NS}}}resource")
        if resource:
            self.problem(element, f"external script resource {resource!r} is refused")
            return
        if script_format not in SCRIPT_FORMATS:
            self.problem(
                element,
                f"scriptFormat {script_format or '(none)'!r} is refused: gridflow runs only its "
                'safe expression language (scriptFormat="python", lines of name = expression)',
            )
            return
        script = element.find("bpmn:script", NS)
        text = script.text if script is not None else ""
        if not (text or "").strip():
            self.problem(element, "script task has no script")
            return
        try:
            compile_script(text or "")
        except ExpressionError as exc:
            self.problem(element, f"script refused: {exc.message}")

    def _check_delegate(self, element: etree._Element, kind: str) -> None:
        for attribute in DELEGATE_ATTRIBUTES:
            value = element.get(f"{{{CAMUNDA_NS}}}{attribute}")
            if value:
                self.problem(
                    element,
                    f"{kind} with camunda:{attribute}={value!r} is refused: gridflow runs no "
                    "Java delegates, bean expressions or external workers",
                )
                return
        self.problem(
            element, f"{kind} is not supported: model the step as a user task or a script task"
        )

    def _check_business_rule(self, element: etree._Element) -> None:
        """A decision table by reference (camunda:decisionRef), evaluated by gridflow's own
        DMN engine; Java delegates, expressions, external workers and DMN engines of other
        kinds are refused."""
        camunda = f"{{{CAMUNDA_NS}}}"
        attributes = {
            str(key)[len(camunda) :]: str(value)
            for key, value in element.attrib.items()
            if str(key).startswith(camunda)
        }
        for attribute in DELEGATE_ATTRIBUTES:
            if attributes.get(attribute):
                self.problem(
                    element,
                    f"businessRuleTask with camunda:{attribute}={attributes[attribute]!r} is "
                    "refused: gridflow runs business rules only as DMN decision tables "
                    "(camunda:decisionRef)",
                )
                return
        ref = attributes.get("decisionRef", "")
        if not ref:
            self.problem(
                element,
                "businessRuleTask needs camunda:decisionRef: the id of a decision table "
                "in a .dmn file deployed with the processes",
            )
            return
        ok = True
        if not PLAIN_NAME.fullmatch(ref):
            self.problem(
                element,
                f"camunda:decisionRef={ref!r} must be a decision id (letters, digits, _), "
                "not an expression",
            )
            ok = False
        binding = attributes.get("decisionRefBinding") or "latest"
        version = attributes.get("decisionRefVersion")
        if binding not in BINDINGS:
            self.problem(
                element,
                f"camunda:decisionRefBinding={binding!r} is not supported; use "
                f"{', '.join(BINDINGS)}",
            )
            ok = False
        elif binding == "version" and not (version or "").isdigit():
            self.problem(
                element,
                "camunda:decisionRefBinding=version needs camunda:decisionRefVersion "
                f"as a version number, not {version!r}",
            )
            ok = False
        elif binding != "version" and version:
            self.problem(
                element,
                f"camunda:decisionRefVersion={version!r} counts only with "
                'camunda:decisionRefBinding="version"',
            )
            ok = False
        mapping = attributes.get("mapDecisionResult") or "resultList"
        if mapping not in RESULT_MAPPINGS:
            self.problem(
                element,
                f"camunda:mapDecisionResult={mapping!r} is unknown; use one of "
                f"{', '.join(RESULT_MAPPINGS)}",
            )
            ok = False
        result = attributes.get("resultVariable")
        if result is not None and (not PLAIN_NAME.fullmatch(result) or "__" in result):
            self.problem(element, f"camunda:resultVariable={result!r} must be a plain name")
            ok = False
        if self.decisions is not None and ok:
            if ref not in self.decisions:
                known = ", ".join(sorted(self.decisions)) or "none"
                self.problem(
                    element,
                    f"decision {ref!r} is in no .dmn file beside this process "
                    f"(decisions there: {known})",
                )
                ok = False
            else:
                outputs = self.decisions[ref]
                if mapping in ("singleEntry", "collectEntries") and outputs not in (None, 1):
                    self.problem(
                        element,
                        f"camunda:mapDecisionResult={mapping} needs a decision with one "
                        f"output column; {ref!r} has {outputs}",
                    )
                    ok = False
        if ok:
            self.decision_refs[element.get("id", "")] = decision_ref(attributes)

    def _check_event(self, element: etree._Element) -> None:
        for definition in element:
            kind = _local(definition)
            if kind == "timerEventDefinition":
                for part in definition:
                    text = (part.text or "").strip()
                    if _local(part) not in ("timeDate", "timeDuration", "timeCycle"):
                        continue
                    if not text:
                        self.problem(element, f"timer {_local(part)} is empty")
                    elif not ISO_LITERAL.match(text):
                        try:
                            expression = compile_expression(text, TIMER_FUNCTIONS)
                        except ExpressionError as exc:
                            self.problem(element, f"timer expression refused: {exc.message}")
                            continue
                        if "standard_due" in expression.function_names:
                            self._check_standard_due(element)
            elif kind == "messageEventDefinition":
                ref = definition.get("messageRef")
                if not ref or not self.messages.get(ref):
                    self.problem(element, f"message event refers to unknown message {ref!r}")

    def _check_standard_due(self, element: etree._Element) -> None:
        attached = element.get("attachedToRef")
        target = by_id(self.root, attached) if attached else None
        if target is None or _local(target) != "userTask":
            self.problem(
                element,
                "standard_due() works only on a boundary timer attached to a user task",
            )

    def _check_flows(self, container: etree._Element) -> None:
        ids = {e.get("id") for e in container if _local(e) in FLOW_NODES}
        for flow in container.findall("bpmn:sequenceFlow", NS):
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in ids:
                    self.problem(flow, f"{end} {flow.get(end)!r} is not an element of this process")
            condition = flow.find("bpmn:conditionExpression", NS)
            if condition is None:
                continue
            language = condition.get("language")
            if language and language.lower() not in ("juel", "python", "gridflow"):
                self.problem(flow, f"condition language {language!r} is refused")
                continue
            if condition.get("{http://camunda.org/schema/1.0/bpmn}resource"):
                self.problem(flow, "external condition resources are refused")
                continue
            text = (condition.text or "").strip()
            if not text:
                self.problem(flow, "condition is empty")
                continue
            try:
                compile_expression(text)
            except ExpressionError as exc:
                self.problem(flow, f"condition refused: {exc.message}")

    def _check_reachable(self, container: etree._Element) -> None:
        nodes = {e.get("id", ""): e for e in container if _local(e) in FLOW_NODES}
        outgoing: dict[str, list[str]] = {node_id: [] for node_id in nodes}
        for flow in container.findall("bpmn:sequenceFlow", NS):
            source = flow.get("sourceRef", "")
            if source in outgoing:
                outgoing[source].append(flow.get("targetRef", ""))
        for node_id, element in nodes.items():
            attached = element.get("attachedToRef")
            if _local(element) == "boundaryEvent" and attached in outgoing:
                outgoing[attached].append(node_id)
        starts = [i for i, e in nodes.items() if _local(e) == "startEvent"]
        if not starts:
            self.problem(container, "no start event")
            return
        reached: set[str] = set()
        pending = list(starts)
        while pending:
            node_id = pending.pop()
            if node_id in reached:
                continue
            reached.add(node_id)
            pending.extend(outgoing.get(node_id, []))
        for node_id, element in nodes.items():
            if node_id not in reached:
                name = element.get("name") or node_id
                self.problem(
                    element, f"{_local(element)} {name!r} is unreachable from any start event"
                )
            elif _local(element) == "subProcess":
                self._check_reachable(element)

    def definition(self, xml: bytes) -> ProcessDefinition:
        assert self.process is not None
        message_start = None
        for start in self.process.findall("bpmn:startEvent", NS):
            message = start.find("bpmn:messageEventDefinition", NS)
            if message is not None:
                message_start = self.messages.get(message.get("messageRef", ""))
        names = {
            e.get("id", ""): e.get("name") or e.get("id") or ""
            for e in self.process.iter()
            if isinstance(e.tag, str) and _local(e) in FLOW_NODES
        }
        return ProcessDefinition(
            process_id=self.process.get("id", ""),
            name=self.process.get("name") or self.process.get("id") or "",
            file=self.file,
            xml=xml,
            links=self.links,
            category=self._properties(self.process).get("category"),
            standard=self.process_standard,
            message_names=frozenset(n for n in self.messages.values() if n),
            message_start=message_start,
            element_names=names,
            steps=self.steps,
            decision_refs=dict(self.decision_refs),
            start_reads=self.start_reads,
        )
