"""gridflow's safe expression language for BPMN conditions, timer expressions and script tasks.

Camunda JUEL (`${approved}`) and Python-style (`voltage == 'high'`) text are parsed into one small
tree of dataclasses and evaluated by walking it; nothing is ever passed to eval, exec or compile.

One set of value rules holds for both forms: Python's (`"1" == 1` is false, `+` joins strings,
non-empty strings are true), except that an undefined variable is an error (JUEL's rule) and
`and`/`or`/`&&`/`||` always give a boolean. JUEL keeps its own precedence (`!`, `not` and `empty`
bind tighter than comparisons); Python style keeps Python's.
"""

from __future__ import annotations

import ast
import functools
import io
import operator
import re
import textwrap
import tokenize
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gridflow.errors import ExpressionError, GridflowError, UndefinedVariableError

__all__ = [
    "SAFE_FUNCTIONS",
    "Expression",
    "Script",
    "compile_expression",
    "compile_script",
]

MAX_LENGTH = 2000  # characters in one expression (or one script line's value)
MAX_SCRIPT_LENGTH = 50_000
MAX_DEPTH = 50  # nesting levels; keeps parsing and evaluation far from Python's recursion limit
MAX_SIZE = 100_000  # characters plus items in a string or list an expression builds
MAX_INT_BITS = 1024  # about 308 digits: far beyond any grid figure, cheap to multiply
MAX_ROUND_DIGITS = 100  # round(5, -10**9) would build 10**(10**9)

FunctionMap = Mapping[str, Callable[..., object]]

_CONSTANT_NAMES: Mapping[str, object] = {
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "null": None,
    "None": None,
}

_CONTAINERS = (str, list, tuple, dict, set, frozenset)


# --- value helpers -----------------------------------------------------------------------------


def _describe(value: object) -> str:
    """Name a value the way a process designer thinks of it, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        return "a very large number"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        text = repr(value)
        return f"a string ({text if len(text) <= 40 else text[:36] + '...' + text[0]})"
    for kinds, name in (
        (list, "a list"),
        (tuple, "a tuple"),
        (dict, "a dict"),
        ((set, frozenset), "a set"),
    ):
        if isinstance(value, kinds):
            return name
    return f"a {type(value).__name__}"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float))


def _size(value: object) -> int:
    """Characters plus items, counted through nested lists and dicts; stops soon after MAX_SIZE.

    A list of one long string repeated many times is small as an object but huge once printed or
    compared, so repetition and concatenation are limited by this measure, not by len().
    """
    total = 0
    pending = [value]
    while pending and total <= MAX_SIZE:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            if total <= MAX_SIZE:
                pending.extend(item)
        elif isinstance(item, dict):
            total += len(item)
            if total <= MAX_SIZE:
                pending.extend(item.keys())
                pending.extend(item.values())
    return total


def _truth(value: object) -> bool:
    return bool(value)


def _is_empty(value: object) -> bool:
    """JUEL's `empty`: null, an empty string, an empty list or dict; 0 and false are not empty."""
    if value is None:
        return True
    return isinstance(value, _CONTAINERS) and len(value) == 0


# --- safe functions ----------------------------------------------------------------------------


def _round(number: object, ndigits: object = None) -> object:
    if ndigits is not None:
        if not isinstance(ndigits, int) or isinstance(ndigits, bool):
            raise TypeError(
                f"the number of digits must be a whole number, got {_describe(ndigits)}"
            )
        if abs(ndigits) > MAX_ROUND_DIGITS:
            raise ValueError(
                f"the number of digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}"
            )
    if not _is_number(number):
        raise TypeError(f"takes a number, got {_describe(number)}")
    return round(number, ndigits)  # type: ignore[call-overload]


def _sum(values: Iterable[object], start: object = 0) -> object:
    # Only numbers: sum() over lists of lists would build quadratically large results.
    total = start
    if not _is_number(total):
        raise TypeError(f"adds numbers only, got {_describe(total)}")
    for value in values:
        if not _is_number(value):
            raise TypeError(f"adds numbers only, got {_describe(value)}")
        total = total + value  # type: ignore[operator]
    return total


def _lower(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"takes a string, got {_describe(text)}")
    return text.lower()


