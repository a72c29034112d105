"""Timer and standard rules: every date, duration and cycle a timer or a service standard names
must be one the engine can run, within a sane horizon; a cycle repeats a bounded number of
times, no faster than once a minute.

Why these bounds:
- HORIZON, ten years: the longest service standard gridflow knows is 45 working days (a
  dual-supply high-voltage scheme reply), and no customer process waits on anything longer
  than a supply contract. Ten years is two orders of magnitude above that, so the bound only
  catches typos and runaway values (P5000D for P50D, P2000Y) while staying far inside the
  working-day calendar's 100-year walk, datetime's year 9999, and SpiffWorkflow's timer
  arithmetic, which walks a duration's months one by one (P99999999Y spins for minutes).
- MIN_CYCLE, one minute: each repetition is a task and a transaction; faster cycles flood the
  instance's document and the worker, and a worker catching up after a pause fires every
  missed repetition in one go (R/PT1S after two hours keeps it busy for minutes).
- A cycle needs a count (R3/PT1H): "R/PT1H" repeats until the process ends, growing the saved
  instance on every repetition.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from gridflow.definitions.rules.common import NS, Report, local, nodes, properties
from gridflow.errors import ExpressionError
from gridflow.expressions import Call, Expression, Literal, Name, compile_expression
from gridflow.standards import BASES, StandardError, parse_standard
from gridflow.working_time import parse_iso_duration

HORIZON = timedelta(days=3653)
# The same ten years on the working basis: 250 working days a year, 8 working hours a day
# (the horizon is a sanity bound, not a calendar: it does not need the configured hours).
HORIZON_WORKING_DAYS = 2500
WORKING_DAY_HOURS = 8
MIN_CYCLE = timedelta(minutes=1)

TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
# Functions a timer expression may call; the engine supplies them. Both give a date and time.
TIMER_FUNCTIONS = frozenset({"standard_due", "due"})
# What the engine takes as ISO 8601 text rather than an expression (Camunda writes timers so):
# a duration, a date and time, or a cycle (with a start or an end date).
_ISO_DURATION = r"P(?!$)[0-9YMWDTHMS.,]+"
_ISO_DATE = r"\d{4}-\d\d-\d\dT[0-9:.+\-Z]+"
ISO_LITERAL = re.compile(
    rf"^(?:{_ISO_DURATION}|{_ISO_DATE}|R\d*/(?:{_ISO_DATE}/)?{_ISO_DURATION}(?:/{_ISO_DATE})?)$"
)

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE,
)
# Mean lengths in days: the horizon is a sanity bound, so a mean month is exact enough.
_DAYS = (365.2425, 365.2425 / 12, 7.0, 1.0, None, 1 / 24, 1 / 1440, 1 / 86400)
_EXAMPLE_DATE = "2026-03-02T09:00:00+08:00"
_LOOKS_ISO = re.compile(r"(R\d*|PT?)\d", re.IGNORECASE)


def _words(days: float) -> str:
    if days >= 730:
        return f"{days / 365.2425:,.0f} years"
    if days >= 2:
        return f"{days:,.0f} days"
    if days * 24 >= 2:
        return f"{days * 24:,.0f} hours"
    if days * 1440 >= 1:
        return f"{days * 1440:,.0f} minutes"
    return f"{days * 86400:g} seconds"


def duration_days(text: str) -> float:
    """The length of an ISO 8601 duration in (mean) calendar days; ValueError saying what is
    wrong with the text. Stricter than SpiffWorkflow's own reading, which it must also pass."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration (for example PT30M, P5D or P1DT12H)"
        )
    groups = match.groups()
    numbers = [g for i, g in enumerate(groups) if i != 4 and g is not None]
    if not numbers:
        raise ValueError(f"{text!r} is not an ISO 8601 duration: it has no number in it")
    if groups[4] is not None and not any(groups[5:]):
        raise ValueError(f"{text!r}: 'T' must be followed by hours, minutes or seconds")
    if any(not n.isdigit() for n in numbers[:-1]):
        raise ValueError(f"{text!r}: only the last part of a duration may have a fraction")
    if groups[2] is not None and any(groups[i] is not None for i in (0, 1, 3)):
        raise ValueError(f"{text!r}: weeks cannot be combined with years, months or days")
    days = 0.0
    for value, unit in zip(groups, _DAYS, strict=True):
        if value is not None and unit is not None:
            days += float(value.replace(",", ".")) * unit
    return days


