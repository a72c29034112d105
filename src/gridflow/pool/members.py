"""Who is in the pool, as ranking and dispatch see them at one moment: a member's skills,
weekly shifts (in UTC), leave, area and load (`Person`), the areas, and `PoolError` for a
profile, shift, leave or equipment entry that cannot be saved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gridflow.errors import GridflowError

AREAS = ("urban", "rural", "remote")
WEEK_MINUTES = 7 * 24 * 60


class PoolError(GridflowError):
    """A profile, shift, leave or equipment entry that cannot be saved; names the problem."""


@dataclass(frozen=True)
class Person:
    """A pool member as ranking and dispatch see them at one moment."""

    username: str
    display_name: str
    roles: frozenset[str]
    department: str
    area: str
    max_load: int
    skills: Mapping[str, int]
    shifts: tuple[tuple[int, int, int], ...]  # (weekday, start minute, minutes), UTC
    leave: tuple[tuple[datetime, datetime], ...]
    load: int = 0
    display_name_zh: str = ""

    def on_leave(self, now: datetime) -> datetime | None:
        """When the leave covering `now` ends, or None."""
        for start, end in self.leave:
            if start <= now < end:
                return end
        return None

    def shift_left(self, now: datetime) -> timedelta | None:
        """How long the person still works from `now` (None: off shift or on leave)."""
        if self.on_leave(now) is not None:
            return None
        minute = (
            now.weekday() * 1440 + now.hour * 60 + now.minute + now.second / 60
        ) % WEEK_MINUTES
        best: float | None = None
        for weekday, start, minutes in self.shifts:
            begin = weekday * 1440 + start
            for t in (minute, minute + WEEK_MINUTES):
                if begin <= t < begin + minutes:
                    left = begin + minutes - t
                    best = left if best is None else max(best, left)
        if best is None:
            return None
        left_td = timedelta(minutes=best)
        for leave_start, _ in self.leave:
            if now < leave_start < now + left_td:
                left_td = leave_start - now
        return left_td

    def status(self, now: datetime) -> str:
        """on_leave | off_shift | full | loaded | free."""
        if self.on_leave(now) is not None:
            return "on_leave"
        if self.shift_left(now) is None:
            return "off_shift"
        if self.load >= self.max_load:
            return "full"
        return "loaded" if self.load else "free"