def _upper(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"takes a string, got {_describe(text)}")
    return text.upper()


SAFE_FUNCTIONS: Mapping[str, Callable[..., object]] = types.MappingProxyType(
    {
        "len": len,
        "min": min,
        "max": max,
        "abs": abs,
        "round": _round,
        "int": int,
        "float": float,
        "str": str,
        "bool": bool,
        "sum": _sum,
        "any": any,
        "all": all,
        "lower": _lower,
        "upper": _upper,
    }
)


# --- the tree ----------------------------------------------------------------------------------


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


# --- compiled expressions ----------------------------------------------------------------------


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


def _refuse(source: str, message: str) -> ExpressionError:
    return ExpressionError(source, message)


def _too_deep(source: str) -> ExpressionError:
    return _refuse(
        source,
        f"the expression is nested too deeply (more than {MAX_DEPTH} levels); "
        "split it into a script with intermediate variables",
    )


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"column {column}" if line == 1 else f"line {line}, column {column}"


def _syntax_error(source: str, index: int, detail: str) -> ExpressionError:
    return _refuse(source, f"syntax error at {_position(source, index)}: {detail}")


def _check_name(name: str, source: str) -> None:
    if name.startswith("__"):
        raise _refuse(
            source, f"name {name!r} is not allowed: names starting with '__' are reserved"
        )
    if "__" in name:
        raise _refuse(source, f"name {name!r} is not allowed: names containing '__' are reserved")


def _check_function(name: str, source: str, allowed: frozenset[str]) -> None:
    _check_name(name, source)
    if name not in SAFE_FUNCTIONS and name not in allowed:
        available = ", ".join(sorted(set(SAFE_FUNCTIONS) | allowed))
        raise _refuse(
            source, f"call to {name!r} is not allowed; the functions available are: {available}"
        )


def _check_int_literal(value: int, source: str) -> None:
    if value.bit_length() > MAX_INT_BITS:
        raise _refuse(source, f"the number literal is too large (more than {MAX_INT_BITS} bits)")


# --- JUEL --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "string", "name", "op" (operators and keywords), "end"
    value: object
    start: int  # index in the whole source text
    text: str  # as written, for messages


_JUEL_KEYWORDS = frozenset(
    {"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "div", "mod", "empty", "in"}
    | {"true", "false", "null"}
)
_JUEL_WORDS: Mapping[str, str] = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "&&": "and",
    "||": "or",
    "!": "not",
}
_JUEL_OPERATORS = (
    "==", "!=", "<=", ">=", "&&", "||", "//", "**", "->", "+=", "-=", "*=", "/=",
    "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",", "?", ":", ".",
    "=", "{", ";",
)  # fmt: skip
_JUEL_REFUSED: Mapping[str, str] = {
    "**": "'**' (power) is not supported; multiply instead",
    "->": "lambda is not allowed",
    "=": "'=' (assignment) is not allowed; compare with '==' or 'eq'",
    "+=": "assignment ('+=') is not allowed",
    "-=": "assignment ('-=') is not allowed",
    "*=": "assignment ('*=') is not allowed",
    "/=": "assignment ('/=') is not allowed",
    ";": "';' (several expressions in one) is not allowed",
    "{": "set and map literals ('{...}') are not supported",
}
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_ESCAPES: Mapping[str, str] = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def _juel_tokens(source: str, start: int, end: int) -> list[_Token]:
    """Split source[start:end] (the text inside `${...}`) into tokens."""
    tokens: list[_Token] = []
    index = start
    while True:
        while index < end and source[index].isspace():
            index += 1
        if index >= end:
            tokens.append(_Token("end", None, end, ""))
            return tokens
        char = source[index]
        if char.isdigit() or (char == "." and index + 1 < end and source[index + 1].isdigit()):
            match = _NUMBER.match(source, index, end)
            assert match is not None
            text = match.group()
            value: object
            if any(c in text for c in ".eE"):
                value = float(text)
            else:
                value = int(text)
                _check_int_literal(value, source)
            tokens.append(_Token("number", value, index, text))
            index = match.end()
        elif char in "'\"":
            index = _juel_string(source, index, end, tokens)
        elif (match := _IDENTIFIER.match(source, index, end)) is not None:
            word = match.group()
            if word == "instanceof":
                raise _refuse(source, "'instanceof' is not supported")
            kind = "op" if word in _JUEL_KEYWORDS else "name"
            tokens.append(_Token(kind, word, index, word))
            index = match.end()
        else:
            for op in _JUEL_OPERATORS:
                if source.startswith(op, index, end):
                    break
            else:
                detail = f"unexpected character {char!r}"
                if char in "&|":
                    detail += f"; write '{char * 2}' or '{'and' if char == '&' else 'or'}'"
                elif char == "}":
                    detail += "; write the whole condition inside one ${...}"
                raise _syntax_error(source, index, detail)
            if op in _JUEL_REFUSED:
                raise _refuse(source, _JUEL_REFUSED[op])
            tokens.append(_Token("op", op, index, op))
            index += len(op)


