"""Type rules: a comparison in a condition, timer or script must be able to hold, given the
types the forms (and the demand intake) declare for the variables it compares.

Values follow the expression language's rules (Python's): `"1" == 1` is simply false, and
ordering a number against text fails at run time; either way the designer meant something
else. Only what is known is checked: a variable set by two producers of different types, or by
a script computing something other than a comparison, has no known type and is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from gridflow.definitions.rules.common import nodes
from gridflow.expressions import BoolOp, Compare, Display, Expression, Literal, Name, Node, Unary

# The kinds values fall into, for comparing: a form field type → its kind.
_KIND = {
    "string": "text",
    "enum": "text",
    "date": "text",
    "long": "number",
    "double": "number",
    "boolean": "boolean",
}
_WORDS = {
    "string": "text",
    "enum": "a choice",
    "date": "a date",
    "long": "a whole number",
    "double": "a number",
    "boolean": "a yes/no value",
}
_ORDERING = ("<", "<=", ">", ">=")
_EQUALITY = ("==", "!=")


@dataclass(frozen=True)
class VarType:
    """A variable's type as a form field declares it (`string`, `long`, `double`, `boolean`,
    `date`, `enum` with its choices)."""

    type: str
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return _KIND.get(self.type, "")

    def describe(self) -> str:
        if self.type == "enum" and self.choices:
            return f"a choice of {', '.join(self.choices)}"
        return _WORDS.get(self.type, self.type)


def merged(types: Iterable[VarType | None]) -> VarType | None:
    """The one type several producers agree on (enum choices are pooled), else None."""
    found = list(types)
    if not found or any(t is None for t in found):
        return None
    kinds = {t.type for t in found if t is not None}
    if len(kinds) != 1:
        return None
    first = found[0]
    assert first is not None
    if first.type != "enum":
        return first
    choices: dict[str, None] = {}
    for t in found:
        assert t is not None
        choices.update(dict.fromkeys(t.choices))
    return VarType("enum", tuple(choices))


def literal_type(value: object) -> VarType | None:
    """The type a literal has (None for null and lists)."""
    if isinstance(value, bool):
        return VarType("boolean")
    if isinstance(value, int):
        return VarType("long")
    if isinstance(value, float):
        return VarType("double")
    if isinstance(value, str):
        return VarType("string")
    return None


def result_type(expression: Expression) -> VarType | None:
    """What an expression gives, where that is plain from its shape: a comparison or a
    boolean operation gives a yes/no value, a literal its own type; else unknown."""
    tree = expression.tree
    if isinstance(tree, Compare | BoolOp) or (
        isinstance(tree, Unary) and tree.operator in ("not", "empty")
    ):
        return VarType("boolean")
    if isinstance(tree, Literal):
        return literal_type(tree.value)
    return None


def comparison_problems(
    expression: Expression, types: Mapping[str, tuple[VarType, str]]
) -> list[str]:
    """Every comparison in the expression that cannot hold as meant. `types` maps a variable
    to its known type and the words for where that type comes from."""
    problems: list[str] = []
    for node in nodes(expression.tree):
        if not isinstance(node, Compare):
            continue
        left = node.first
        for op, right in node.rest:
            problems += _pair(op, left, right, types)
            left = right
    return list(dict.fromkeys(problems))


def _side(node: Node, types: Mapping[str, tuple[VarType, str]]) -> tuple[VarType, str] | None:
    if isinstance(node, Name) and node.name in types:
        declared, origin = types[node.name]
        return declared, f"{node.name} ({declared.describe()}, {origin})"
    if isinstance(node, Literal):
        found = literal_type(node.value)
        if found is not None:
            return found, repr(node.value)
    return None


def _pair(op: str, left: Node, right: Node, types: Mapping[str, tuple[VarType, str]]) -> list[str]:
    if op in ("in", "not in"):
        return _membership(left, right, types)
    if op not in _ORDERING + _EQUALITY:
        return []
    a, b = _side(left, types), _side(right, types)
    if a is None or b is None or (isinstance(left, Literal) and isinstance(right, Literal)):
        return []
    (type_a, words_a), (type_b, words_b) = a, b
    if type_a.kind != type_b.kind:
        if op in _ORDERING:
            return [f"{words_a} cannot be ordered against {words_b} ('{op}' fails at run time)"]
        return [f"compares {words_a} with {words_b}: they are never equal"]
    for declared, other, other_node in ((type_a, type_b, right), (type_b, type_a, left)):
        problem = _value_problem(declared, other, other_node, op, words_a, words_b)
        if problem:
            return [problem]
    return []


def _value_problem(
    declared: VarType, other: VarType, other_node: Node, op: str, words_a: str, words_b: str
) -> str | None:
    """A literal compared with an enum or a date must be one of its values."""
    if not isinstance(other_node, Literal) or not isinstance(other_node.value, str):
        both = declared.type == other.type == "enum" and declared.choices and other.choices
        if both and op in _EQUALITY and not set(declared.choices) & set(other.choices):
            return f"compares {words_a} with {words_b}: they have no choice in common"
        return None
    value = other_node.value
    if declared.type == "enum" and declared.choices and value not in declared.choices:
        return (
            f"compares {words_a} with {value!r}, which is not one of its choices "
            f"({', '.join(declared.choices)})"
        )
    if declared.type == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"compares {words_a} with {value!r}, which is not a date (YYYY-MM-DD)"
    return None


def _membership(left: Node, right: Node, types: Mapping[str, tuple[VarType, str]]) -> list[str]:
    """`x in ("a", "b")`: each listed literal must be able to equal x."""
    if not isinstance(right, Display):
        return []
    problems = []
    for item in right.items:
        problems += _pair("==", left, item, types)
    return problems


def values_problems(
    name: str, declared: VarType, origin: str, values: Iterable[str], what: str
) -> list[str]:
    """Values written for a variable outside an expression (a standard's variants by
    `standard_by`): each must be one of an enum's choices."""
    if declared.type != "enum" or not declared.choices:
        return []
    return [
        f"{what} {value!r} is not a choice of {name} ({', '.join(declared.choices)}; {origin})"
        for value in values
        if value not in declared.choices
    ]
