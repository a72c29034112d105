"""The working-day calendar behind service standards: which days are working days (weekends,
Chinese public holidays and official make-up working days), when a standard falls due, and how
much working or calendar time a link took."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from gridflow.clock import require_aware


class DeclaredDays(Protocol):
    """A year's holidays and make-up working days as the company calendar declares them."""

    @property
    def holidays(self) -> frozenset[date]: ...

    @property
    def workdays(self) -> frozenset[date]: ...


__all__ = [
    "BASES",
    "CALENDAR",
    "WORKING",
    "ISODuration",
    "WorkingCalendar",
    "WorkingHours",
    "parse_iso_duration",
]

WORKING: Final = "working"
CALENDAR: Final = "calendar"
BASES: Final = (WORKING, CALENDAR)

#: A week on the working basis: Monday to Friday.
WORKING_DAYS_PER_WEEK: Final = 5

# add() and between() walk day by day; past this span something is wrong with the input
# (a typo such as P99999D, or a corrupt timestamp), and walking on would only burn CPU.
_MAX_SPAN: Final = timedelta(days=100 * 366)


def _check_basis(basis: str) -> str:
    if basis not in BASES:
        raise ValueError(f"basis must be 'working' or 'calendar', not {basis!r}")
    return basis


# --------------------------------------------------------------------------- ISO 8601 durations

_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO_DURATION = re.compile(
    rf"""
    (?P<sign>[-+])?P
    (?:(?P<years>{_NUMBER})Y)?
    (?:(?P<months>{_NUMBER})M)?
    (?:(?P<weeks>{_NUMBER})W)?
    (?:(?P<days>{_NUMBER})D)?
    (?P<time>T
        (?:(?P<hours>{_NUMBER})H)?
        (?:(?P<minutes>{_NUMBER})M)?
        (?:(?P<seconds>{_NUMBER})S)?
    )?
    """,
    re.VERBOSE,
)
_COMPONENTS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")


@dataclass(frozen=True)
class ISODuration:
    """A parsed ISO 8601 duration: weeks, days and seconds (hours and minutes folded in).

    Weeks are kept apart from days because their meaning depends on the basis: 7 days on the
    calendar basis, 5 working days on the working basis.
    """

    text: str
    weeks: float = 0.0
    days: float = 0.0
    seconds: float = 0.0

    def calendar_timedelta(self) -> timedelta:
        """Round-the-clock length: a week is 7 days, a day 24 hours."""
        return timedelta(weeks=self.weeks, days=self.days, seconds=self.seconds)

    def working_time(self, day_length: timedelta) -> timedelta:
        """Working time: a day is one working day (`day_length`), a week 5 working days,
        hours, minutes and seconds are working hours, minutes and seconds."""
        working_days = self.weeks * WORKING_DAYS_PER_WEEK + self.days
        return day_length * working_days + timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        return self.text


def parse_iso_duration(text: str) -> ISODuration:
    """Parse an ISO 8601 duration such as ``P5D``, ``PT45M``, ``PT3H``, ``P1DT4H``, ``PT1.5H``.

    A decimal fraction (``.`` or ``,``) is allowed on the last component only, as ISO 8601
    says. Years and months are refused on either basis: a month is 28 to 31 days (and a
    different number of working days every month), so a standard written in months would not
    mean one thing; the published standards are in days and hours anyway. Negative durations
    are refused too. Every error is a ValueError naming the text.
    """
    if not isinstance(text, str):
        raise ValueError(f"ISO 8601 duration must be text, not {text!r}")
    cleaned = text.strip().upper()
    match = _ISO_DURATION.fullmatch(cleaned)
    if match is None:
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration (expected for example P5D, PT45M, PT3H, "
            "P1DT4H or PT1.5H)"
        )
    if match["sign"] == "-":
        raise ValueError(f"{text!r}: a negative duration cannot be a service standard")
    present = [name for name in _COMPONENTS if match[name] is not None]
    if not present:
        raise ValueError(f"{text!r} is not an ISO 8601 duration: it has no number in it")
    if match["time"] is not None and not any(
        match[name] is not None for name in ("hours", "minutes", "seconds")
    ):
        raise ValueError(f"{text!r} is not an ISO 8601 duration: 'T' must be followed by H, M or S")
    for name in present[:-1]:
        if not match[name].isdigit():
            raise ValueError(
                f"{text!r}: only the last component of an ISO 8601 duration may have a fraction"
            )
    if match["years"] is not None or match["months"] is not None:
        raise ValueError(
            f"{text!r}: years and months are not accepted in a service standard, because their "
            "length varies (a month is 28 to 31 days, and a different number of working days "
            "each month); write days instead, e.g. P30D on the calendar basis or P22D on the "
            "working basis"
        )

    def number(name: str) -> Decimal:
        value = match[name]
        return Decimal(value.replace(",", ".")) if value is not None else Decimal(0)

    seconds = number("hours") * 3600 + number("minutes") * 60 + number("seconds")
    duration = ISODuration(
        text=text, weeks=float(number("weeks")), days=float(number("days")), seconds=float(seconds)
    )
    try:
        duration.calendar_timedelta()
    except OverflowError:
        raise ValueError(f"{text!r}: duration is too long") from None
    return duration


