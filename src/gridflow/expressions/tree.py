"""The expression tree both forms parse into, and how each node evaluates under the shared
value rules (an undefined variable is an error; `and`/`or` give a boolean; sizes stay within
the limits). `Expression` is a compiled tree with its source text."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gridflow.errors import ExpressionError, GridflowError, UndefinedVariableError
from gridflow.expressions.functions import SAFE_FUNCTIONS
from gridflow.expressions.refusals import _too_deep
from gridflow.expressions.values import (
    _CONTAINERS,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_SIZE,
    _describe,
    _is_empty,
    _is_number,
    _size,
    _truth,
)

FunctionMap = Mapping[str, Callable[..., object]]


@dataclass(frozen=True, slots=True)
class _Context:
    source: str
    variables: Mapping[str, object]
    functions: FunctionMap | None

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(self.source, message)


class Node:
    """A node of the expression tree; subclasses are small frozen dataclasses."""

    __slots__ = ()

    def evaluate(self, context: _Context) -> object:
        raise NotImplementedError

    def children(self) -> Iterator[Node]:
        return iter(())


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: object

    def evaluate(self, context: _Context) -> object:
        return self.value


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str

    def evaluate(self, context: _Context) -> object:
        # `in` before `[]`: a defaultdict must not grow a key, and a missing name is an error.
        if self.name not in context.variables:
            raise UndefinedVariableError(context.source, self.name)
        return context.variables[self.name]


@dataclass(frozen=True, slots=True)
class Display(Node):
    """A tuple `(a, b)` or list `[a, b]` written in the expression."""

    items: tuple[Node, ...]
    is_list: bool

    def evaluate(self, context: _Context) -> object:
        values = [item.evaluate(context) for item in self.items]
        result: object = values if self.is_list else tuple(values)
        if _size(result) > MAX_SIZE:
            raise context.error(f"the list is too large (more than {MAX_SIZE:,} items/characters)")
        return result

    def children(self) -> Iterator[Node]:
        return iter(self.items)


@dataclass(frozen=True, slots=True)
class Unary(Node):
    operator: str  # "not", "-", "+", "empty"
    operand: Node

    def evaluate(self, context: _Context) -> object:
        value = self.operand.evaluate(context)
        if self.operator == "not":
            return not _truth(value)
        if self.operator == "empty":
            return _is_empty(value)
        if not _is_number(value):
            raise context.error(f"unary '{self.operator}' needs a number, got {_describe(value)}")
        return -value if self.operator == "-" else +value  # type: ignore[operator]

    def children(self) -> Iterator[Node]:
        return iter((self.operand,))


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    operator: str  # "and", "or"
    operands: tuple[Node, ...]

    def evaluate(self, context: _Context) -> object:
        # Short-circuit like both languages, but always answer a boolean, as JUEL does.
        stop_on = self.operator == "or"
        for operand in self.operands:
            if _truth(operand.evaluate(context)) == stop_on:
                return stop_on
        return not stop_on

    def children(self) -> Iterator[Node]:
        return iter(self.operands)


_ORDERING: Mapping[str, Callable[[Any, Any], object]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: object, right: object, context: _Context) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("in", "not in"):
        if not isinstance(right, _CONTAINERS):
            raise context.error(
                f"'{op}' needs a list, tuple, dict or string on the right, got {_describe(right)}"
            )
        if isinstance(right, str) and not isinstance(left, str):
            raise context.error(
                f"'{op}' on a string needs a string on the left, got {_describe(left)}"
            )
        try:
            found = left in right
        except TypeError:
            raise context.error(f"{_describe(left)} cannot be looked up in a dict or set") from None
        return found if op == "in" else not found
    try:
        return bool(_ORDERING[op](left, right))
    except TypeError:
        raise context.error(
            f"cannot compare {_describe(left)} with {_describe(right)} using '{op}'"
        ) from None


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """`a < b <= c`: Python's chained comparison; JUEL comparisons nest one per node."""

    first: Node
    rest: tuple[tuple[str, Node], ...]

    def evaluate(self, context: _Context) -> object:
        left = self.first.evaluate(context)
        for op, node in self.rest:
            right = node.evaluate(context)
            if not _compare(op, left, right, context):
                return False
            left = right
        return True

    def children(self) -> Iterator[Node]:
        yield self.first
        for _, node in self.rest:
            yield node


def _check_number(value: object, context: _Context) -> object:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise context.error(f"the number is too large (more than {MAX_INT_BITS} bits)")
    return value


def _repeat(sequence: object, count: object, context: _Context) -> object:
    assert isinstance(count, int) and isinstance(sequence, (str, list, tuple))
    # Checked before building: 'a' * 10**9 must fail fast, not after allocating a gigabyte.
    if count > 0 and _size(sequence) * count > MAX_SIZE:
        raise context.error(
            f"repeating {_describe(sequence)} {count} times is too large "
            f"(more than {MAX_SIZE:,} items/characters)"
        )
    return sequence * count


