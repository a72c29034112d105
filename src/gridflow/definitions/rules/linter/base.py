"""What every part of the linter shares: the file, its roles and what the pass has found so
far (`LinterBase`), how a problem is reported, an element's camunda:properties and its
service standard."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from lxml import etree

from gridflow.bpmn import BPMN_NS, CAMUNDA_NS
from gridflow.definitions.decision_task import DecisionRef
from gridflow.definitions.describe import Link, Step
from gridflow.definitions.rules.common import line as _line
from gridflow.errors import Problem
from gridflow.roles import RoleBook
from gridflow.standards import Standard, StandardError, parse_standard

NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}


class LinterBase:
    """The state of one pass over a parsed file and what every rule uses."""

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

    def properties(self, element: etree._Element) -> dict[str, str]:
        """An element's camunda:properties, by name."""
        return self._properties(element)

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