def _juel_string(source: str, start: int, end: int, tokens: list[_Token]) -> int:
    quote = source[start]
    index = start + 1
    chars: list[str] = []
    while True:
        if index >= end:
            raise _syntax_error(source, start, "unterminated string")
        char = source[index]
        if char == quote:
            tokens.append(_Token("string", "".join(chars), start, source[start : index + 1]))
            return index + 1
        if char == "\\":
            if index + 1 >= end:
                raise _syntax_error(source, start, "unterminated string")
            escaped = source[index + 1]
            if escaped not in _ESCAPES:
                raise _syntax_error(
                    source, index, f"unknown escape '\\{escaped}' (write '\\\\' for a backslash)"
                )
            chars.append(_ESCAPES[escaped])
            index += 2
        else:
            chars.append(char)
            index += 1


class _JuelParser:
    """Recursive descent over JUEL's precedence levels, building the shared tree."""

    def __init__(self, source: str, start: int, end: int, allowed: frozenset[str]) -> None:
        self._source = source
        self._allowed = allowed
        self._tokens = _juel_tokens(source, start, end)
        self._index = 0
        self._depth = 0

    def parse(self) -> Node:
        if self._peek().kind == "end":
            raise _refuse(self._source, "the expression is empty")
        tree = self._nested()
        if self._peek().kind != "end":
            raise self._unexpected(self._peek())
        return tree

    # token helpers

    def _peek(self, ahead: int = 0) -> _Token:
        return self._tokens[min(self._index + ahead, len(self._tokens) - 1)]

    def _next(self) -> _Token:
        token = self._peek()
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _at(self, *ops: str) -> bool:
        token = self._peek()
        return token.kind == "op" and token.value in ops

    def _expect(self, op: str) -> None:
        token = self._next()
        if token.kind != "op" or token.value != op:
            found = "the end of the expression" if token.kind == "end" else repr(token.text)
            raise _syntax_error(self._source, token.start, f"expected '{op}' but found {found}")

    def _unexpected(self, token: _Token) -> ExpressionError:
        found = "end of expression" if token.kind == "end" else repr(token.text)
        return _syntax_error(self._source, token.start, f"unexpected {found}")

    def _enter(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _too_deep(self._source)

    # precedence levels, loosest first

    def _nested(self) -> Node:
        self._enter()
        node = self._ternary()
        self._depth -= 1
        return node

    def _ternary(self) -> Node:
        test = self._or()
        if not self._at("?"):
            return test
        self._next()
        then = self._nested()
        self._expect(":")
        return Conditional(test, then, self._nested())

    def _or(self) -> Node:
        operands = [self._and()]
        while self._at("||", "or"):
            self._next()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def _and(self) -> Node:
        operands = [self._equality()]
        while self._at("&&", "and"):
            self._next()
            operands.append(self._equality())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def _equality(self) -> Node:
        node = self._relational()
        while self._at("==", "!=", "eq", "ne"):
            op = str(self._next().value)
            node = Compare(node, ((_JUEL_WORDS.get(op, op), self._relational()),))
        return node

    def _relational(self) -> Node:
        node = self._additive()
        while True:
            if self._at("<", ">", "<=", ">=", "lt", "gt", "le", "ge", "in"):
                op = str(self._next().value)
                op = _JUEL_WORDS.get(op, op)
            elif self._at("not") and self._peek(1).kind == "op" and self._peek(1).value == "in":
                self._next()
                self._next()
                op = "not in"
            else:
                return node
            node = Compare(node, ((op, self._additive()),))

    def _additive(self) -> Node:
        first = self._multiplicative()
        rest: list[tuple[str, Node]] = []
        while self._at("+", "-"):
            op = str(self._next().value)
            rest.append((op, self._multiplicative()))
        return Arithmetic(first, tuple(rest)) if rest else first

    def _multiplicative(self) -> Node:
        first = self._unary()
        rest: list[tuple[str, Node]] = []
        while self._at("*", "/", "//", "%", "div", "mod"):
            op = str(self._next().value)
            rest.append((_JUEL_WORDS.get(op, op), self._unary()))
        return Arithmetic(first, tuple(rest)) if rest else first

    def _unary(self) -> Node:
        if not self._at("-", "!", "not", "empty"):
            return self._postfix()
        op = str(self._next().value)
        self._enter()
        operand = self._unary()
        self._depth -= 1
        return Unary(_JUEL_WORDS.get(op, op), operand)

    def _postfix(self) -> Node:
        node = self._primary()
        while True:
            if self._at("["):
                self._next()
                index = self._nested()
                self._expect("]")
                node = Subscript(node, index)
            elif self._at("."):
                dot = self._next()
                member = self._peek()
                if member.kind not in ("name", "op") or not str(member.value).isidentifier():
                    raise self._unexpected(dot)
                self._next()
                if self._at("("):
                    raise _refuse(
                        self._source,
                        f"method calls are not allowed ('.{member.text}(...)'); bean references"
                        " and Java methods cannot run in gridflow",
                    )
                raise _refuse(
                    self._source,
                    f"attribute access '.{member.text}' is not allowed "
                    f"(to read a key of a dict write x['{member.text}'])",
                )
            elif self._at("("):
                raise _refuse(self._source, "only functions called by name can be called")
            else:
                return node

    def _primary(self) -> Node:
        token = self._next()
        if token.kind in ("number", "string"):
            return Literal(token.value)
        if token.kind == "op" and token.value in ("true", "false", "null"):
            return Literal(_CONSTANT_NAMES[str(token.value)])
        if token.kind == "name":
            name = str(token.value)
            _check_name(name, self._source)
            if self._at("("):
                _check_function(name, self._source, self._allowed)
                self._next()
                return Call(name, self._items(")"))
            if name in _CONSTANT_NAMES:
                return Literal(_CONSTANT_NAMES[name])
            return Name(name)
        if token.kind == "op" and token.value == "(":
            if self._at(")"):
                self._next()
                return Display((), is_list=False)
            first = self._nested()
            if self._at(")"):
                self._next()
                return first
            self._expect(",")
            return Display((first, *self._items(")")), is_list=False)
        if token.kind == "op" and token.value == "[":
            return Display(self._items("]"), is_list=True)
        raise self._unexpected(token)

    def _items(self, closing: str) -> tuple[Node, ...]:
        """Comma-separated expressions up to `closing` (a trailing comma is fine)."""
        items: list[Node] = []
        while not self._at(closing):
            items.append(self._nested())
            if self._at(closing):
                break
            self._expect(",")
        self._next()
        return tuple(items)


# --- Python style ------------------------------------------------------------------------------

_PY_ARITHMETIC: Mapping[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}
_PY_REFUSED_OPERATORS: Mapping[type[ast.operator], str] = {
    ast.Pow: "'**' (power) is not supported; multiply instead",
    ast.MatMult: "operator '@' is not supported",
    ast.BitAnd: "operator '&' is not supported; use 'and'",
    ast.BitOr: "operator '|' is not supported; use 'or'",
    ast.BitXor: "operator '^' is not supported",
    ast.LShift: "operator '<<' is not supported",
    ast.RShift: "operator '>>' is not supported",
}
_PY_COMPARE: Mapping[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_PY_UNARY: Mapping[type[ast.unaryop], str] = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+"}
_PY_REFUSED: Mapping[type[ast.AST], str] = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions (generator expressions) are not allowed",
    ast.NamedExpr: "assignment expressions (walrus ':=') are not allowed",
    ast.Starred: "starred expressions ('*x') are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Dict: "dict literals ('{...}') are not supported",
    ast.Set: "set literals ('{...}') are not supported; use a tuple like ('a', 'b')",
    ast.Slice: "slices like x[1:3] are not allowed",
}


class _PythonConverter:
    """Turns a Python AST into the shared tree, accepting only whitelisted node types."""

    def __init__(self, source: str, allowed: frozenset[str]) -> None:
        self._source = source
        self._allowed = allowed

    def convert(self, expression: ast.expr) -> Node:
        # Names first: `__import__('os').system(...)` is best reported by its dangerous name.
        for node in ast.walk(expression):
            if isinstance(node, ast.Name):
                _check_name(node.id, self._source)
        return self._convert(expression, 1)

    def _refuse(self, message: str) -> ExpressionError:
        return _refuse(self._source, message)

    def _convert(self, node: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _too_deep(self._source)
        inner = depth + 1
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.Name):
            if node.id in _CONSTANT_NAMES:
                return Literal(_CONSTANT_NAMES[node.id])
            return Name(node.id)
        if isinstance(node, (ast.Tuple, ast.List)):
            items = tuple(self._convert(item, inner) for item in node.elts)
            return Display(items, is_list=isinstance(node, ast.List))
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp(op, tuple(self._convert(value, inner) for value in node.values))
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in _PY_UNARY:
                raise self._refuse("operator '~' is not supported")
            return Unary(_PY_UNARY[type(node.op)], self._convert(node.operand, inner))
        if isinstance(node, ast.BinOp):
            return self._arithmetic(node, inner)
        if isinstance(node, ast.Compare):
            rest: list[tuple[str, Node]] = []
            for comparison, right in zip(node.ops, node.comparators, strict=True):
                if type(comparison) not in _PY_COMPARE:
                    raise self._refuse(
                        "'is' is not supported; compare with '==' or '!=' (for example x == None)"
                    )
                rest.append((_PY_COMPARE[type(comparison)], self._convert(right, inner)))
            return Compare(self._convert(node.left, inner), tuple(rest))
        if isinstance(node, ast.IfExp):
            return Conditional(
                self._convert(node.test, inner),
                self._convert(node.body, inner),
                self._convert(node.orelse, inner),
            )
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                raise self._refuse(_PY_REFUSED[ast.Slice])
            return Subscript(self._convert(node.value, inner), self._convert(node.slice, inner))
        if isinstance(node, ast.Call):
            return self._call(node, inner)
        if isinstance(node, ast.Attribute):
            raise self._refuse(
                f"attribute access '.{node.attr}' is not allowed "
                f"(to read a key of a dict write x['{node.attr}'])"
            )
        message = _PY_REFUSED.get(type(node), f"{type(node).__name__} is not allowed")
        raise self._refuse(message)

    def _constant(self, value: object) -> Node:
        if value is None or isinstance(value, (bool, float, str)):
            return Literal(value)
        if isinstance(value, int):
            _check_int_literal(value, self._source)
            return Literal(value)
        kind = {bytes: "bytes", complex: "complex number"}.get(type(value), type(value).__name__)
        raise self._refuse(f"{kind} literals are not supported")

    def _arithmetic(self, node: ast.BinOp, depth: int) -> Node:
        # Flatten the left-leaning chain `((a + b) - c) * d` so long sums stay shallow;
        # evaluating the chain left to right gives the same result.
        parts: list[tuple[str, ast.expr]] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp):
            op = type(left.op)
            if op in _PY_REFUSED_OPERATORS:
                raise self._refuse(_PY_REFUSED_OPERATORS[op])
            parts.append((_PY_ARITHMETIC[op], left.right))
            left = left.left
        first = self._convert(left, depth)
        rest = tuple((op, self._convert(right, depth)) for op, right in reversed(parts))
        return Arithmetic(first, rest)

    def _call(self, node: ast.Call, depth: int) -> Node:
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            hint = f"; write {method}(x) instead" if method in ("lower", "upper") else ""
            raise self._refuse(f"method calls are not allowed ('.{method}(...)'){hint}")
        if not isinstance(node.func, ast.Name):
            raise self._refuse("only functions called by name can be called")
        name = node.func.id
        _check_function(name, self._source, self._allowed)
        if node.keywords:
            raise self._refuse(f"keyword arguments are not allowed in the call to {name!r}")
        return Call(name, tuple(self._convert(arg, depth) for arg in node.args))


