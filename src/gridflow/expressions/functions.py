"""The functions every expression may call (`SAFE_FUNCTIONS`): Python's own where they are safe
as they are, and guarded `round`, `sum`, `lower` and `upper` that refuse what would mix types or
build huge results."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping

from gridflow.expressions.values import MAX_ROUND_DIGITS, _describe, _is_number


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
