"""Evaluating a decision table for an instance's variables, with DMN 1.3's hit policies, and
mapping the result as Camunda's `camunda:mapDecisionResult` does.

Every failure is a `DecisionFailed` naming the decision and, where it applies, the input, the
rule and the cell: a missing input variable, a value of the wrong type, more than one match of
a UNIQUE table, ANY matches that disagree, a result that does not fit the mapping.

No input is optional: a variable the instance does not have is an error, never a silent null
(a designer who wants "unknown" as a value sets the variable to null, for example with a form
field left empty, and writes a `null` test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gridflow.decisions.feel import MissingVariable, kind_of
from gridflow.decisions.model import Decision, Output, Rule, coerce
from gridflow.errors import ExpressionError, GridflowError

Result = list[dict[str, object]]  # one dict per matched rule: output name → value


class DecisionFailed(GridflowError):
    """A decision could not be evaluated; the message names the decision and what failed."""

    def __init__(self, decision: Decision, message: str):
        self.decision_id = decision.id
        self.message = message
        super().__init__(f"decision {decision.title}: {message}")


def _input_values(decision: Decision, variables: Mapping[str, object]) -> list[object]:
    values: list[object] = []
    for column in decision.inputs:
        try:
            raw = column.expression.evaluate(variables)
        except MissingVariable as exc:
            raise DecisionFailed(
                decision,
                f"input {column.title!r} needs the variable {exc.name!r}, which this instance "
                "does not have",
            ) from exc
        except ExpressionError as exc:
            raise DecisionFailed(decision, f"input {column.title!r}: {exc.message}") from exc
        fits, value = coerce(column.type_ref, raw)
        if not fits:
            raise DecisionFailed(
                decision,
                f"input {column.title!r} is {column.type_ref}, but "
                f"{column.expression.source!r} is {_described(raw)}",
            )
        values.append(value)
    return values


def _described(value: object) -> str:
    kind = kind_of(value)
    text = repr(value)
    return f"a {kind} ({text if len(text) <= 40 else text[:36] + '...'})"


def _matches(decision: Decision, rule: Rule, values: Sequence[object], scope: Any) -> bool:  # noqa: ANN401
    for column, cell, value in zip(decision.inputs, rule.inputs, values, strict=True):
        if cell.any:
            continue
        try:
            if not cell.matches(value, scope):
                return False
        except MissingVariable as exc:
            raise DecisionFailed(
                decision,
                f"{rule.title}, input {column.title!r}: the cell {cell.source!r} needs the "
                f"variable {exc.name!r}, which this instance does not have",
            ) from exc
        except ExpressionError as exc:
            raise DecisionFailed(
                decision, f"{rule.title}, input {column.title!r}: {exc.message}"
            ) from exc
    return True


def _outputs(decision: Decision, rule: Rule, scope: Mapping[str, object]) -> dict[str, object]:
    result: dict[str, object] = {}
    for column, cell in zip(decision.outputs, rule.outputs, strict=True):
        value: object = None
        if cell is not None:
            try:
                value = cell.evaluate(scope)
            except MissingVariable as exc:
                raise DecisionFailed(
                    decision,
                    f"{rule.title}, output {column.title!r}: {cell.source!r} needs the variable "
                    f"{exc.name!r}, which this instance does not have",
                ) from exc
            except ExpressionError as exc:
                raise DecisionFailed(
                    decision, f"{rule.title}, output {column.title!r}: {exc.message}"
                ) from exc
        fits, typed = coerce(column.type_ref, value)
        if not fits:
            raise DecisionFailed(
                decision,
                f"{rule.title}, output {column.title!r} is {column.type_ref}, but "
                f"{cell.source if cell else ''!r} gave {_described(value)}",
            )
        result[column.name] = typed
    return result


def _rank(outputs: Sequence[Output], row: Mapping[str, object]) -> tuple[int, ...]:
    """Position of a row's outputs in the outputs' value lists (lower is higher priority)."""
    ranks = []
    for column in outputs:
        if column.values is None:
            continue
        value = row.get(column.name)
        ranks.append(column.values.index(value) if value in column.values else len(column.values))
    return tuple(ranks)


def matching_rules(decision: Decision, variables: Mapping[str, object]) -> list[Rule]:
    """Every rule whose input entries all match, in table order (before the hit policy)."""
    values = _input_values(decision, variables)
    return [rule for rule in decision.rules if _matches(decision, rule, values, variables)]


def evaluate(decision: Decision, variables: Mapping[str, object]) -> Result:
    """The decision's result for these variables: one dict per matching rule (output name →
    value), chosen and ordered by the hit policy; an empty list when no rule matches."""
    matched = matching_rules(decision, variables)
    policy = decision.hit_policy
    if policy == "UNIQUE" and len(matched) > 1:
        rules = ", ".join(rule.title for rule in matched)
        raise DecisionFailed(decision, f"the hit policy is UNIQUE but {rules} all match")
    if policy in ("UNIQUE", "FIRST"):
        return [_outputs(decision, matched[0], variables)] if matched else []
    rows = [_outputs(decision, rule, variables) for rule in matched]
    if policy == "ANY":
        if any(row != rows[0] for row in rows[1:]):
            rules = ", ".join(rule.title for rule in matched)
            raise DecisionFailed(
                decision, f"the hit policy is ANY but {rules} match with different outputs"
            )
        return rows[:1]
    if policy == "PRIORITY":
        if not rows:
            return []
        ranked = sorted(range(len(rows)), key=lambda i: _rank(decision.outputs, rows[i]))
        return [rows[ranked[0]]]
    if policy == "OUTPUT ORDER":
        return sorted(rows, key=lambda row: _rank(decision.outputs, row))
    if policy == "COLLECT" and decision.aggregation is not None:
        return _aggregate(decision, rows)
    return rows  # COLLECT without aggregation, RULE ORDER: every match in rule order


def _aggregate(decision: Decision, rows: Result) -> Result:
    """COLLECT with SUM/MIN/MAX/COUNT over the single output, as Camunda does: one result
    with one entry; COUNT of no match is 0, SUM/MIN/MAX of no match is no result."""
    name = decision.outputs[0].name
    found = [row[name] for row in rows if row[name] is not None]
    if decision.aggregation == "COUNT":
        return [{name: len(found)}]
    if not found:
        return []
    if any(kind_of(value) != "number" for value in found):
        raise DecisionFailed(
            decision, f"{decision.aggregation} needs numbers, but output {name!r} is not one"
        )
    numbers: list[Any] = found
    if decision.aggregation == "SUM":
        return [{name: sum(numbers)}]
    if decision.aggregation == "MIN":
        return [{name: min(numbers)}]
    return [{name: max(numbers)}]


def map_result(decision: Decision, result: Result, mapping: str) -> object:
    """The result as `camunda:mapDecisionResult` maps it:

    - singleEntry: the one output value of the one matched rule (null when none matched);
    - singleResult: the output dict of the one matched rule (null when none matched);
    - collectEntries: the list of the one output's values, one per matched rule;
    - resultList (the default): the list of output dicts.
    """
    if mapping == "resultList":
        return [dict(row) for row in result]
    if mapping == "collectEntries":
        if len(decision.outputs) != 1:
            raise DecisionFailed(
                decision, "collectEntries needs a table with exactly one output column"
            )
        return [next(iter(row.values())) if row else None for row in result]
    if len(result) > 1:
        raise DecisionFailed(
            decision,
            f"{mapping} needs at most one matching rule, but {len(result)} matched "
            "(use collectEntries or resultList, or another hit policy)",
        )
    if mapping == "singleResult":
        return dict(result[0]) if result else None
    if mapping == "singleEntry":
        if len(decision.outputs) != 1:
            raise DecisionFailed(
                decision, "singleEntry needs a table with exactly one output column"
            )
        return next(iter(result[0].values())) if result else None
    raise DecisionFailed(decision, f"unknown camunda:mapDecisionResult {mapping!r}")
