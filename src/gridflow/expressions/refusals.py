"""How a refused expression is reported: an ExpressionError naming the source text, with the
place of a syntax error or the nesting limit; and the checks both forms make while parsing, on
names, called functions and number literals."""

from __future__ import annotations

from gridflow.errors import ExpressionError
from gridflow.expressions.functions import SAFE_FUNCTIONS
from gridflow.expressions.values import MAX_DEPTH, MAX_INT_BITS


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