_TOO_DEEP = "too deep"  # ast.parse ran out of stack: a place-less _PythonSyntax


class _PythonSyntax(Exception):
    """A problem ast.parse found; line and column are 1-based, 0 when it has no place."""

    def __init__(self, line: int, column: int, detail: str, indentation: bool = False) -> None:
        super().__init__(detail)
        self.line = line
        self.column = column
        self.detail = detail
        self.indentation = indentation


def _ast_parse(text: str, mode: str) -> ast.AST:
    """ast.parse used only as a parser; its output is converted, never compiled."""
    try:
        with warnings.catch_warnings():
            # Invalid escapes like "\d" only warn; they need not reach the engine's log.
            warnings.simplefilter("ignore")
            return ast.parse(text, mode=mode)
    except SyntaxError as exc:
        detail = exc.msg
        if re.search(r"&&|\|\||!(?!=)|\$\{|#\{", text):
            detail += "; JUEL operators like '&&', '||' and '!' need the whole condition in ${...}"
        elif mode == "eval" and re.search(r"(?<![=!<>])=(?!=)", text):
            detail += "; to compare, write '=='"
        line, column = max(exc.lineno or 1, 1), max(exc.offset or 1, 1)
        indentation = isinstance(exc, IndentationError)
        raise _PythonSyntax(line, column, detail, indentation) from None
    except (RecursionError, MemoryError):
        raise _PythonSyntax(0, 0, _TOO_DEEP) from None
    except ValueError as exc:  # for example a NUL character
        raise _PythonSyntax(0, 0, str(exc)) from None


