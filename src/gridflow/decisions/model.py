"""What a DMN decision table is, once read and linted: inputs with their FEEL expressions and
types, outputs with their names, types and allowed values, and rules of compiled cells.

Plain frozen dataclasses: a parsed decision is shared by every evaluation of its version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from gridflow.decisions.feel import FeelExpression
from gridflow.decisions.unary import UnaryTests

# typeRef → the FEEL kind of its values. "number" is DMN 1.3's own name for numbers.
TYPE_KINDS: Mapping[str, str] = {
    "string": "string",
    "integer": "number",
    "long": "number",
    "double": "number",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
}
HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
# Camunda's camunda:mapDecisionResult values; resultList is Camunda's default.
RESULT_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")


def coerce(type_ref: str, value: object) -> tuple[bool, object]:
    """(True, the value as its typeRef holds it) or (False, None) when it does not fit.

    null fits every type. Whole floats fit integer/long (a form's 5.0 is the number 5);
    an ISO text fits date (forms keep dates as "YYYY-MM-DD").
    """
    if value is None:
        return True, None
    if type_ref == "string":
        return (True, value) if isinstance(value, str) else (False, None)
    if type_ref == "boolean":
        return (True, value) if isinstance(value, bool) else (False, None)
    if isinstance(value, bool):
        return False, None
    if type_ref in ("integer", "long"):
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        return False, None
    if type_ref in ("double", "number"):
        return (True, value) if isinstance(value, (int, float)) else (False, None)
    if type_ref == "date":
        if isinstance(value, datetime):
            return True, value.date()
        if isinstance(value, date):
            return True, value
        if isinstance(value, str):
            try:
                return True, date.fromisoformat(value[:10])
            except ValueError:
                return False, None
    return False, None


@dataclass(frozen=True)
class Input:
    id: str
    label: str
    expression: FeelExpression
    type_ref: str
    values: tuple[object, ...] | None = None  # inputValues, when the table lists them

    @property
    def title(self) -> str:
        return self.label or self.expression.source


@dataclass(frozen=True)
class Output:
    id: str
    label: str
    name: str
    type_ref: str
    values: tuple[object, ...] | None = None  # outputValues, in decreasing priority

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Rule:
    id: str
    number: int  # 1-based row, as the designer sees it
    inputs: tuple[UnaryTests, ...]
    outputs: tuple[FeelExpression | None, ...]  # None: an empty output cell (null)
    description: str = ""

    @property
    def title(self) -> str:
        return f"rule {self.id} (row {self.number})" if self.id else f"row {self.number}"


@dataclass(frozen=True)
class Decision:
    """One decision table of a .dmn file."""

    id: str
    name: str
    hit_policy: str
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]
    aggregation: str | None = None
    file: str = ""
    line: int | None = None

    @property
    def title(self) -> str:
        return f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id

    @property
    def single_output(self) -> bool:
        return len(self.outputs) == 1


@dataclass(frozen=True)
class DecisionFile:
    """A linted .dmn file: its decisions by id, the bytes deployed and where it came from."""

    file: str
    xml: bytes
    decisions: Mapping[str, Decision] = field(default_factory=dict)
