"""Camunda's JUEL form (`${approved}`, `#{!approved}`, `${action eq "publish"}`): a tokenizer
and a recursive-descent parser over JUEL's precedence levels (`!`, `not` and `empty` bind
tighter than comparisons), building the shared tree. Method calls, bean references,
assignments and lambdas are refused by name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gridflow.errors import ExpressionError
from gridflow.expressions.refusals import (
    _check_function,
    _check_int_literal,
    _check_name,
    _refuse,
    _syntax_error,
    _too_deep,
)
from gridflow.expressions.tree import (
    Arithmetic,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Display,
    Literal,
    Name,
    Node,
    Subscript,
    Unary,
)
from gridflow.expressions.values import _CONSTANT_NAMES, MAX_DEPTH


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