def _unplaced(problem: _PythonSyntax, source: str) -> ExpressionError:
    return _too_deep(source) if problem.detail == _TOO_DEEP else _refuse(source, problem.detail)


def _bracket_depth(text: str) -> int:
    """The deepest nesting of brackets in Python text that already parsed.

    Brackets leave no trace in the AST, yet JUEL counts them (its parser recurses on them), so
    both forms refuse the same nesting.
    """
    depth = deepest = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
                deepest = max(deepest, depth)
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
    except (tokenize.TokenError, SyntaxError):
        pass  # the parser accepted the text; the AST depth check still applies
    return deepest


def _compile(source: str, allowed: frozenset[str]) -> Node:
    stripped = source.strip()
    if len(stripped) > MAX_LENGTH:
        raise _refuse(
            stripped[:60] + "...",
            f"the expression is too long ({len(stripped)} characters; the limit is {MAX_LENGTH})",
        )
    start = len(source) - len(source.lstrip())
    if stripped[:2] in ("${", "#{"):
        if not stripped.endswith("}"):
            raise _refuse(
                source, f"a JUEL expression starting with '{stripped[:2]}' must end with '}}'"
            )
        tree = _JuelParser(source, start + 2, start + len(stripped) - 1, allowed).parse()
    else:
        if not stripped:
            raise _refuse(source, "the expression is empty")
        if re.match(r"(import|from)\s", stripped):
            raise _refuse(source, "imports are not allowed")
        try:
            parsed = _ast_parse(stripped, "eval")
        except _PythonSyntax as exc:
            if exc.line == 0:
                raise _unplaced(exc, source) from None
            lines = stripped.split("\n")
            index = start + sum(len(line) + 1 for line in lines[: exc.line - 1]) + exc.column - 1
            raise _syntax_error(source, min(index, len(source)), exc.detail) from None
        assert isinstance(parsed, ast.Expression)
        if _bracket_depth(stripped) > MAX_DEPTH:
            raise _too_deep(source)
        tree = _PythonConverter(source, allowed).convert(parsed.body)
    _check_depth(tree, source)
    return tree


