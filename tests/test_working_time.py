"""The working-day calendar: Chinese holidays and make-up days, due times and elapsed working time,
checked against dates a clerk can verify on the State Council holiday notices."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridflow.working_time import (
    ISODuration,
    WorkingCalendar,
    WorkingHours,
    parse_iso_duration,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant given as Beijing time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# ------------------------------------------------------------------ working days (holiday data)

# From the State Council General Office notices on holiday arrangements for 2024, 2025, 2026.
MAKE_UP_WORKING_DAYS = [
    date(2024, 2, 4),  # Sun, Spring Festival
    date(2024, 2, 18),  # Sun, Spring Festival
    date(2024, 4, 7),  # Sun, Tomb-Sweeping Day
    date(2024, 4, 28),  # Sun, Labour Day
    date(2024, 5, 11),  # Sat, Labour Day
    date(2024, 9, 14),  # Sat, Mid-Autumn
    date(2024, 9, 29),  # Sun, National Day
    date(2024, 10, 12),  # Sat, National Day
    date(2025, 1, 26),  # Sun, Spring Festival
    date(2025, 2, 8),  # Sat, Spring Festival
    date(2025, 4, 27),  # Sun, Labour Day
    date(2025, 9, 28),  # Sun, National Day
    date(2025, 10, 11),  # Sat, National Day
    date(2026, 1, 4),  # Sun, New Year
    date(2026, 2, 14),  # Sat, Spring Festival
    date(2026, 2, 28),  # Sat, Spring Festival
    date(2026, 5, 9),  # Sat, Labour Day
    date(2026, 9, 20),  # Sun, National Day
    date(2026, 10, 10),  # Sat, National Day
]


@pytest.mark.parametrize("day", MAKE_UP_WORKING_DAYS, ids=str)
def test_official_make_up_weekend_days_are_working_days(cal: WorkingCalendar, day: date) -> None:
    assert day.weekday() >= 5
    assert cal.is_working_day(day)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


HOLIDAY_BREAKS = [
    (date(2024, 2, 10), date(2024, 2, 17)),  # Spring Festival 2024
    (date(2024, 10, 1), date(2024, 10, 7)),  # National Day 2024
    (date(2025, 1, 28), date(2025, 2, 4)),  # Spring Festival 2025, from New Year's Eve
    (date(2025, 5, 1), date(2025, 5, 5)),  # Labour Day 2025
    (date(2025, 5, 31), date(2025, 6, 2)),  # Dragon Boat 2025
    (date(2025, 10, 1), date(2025, 10, 8)),  # National Day and Mid-Autumn 2025
    (date(2026, 1, 1), date(2026, 1, 3)),  # New Year 2026
    (date(2026, 2, 15), date(2026, 2, 23)),  # Spring Festival 2026, nine days
    (date(2026, 5, 1), date(2026, 5, 5)),  # Labour Day 2026
    (date(2026, 10, 1), date(2026, 10, 7)),  # National Day 2026
]


@pytest.mark.parametrize(("first", "last"), HOLIDAY_BREAKS, ids=str)
def test_public_holiday_breaks_are_not_working_days(
    cal: WorkingCalendar, first: date, last: date
) -> None:
    assert not any(cal.is_working_day(d) for d in _days(first, last))
    # ... and the break is exactly that long: the days either side are working days
    assert (
        cal.is_working_day(first - timedelta(days=1)) or (first - timedelta(days=1)).weekday() >= 5
    )
    assert cal.is_working_day(last + timedelta(days=1))


def test_ordinary_week(cal: WorkingCalendar) -> None:
    week = _days(date(2025, 3, 3), date(2025, 3, 9))  # Mon..Sun, no holiday
    assert [cal.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_working_day_counts_per_year(cal: WorkingCalendar) -> None:
    # weekdays - holidays falling on weekdays + make-up weekend days:
    # 2024: 262 - 19 + 8; 2025: 261 - 18 + 5; 2026: 261 - 19 + 6
    def count(year: int) -> int:
        return sum(cal.is_working_day(d) for d in _days(date(year, 1, 1), date(year, 12, 31)))

    assert count(2024) == 251
    assert count(2025) == 248
    assert count(2026) == 248


def test_is_working_day_refuses_a_datetime(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError, match="local date"):
        cal.is_working_day(local(2025, 10, 9, 10))


def test_extra_days_override_the_package() -> None:
    cal = WorkingCalendar(
        extra_holidays=[date(2025, 3, 5)], extra_workdays=["2025-03-08", date(2025, 10, 3)]
    )
    assert not cal.is_working_day(date(2025, 3, 5))  # a Wednesday, declared a local holiday
    assert cal.is_working_day(date(2025, 3, 8))  # a Saturday, declared a working day
    assert cal.is_working_day(date(2025, 10, 3))  # even a public holiday can be overridden


def test_extra_day_in_both_lists_is_refused() -> None:
    with pytest.raises(ValueError, match="2025-03-05"):
        WorkingCalendar(extra_holidays=[date(2025, 3, 5)], extra_workdays=[date(2025, 3, 5)])


def test_no_country_means_weekends_only() -> None:
    cal = WorkingCalendar(country=None)
    assert cal.is_working_day(date(2025, 10, 1))
    assert not cal.is_working_day(date(2025, 9, 28))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"country": "XX"}, "country 'XX'"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"extra_holidays": ["2025-13-01"]}, "not a date"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- hours


def test_default_day_length_is_seven_hours(cal: WorkingCalendar) -> None:
    assert cal.day_length == timedelta(hours=7)


def test_custom_hours() -> None:
    hours = WorkingHours([(time(8), time(12)), (time(14), time(18))])  # type: ignore[arg-type]
    assert hours.periods == ((time(8), time(12)), (time(14), time(18)))
    cal = WorkingCalendar(hours=hours)
    assert cal.day_length == timedelta(hours=8)
    assert cal.add_working_days(local(2025, 3, 3, 8), 1) == local(2025, 3, 3, 18)


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ((), "at least one"),
        (((time(12), time(9)),), "ends before it starts"),
        (((time(9), time(9)),), "ends before it starts"),
        (((time(9), time(12)), (time(11), time(14))), "overlaps"),
        (((time(13), time(17)), (time(9), time(12))), "overlaps or comes before"),
        (((time(9), time(12, tzinfo=UTC)),), "local times"),
    ],
)
def test_working_hours_are_validated(periods: tuple[tuple[time, time], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours(periods)


# ------------------------------------------------------------------------------ add / due


def test_five_working_days_from_thursday_across_national_day_2025(cal: WorkingCalendar) -> None:
    # Thu 25 Sep 10:00 -> Fri 26 (1), Sun 28 make-up (2), Mon 29 (3), Tue 30 (4),
    # 1-8 Oct off, Thu 9 Oct (5) at 10:00.
    due = cal.add_working_days(local(2025, 9, 25, 10), 5)
    assert due == local(2025, 10, 9, 10)
    assert cal.due(local(2025, 9, 25, 10), "P5D", "working") == due


def test_sunday_make_up_day_2025_09_28_counts(cal: WorkingCalendar) -> None:
    # Arriving Friday evening, the next working period is Sunday's make-up day.
    assert cal.add(local(2025, 9, 26, 18), HOUR, "working") == local(2025, 9, 28, 10)


def test_saturday_make_up_day_2025_10_11_counts(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(local(2025, 10, 10, 10), 1) == local(2025, 10, 11, 10)
    assert cal.add_working_days(local(2025, 10, 10, 10), 2) == local(2025, 10, 13, 10)


def test_spring_festival_2026(cal: WorkingCalendar) -> None:
    # Fri 13 Feb -> Sat 14 Feb (make-up) -> nine days off 15-23 Feb -> Tue 24 Feb.
    assert cal.add_working_days(local(2026, 2, 13, 10), 1) == local(2026, 2, 14, 10)
    assert cal.add_working_days(local(2026, 2, 13, 10), 2) == local(2026, 2, 24, 10)


def test_one_working_hour_from_friday_evening_is_monday_10(cal: WorkingCalendar) -> None:
    due = cal.add(local(2025, 3, 7, 18), HOUR, "working")
    assert due == local(2025, 3, 10, 10)
    assert due.tzinfo is UTC
    assert due == datetime(2025, 3, 10, 2, 0, tzinfo=UTC)


def test_one_working_day_from_friday_10_is_next_working_day_10(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(local(2025, 3, 7, 10), 1) == local(2025, 3, 10, 10)


def test_lunch_break_is_skipped(cal: WorkingCalendar) -> None:
    assert cal.add(local(2025, 3, 4, 11, 30), HOUR, "working") == local(2025, 3, 4, 14)
    # arriving during lunch starts counting at 13:30
    assert cal.add(local(2025, 3, 4, 12, 15), HOUR / 2, "working") == local(2025, 3, 4, 14)
    # arriving before work starts counting at 09:00
    assert cal.add(local(2025, 3, 4, 7), HOUR, "working") == local(2025, 3, 4, 10)


def test_due_at_the_end_of_a_period_not_the_start_of_the_next(cal: WorkingCalendar) -> None:
    assert cal.add(local(2025, 3, 4, 9), 3 * HOUR, "working") == local(2025, 3, 4, 12)
    assert cal.add_working_days(local(2025, 3, 7, 9), 1) == local(2025, 3, 7, 17, 30)


def test_zero_working_time_is_the_start(cal: WorkingCalendar) -> None:
    assert cal.add(local(2025, 3, 8, 3), timedelta(0), "working") == local(2025, 3, 8, 3)


def test_half_working_day(cal: WorkingCalendar) -> None:
    # 3.5 h from 09:00: 3 h before lunch, 0.5 h after
    assert cal.add_working_days(local(2025, 3, 4, 9), 0.5) == local(2025, 3, 4, 14)


def test_high_voltage_dual_supply_scheme_reply_45_working_days(cal: WorkingCalendar) -> None:
    # Mon 1 Sep 2025: Sep has 22 working days after the 1st (incl. Sun 28 Sep), October has
    # 18 (incl. Sat 11 Oct), so the 45th is Fri 7 Nov.
    start = local(2025, 9, 1, 10)
    assert cal.due(start, "P45D", "working") == local(2025, 11, 7, 10)
    assert cal.between(start, local(2025, 11, 7, 10), "working") == 45 * cal.day_length


def test_crossing_the_new_year_2026(cal: WorkingCalendar) -> None:
    # 1-3 Jan 2026 off, Sun 4 Jan is a working day
    assert cal.due(local(2025, 12, 31, 10), "P2D", "working") == local(2026, 1, 5, 10)


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("PT45M", local(2025, 3, 4, 9, 45)),
        ("PT3H", local(2025, 3, 4, 12)),
        ("PT1.5H", local(2025, 3, 4, 10, 30)),
        ("P1D", local(2025, 3, 4, 17, 30)),
        ("P1DT4H", local(2025, 3, 5, 14, 30)),  # 7 h + 4 h of working time
        ("P1W", local(2025, 3, 10, 17, 30)),  # 5 working days, Tue 09:00 .. Mon 17:30
        ("P0D", local(2025, 3, 4, 9)),
    ],
)
def test_due_on_working_basis(cal: WorkingCalendar, iso: str, expected: datetime) -> None:
    assert cal.due(local(2025, 3, 4, 9), iso, "working") == expected


@pytest.mark.parametrize(
    ("iso", "delta"),
    [
        ("PT45M", timedelta(minutes=45)),
        ("PT3H", timedelta(hours=3)),
        ("PT24H", timedelta(hours=24)),
        ("P5D", timedelta(days=5)),
        ("P1W", timedelta(days=7)),
        ("P1DT4H", timedelta(days=1, hours=4)),
    ],
)
def test_due_on_calendar_basis_is_plain_arithmetic(
    cal: WorkingCalendar, iso: str, delta: timedelta
) -> None:
    start = local(2025, 9, 30, 18)  # eve of National Day: holidays do not matter here
    assert cal.due(start, iso, "calendar") == start + delta


def test_add_on_calendar_basis_is_plain_arithmetic(cal: WorkingCalendar) -> None:
    start = local(2025, 3, 7, 18)
    assert cal.add(start, HOUR, "calendar") == local(2025, 3, 7, 19)
    assert cal.add(start, HOUR, "calendar").tzinfo is UTC


def test_input_timezone_does_not_matter(cal: WorkingCalendar) -> None:
    in_utc = datetime(2025, 3, 7, 10, 0, tzinfo=UTC)  # Friday 18:00 in Beijing
    assert cal.add(in_utc, HOUR, "working") == local(2025, 3, 10, 10)


def test_months_and_years_are_refused_on_both_bases(cal: WorkingCalendar) -> None:
    for basis in ("working", "calendar"):
        with pytest.raises(ValueError, match="months"):
            cal.due(local(2025, 3, 4, 9), "P1M", basis)
        with pytest.raises(ValueError, match="length varies"):
            cal.due(local(2025, 3, 4, 9), "P1Y", basis)


def test_unknown_basis_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="basis"):
        cal.due(local(2025, 3, 4, 9), "P1D", "business")
    with pytest.raises(ValueError, match="basis"):
        cal.between(local(2025, 3, 4, 9), local(2025, 3, 5, 9), "Working")


def test_negative_duration_is_refused(cal: WorkingCalendar) -> None:
    for basis in ("working", "calendar"):
        with pytest.raises(ValueError, match="negative"):
            cal.add(local(2025, 3, 4, 9), -HOUR, basis)


def test_naive_datetimes_are_refused(cal: WorkingCalendar) -> None:
    naive = datetime(2025, 3, 4, 9)
    aware = local(2025, 3, 4, 9)
    with pytest.raises(ValueError, match="naive"):
        cal.add(naive, HOUR, "working")
    with pytest.raises(ValueError, match="naive"):
        cal.add(naive, HOUR, "calendar")
    with pytest.raises(ValueError, match="naive"):
        cal.due(naive, "P1D", "working")
    with pytest.raises(ValueError, match="naive"):
        cal.between(naive, aware, "working")
    with pytest.raises(ValueError, match="naive"):
        cal.between(aware, naive, "calendar")


def test_absurd_spans_are_refused_not_computed(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="100 years"):
        cal.between(local(1900, 1, 1), local(2025, 1, 1), "working")


# -------------------------------------------------------------------------------- between


def test_between_over_a_weekend(cal: WorkingCalendar) -> None:
    # Fri 16:00-17:30 (1.5 h) + Mon 09:00-10:00 (1 h)
    elapsed = cal.between(local(2025, 3, 7, 16), local(2025, 3, 10, 10), "working")
    assert elapsed.total_seconds() == 9000


def test_between_over_national_day_2025(cal: WorkingCalendar) -> None:
    # Tue 30 Sep 15:00-17:30 (2.5 h), 1-8 Oct off, Thu 9 Oct 09:00-09:30 (0.5 h)
    elapsed = cal.between(local(2025, 9, 30, 15), local(2025, 10, 9, 9, 30), "working")
    assert elapsed.total_seconds() == 10800


def test_between_counts_a_make_up_saturday(cal: WorkingCalendar) -> None:
    # Fri 10 Oct 17:00-17:30 (0.5 h) + Sat 11 Oct whole day (7 h) + nothing on Sun
    elapsed = cal.between(local(2025, 10, 10, 17), local(2025, 10, 13, 9), "working")
    assert elapsed.total_seconds() == 27000


def test_between_inside_lunch_and_at_night_is_zero(cal: WorkingCalendar) -> None:
    assert cal.between(local(2025, 3, 4, 12), local(2025, 3, 4, 13, 30), "working") == timedelta(0)
    assert cal.between(local(2025, 3, 4, 18), local(2025, 3, 5, 8), "working") == timedelta(0)
    same = local(2025, 3, 4, 10)
    assert cal.between(same, same, "working") == timedelta(0)


def test_between_on_calendar_basis_is_plain_difference(cal: WorkingCalendar) -> None:
    start, end = local(2025, 9, 30, 15), local(2025, 10, 9, 9, 30)
    assert cal.between(start, end, "calendar") == end - start


def test_between_refuses_end_before_start(cal: WorkingCalendar) -> None:
    for basis in ("working", "calendar"):
        with pytest.raises(ValueError, match="before start"):
            cal.between(local(2025, 3, 5), local(2025, 3, 4), basis)


# A fixed spread of starts: inside periods, on boundaries, at lunch, at night, on weekends,
# on holidays and on make-up days; and durations from a second to several months.
ROUND_TRIP_STARTS = [
    local(2025, 3, 4, 9),
    local(2025, 3, 4, 11, 59),
    local(2025, 3, 4, 12),
    local(2025, 3, 4, 12, 45),
    local(2025, 3, 4, 13, 30),
    local(2025, 3, 4, 17, 30),
    local(2025, 3, 7, 18),
    local(2025, 3, 8, 11),
    local(2025, 9, 28, 10, 17),
    local(2025, 9, 30, 16, 59),
    local(2025, 10, 3, 9),
    local(2025, 12, 31, 23, 59),
    local(2026, 2, 13, 14, 7),
    datetime(2025, 6, 1, 0, 0, 0, 123000, tzinfo=UTC),
]
ROUND_TRIP_DURATIONS = [
    timedelta(seconds=1),
    timedelta(minutes=45),
    timedelta(hours=3),
    timedelta(hours=7),
    timedelta(hours=11, minutes=29, seconds=59, milliseconds=999),
    timedelta(hours=7 * 5),
    timedelta(hours=7 * 45),
    timedelta(hours=7 * 130, minutes=1),
]


@pytest.mark.parametrize("start", ROUND_TRIP_STARTS, ids=lambda s: s.isoformat())
def test_round_trip_between_add(cal: WorkingCalendar, start: datetime) -> None:
    for duration in ROUND_TRIP_DURATIONS:
        due = cal.add(start, duration, "working")
        assert due > start
        assert cal.between(start, due, "working") == duration, (start, duration)
        # and the due time is the first such instant: a moment earlier is not enough
        assert cal.between(start, due - timedelta(microseconds=1), "working") < duration


# ------------------------------------------------------------------------- ISO durations


@pytest.mark.parametrize(
    ("text", "weeks", "days", "seconds"),
    [
        ("P5D", 0, 5, 0),
        ("PT45M", 0, 0, 2700),
        ("PT3H", 0, 0, 10800),
        ("P1DT4H", 0, 1, 14400),
        ("PT1.5H", 0, 0, 5400),
        ("PT1,5H", 0, 0, 5400),
        ("P0.5D", 0, 0.5, 0),
        ("P2W", 2, 0, 0),
        ("PT1H30M15S", 0, 0, 5415),
        ("PT0.25S", 0, 0, 0.25),
        (" p5d ", 0, 5, 0),
    ],
)
def test_parse_iso_duration(text: str, weeks: float, days: float, seconds: float) -> None:
    parsed = parse_iso_duration(text)
    assert isinstance(parsed, ISODuration)
    assert (parsed.weeks, parsed.days, parsed.seconds) == (weeks, days, seconds)
    assert str(parsed) == text


def test_iso_duration_on_each_basis() -> None:
    parsed = parse_iso_duration("P1W2DT3H")
    assert parsed.calendar_timedelta() == timedelta(days=9, hours=3)
    assert parsed.working_time(timedelta(hours=7)) == timedelta(hours=7 * 7 + 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not an ISO 8601 duration"),
        ("P", "no number"),
        ("PT", "no number"),
        ("P1DT", "'T' must be followed"),
        ("5D", "not an ISO 8601 duration"),
        ("P5", "not an ISO 8601 duration"),
        ("PT1H30", "not an ISO 8601 duration"),
        ("P5X", "not an ISO 8601 duration"),
        ("P1H", "not an ISO 8601 duration"),
        ("P1.5DT2H", "only the last component"),
        ("-P1D", "negative"),
        ("P1M", "months"),
        ("P1Y2D", "months"),
        ("P1.5M", "months"),
        ("PT1.H", "not an ISO 8601 duration"),
        ("P99999999999D", "too long"),
    ],
)
def test_parse_iso_duration_errors_name_the_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_iso_duration(text)
    assert repr(text) in str(caught.value)


def test_working_hours_from_settings_text() -> None:
    hours = WorkingHours.parse("08:30-12:00, 14:00-18:00")
    assert hours.periods == ((time(8, 30), time(12)), (time(14), time(18)))
    assert hours.length == timedelta(hours=7, minutes=30)
    with pytest.raises(ValueError, match="'8-12' is not written as HH:MM-HH:MM"):
        WorkingHours.parse("8-12")
    with pytest.raises(ValueError, match="ends before it starts"):
        WorkingHours.parse("12:00-09:00")
