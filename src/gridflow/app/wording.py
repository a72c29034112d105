"""Words in the reader's language for what the store and the BPMN files keep as codes:
durations (ISO 8601 there, "20 个工作日" / "20 working days" on screen), elapsed times, and the
names of the demand's enumerations (channel, customer category, area, …), weekdays and
priorities. Every page and chart label goes through here."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import LazyString, force_locale, lazy_gettext, ngettext
from flask_babel import gettext as _

from gridflow import texts
from gridflow.app.i18n import select_locale
from gridflow.errors import FormError
from gridflow.intake import IntakeProblem
from gridflow.working_time import WORKING_DAYS_PER_WEEK, parse_iso_duration

RANGE = "–"


def _number(value: float) -> str:
    """A count as people write it: 20, 1.5 (never 20.0)."""
    rounded = round(value, 2)
    return str(int(rounded)) if float(rounded).is_integer() else f"{rounded:g}"


def days_words(days: float, basis: str) -> str:
    """'20 working days' / '20 个工作日'; on the calendar basis '3 calendar days' / '3 个自然日'."""
    num = _number(days)
    count = 1 if num == "1" else 2
    if basis == "working":
        return ngettext("%(n)s working day", "%(n)s working days", count, n=num)
    return ngettext("%(n)s calendar day", "%(n)s calendar days", count, n=num)


def hours_words(hours: float) -> str:
    num = _number(hours)
    return ngettext("%(n)s hour", "%(n)s hours", 1 if num == "1" else 2, n=num)


def minutes_words(minutes: float) -> str:
    num = _number(minutes)
    return ngettext("%(n)s minute", "%(n)s minutes", 1 if num == "1" else 2, n=num)


def seconds_words(seconds: float) -> str:
    num = _number(seconds)
    return ngettext("%(n)s second", "%(n)s seconds", 1 if num == "1" else 2, n=num)


def iso_words(text: str | None, basis: str = "calendar") -> str:
    """An ISO 8601 duration in words on a standard's basis: P20D working → '20 working days',
    PT45M → '45 minutes', PT4H55M → '4 hours 55 minutes'. A text that is not a duration is
    shown as it is (never an error on a page)."""
    if not text:
        return ""
    try:
        duration = parse_iso_duration(text)
    except ValueError:
        return text
    per_week = WORKING_DAYS_PER_WEEK if basis == "working" else 7
    days = duration.weeks * per_week + duration.days
    rest = round(duration.seconds)
    parts = []
    if days:
        parts.append(days_words(days, basis))
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        parts.append(hours_words(hours))
    if minutes:
        parts.append(minutes_words(minutes))
    if seconds:
        parts.append(seconds_words(seconds))
    return " ".join(parts) or minutes_words(0)


def standard_words(text: str | None, basis: str | None = "calendar") -> str:
    """A standard's target, or a range of targets 'PT4H55M–PT7H10M', in words."""
    if not text:
        return ""
    return RANGE.join(iso_words(part.strip(), basis or "calendar") for part in text.split(RANGE))