@functools.lru_cache(maxsize=4096)
def _compile_cached(text: str, allowed: frozenset[str]) -> Expression:
    return Expression(text, _compile(text, allowed))


def compile_expression(text: str, allowed_functions: Iterable[str] = ()) -> Expression:
    """Parse a JUEL (`${...}` / `#{...}`) or Python-style expression into a safe Expression.

    Calls are accepted to the SAFE_FUNCTIONS and to `allowed_functions` (for example the engine's
    `standard_due`); everything the language refuses raises ExpressionError naming the problem.
    Results are cached, so compiling the same condition again is cheap.
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), "an expression must be text")
    return _compile_cached(text, frozenset(allowed_functions))


# --- scripts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    """One script line: `name = expression`."""

    line: int
    name: str
    expression: Expression


class _ScriptScope(Mapping[str, object]):
    """The instance's variables seen through the script's own assignments, without copying."""

    def __init__(self, assigned: Mapping[str, object], variables: Mapping[str, object]) -> None:
        self._assigned = assigned
        self._variables = variables

    def __getitem__(self, key: str) -> object:
        if key in self._assigned:
            return self._assigned[key]
        return self._variables[key]

    def __contains__(self, key: object) -> bool:
        return key in self._assigned or key in self._variables

    def __iter__(self) -> Iterator[str]:
        yield from self._assigned
        yield from (key for key in self._variables if key not in self._assigned)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _at_line(error: ExpressionError, line: int) -> ExpressionError:
    message = f"line {line}: {error.message}"
    located: ExpressionError
    if isinstance(error, UndefinedVariableError):
        located = UndefinedVariableError(error.expression, error.name)
        ExpressionError.__init__(located, error.expression, message)
    else:
        located = ExpressionError(error.expression, message)
    return located


@dataclass(frozen=True)
class Script:
    """A compiled script task: lines of `name = expression`, run in order."""

    source: str
    assignments: tuple[Assignment, ...] = field(repr=False)

    def run(
        self,
        variables: Mapping[str, object],
        functions: Mapping[str, Callable[..., object]] | None = None,
    ) -> dict[str, object]:
        """Run the lines in order; return the assigned values (`variables` is not changed)."""
        assigned: dict[str, object] = {}
        scope = _ScriptScope(assigned, variables)
        for assignment in self.assignments:
            try:
                assigned[assignment.name] = assignment.expression.evaluate(scope, functions)
            except ExpressionError as exc:
                raise _at_line(exc, assignment.line) from exc
        return assigned

    @property
    def names(self) -> frozenset[str]:
        """Variables the script reads from the instance (not those it assigned first)."""
        read: set[str] = set()
        assigned: set[str] = set()
        for assignment in self.assignments:
            read |= assignment.expression.names - assigned
            assigned.add(assignment.name)
        return frozenset(read)

    @property
    def assigned(self) -> frozenset[str]:
        """Variables the script sets."""
        return frozenset(assignment.name for assignment in self.assignments)

    @property
    def function_names(self) -> frozenset[str]:
        """Functions the script calls."""
        return frozenset().union(*(a.expression.function_names for a in self.assignments))


_STATEMENT_PROBLEMS: Mapping[type[ast.stmt], str] = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.FunctionDef: "function definitions ('def') are not allowed",
    ast.AsyncFunctionDef: "function definitions ('def') are not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.For: "loops ('for') are not allowed",
    ast.AsyncFor: "loops ('for') are not allowed",
    ast.While: "loops ('while') are not allowed",
    ast.If: "'if' statements are not allowed; write 'x = a if condition else b'",
    ast.With: "'with' is not allowed",
    ast.AsyncWith: "'with' is not allowed",
    ast.Try: "'try' is not allowed",
    ast.Raise: "'raise' is not allowed",
    ast.Assert: "'assert' is not allowed",
    ast.Delete: "'del' is not allowed",
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.Return: "'return' is not allowed",
    ast.Pass: "'pass' is not allowed",
    ast.Break: "'break' is not allowed",
    ast.Continue: "'continue' is not allowed",
    ast.Match: "'match' is not allowed",
    ast.AnnAssign: "type annotations are not allowed",
    ast.Expr: "a line with only an expression does nothing",
}


def _target_problem(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        if target.id in _CONSTANT_NAMES:
            return f"cannot assign to {target.id!r}"
        return None
    if isinstance(target, ast.Attribute):
        return f"assignment to an attribute ('.{target.attr} = ...') is not allowed"
    if isinstance(target, ast.Subscript):
        return "assignment to an item ('x[...] = ...') is not allowed"
    if isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
        return "unpacking ('a, b = ...') is not allowed; assign one name per line"
    return f"cannot assign to {type(target).__name__}"


def _statement_problem(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign):
        if len(statement.targets) != 1:
            return "assign one name per line ('a = b = 1' is not allowed)"
        return _target_problem(statement.targets[0])
    if isinstance(statement, ast.AugAssign):
        problem = _target_problem(statement.target)
        if problem is not None:
            return problem
        assert isinstance(statement.target, ast.Name)
        name = statement.target.id
        return f"augmented assignment is not allowed; write '{name} = {name} + ...'"
    return _STATEMENT_PROBLEMS.get(type(statement), f"{type(statement).__name__} is not allowed")


def _parse_script(text: str, lines: list[str]) -> tuple[ast.Module, str]:
    """Parse script text as Python, forgiving the indentation a BPMN file's XML gives it."""
    # Most scripts are indented as a block; the dedented text keeps blocks ('for', 'if') whole,
    # so they are refused by name. When the first line hugs <bpmn:script> and the rest are
    # indented, dedent is not enough: strip every line (lines are statements, never blocks).
    attempts = (textwrap.dedent(text), "\n".join(line.lstrip() for line in lines))
    errors: list[tuple[_PythonSyntax, str]] = []
    for clean in attempts:
        try:
            module = _ast_parse(clean, "exec")
        except _PythonSyntax as exc:
            errors.append((exc, clean))
            continue
        assert isinstance(module, ast.Module)
        return module, clean
    first, second = errors
    problem, clean = second if first[0].indentation else first
    if problem.line == 0:
        raise _unplaced(problem, text)
    line = min(problem.line, len(lines))
    # Put back what dedenting removed, so the column is the one the designer sees.
    column = problem.column + len(lines[line - 1]) - len(clean.split("\n")[line - 1])
    raise _refuse(
        lines[line - 1].strip(), f"line {line}: syntax error at column {column}: {problem.detail}"
    )


