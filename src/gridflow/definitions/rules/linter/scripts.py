"""Rules for what would run code: gridflow runs script tasks only in its safe expression
language and refuses external script resources, Java delegates, bean expressions, external
workers on send tasks, and execution and task listeners."""

from __future__ import annotations

from lxml import etree

from gridflow.bpmn import CAMUNDA_NS
from gridflow.definitions.rules.common import local as _local
from gridflow.definitions.rules.common import namespace as _ns
from gridflow.definitions.rules.linter.base import NS, LinterBase
from gridflow.errors import ExpressionError
from gridflow.expressions import compile_script

SCRIPT_FORMATS = ("python", "gridflow")
DELEGATE_ATTRIBUTES = ("class", "delegateExpression", "expression", "type", "topic")


class ScriptRules(LinterBase):
    """Listeners, script tasks and send tasks."""

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
