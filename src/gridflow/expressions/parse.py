"""Compiling an expression's text: JUEL when it is written in `${...}` or `#{...}`, Python style
otherwise, within the length and depth limits. Compiled expressions are cached."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable

from gridflow.errors import ExpressionError
from gridflow.expressions.juel import _JuelParser
from gridflow.expressions.python_style import (
    _ast_parse,
    _bracket_depth,
    _PythonConverter,
    _PythonSyntax,
    _unplaced,
)
from gridflow.expressions.refusals import _refuse, _syntax_error, _too_deep
from gridflow.expressions.tree import Expression, Node, _check_depth
from gridflow.expressions.values import MAX_DEPTH, MAX_LENGTH


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