# ----------------------------------------------------------------------------- working hours


def _seconds_of_day(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


@dataclass(frozen=True)
class WorkingHours:
    """The working periods of a working day, in local time (default 09:00–12:00, 13:30–17:30).

    Periods must be non-empty, in order and non-overlapping (touching is allowed); each lies
    within one day. Lists are accepted and stored as tuples, so the value stays hashable.
    """

    periods: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13, 30), time(17, 30)))

    def __post_init__(self) -> None:
        periods = tuple(tuple(period) for period in self.periods)
        if not periods:
            raise ValueError("working hours need at least one period")
        previous_end: time | None = None
        for period in periods:
            if len(period) != 2 or not all(isinstance(t, time) for t in period):
                raise ValueError(
                    f"a working period is a (start, end) pair of times, not {period!r}"
                )
            start, end = period
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError(
                    "working periods are local times without a timezone; "
                    "the calendar's timezone applies"
                )
            if start >= end:
                raise ValueError(f"working period {start}–{end} ends before it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError(
                    f"working period {start}–{end} overlaps or comes before the previous one, "
                    f"which ends at {previous_end}; give periods in order without overlap"
                )
            previous_end = end
        object.__setattr__(self, "periods", periods)

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Working hours written as "09:00-12:00,13:30-17:30" (settings, the command line)."""
        periods = []
        for part in text.split(","):
            bounds = part.strip().split("-")
            if len(bounds) != 2:
                raise ValueError(f"working period {part.strip()!r} is not written as HH:MM-HH:MM")
            try:
                start, end = (time.fromisoformat(b.strip()) for b in bounds)
            except ValueError:
                raise ValueError(
                    f"working period {part.strip()!r} is not written as HH:MM-HH:MM"
                ) from None
            periods.append((start, end))
        return cls(tuple(periods))

    @property
    def length(self) -> timedelta:
        """Working time in one working day (on the wall clock)."""
        seconds = sum(_seconds_of_day(end) - _seconds_of_day(start) for start, end in self.periods)
        return timedelta(seconds=seconds)


# --------------------------------------------------------------------------- working calendar

# One local day's working periods as (start, end) in microseconds since the Unix epoch, and
# their total length in microseconds.
_DayPlan = tuple[tuple[tuple[int, int], ...], int]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


def _from_us(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


class WorkingCalendar:
    """Working days and working hours in one timezone, for one country's public holidays.

    A working day is Monday to Friday unless it is a public holiday; a Saturday or Sunday is a
    working day only when it is an official make-up working day (调休上班). Public holidays and
    make-up days come from the ``holidays`` package; a year that ``declared`` holds
    (processes/calendar.yaml, from the State Council's yearly notice) replaces the package for
    that year; ``extra_holidays`` and ``extra_workdays`` override both (a local holiday).
    ``country=None`` means weekends only, no public holidays.

    All instants going in must be timezone-aware (naive ones are refused with ValueError); all
    instants coming out are aware UTC. Working periods are interpreted in ``timezone``.

    Counting working time:

    * Only time inside the working periods of working days counts. Time that starts outside
      working hours (evening, lunch break, weekend, holiday) starts counting at the next working
      period: a job arriving Friday 18:00 with 1 working hour is due Monday 10:00 when Monday
      is a working day.
    * A working day is measured as working time (``day_length``), not as "the same clock time
      on the next working day" by rule; the two agree inside working hours: 1 working day from
      Friday 10:00 is the next working day at 10:00.
    * A due time is the first instant at which the working time is used up, so work that ends
      exactly at the end of a period is due at that end (12:00, 17:30), not at the start of
      the next period.
    """

    def __init__(
        self,
        timezone: str = "Asia/Shanghai",
        hours: WorkingHours = WorkingHours(),  # noqa: B008 - frozen, immutable default
        country: str | None = "CN",
        extra_holidays: Iterable[date | str] = (),
        extra_workdays: Iterable[date | str] = (),
        declared: Mapping[int, DeclaredDays] | None = None,
    ) -> None:
        try:
            self._tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown timezone {timezone!r}") from None
        if not isinstance(hours, WorkingHours):
            raise TypeError(f"hours must be WorkingHours, not {type(hours).__name__}")
        self.timezone = timezone
        self.hours = hours
        self.country = country
        self.extra_holidays = frozenset(_as_date(d, "extra_holidays") for d in extra_holidays)
        self.extra_workdays = frozenset(_as_date(d, "extra_workdays") for d in extra_workdays)
        both = self.extra_holidays & self.extra_workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed both as extra holiday and extra workday: {listed}")
        if country is not None:
            try:
                # Fail now, not at the first due date, if the country is unknown.
                holidays_lib.country_holidays(country, years=())
            except NotImplementedError:
                raise ValueError(f"the holidays package has no country {country!r}") from None
        # Years the company calendar declares (processes/calendar.yaml): they replace the
        # package for that year.
        self.declared = dict(declared or {})
        self._day_length = hours.length
        self._lock = threading.Lock()
        # Caches: working dates per year (loaded lazily, one holidays computation per year)
        # and each local day's working periods in UTC; both stay small (one entry per
        # year or day actually used).
        self._working_days: dict[int, frozenset[date]] = {}
        self._plans: dict[int, _DayPlan] = {}

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(timezone={self.timezone!r}, country={self.country!r}, "
            f"hours={self.hours.periods!r})"
        )

    # ------------------------------------------------------------------------------ days

    def is_working_day(self, day: date) -> bool:
        """True if `day` (a local calendar date) is a working day. Fast: one set lookup."""
        if isinstance(day, datetime):
            # A datetime's date depends on the timezone (and a datetime never equals a date,
            # so it would silently look like a non-working day): make the caller choose.
            raise TypeError("is_working_day takes a local date; use local_date(moment)")
        days = self._working_days.get(day.year)
        if days is None:
            days = self._load_year(day.year)
        return day in days

    def _load_year(self, year: int) -> frozenset[date]:
        with self._lock:
            cached = self._working_days.get(year)
            if cached is not None:
                return cached
            first = date(year, 1, 1)
            all_days = [
                first + timedelta(days=i) for i in range((date(year, 12, 31) - first).days + 1)
            ]
            if year in self.declared:
                plan = self.declared[year]
                working = {d for d in all_days if d.weekday() < 5 and d not in plan.holidays} | {
                    d for d in plan.workdays if d.year == year
                }
                if year + 1 in self.declared:  # a make-up day moved into this December
                    working |= {d for d in self.declared[year + 1].workdays if d.year == year}
            elif self.country is None:
                working = {d for d in all_days if d.weekday() < 5}
            else:
                # Next year's data is loaded too: a make-up working day late in December can
                # belong to the next year's New Year arrangement (2001-12-29 for 2002).
                years = (year, year + 1) if year < date.max.year else (year,)
                source = holidays_lib.country_holidays(self.country, years=years)
                working = {d for d in all_days if source.is_working_day(d)}
            working |= {d for d in self.extra_workdays if d.year == year}
            working -= self.extra_holidays
            result = frozenset(working)
            self._working_days[year] = result
            return result

    @property
    def day_length(self) -> timedelta:
        """Working time in one working day (7 hours with the default working hours)."""
        return self._day_length

    def local_date(self, moment: datetime) -> date:
        """The calendar date of `moment` in the calendar's timezone."""
        return require_aware(moment, "moment").astimezone(self._tz).date()

    def to_local(self, moment: datetime) -> datetime:
        """`moment` in the calendar's timezone (for display)."""
        return require_aware(moment, "moment").astimezone(self._tz)

    def _plan(self, ordinal: int) -> _DayPlan:
        """Working periods of the local day with this ordinal, in microseconds since the epoch."""
        plan = self._plans.get(ordinal)
        if plan is None:
            day = date.fromordinal(ordinal)
            if self.is_working_day(day):
                # Convert each boundary on its own so that a DST change (none in Asia/Shanghai,
                # but other zones have them) gives the real elapsed length of each period.
                periods = tuple(
                    (
                        _to_us(datetime.combine(day, start, tzinfo=self._tz)),
                        _to_us(datetime.combine(day, end, tzinfo=self._tz)),
                    )
                    for start, end in self.hours.periods
                )
                plan = (periods, sum(end - start for start, end in periods))
            else:
                plan = ((), 0)
            self._plans[ordinal] = plan
        return plan

    # -------------------------------------------------------------------------- arithmetic

    def add(self, start: datetime, duration: timedelta, basis: str) -> datetime:
        """The instant `duration` after `start` on `basis`, in UTC.

        ``"calendar"``: plain ``start + duration``. ``"working"``: counts only working time
        (see the class docstring); a zero duration returns `start` unchanged. Negative
        durations are refused on both bases.
        """
        _check_basis(basis)
        begin = require_aware(start, "start")
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a timedelta, not {type(duration).__name__}")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        if basis == CALENDAR:
            return begin + duration
        return self._add_working(begin, duration)

    def _add_working(self, start: datetime, duration: timedelta) -> datetime:
        if not duration:
            return start
        # Integer microseconds and day ordinals keep the loop cheap: comparing aware datetimes
        # costs several times more than comparing ints, and the loop runs once per day.
        cursor = _to_us(start)
        remaining = duration // _ONE_US
        ordinal = start.astimezone(self._tz).toordinal()
        last = ordinal + _MAX_SPAN.days
        # Step one local day at a time; a whole working day that the remaining time covers
        # is taken in one subtraction, so a 45-working-day standard is ~65 cheap steps.
        while ordinal <= last:
            periods, total = self._plan(ordinal)
            if periods:
                if cursor <= periods[0][0] and remaining > total:
                    remaining -= total
                else:
                    for period_start, period_end in periods:
                        if period_end <= cursor:
                            continue
                        begin = max(period_start, cursor)
                        available = period_end - begin
                        if remaining <= available:
                            return _from_us(begin + remaining)
                        remaining -= available
            ordinal += 1
        raise ValueError(
            f"{duration} of working time from {start.isoformat()} does not end within 100 years"
        )

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`days` working days after `start`: ``add(start, days * day_length, "working")``."""
        return self.add(start, self._day_length * days, WORKING)

    def between(self, start: datetime, end: datetime, basis: str) -> timedelta:
        """Time elapsed from `start` to `end` on `basis`; `end` before `start` is a ValueError.

        ``"calendar"``: ``end - start``. ``"working"``: only the parts inside working periods of
        working days count, so a link opened Friday 17:00 and closed Monday 09:30 took 1 working
        hour. Inverse of `add`: ``between(s, add(s, d, "working"), "working") == d``.
        """
        _check_basis(basis)
        begin = require_aware(start, "start")
        finish = require_aware(end, "end")
        if finish < begin:
            raise ValueError(f"end {finish.isoformat()} is before start {begin.isoformat()}")
        if basis == CALENDAR:
            return finish - begin
        if finish - begin > _MAX_SPAN:
            raise ValueError(
                f"{begin.isoformat()} to {finish.isoformat()} spans more than 100 years"
            )
        low_us, high_us = _to_us(begin), _to_us(finish)
        total = 0
        ordinal = begin.astimezone(self._tz).toordinal()
        last = finish.astimezone(self._tz).toordinal()
        while ordinal <= last:
            periods, day_total = self._plan(ordinal)
            if periods:
                if low_us <= periods[0][0] and periods[-1][1] <= high_us:
                    total += day_total
                else:
                    for period_start, period_end in periods:
                        overlap = min(period_end, high_us) - max(period_start, low_us)
                        if overlap > 0:
                            total += overlap
            ordinal += 1
        return timedelta(microseconds=total)

    def due(self, start: datetime, iso_duration: str, basis: str) -> datetime:
        """When a standard of `iso_duration` (e.g. ``P5D``, ``PT45M``) started at `start` falls due.

        Working basis: ``D`` is one working day (``day_length`` of working time), ``W`` is 5
        working days, hours/minutes/seconds are working time. Calendar basis: a plain
        timedelta (``W`` = 7 days, ``D`` = 24 hours). Years and months are refused on both
        (see `parse_iso_duration`).
        """
        _check_basis(basis)
        duration = parse_iso_duration(iso_duration)
        if basis == CALENDAR:
            return self.add(start, duration.calendar_timedelta(), CALENDAR)
        return self.add(start, duration.working_time(self._day_length), WORKING)


def _as_date(value: date | str, what: str) -> date:
    if isinstance(value, datetime):
        raise TypeError(f"{what} takes dates, not datetimes ({value.isoformat()})")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    raise TypeError(f"{what} takes dates, not {type(value).__name__}")
