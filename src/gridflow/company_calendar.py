"""The company calendar, processes/calendar.yaml: each year's public holidays and make-up
working days as the State Council's yearly notice declares them. A declared year overrides
the `holidays` package in `working_time`; a year not yet declared is warned about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml

from gridflow.errors import ConfigurationError, Problem

CALENDAR_FILE = "calendar.yaml"


@dataclass(frozen=True)
class DeclaredYear:
    """One year as its notice declares it."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


@dataclass(frozen=True)
class CompanyCalendar:
    """The declared years, and the years listed as not yet published."""

    declared: dict[int, DeclaredYear] = field(default_factory=dict)
    pending: frozenset[int] = frozenset()
    file: str = CALENDAR_FILE

    def coming_year_warning(self, today: date) -> str | None:
        """A warning when the year after `today`'s is not declared, else None."""
        coming = today.year + 1
        if coming in self.declared:
            return None
        if coming in self.pending:
            return (
                f"{self.file}: {coming} is not declared yet: the State Council's notice on "
                f"the {coming} holidays is not published (or not entered); until it is, "
                f"{coming} follows the holidays package, without make-up working days"
            )
        return (
            f"{self.file}: {coming} is not declared: enter its holidays and make-up working "
            f"days from the State Council's notice; until then {coming} follows the holidays "
            "package, without make-up working days"
        )


def _date(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return None


def read(path: Path, text: str | None = None) -> tuple[CompanyCalendar, list[Problem]]:
    """The calendar and every problem in it (a date that is not one, outside its year, a
    range running backwards, a day both holiday and make-up working day)."""
    file = str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return CompanyCalendar(file=file), [Problem(file, None, None, f"cannot read: {exc}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return CompanyCalendar(file=file), [
            Problem(file, mark.line + 1 if mark else None, None, f"not valid YAML: {exc}")
        ]
    problems: list[Problem] = []

    def problem(node: yaml.Node | None, element: str | None, message: str) -> None:
        problems.append(Problem(file, node.start_mark.line + 1 if node else None, element, message))

    years_node = _get(root, "years") if isinstance(root, yaml.MappingNode) else None
    if not isinstance(years_node, yaml.MappingNode):
        problem(root, None, "expected a mapping 'years' of year → holidays and workdays")
        return CompanyCalendar(file=file), problems
    declared: dict[int, DeclaredYear] = {}
    pending: set[int] = set()
    for key, spec in years_node.value:
        year_text = str(key.value)
        if not year_text.isdigit() or not 1970 <= int(year_text) <= 2999:
            problem(key, year_text, f"{year_text!r} is not a year (1970 to 2999)")
            continue
        year = int(year_text)
        if not isinstance(spec, yaml.MappingNode):
            problem(key, year_text, f"{year}: expected published, source, holidays, workdays")
            continue
        unknown = {str(k.value) for k, _ in spec.value} - {
            "published",
            "source",
            "holidays",
            "workdays",
        }
        if unknown:
            problem(key, year_text, f"{year}: unknown key(s) {sorted(unknown)}")
        published = _scalar(_get(spec, "published"))
        if published not in ("true", "false"):
            problem(key, year_text, f"{year}: 'published' must be true or false")
            continue
        if published == "false":
            if _get(spec, "holidays") is not None or _get(spec, "workdays") is not None:
                problem(key, year_text, f"{year}: not published, so it lists no days")
            pending.add(year)
            continue
        holidays: dict[date, yaml.Node] = {}
        ranges = _get(spec, "holidays")
        if not isinstance(ranges, yaml.SequenceNode) or not ranges.value:
            problem(key, year_text, f"{year}: a published year lists its holidays")
            ranges = yaml.SequenceNode("tag:yaml.org,2002:seq", [])
        for item in ranges.value:
            if not isinstance(item, yaml.MappingNode):
                problem(item, year_text, "a holiday is {from: date, to: date, name: text}")
                continue
            first = _date(_scalar(_get(item, "from")))
            last = _date(_scalar(_get(item, "to")) or _scalar(_get(item, "from")))
            name = _scalar(_get(item, "name"))
            if first is None or last is None:
                problem(item, year_text, f"holiday {name!r}: 'from' and 'to' must be dates")
                continue
            if last < first:
                problem(item, year_text, f"holiday {name!r} ends before it starts")
                continue
            if not name:
                problem(item, year_text, f"holiday from {first}: give its name")
            day = first
            while day <= last:
                if day.year != year:
                    problem(item, year_text, f"holiday {name!r}: {day} is not in {year}")
                holidays[day] = item
                day += timedelta(days=1)
        workdays: dict[date, yaml.Node] = {}
        days = _get(spec, "workdays")
        if days is not None and not isinstance(days, yaml.SequenceNode):
            problem(days, year_text, f"{year}: workdays is a list of dates")
            days = None
        for item in days.value if isinstance(days, yaml.SequenceNode) else []:
            day_or_none = _date(_scalar(item))
            if day_or_none is None:
                problem(item, year_text, f"make-up working day {_scalar(item)!r} is not a date")
                continue
            # a New Year arrangement may move a working day into the December before
            december_before = day_or_none.year == year - 1 and day_or_none.month == 12
            if day_or_none.year != year and not december_before:
                problem(item, year_text, f"make-up working day {day_or_none} is not in {year}")
            if day_or_none in holidays:
                problem(
                    item,
                    year_text,
                    f"{day_or_none} is both a holiday and a make-up working day",
                )
            if day_or_none.weekday() < 5:
                problem(
                    item,
                    year_text,
                    f"make-up working day {day_or_none} is a weekday, a working day anyway",
                )
            workdays[day_or_none] = item
        declared[year] = DeclaredYear(
            year,
            frozenset(d for d in holidays if d.year == year),
            frozenset(d for d in workdays if d.year in (year - 1, year) and d not in holidays),
            _scalar(_get(spec, "source")),
        )
    return CompanyCalendar(declared, frozenset(pending), file), problems


def coming_year_warning(path: Path, today: date) -> str | None:
    """The warning for the year after `today`'s when the file does not declare it (None when
    it does, or when the file has problems: its lint reports those)."""
    calendar, problems = read(path) if path.is_file() else (CompanyCalendar(file=str(path)), [])
    return None if problems else calendar.coming_year_warning(today)


def load(path: Path) -> CompanyCalendar:
    """The calendar, or ConfigurationError naming its first problem; an empty calendar (the
    package for every year) when the file does not exist."""
    if not path.is_file():
        return CompanyCalendar(file=str(path))
    calendar, problems = read(path)
    if problems:
        raise ConfigurationError(f"company calendar: {problems[0]}")
    return calendar


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""