def duration_problem(text: str) -> str | None:
    """What is wrong with a timer duration, or None."""
    try:
        days = duration_days(text)
    except ValueError as exc:
        return str(exc)
    if days > HORIZON.days:
        return f"{text} is {_words(days)}, beyond the {HORIZON.days // 365}-year horizon"
    try:
        TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # SpiffWorkflow raises a bare Exception for what it cannot read
        return f"{text!r} is a duration the engine cannot read"
    return None


def date_problem(text: str) -> str | None:
    """What is wrong with a timer date, or None."""
    if text[:1] in "PpRr":
        return (
            f"{text!r} is a duration or a cycle, not a date: use timeDuration or timeCycle, "
            f"or write a date such as {_EXAMPLE_DATE}"
        )
    try:
        moment = TimerEventDefinition.parse_time_or_duration(text)
    except Exception:  # fromisoformat and SpiffWorkflow's week dates raise several kinds
        moment = None
    if not isinstance(moment, datetime):
        return f"{text!r} is not an ISO 8601 date and time (for example {_EXAMPLE_DATE})"
    return None


def cycle_problems(text: str) -> list[str]:
    """What is wrong with a timer cycle (R<count>/<duration>, with a start or end date)."""
    match = re.fullmatch(r"R(\d*)/([^/]+)(?:/([^/]+))?", text.strip(), re.IGNORECASE)
    if match is None:
        return [
            f"{text!r} is not an ISO 8601 cycle (for example R3/PT1H or R2/{_EXAMPLE_DATE}/P1D)"
        ]
    count, parts = match.group(1), [p for p in match.group(2, 3) if p is not None]
    durations = [p for p in parts if p[:1] in "Pp"]
    dates = [p for p in parts if p[:1] not in "Pp"]
    if len(durations) != 1 or len(dates) > 1:
        return [f"{text!r}: a cycle has one duration, and at most one start or end date"]
    problems = [p for p in (duration_problem(durations[0]),) if p]
    problems += [p for p in (date_problem(d) for d in dates) if p]
    if problems:
        return problems
    days = duration_days(durations[0])
    if days < MIN_CYCLE.total_seconds() / 86400:
        problems.append(
            f"{text} repeats every {_words(days)}, faster than once a minute "
            f"(each repetition is a task and a transaction)"
        )
    if count == "":
        problems.append(
            f"{text} repeats without end: give the number of repetitions, for example "
            f"R3/{durations[0]}"
        )
    elif int(count) == 0:
        problems.append(f"{text} repeats zero times: it never fires")
    elif int(count) * days > HORIZON.days:
        problems.append(
            f"{text} repeats for {_words(int(count) * days)}, beyond the "
            f"{HORIZON.days // 365}-year horizon"
        )
    if not problems:
        try:
            TimerEventDefinition.parse_iso_recurring_interval(text.strip())
        except Exception:  # SpiffWorkflow raises assorted errors for what it cannot read
            problems.append(f"{text!r} is a cycle the engine cannot read")
    return problems


def timer_problems(kind: str, text: str) -> list[str]:
    """What is wrong with a timer's ISO 8601 text for its kind (timeDate, timeDuration,
    timeCycle): the lint calls it on literals; the engine can call it on the value an
    expression computed at run time, before SpiffWorkflow reads it."""
    if kind == "timeDate":
        found = date_problem(text)
    elif kind == "timeDuration":
        if text[:1] in "Rr":
            return [f"{text!r} is a cycle: use timeCycle, or a duration such as PT30M"]
        found = duration_problem(text)
    else:
        if text[:1] not in "Rr":
            return [f"{text!r} is not a cycle: a cycle starts with R<count>/, e.g. R3/{text}"]
        return cycle_problems(text)
    return [found] if found else []


def misread_iso(expression: Expression) -> bool:
    """P5X or PT5MIN: meant as ISO 8601, but read as a variable's name."""
    return isinstance(expression.tree, Name) and bool(_LOOKS_ISO.match(expression.tree.name))


