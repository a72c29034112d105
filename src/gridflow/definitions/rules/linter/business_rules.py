"""Business rule task rules: a decision table by reference (camunda:decisionRef) with a
binding, a result mapping and a result variable gridflow knows, naming a decision beside the
process when the folder's decisions are given."""

from __future__ import annotations

import re

from lxml import etree

from gridflow.bpmn import CAMUNDA_NS
from gridflow.definitions.decision_task import BINDINGS, decision_ref
from gridflow.definitions.rules.linter.base import LinterBase
from gridflow.definitions.rules.linter.scripts import DELEGATE_ATTRIBUTES

# camunda:mapDecisionResult values (Camunda's; resultList is its default).
RESULT_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BusinessRuleTaskRules(LinterBase):
    """A business rule task, its decision reference kept for the definition."""

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
