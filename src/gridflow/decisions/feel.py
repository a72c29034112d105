"""The part of FEEL (DMN 1.3's expression language) that decision tables need, parsed into a
small tree and evaluated by walking it; nothing is ever passed to eval, exec or compile.

Three kinds of text are read (unary tests in `gridflow.decisions.unary`, on this parser):
- unary tests, the input entries of a rule: `-`, `null`, literals, `< 10`, `>= 10`,
  ranges `[10..100)` / `]10..100]`, lists `"a","b"`, `not(...)`;
- input expressions: names, dotted paths (`customer.category`), literals, arithmetic
  (`+ - * /`), comparisons (`= != < <= > >=`), `and`, `or`, `not(...)`;
- output entries: the same expressions (in practice literals, names and simple arithmetic).

FEEL's value rules hold: `=` compares values of the same kind (a string never equals a
number: the answer is null, not false), strings are written in double quotes only, `null`
is a value, comparisons and arithmetic with null give null, and `and`/`or` are three-valued.
A name that the instance does not have is an error (`MissingVariable`), never a silent null:
the caller names the decision and the input.

The only function calls accepted are `date("2026-03-02")` (a date literal: FEEL has no other
way to write one) and `not(...)` (FEEL's boolean negation). Everything else (other functions,
`for`/`some`/`every`, `if`, `instance of`, `?`, lambdas, single-quoted strings, names with
spaces) is refused at parse time with the text and the column.

The JUEL/Python tokenizer in `gridflow.expressions` does not fit FEEL's lexical rules (`=` is
equality, `..` separates range ends, `10..20` is not the number `10.`, strings are only
double-quoted, `mod`/`div`/`empty` are plain names), so FEEL has its own small tokenizer; the
size limits are shared with `gridflow.expressions`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gridflow.errors import ExpressionError
from gridflow.expressions import MAX_DEPTH, MAX_INT_BITS, MAX_LENGTH

__all__ = [
    "FeelExpression",
    "MissingVariable",
    "compile_feel",
]

FUNCTIONS = ("date", "not")


class MissingVariable(ExpressionError):
    """A name the instance does not have: the decision and the input are named by the caller."""

    def __init__(self, expression: str, name: str):
        self.name = name
        super().__init__(expression, f"the variable {name!r} is not set")


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number | string | name | op | end
    value: object
    start: int


_NUMBER = re.compile(r"\d+(?:\.\d+)?(?!\.\d)|\.\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("..", "<=", ">=", "!=", "**", "=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]",
              ",", ".", "?", "{", "}", ":", "'")  # fmt: skip
_KEYWORDS = frozenset({"and", "or", "not", "null", "true", "false"})
_REFUSED_WORDS = {
    "for": "'for' loops are not supported in gridflow's FEEL",
    "some": "'some' is not supported in gridflow's FEEL",
    "every": "'every' is not supported in gridflow's FEEL",
    "if": "'if ... then ... else' is not supported in gridflow's FEEL; use more rules",
    "function": "function definitions are not allowed",
    "instance": "'instance of' is not supported in gridflow's FEEL",
    "between": "'between' is not supported; write a range such as [10..100]",
    "in": "'in' is not supported; write the values as a list in the input entry",
    "satisfies": "'satisfies' is not supported in gridflow's FEEL",
}
_REFUSED_OPERATORS = {
    "**": "'**' (power) is not supported",
    "?": "'?' (the input value) is not supported; compare against the input column instead",
    "{": "contexts ('{...}') are not supported",
    "}": "contexts ('{...}') are not supported",
    ":": "contexts ('{a: b}') are not supported",
    "'": 'FEEL strings are written in double quotes ("text")',
}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def syntax_error(source: str, index: int, detail: str) -> ExpressionError:
    return ExpressionError(source, f"column {index + 1}: {detail}")


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    end = len(source)
    while True:
        while index < end and source[index].isspace():
            index += 1
        if index >= end:
            tokens.append(_Token("end", None, end))
            return tokens
        char = source[index]
        if char.isdigit() or (char == "." and source[index + 1 : index + 2].isdigit()):
            match = _NUMBER.match(source, index)
            if match is None:  # "1.": a number cannot end with a point
                raise syntax_error(source, index, "a number cannot end with '.'")
            text = match.group()
            number: int | float = float(text) if "." in text else int(text)
            if isinstance(number, int) and number.bit_length() > MAX_INT_BITS:
                raise syntax_error(source, index, "the number is too large")
            tokens.append(_Token("number", number, index))
            index = match.end()
        elif char == '"':
            index = _string(source, index, tokens)
        elif (match := _NAME.match(source, index)) is not None:
            word = match.group()
            if word in _REFUSED_WORDS:
                raise syntax_error(source, index, _REFUSED_WORDS[word])
            if "__" in word:
                raise syntax_error(
                    source, index, f"name {word!r} is not allowed ('__' is reserved)"
                )
            tokens.append(_Token("op" if word in _KEYWORDS else "name", word, index))
            index = match.end()
        else:
            for op in _OPERATORS:
                if source.startswith(op, index):
                    break
            else:
                raise syntax_error(source, index, f"unexpected character {char!r}")
            if op in _REFUSED_OPERATORS:
                raise syntax_error(source, index, _REFUSED_OPERATORS[op])
            tokens.append(_Token("op", op, index))
            index += len(op)


def _string(source: str, start: int, tokens: list[_Token]) -> int:
    index = start + 1
    chars: list[str] = []
    while index < len(source):
        char = source[index]
        if char == '"':
            tokens.append(_Token("string", "".join(chars), start))
            return index + 1
        if char == "\\":
            escaped = source[index + 1 : index + 2]
            if escaped not in _ESCAPES:
                raise syntax_error(source, index, f"unknown escape '\\{escaped}'")
            chars.append(_ESCAPES[escaped])
            index += 2
            continue
        chars.append(char)
        index += 1
    raise syntax_error(source, start, "unterminated string")


# --- values ------------------------------------------------------------------------------------


def kind_of(value: object) -> str | None:
    """FEEL's kind of a value: number, string, boolean, date, list, context; None for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, date):
        return "date"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Mapping):
        return "context"
    return type(value).__name__


