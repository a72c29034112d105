"""When people work: weekly shifts (stored in UTC, entered and shown in local time) and
leave."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete

from gridflow.models import StaffLeave, StaffShift, to_ms
from gridflow.pool.members import PoolError
from gridflow.pool.profiles import _profile
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str) -> int:
    match = _CLOCK.match(text.strip())
    if match is None:
        raise PoolError(gettext("time %(time)s must be HH:MM (00:00 to 23:59)"), time=repr(text))
    return int(match.group(1)) * 60 + int(match.group(2))


WEEK_MINUTES = 7 * 1440


def add_shift(
    rt: Runtime, username: str, weekday: int, start: str, end: str, *, offset_minutes: int = 0
) -> None:
    """A weekly working window, stored in UTC; an end at or before the start runs past
    midnight. `offset_minutes` is the UTC offset of the times given (0: they are UTC; the pool
    page gives local times, see `local_offset`)."""
    if weekday not in range(7):
        raise PoolError(gettext("weekday must be 0 (Monday) to 6 (Sunday)"))
    begin, finish = parse_clock(start), parse_clock(end)
    minutes = finish - begin if finish > begin else finish + 1440 - begin
    weekday, begin = divmod((weekday * 1440 + begin - offset_minutes) % WEEK_MINUTES, 1440)
    with rt.db.write() as session:
        profile = _profile(session, username)
        session.add(
            StaffShift(profile_id=profile.id, weekday=weekday, start_minute=begin, minutes=minutes)
        )


def local_offset(rt: Runtime) -> int:
    """The calendar timezone's UTC offset now, in minutes (shifts are weekly windows in UTC,
    shown and entered in local time)."""
    offset = rt.calendar.to_local(rt.clock.now()).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def remove_shift(rt: Runtime, shift_id: int) -> None:
    with rt.db.write() as session:
        session.execute(delete(StaffShift).where(StaffShift.id == shift_id))


def add_leave(
    rt: Runtime, username: str, starts_at: datetime, ends_at: datetime, reason: str = ""
) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise PoolError(gettext("leave needs times with a time zone"))
    if ends_at <= starts_at:
        raise PoolError(gettext("leave must end after it starts"))
    with rt.db.write() as session:
        profile = _profile(session, username)
        session.add(
            StaffLeave(
                profile_id=profile.id,
                starts_at=to_ms(starts_at),
                ends_at=to_ms(ends_at),
                reason=reason.strip()[:200],
            )
        )


def remove_leave(rt: Runtime, leave_id: int) -> None:
    with rt.db.write() as session:
        session.execute(delete(StaffLeave).where(StaffLeave.id == leave_id))


def local_windows(
    shifts: Iterable[tuple[int, int, int]], offset_minutes: int = 0
) -> list[tuple[int, str, str]]:
    """Shifts as (weekday, 'HH:MM' start, 'HH:MM' end), moved by `offset_minutes` from UTC;
    the pages name the weekday in the reader's language."""
    out = []
    for weekday, start, minutes in shifts:
        weekday, start = divmod((weekday * 1440 + start + offset_minutes) % WEEK_MINUTES, 1440)
        end = (start + minutes) % 1440
        out.append((weekday, _hhmm(start), _hhmm(end)))
    return out


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