def check_timer(event: etree._Element, definition: etree._Element, report: Report) -> None:
    """Check a timerEventDefinition's date, duration or cycle on its event."""
    for part in definition:
        kind = local(part)
        text = (part.text or "").strip()
        if kind not in TIMER_KINDS or not text:
            continue
        if ISO_LITERAL.match(text):
            for message in timer_problems(kind, text):
                report(event, f"timer {kind}: {message}")
            continue
        try:
            expression = compile_expression(text, TIMER_FUNCTIONS)
        except ExpressionError:
            continue  # the linter reports the refused expression
        _check_timer_expression(event, kind, expression, report)


def _check_timer_expression(
    event: etree._Element, kind: str, expression: Expression, report: Report
) -> None:
    tree = expression.tree
    if misread_iso(expression):
        report(event, f"timer {kind}: {expression.source!r} is not ISO 8601 text (e.g. PT30M)")
        return
    if not expression.names and not expression.function_names:
        # A constant: what it gives is known now ("2026-03-02" is arithmetic, 2021).
        try:
            value = expression.evaluate({})
        except ExpressionError as exc:
            report(event, f"timer {kind}: {exc.message} in {expression.source!r}")
            return
        if not isinstance(value, str):
            report(
                event,
                f"timer {kind}: {expression.source!r} gives {value!r}, not ISO 8601 text "
                "(quote a date, or write it with its time, e.g. " + _EXAMPLE_DATE + ")",
            )
            return
        for message in timer_problems(kind, value):
            report(event, f"timer {kind}: {message}")
        return
    for call in (n for n in nodes(tree) if isinstance(n, Call)):
        if call.function not in TIMER_FUNCTIONS:
            continue
        if kind != "timeDate" and call is tree:
            report(
                event,
                f"timer {kind}: {call.function}() gives a date and time; use it in timeDate",
            )
        for message in _call_problems(call):
            report(event, f"timer {kind}: {message}")


def _call_problems(call: Call) -> list[str]:
    """The literal arguments of due(duration, basis) and standard_due()."""
    if call.function == "standard_due":
        return [] if not call.args else ["standard_due() takes no arguments"]
    if not 1 <= len(call.args) <= 2:
        return [f"due() takes a duration and optionally a basis, not {len(call.args)} arguments"]
    basis: object = "calendar"  # due()'s default
    if len(call.args) == 2:
        if not isinstance(call.args[1], Literal):
            return []  # a basis computed at run time: only the engine can check it
        basis = call.args[1].value
        if basis not in BASES:
            return [f"due(): basis {basis!r} is neither 'working' nor 'calendar'"]
    duration = call.args[0]
    if not isinstance(duration, Literal):
        return []
    if not isinstance(duration.value, str):
        return [f"due({duration.value!r}): the duration must be text such as 'P5D'"]
    return _standard_duration_problems(duration.value, str(basis), "due()")


def _standard_duration_problems(text: str, basis: str, what: str) -> list[str]:
    """A duration counted on the working calendar (service standards and due()): parsed as
    the calendar parses it, within the horizon on its basis."""
    try:
        parsed = parse_iso_duration(text)
    except ValueError as exc:
        return [f"{what}: {exc}"]
    hours = parsed.seconds / 3600
    if basis == "working":
        working_days = parsed.weeks * 5 + parsed.days + hours / WORKING_DAY_HOURS
        if working_days > HORIZON_WORKING_DAYS:
            return [
                f"{what}: {text} is {working_days:,.0f} working days, beyond the "
                f"{HORIZON.days // 365}-year horizon ({HORIZON_WORKING_DAYS:,} working days)"
            ]
        return []
    days = parsed.weeks * 7 + parsed.days + hours / 24
    if days > HORIZON.days:
        return [f"{what}: {text} is {_words(days)}, beyond the {HORIZON.days // 365}-year horizon"]
    return []


def check_standard(element: etree._Element, report: Report) -> None:
    """A service standard (and each of its variants) within the horizon on its basis."""
    try:
        standard = parse_standard(properties(element))
    except StandardError:
        return  # the linter reports a malformed standard
    if standard is None:
        return
    targets = [("standard_target", standard.target)] + [
        (f"standard_target.{key}", target) for key, target in standard.variants
    ]
    for name, target in targets:
        for message in _standard_duration_problems(
            target, standard.basis, f"service standard {name}"
        ):
            report(element, message)


def check_timers(container: etree._Element, report: Report) -> None:
    """Every timer event inside a process (subprocesses included)."""
    for definition in container.iter(f"{{{NS['bpmn']}}}timerEventDefinition"):
        event = definition.getparent()
        if event is not None:
            check_timer(event, definition, report)