def _arithmetic(op: str, left: object, right: object, context: _Context) -> object:
    if op == "+":
        if _is_number(left) and _is_number(right):
            return _check_number(left + right, context)  # type: ignore[operator]
        for kind in (str, list, tuple):
            if isinstance(left, kind) and isinstance(right, kind):
                if _size(left) + _size(right) > MAX_SIZE:
                    raise context.error(
                        f"the result is too large (more than {MAX_SIZE:,} items/characters)"
                    )
                return left + right  # type: ignore[operator]
        raise context.error(f"cannot add {_describe(left)} and {_describe(right)}")
    if op == "*":
        if _is_number(left) and _is_number(right):
            return _check_number(left * right, context)  # type: ignore[operator]
        if isinstance(left, (str, list, tuple)) and isinstance(right, int):
            return _repeat(left, right, context)
        if isinstance(left, int) and isinstance(right, (str, list, tuple)):
            return _repeat(right, left, context)
        raise context.error(f"cannot multiply {_describe(left)} by {_describe(right)}")
    # -, /, //, % take numbers only; '%' on a string would be printf-style formatting.
    if not (_is_number(left) and _is_number(right)):
        raise context.error(f"'{op}' needs numbers, got {_describe(left)} and {_describe(right)}")
    try:
        result = _NUMERIC[op](left, right)
    except ZeroDivisionError:
        raise context.error("division by zero") from None
    except OverflowError:
        raise context.error("the number is too large") from None
    return _check_number(result, context)


_NUMERIC: Mapping[str, Callable[[Any, Any], object]] = {
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
}


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    """`a + b - c`: operators applied left to right (a flat chain keeps long sums shallow)."""

    first: Node
    rest: tuple[tuple[str, Node], ...]

    def evaluate(self, context: _Context) -> object:
        value = self.first.evaluate(context)
        for op, node in self.rest:
            value = _arithmetic(op, value, node.evaluate(context), context)
        return value

    def children(self) -> Iterator[Node]:
        yield self.first
        for _, node in self.rest:
            yield node


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """`then if test else otherwise` (Python) or `test ? then : otherwise` (JUEL)."""

    test: Node
    then: Node
    otherwise: Node

    def evaluate(self, context: _Context) -> object:
        if _truth(self.test.evaluate(context)):
            return self.then.evaluate(context)
        return self.otherwise.evaluate(context)

    def children(self) -> Iterator[Node]:
        return iter((self.test, self.then, self.otherwise))


@dataclass(frozen=True, slots=True)
class Subscript(Node):
    target: Node
    index: Node

    def evaluate(self, context: _Context) -> object:
        container = self.target.evaluate(context)
        key = self.index.evaluate(context)
        if isinstance(container, dict):
            try:
                return container[key]
            except KeyError:
                raise context.error(f"the dict has no key {key!r}") from None
            except TypeError:
                raise context.error(f"{_describe(key)} cannot be a dict key") from None
        if isinstance(container, (list, tuple)):
            if not isinstance(key, int) or isinstance(key, bool):
                raise context.error(f"a list index must be a whole number, got {_describe(key)}")
            if not -len(container) <= key < len(container):
                raise context.error(
                    f"index {key} is out of range for a list of {len(container)} "
                    f"item{'' if len(container) == 1 else 's'}"
                )
            return container[key]
        raise context.error(f"only dicts and lists can be subscripted, got {_describe(container)}")

    def children(self) -> Iterator[Node]:
        return iter((self.target, self.index))


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]

    def evaluate(self, context: _Context) -> object:
        supplied = context.functions or {}
        if self.function in supplied:
            function = supplied[self.function]
        elif self.function in SAFE_FUNCTIONS:
            function = SAFE_FUNCTIONS[self.function]
        else:
            raise context.error(f"function {self.function!r} is not available here")
        args = [arg.evaluate(context) for arg in self.args]
        try:
            return function(*args)
        except GridflowError:
            raise
        except Exception as exc:  # any failure inside a function is the expression's error
            raise context.error(f"{self.function}(): {exc}") from exc

    def children(self) -> Iterator[Node]:
        return iter(self.args)


def _walk(tree: Node) -> Iterator[Node]:
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(node.children())


def _check_depth(tree: Node, source: str) -> None:
    # Iterative, so that checking a too-deep tree cannot itself hit the recursion limit.
    pending = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(source)
        pending.extend((child, depth + 1) for child in node.children())


@dataclass(frozen=True)
class Expression:
    """A compiled expression: its source text and the tree that is evaluated."""

    source: str
    tree: Node = field(repr=False)

    def evaluate(
        self,
        variables: Mapping[str, object],
        functions: Mapping[str, Callable[..., object]] | None = None,
    ) -> object:
        """Evaluate against the instance's variables; every failure is an ExpressionError."""
        context = _Context(self.source, variables, functions)
        try:
            return self.tree.evaluate(context)
        except GridflowError:
            raise
        except Exception as exc:  # a safety net: callers must never see a raw Python exception
            raise ExpressionError(self.source, f"cannot evaluate: {exc}") from exc

    @property
    def names(self) -> frozenset[str]:
        """The variables the expression reads."""
        return frozenset(node.name for node in _walk(self.tree) if isinstance(node, Name))

    @property
    def function_names(self) -> frozenset[str]:
        """The functions the expression calls."""
        return frozenset(node.function for node in _walk(self.tree) if isinstance(node, Call))
