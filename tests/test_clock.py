"""The injectable clock: the system clock tells UTC time; the simulated clock only moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gridflow.clock import Clock, SimulatedClock, SystemClock, require_aware

START = datetime(2025, 9, 26, 10, 0, tzinfo=UTC)


def test_system_clock_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert before <= now <= after


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(SimulatedClock(START), Clock)


def test_simulated_clock_refuses_naive_start() -> None:
    with pytest.raises(ValueError, match="naive"):
        SimulatedClock(datetime(2025, 9, 26, 10, 0))


def test_simulated_clock_reports_utc_for_a_local_start() -> None:
    beijing = datetime(2025, 9, 26, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    clock = SimulatedClock(beijing)
    assert clock.now() == datetime(2025, 9, 26, 10, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().tzinfo is UTC


def test_simulated_clock_stands_still_until_moved() -> None:
    clock = SimulatedClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_advance_moves_forward_and_returns_the_new_time() -> None:
    clock = SimulatedClock(START)
    assert clock.advance(timedelta(weeks=3)) == START + timedelta(weeks=3)
    assert clock.now() == START + timedelta(weeks=3)
    assert clock.advance(timedelta(0)) == START + timedelta(weeks=3)


def test_advance_refuses_negative_and_leaves_time_unchanged() -> None:
    clock = SimulatedClock(START)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == START


def test_advance_refuses_a_number() -> None:
    clock = SimulatedClock(START)
    with pytest.raises(TypeError):
        clock.advance(60)  # type: ignore[arg-type]


def test_set_jumps_forward_or_stays() -> None:
    clock = SimulatedClock(START)
    later = START + timedelta(days=10, hours=3)
    clock.set(later)
    assert clock.now() == later
    clock.set(later)  # the same instant is not going backwards
    assert clock.now() == later


def test_set_accepts_another_timezone_and_keeps_utc() -> None:
    clock = SimulatedClock(START)
    clock.set(datetime(2025, 9, 26, 20, 0, tzinfo=timezone(timedelta(hours=8))))
    assert clock.now() == datetime(2025, 9, 26, 12, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_set_refuses_going_backwards() -> None:
    clock = SimulatedClock(START)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(START - timedelta(milliseconds=1))
    assert clock.now() == START


def test_set_refuses_naive() -> None:
    clock = SimulatedClock(START)
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2025, 12, 1))
    assert clock.now() == START


def test_require_aware() -> None:
    assert require_aware(START) is not None
    with pytest.raises(ValueError, match="naive"):
        require_aware(datetime(2025, 1, 1))
    with pytest.raises(TypeError):
        require_aware("2025-01-01T00:00:00Z")  # type: ignore[arg-type]