def elapsed_words(seconds: float | None) -> str:
    """Clock time elapsed, in words to the minute: '45 minutes', '4 hours 55 minutes',
    '3 days 2 hours' (days of 24 hours)."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    minutes_total = int(abs(seconds) // 60)
    if minutes_total < 60:
        return sign + minutes_words(minutes_total)
    hours, minutes = divmod(minutes_total, 60)
    if hours < 24:
        return sign + _join(hours_words(hours), minutes_words(minutes) if minutes else "")
    days, hours = divmod(hours, 24)
    day_text = ngettext("%(n)s day", "%(n)s days", days, n=days)
    return sign + _join(day_text, hours_words(hours) if hours else "")


def working_words(seconds: float, day_seconds: float) -> str:
    """Working time in words: whole working days (of the calendar's working day), then hours
    and minutes: '2 working days 3 hours', '5 hours 20 minutes'."""
    sign = "-" if seconds < 0 else ""
    days, rest = divmod(abs(seconds), day_seconds)
    hours, rest = divmod(int(rest), 3600)
    minutes = rest // 60
    parts = []
    if days >= 1:
        parts.append(days_words(days, "working"))
    if hours:
        parts.append(hours_words(hours))
    if minutes and days < 1:
        parts.append(minutes_words(minutes))
    return sign + (" ".join(parts) or minutes_words(0))


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# --- names of codes ------------------------------------------------------------------------------

CODE_NAMES: dict[str, dict[str, LazyString]] = {
    "channel": {
        "counter": lazy_gettext("service counter"),
        "app": lazy_gettext("mobile app"),
        "call_centre": lazy_gettext("call centre (95598)"),
        "online": lazy_gettext("online"),
        "monitoring": lazy_gettext("grid monitoring"),
    },
    "customer_category": {
        "residential": lazy_gettext("residential"),
        "business": lazy_gettext("business"),
        "small_micro": lazy_gettext("small or micro enterprise"),
    },
    "category": {
        "connection": lazy_gettext("new connection"),
        "repair": lazy_gettext("fault repair"),
        "ev_charger": lazy_gettext("EV charger installation"),
        "pv": lazy_gettext("distributed PV connection"),
        "energy_efficiency": lazy_gettext("energy-efficiency package"),
    },
    "voltage": {"low": lazy_gettext("low voltage"), "high": lazy_gettext("high voltage")},
    "supply": {"single": lazy_gettext("single supply"), "dual": lazy_gettext("dual supply")},
    "area": {
        "urban": lazy_gettext("urban"),
        "rural": lazy_gettext("rural"),
        "remote": lazy_gettext("remote"),
    },
    "priority": {
        "0": lazy_gettext("low"),
        "1": lazy_gettext("normal"),
        "2": lazy_gettext("high"),
        "3": lazy_gettext("urgent"),
    },
    "weekday": {
        "0": lazy_gettext("Monday"),
        "1": lazy_gettext("Tuesday"),
        "2": lazy_gettext("Wednesday"),
        "3": lazy_gettext("Thursday"),
        "4": lazy_gettext("Friday"),
        "5": lazy_gettext("Saturday"),
        "6": lazy_gettext("Sunday"),
    },
    "basis": {"working": lazy_gettext("working days"), "calendar": lazy_gettext("calendar days")},
}


def code_name(kind: str, code: object) -> str:
    """The name of a code in the reader's language ('call_centre' → 'call centre (95598)');
    an unknown code is shown as it is."""
    if code is None:
        return ""
    name = CODE_NAMES.get(kind, {}).get(str(code))
    return str(name) if name is not None else str(code)


def code_names(kind: str) -> Mapping[str, str]:
    return {code: str(name) for code, name in CODE_NAMES.get(kind, {}).items()}


# --- what intake refuses -------------------------------------------------------------------------


def intake_message(problem: IntakeProblem) -> str:
    """A refused intake field in the reader's language (`intake.office_problems`, `validate`)."""
    params = problem.params
    if problem.code == "required":
        return _("is required")
    if problem.code == "phone":
        return _(
            "must reach the customer: a mobile number (11 digits, 13x to 19x) or a landline "
            "with its area code, e.g. 010-12345678 or 0571-87654321"
        )
    if problem.code == "capacity_range":
        up_to = _number(float(str(params["up_to"])))
        if params.get("voltage") == "high":
            return _(
                "must be above %(above)s kW for a high-voltage connection (up to that, low "
                "voltage) and at most %(up_to)s kW",
                above=_number(float(str(params["above"]))),
                up_to=up_to,
            )
        return _(
            "must be above 0 kW and at most %(up_to)s kW for a low-voltage connection of this "
            "customer (more: high voltage)",
            up_to=up_to,
        )
    if problem.code == "choice":
        return _("choose one of the listed values")
    if problem.code == "capacity":
        return _("must be a number of kW")
    if problem.code == "priority":
        return _("must be 0 (low) to 3 (urgent)")
    if problem.code == "too_long":
        return _("must be at most %(max)s characters", max=params.get("max", ""))
    return problem.text


def intake_messages(problems: Mapping[str, IntakeProblem]) -> dict[str, str]:
    return {name: intake_message(problem) for name, problem in problems.items()}


def intake_messages_both(problems: Mapping[str, IntakeProblem]) -> dict[str, dict[str, str]]:
    """Field → {"en": …, "zh_Hans": …}: the API answers in both languages."""
    both: dict[str, dict[str, str]] = {name: {} for name in problems}
    for locale in ("en", "zh_Hans"):
        with force_locale(locale):
            for name, problem in problems.items():
                both[name][locale] = intake_message(problem)
    return both


def refusal(exc: BaseException | str, **shown: object) -> str:
    """Why a verb was refused, in the page's language (gridflow.texts.refusal); `shown`
    replaces a value with the page's words for it (a link's name in the reader's language)."""
    return texts.refusal(exc, select_locale(), **shown)


def refusals(exc: FormError) -> dict[str, str]:
    """A form's refused fields, each said in the page's language."""
    locale = select_locale()
    return {
        field_id: texts.refusal(exc.refusals[field_id], locale)
        if field_id in exc.refusals
        else message
        for field_id, message in exc.field_errors.items()
    }
