"""Event rules: a timer's date, duration or cycle is an ISO literal or an expression gridflow
accepts (standard_due() only on a boundary timer of a user task); a message event refers to a
named message."""

from __future__ import annotations

from lxml import etree

from gridflow.definitions.rules.common import by_id
from gridflow.definitions.rules.common import local as _local
from gridflow.definitions.rules.linter.base import LinterBase
from gridflow.definitions.rules.timers import ISO_LITERAL, TIMER_FUNCTIONS
from gridflow.errors import ExpressionError
from gridflow.expressions import compile_expression


class EventRules(LinterBase):
    """Start, intermediate catch and boundary events."""

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