@functools.lru_cache(maxsize=1024)
def _compile_script_cached(text: str, allowed: frozenset[str]) -> Script:
    if len(text) > MAX_SCRIPT_LENGTH:
        raise _refuse(
            text[:60] + "...",
            f"the script is too long ({len(text)} characters; the limit is {MAX_SCRIPT_LENGTH})",
        )
    lines = text.split("\n")
    module, clean = _parse_script(text, lines)
    assert isinstance(module, ast.Module)
    assignments: list[Assignment] = []
    for statement in module.body:
        line = statement.lineno
        line_text = lines[line - 1].strip()
        problem = _statement_problem(statement)
        if problem is not None:
            raise _refuse(
                line_text,
                f"line {line}: only assignments 'name = expression' are allowed; {problem}",
            )
        assert isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
        name = statement.targets[0].id
        value_source = ast.get_source_segment(clean, statement.value) or line_text
        try:
            _check_name(name, line_text)
            if len(value_source) > MAX_LENGTH:
                raise _refuse(
                    line_text,
                    f"the expression is too long ({len(value_source)} characters; "
                    f"the limit is {MAX_LENGTH})",
                )
            if _bracket_depth(value_source) > MAX_DEPTH:
                raise _too_deep(value_source)
            tree = _PythonConverter(value_source, allowed).convert(statement.value)
            _check_depth(tree, value_source)
        except ExpressionError as exc:
            raise _refuse(line_text, f"line {line}: {exc.message}") from None
        assignments.append(Assignment(line, name, Expression(value_source, tree)))
    if not assignments:
        raise _refuse(text, "the script is empty; write lines of 'name = expression'")
    return Script(text, tuple(assignments))


def compile_script(text: str, allowed_functions: Iterable[str] = ()) -> Script:
    """Parse a Python script task: lines of `name = expression` (blank lines and # comments).

    Anything else is refused with an ExpressionError whose message starts with the line number.
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), "a script must be text")
    return _compile_script_cached(text, frozenset(allowed_functions))
