"""FEEL unary tests, the input entries of a decision table's rules: `-` (any value), literals
and names the input must equal, `< 10`, `>= 10`, ranges `[10..100)` / `]10..100]`, lists
`"a","b"`, `not(...)` and `null`. Bounds are FEEL expressions (`gridflow.decisions.feel`);
a test matches only when FEEL's comparison is true (a comparison with null, or of a string with
a number, is null: no match)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from gridflow.decisions.feel import (
    Name,
    Node,
    Parser,
    checked_text,
    feel_compare,
    feel_equal,
    walk,
)

__all__ = ["Test", "UnaryTests", "compile_unary_tests"]


@dataclass(frozen=True, slots=True)
class Test:
    """One positive unary test: `< e`, `[a..b)`, `null` or an endpoint the input must equal."""

    kind: str  # compare | range | equal (`null` is equality with null)
    operator: str = ""  # for compare: < <= > >=
    low: Node | None = None  # for range: the ends and whether each is closed
    high: Node | None = None
    low_closed: bool = True
    high_closed: bool = True
    value: Node | None = None  # for compare and equal

    def matches(self, input_value: object, variables: Mapping[str, object], source: str) -> bool:
        if self.kind == "equal":
            assert self.value is not None
            return feel_equal(input_value, self.value.evaluate(variables, source)) is True
        if self.kind == "compare":
            assert self.value is not None
            bound = self.value.evaluate(variables, source)
            return feel_compare(self.operator, input_value, bound) is True
        assert self.low is not None and self.high is not None
        low = self.low.evaluate(variables, source)
        high = self.high.evaluate(variables, source)
        above = feel_compare(">=" if self.low_closed else ">", input_value, low)
        below = feel_compare("<=" if self.high_closed else "<", input_value, high)
        return above is True and below is True

    def nodes(self) -> Iterator[Node]:
        for node in (self.value, self.low, self.high):
            if node is not None:
                yield node


@dataclass(frozen=True)
class UnaryTests:
    """A compiled input entry: `-` (any), a list of tests, or `not(...)` of a list."""

    source: str
    tests: tuple[Test, ...]  # empty: "-", matches anything
    negated: bool = False

    @property
    def any(self) -> bool:
        return not self.tests

    def matches(self, input_value: object, variables: Mapping[str, object]) -> bool:
        if not self.tests:
            return True
        found = any(test.matches(input_value, variables, self.source) for test in self.tests)
        return not found if self.negated else found

    @property
    def names(self) -> frozenset[str]:
        return frozenset(
            node.name
            for test in self.tests
            for top in test.nodes()
            for node in walk(top)
            if isinstance(node, Name)
        )


class _UnaryParser(Parser):
    """FEEL's grammar for unary tests, over the expression parser's tokens and bounds."""

    def unary_tests(self) -> UnaryTests:
        if self.at("-") and self.peek(1).kind == "end":
            return UnaryTests(self.source, ())
        if self.at("not") and self.peek(1).kind == "op" and self.peek(1).value == "(":
            self.next()
            self.next()
            tests = self.positive_tests()
            self.expect(")")
            self.done()
            return UnaryTests(self.source, tests, negated=True)
        tests = self.positive_tests()
        self.done()
        return UnaryTests(self.source, tests)

    def positive_tests(self) -> tuple[Test, ...]:
        tests = [self.positive_test()]
        while self.at(","):
            self.next()
            tests.append(self.positive_test())
        return tuple(tests)

    def positive_test(self) -> Test:
        if self.at("<", "<=", ">", ">="):
            op = str(self.next().value)
            return Test("compare", operator=op, value=self.endpoint())
        if self.at("[", "]", "(") and self.is_range():
            opening = str(self.next().value)
            low = self.endpoint()
            self.expect("..")
            high = self.endpoint()
            closing = self.next()
            if closing.kind != "op" or closing.value not in ("]", "[", ")"):
                raise self.unexpected(closing, "a range ends with ']', '[' or ')'")
            return Test(
                "range",
                low=low,
                high=high,
                low_closed=opening == "[",
                high_closed=closing.value == "]",
            )
        if self.at("-") and self.peek(1).kind == "op" and self.peek(1).value in (",", ")"):
            raise self.unexpected(self.peek(), "'-' (any value) must stand alone")
        return Test("equal", value=self.endpoint())

    def is_range(self) -> bool:
        """Whether the bracket at hand opens a range (`[1..5]`) rather than a parenthesis."""
        depth = 1
        for ahead in range(1, len(self.tokens) - self.index):
            token = self.peek(ahead)
            if token.kind == "end":
                return False
            if token.kind == "op" and token.value == ".." and depth == 1:
                return True
            if token.kind == "op" and token.value in ("(", "["):
                depth += 1
            elif token.kind == "op" and token.value in (")", "]"):
                depth -= 1
                if depth <= 0:
                    return False
        return False

    def endpoint(self) -> Node:
        """A range end or comparison bound: a literal, a (dotted) name, `date(...)`, or a
        negative number; arithmetic is allowed in parentheses."""
        return self.additive()


@functools.lru_cache(maxsize=8192)
def compile_unary_tests(source: str) -> UnaryTests:
    """An input entry; an empty cell counts as `-` (Camunda Modeler writes `""` for blank
    cells only in outputs, but hand-written files leave input cells empty)."""
    text = checked_text(source)
    if not text:
        return UnaryTests("-", ())
    return _UnaryParser(text).unary_tests()
