"""What the demand intake gives a process it starts: the start variables, each with its type
and its choices. `demands` fills them from a customer's demand; the lint (`definitions`) checks
that a process reads only what something gives it."""

from __future__ import annotations

import re
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


# --- what a real office checks before it takes a demand in --------------------------------------

# A Chinese mobile number: 11 digits from 13x to 19x. A landline: the area code (010, 02x,
# 0xxx) and the 7- or 8-digit number, 11 or 12 digits in all, written with or without a hyphen.
MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0[1-9]\d{9,10}")
HIGHEST_CAPACITY_KW = 10_000_000.0


@dataclass(frozen=True)
class CapacityRange:
    """The capacities (kW) a connection at one voltage takes: above `above`, up to `up_to`;
    `source` names the rule in processes/STANDARDS-decisions.md."""

    above: float
    up_to: float
    source: str


def capacity_range(voltage: str, customer_category: str, area: str) -> CapacityRange:
    """Low voltage up to 100 kW ([GYGZ]; small and micro enterprises 160 kW in cities, 100 kW
    elsewhere, [NDRC20]); high voltage above that limit ([DAO]). The same thresholds as
    `supply_voltage.dmn`."""
    if customer_category == "small_micro":
        limit, source = (160.0, "NDRC20") if area == "urban" else (100.0, "NDRC20")
    else:
        limit, source = 100.0, "GYGZ"
    if voltage == "high":
        return CapacityRange(limit, HIGHEST_CAPACITY_KW, "DAO")
    return CapacityRange(0.0, limit, source)


def phone_digits(text: str) -> str:
    """A phone number as digits: spaces, hyphens and a +86 / 0086 country code left out."""
    digits = re.sub(r"[\s\-()]", "", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def reachable_phone(text: str) -> bool:
    digits = phone_digits(text)
    return bool(MOBILE.fullmatch(digits) or LANDLINE.fullmatch(digits))


@dataclass(frozen=True)
class IntakeProblem:
    """One field an office would refuse, as a code the pages translate and English text for
    the API: `required`, `phone`, `capacity_range`."""

    code: str
    params: dict[str, object]
    text: str


def office_problems(
    *,
    category: str,
    channel: str,
    address: str,
    phone: str,
    voltage: str,
    customer_category: str,
    area: str,
    capacity_kw: float,
) -> dict[str, IntakeProblem]:
    """Field → problem for what a counter clerk would not accept: every demand needs the
    address (where to connect or repair) and a phone that reaches the customer (a grid alarm
    has no customer to call); a connection needs a capacity within its voltage's range."""
    problems: dict[str, IntakeProblem] = {}
    if not address.strip():
        problems["address"] = IntakeProblem("required", {}, "is required")
    if channel != "monitoring":
        if not phone.strip():
            problems["phone"] = IntakeProblem("required", {}, "is required")
        elif not reachable_phone(phone):
            problems["phone"] = IntakeProblem(
                "phone",
                {},
                "must be a mobile number (11 digits, 13x-19x) or a landline with its area "
                "code, e.g. 010-12345678",
            )
    if category == "connection" and voltage in VOLTAGES:
        allowed = capacity_range(voltage, customer_category, area)
        if not allowed.above < capacity_kw <= allowed.up_to:
            params: dict[str, object] = {
                "voltage": voltage,
                "above": allowed.above,
                "up_to": allowed.up_to,
                "source": allowed.source,
            }
            problems["capacity_kw"] = IntakeProblem(
                "capacity_range",
                params,
                f"must be above {allowed.above:g} kW and at most {allowed.up_to:g} kW for a "
                f"{voltage}-voltage connection ({allowed.source})",
            )
    return problems
