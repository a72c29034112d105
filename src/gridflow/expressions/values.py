"""The limits every expression keeps to, and the value rules both forms share: the constant
names (`true`, `None`, `null`...), how a value is named in a message, its size, its truth and
JUEL's `empty`."""

from __future__ import annotations

from collections.abc import Mapping

MAX_LENGTH = 2000  # characters in one expression (or one script line's value)
MAX_SCRIPT_LENGTH = 50_000
MAX_DEPTH = 50  # nesting levels; keeps parsing and evaluation far from Python's recursion limit
MAX_SIZE = 100_000  # characters plus items in a string or list an expression builds
MAX_INT_BITS = 1024  # about 308 digits: far beyond any grid figure, cheap to multiply
MAX_ROUND_DIGITS = 100  # round(5, -10**9) would build 10**(10**9)

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