def feel_equal(left: object, right: object) -> bool | None:
    """FEEL's `=`: null only equals null; values of different kinds are not comparable (null)."""
    if left is None or right is None:
        return left is None and right is None
    if kind_of(left) != kind_of(right):
        return None
    return bool(left == right)


def feel_compare(op: str, left: object, right: object) -> bool | None:
    """FEEL's `< <= > >=`: numbers, strings and dates of the same kind; null otherwise."""
    kind = kind_of(left)
    if kind is None or kind != kind_of(right) or kind not in ("number", "string", "date"):
        return None
    a: Any = left
    b: Any = right
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


# --- the tree ----------------------------------------------------------------------------------


class Node:
    """A node of a FEEL expression; `evaluate` reads variables from a mapping."""

    __slots__ = ()

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        raise NotImplementedError

    def children(self) -> Iterator[Node]:
        return iter(())


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: object

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        return self.value


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        if self.name not in variables:
            raise MissingVariable(source, self.name)
        return variables[self.name]


@dataclass(frozen=True, slots=True)
class Path(Node):
    """`target.member`: a member of a context (a dict); null when absent or not a context."""

    target: Node
    member: str

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        value = self.target.evaluate(variables, source)
        if isinstance(value, Mapping):
            return value.get(self.member)
        return None

    def children(self) -> Iterator[Node]:
        return iter((self.target,))


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: Node

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        value = self.operand.evaluate(variables, source)
        return -value if kind_of(value) == "number" else None  # type: ignore[operator]

    def children(self) -> Iterator[Node]:
        return iter((self.operand,))


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        value = self.operand.evaluate(variables, source)
        return (not value) if isinstance(value, bool) else None

    def children(self) -> Iterator[Node]:
        return iter((self.operand,))


@dataclass(frozen=True, slots=True)
class Logic(Node):
    """Three-valued `and` / `or` (FEEL): false wins `and`, true wins `or`, else null taints."""

    operator: str
    operands: tuple[Node, ...]

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        decisive = self.operator == "or"
        unknown = False
        for operand in self.operands:
            value = operand.evaluate(variables, source)
            if value is decisive:
                return decisive
            if not isinstance(value, bool):
                unknown = True
        return None if unknown else not decisive

    def children(self) -> Iterator[Node]:
        return iter(self.operands)


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    operator: str
    left: Node
    right: Node

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        left = self.left.evaluate(variables, source)
        right = self.right.evaluate(variables, source)
        if self.operator == "=":
            return feel_equal(left, right)
        if self.operator == "!=":
            equal = feel_equal(left, right)
            return None if equal is None else not equal
        return feel_compare(self.operator, left, right)

    def children(self) -> Iterator[Node]:
        return iter((self.left, self.right))


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    operator: str
    left: Node
    right: Node

    def evaluate(self, variables: Mapping[str, object], source: str) -> object:
        left = self.left.evaluate(variables, source)
        right = self.right.evaluate(variables, source)
        if self.operator == "+" and kind_of(left) == kind_of(right) == "string":
            text = str(left) + str(right)
            if len(text) > MAX_LENGTH * 50:
                raise ExpressionError(source, "the string is too long")
            return text
        if kind_of(left) != "number" or kind_of(right) != "number":
            return None
        a: Any = left
        b: Any = right
        if self.operator == "+":
            result = a + b
        elif self.operator == "-":
            result = a - b
        elif self.operator == "*":
            result = a * b
        elif b == 0:
            return None  # FEEL: division by zero is null
        else:
            result = a / b
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise ExpressionError(source, "the number is too large")
        return result

    def children(self) -> Iterator[Node]:
        return iter((self.left, self.right))


