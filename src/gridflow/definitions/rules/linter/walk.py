"""The linter itself: `run` walks the file (ids, vendor extensions, messages, lanes, each
element by kind, flows, reachability, then what would break at run time) and `definition`
describes a file without problems as a ProcessDefinition."""

from __future__ import annotations

from lxml import etree

from gridflow.bpmn import BPMN_NS, EVENTS, FLOW_NODES
from gridflow.definitions import steps as step_rules
from gridflow.definitions.describe import ProcessDefinition, Step
from gridflow.definitions.rules import run_time
from gridflow.definitions.rules.common import local as _local
from gridflow.definitions.rules.common import namespace as _ns
from gridflow.definitions.rules.linter.base import NS
from gridflow.definitions.rules.linter.business_rules import BusinessRuleTaskRules
from gridflow.definitions.rules.linter.events import EventRules
from gridflow.definitions.rules.linter.flows import FlowRules
from gridflow.definitions.rules.linter.ids_and_lanes import IdAndLaneRules
from gridflow.definitions.rules.linter.scripts import ScriptRules
from gridflow.definitions.rules.linter.user_tasks import UserTaskRules
from gridflow.errors import Problem


class Linter(
    IdAndLaneRules, UserTaskRules, ScriptRules, BusinessRuleTaskRules, EventRules, FlowRules
):
    """One pass over a parsed file, collecting every problem it finds."""

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
