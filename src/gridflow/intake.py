"""What the demand intake gives a process it starts: the start variables, each with its type
and its choices. `demands` fills them from a customer's demand; the lint (`definitions`) checks
that a process reads only what something gives it."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("counter", "app", "call_centre", "online", "monitoring")
CUSTOMER_CATEGORIES = ("residential", "business", "small_micro")
VOLTAGES = ("low", "high")
SUPPLIES = ("single", "dual")
AREAS = ("urban", "rural", "remote")


@dataclass(frozen=True)
class StartVariable:
    """One variable every process started from a demand gets; `type` is a form field type."""

    name: str
    type: str
    choices: tuple[str, ...] = ()


# `DemandInput.variables()` gives exactly these (plus the demand's free `extra` values, which
# no process may count on).
START_VARIABLES: tuple[StartVariable, ...] = (
    StartVariable("customer_name", "string"),
    StartVariable("customer_category", "enum", CUSTOMER_CATEGORIES),
    StartVariable("channel", "enum", CHANNELS),
    StartVariable("address", "string"),
    StartVariable("voltage", "enum", VOLTAGES),
    StartVariable("capacity_kw", "double"),
    StartVariable("supply", "enum", SUPPLIES),
    StartVariable("area", "enum", AREAS),
    StartVariable("feeder", "string"),
)