def walk(tree: Node) -> Iterator[Node]:
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(node.children())


@dataclass(frozen=True)
class FeelExpression:
    """A compiled FEEL expression (an input expression or an output entry)."""

    source: str
    tree: Node

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return self.tree.evaluate(variables, self.source)

    @property
    def names(self) -> frozenset[str]:
        """The variables the expression reads (the first name of each dotted path)."""
        return frozenset(node.name for node in walk(self.tree) if isinstance(node, Name))

    @property
    def literal(self) -> tuple[bool, object]:
        """(True, value) when the expression is a constant (`"kv10"`, `-5`, `date("…")`)."""
        tree = self.tree
        if isinstance(tree, Negate) and isinstance(tree.operand, Literal):
            value = tree.operand.value
            if kind_of(value) == "number":
                return True, -value  # type: ignore[operator]
        if isinstance(tree, Literal):
            return True, tree.value
        return False, None


# --- parser ------------------------------------------------------------------------------------


class Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = _tokens(source)
        self.index = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def next(self) -> _Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.value in ops

    def expect(self, op: str) -> _Token:
        token = self.next()
        if token.kind != "op" or token.value != op:
            raise self.unexpected(token, f"expected '{op}'")
        return token

    def unexpected(self, token: _Token, hint: str = "") -> ExpressionError:
        if token.kind == "end":
            found = "end of the text"
        elif token.kind == "string":
            found = f'"{token.value}"'
        else:
            found = repr(str(token.value))
        detail = f"unexpected {found}" + (f" ({hint})" if hint else "")
        return syntax_error(self.source, token.start, detail)

    def done(self) -> None:
        if self.peek().kind != "end":
            raise self.unexpected(self.peek())

    # expressions, loosest first

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(self.source, f"nested more than {MAX_DEPTH} levels deep")
        node = self.disjunction()
        self.depth -= 1
        return node

    def disjunction(self) -> Node:
        operands = [self.conjunction()]
        while self.at("or"):
            self.next()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Logic("or", tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.comparison()]
        while self.at("and"):
            self.next()
            operands.append(self.comparison())
        return operands[0] if len(operands) == 1 else Logic("and", tuple(operands))

    def comparison(self) -> Node:
        left = self.additive()
        if self.at("=", "!=", "<", "<=", ">", ">="):
            op = str(self.next().value)
            return Comparison(op, left, self.additive())
        return left

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.at("+", "-"):
            op = str(self.next().value)
            node = Arithmetic(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.at("*", "/"):
            op = str(self.next().value)
            node = Arithmetic(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.next()
            return Negate(self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while self.at("."):
            self.next()
            token = self.next()
            if token.kind != "name":
                raise self.unexpected(token, "a member name must follow '.'")
            node = Path(node, str(token.value))
            if self.at("("):
                raise syntax_error(
                    self.source,
                    self.peek().start,
                    f"calls on members ('.{token.value}(...)') are not allowed",
                )
        return node

    def primary(self) -> Node:
        token = self.next()
        if token.kind in ("number", "string"):
            return Literal(token.value)
        if token.kind == "op":
            if token.value in ("true", "false"):
                return Literal(token.value == "true")
            if token.value == "null":
                return Literal(None)
            if token.value == "(":
                node = self.expression()
                self.expect(")")
                return node
            if token.value == "not":
                self.expect("(")
                node = self.expression()
                self.expect(")")
                return Not(node)
            raise self.unexpected(token)
        if token.kind == "name":
            if self.at("("):
                return self.call(token)
            return Name(str(token.value))
        raise self.unexpected(token)

    def call(self, token: _Token) -> Node:
        name = str(token.value)
        if name != "date":
            raise syntax_error(
                self.source,
                token.start,
                f"the function {name}() is not allowed; gridflow's FEEL accepts only "
                'date("YYYY-MM-DD") and not(...)',
            )
        self.expect("(")
        argument = self.next()
        if argument.kind != "string":
            raise self.unexpected(argument, 'date() takes one text such as "2026-03-02"')
        self.expect(")")
        try:
            return Literal(date.fromisoformat(str(argument.value)))
        except ValueError:
            raise syntax_error(
                self.source, argument.start, f"{argument.value!r} is not a date (YYYY-MM-DD)"
            ) from None


def checked_text(source: str) -> str:
    """The text to parse, stripped, within the length limit shared with `expressions`."""
    if not isinstance(source, str):
        raise ExpressionError(repr(source), "a FEEL text must be text")
    text = source.strip()
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:60] + "...", f"longer than {MAX_LENGTH} characters")
    return text


@functools.lru_cache(maxsize=8192)
def compile_feel(source: str) -> FeelExpression:
    """An input expression or an output entry (a simple FEEL expression)."""
    text = checked_text(source)
    if not text:
        raise ExpressionError(source, "the expression is empty")
    parser = Parser(text)
    tree = parser.expression()
    parser.done()
    return FeelExpression(text, tree)
