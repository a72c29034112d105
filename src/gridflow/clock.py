"""The one source of "now" for gridflow: the system clock in production, a simulated clock that
tests, simulations and the demo move by hand so that weeks of process time pass in seconds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SimulatedClock", "SystemClock", "require_aware"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the time. `now()` is always timezone-aware and in UTC."""

    def now(self) -> datetime: ...


def require_aware(moment: datetime, what: str = "datetime") -> datetime:
    """Return `moment` converted to UTC; refuse a naive datetime with ValueError.

    A naive datetime has no defined instant (server local time? Beijing time? UTC?), and
    guessing would shift service-standard deadlines by hours, so it is refused outright.
    """
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} is naive; give a timezone-aware datetime")
    return moment.astimezone(UTC)


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class SimulatedClock:
    """A clock that only moves when told to, and only forwards.

    Time never runs backwards here, because task events, timers and durations computed from
    them assume a monotonic clock; a backwards step would produce negative link durations.
    Moving it is thread-safe, so a worker thread and a web request can share one instance.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (zero is allowed) and return the new time."""
        if not isinstance(delta, timedelta):
            raise TypeError(f"delta must be a timedelta, not {type(delta).__name__}")
        if delta < timedelta(0):
            raise ValueError(f"a simulated clock cannot go backwards (advance by {delta})")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`, which must not be earlier than the current time."""
        target = require_aware(moment, "moment")
        with self._lock:
            if target < self._now:
                raise ValueError(
                    f"a simulated clock cannot go backwards: {target.isoformat()} is before "
                    f"the current time {self._now.isoformat()}"
                )
            self._now = target

    def __repr__(self) -> str:
        return f"SimulatedClock({self._now.isoformat()})"
