"""The skill pool: who has which skills at which level, when they work (weekly shifts in UTC,
minus leave), where, and how much they hold now; equipment by type and area.

`fit` scores one person for one link (lower is better, with the reasons in words); "find help"
ranks people with it and the dispatcher builds its cost matrix from it, so a supervisor reads
the same reasons in both places.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select

from gridflow.definitions import Link, SkillListError, parse_skills
from gridflow.errors import GridflowError, NotFoundError
from gridflow.models import (
    Equipment,
    Instance,
    LinkHelper,
    StaffLeave,
    StaffProfile,
    StaffShift,
    StaffSkill,
    User,
    WorkItem,
    to_ms,
)
from gridflow.roles import RoleBook
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

AREAS = ("urban", "rural", "remote")
MAX_LOAD = 20
WEEK_MINUTES = 7 * 24 * 60
OPEN = ("ready", "claimed")
# A link should not go to someone whose shift ends before this much of it is done.
MIN_SHIFT_LEFT = timedelta(minutes=15)
# How much shift a link asks for: its time left to due, at most this (back-end links run days).
NEEDED_HORIZON = timedelta(hours=2)
INFEASIBLE = 1_000_000.0
# Weights of the cost terms (points; one point is "a little worse").
W_OVERQUALIFIED = 1.0  # per level above the need: keep experts for the hard links
W_OTHER_DEPARTMENT = 2.0  # borrowed by skill from another department
W_SHORT_SHIFT = 8.0  # the whole needed time missing from the shift
W_LOAD = 6.0  # holding max_load already
W_AREA = 4.0  # per area step (urban ↔ rural ↔ remote)
W_URGENCY = 0.25  # per hour left to due (up to 48 h): urgent links are chosen first


class PoolError(GridflowError):
    """A profile, shift, leave or equipment entry that cannot be saved; names the problem."""


@dataclass(frozen=True)
class Reason:
    """One reason for a rank, as a code the pages translate and English text for the API."""

    code: str
    params: Mapping[str, object]
    text: str

    def as_json(self) -> dict[str, object]:
        return {**dict(self.params), "code": self.code, "text": self.text}


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


@dataclass(frozen=True)
class Need:
    """What a link asks of the person who does it."""

    role: str
    skills: tuple[tuple[str, int], ...] = ()
    equipment: tuple[str, ...] = ()
    area: str | None = None
    due_at: datetime | None = None

    @classmethod
    def of(
        cls, link: Link | None, role: str, variables: Mapping[str, Any], due_at: datetime
    ) -> Need:
        """What a link of a running instance needs: its skills and equipment, and the
        instance's area (a start variable of the repair processes)."""
        area = variables.get("area")
        return cls(
            role=role,
            skills=link.skills if link else (),
            equipment=link.equipment if link else (),
            area=area if isinstance(area, str) else None,
            due_at=due_at,
        )


@dataclass
class Fit:
    person: Person
    cost: float
    feasible: bool
    reasons: list[Reason] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "; ".join(r.text for r in self.reasons)


def _fmt(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"


def fit(
    person: Person, need: Need, now: datetime, *, extra_load: int = 0, explain: bool = True
) -> Fit:
    """How well `person` suits a link with `need` at `now` (cost: lower is better).

    Infeasible: missing a skill or its level (or, for a link with no skills, not in its role),
    off shift, on leave, too little shift left, or at maximum load. Without `explain` the
    reasons are left out (the dispatcher scores many pairs and explains only those it picks)."""
    reasons: list[Reason] = []
    cost = 0.0
    feasible = True

    def say(code: str, text: Callable[[], str] | str, **params: object) -> None:
        if explain:
            reasons.append(Reason(code, params, text if isinstance(text, str) else text()))

    # Skill match and level.
    skills = person.skills
    if need.skills:
        gaps = [
            (s, level, skills.get(s, 0)) for s, level in need.skills if skills.get(s, 0) < level
        ]
        if gaps:
            feasible = False
            for skill, level, has in gaps:
                text = f"{skill} needs level {level}, has {has}"
                say("skill_missing", text, skill=skill, level=level, has=has)
        else:
            cost += W_OVERQUALIFIED * sum(skills[s] - level for s, level in need.skills)
            if explain:
                matched = ", ".join(f"{s} {skills[s]}≥{level}" for s, level in need.skills)
                say("skills_match", lambda: f"skills {matched}", skills=matched)
            if need.role not in person.roles:
                cost += W_OTHER_DEPARTMENT
                say(
                    "other_department",
                    lambda: f"from {person.department}, by skill",
                    department=person.department,
                )
    elif need.role not in person.roles:
        feasible = False
        say("not_in_role", lambda: f"not in role {need.role}", role=need.role)
    # Shift: on now, and for long enough.
    until_leave = person.on_leave(now)
    left = person.shift_left(now) if until_leave is None else None
    if until_leave is not None:
        feasible = False
        until = f"{until_leave:%Y-%m-%d %H:%M} UTC"
        # The text is for the API (UTC); pages show `until` (an ISO instant) in local time.
        say("on_leave", lambda: f"on leave until {until}", until=until_leave.isoformat())
    elif left is None:
        feasible = False
        say("off_shift", lambda: "off shift now")
    else:
        time_to_due = need.due_at - now if need.due_at is not None else NEEDED_HORIZON
        needed = max(MIN_SHIFT_LEFT, min(NEEDED_HORIZON, time_to_due))
        if left < MIN_SHIFT_LEFT:
            feasible = False
            if explain:
                say(
                    "shift_ending",
                    lambda: f"shift ends in {_fmt(left)}",
                    left=_fmt(left),
                    left_s=left.total_seconds(),
                )
        else:
            if left < needed:
                cost += W_SHORT_SHIFT * (needed - left) / needed
            if explain:
                say(
                    "on_shift",
                    lambda: f"on shift {_fmt(left)} more (link needs {_fmt(needed)})",
                    left=_fmt(left),
                    needed=_fmt(needed),
                    left_s=left.total_seconds(),
                    needed_s=needed.total_seconds(),
                )
    # Load.
    load = person.load + extra_load
    if load >= person.max_load:
        feasible = False
        say("full", lambda: f"holds {load} of {person.max_load}", load=load, max=person.max_load)
    else:
        cost += W_LOAD * load / person.max_load
        say("load", lambda: f"holds {load} of {person.max_load}", load=load, max=person.max_load)
    # Area.
    if need.area in AREAS and person.area in AREAS:
        steps = abs(AREAS.index(need.area) - AREAS.index(person.area))
        cost += W_AREA * steps
        if steps:
            say("other_area", lambda: f"based {person.area}, link {need.area}", area=person.area)
        else:
            say("same_area", lambda: f"same area ({person.area})", area=person.area)
    # Time left to due: the same for every person; it orders links, not people.
    if need.due_at is not None:
        hours = (need.due_at - now).total_seconds() / 3600
        cost += W_URGENCY * max(0.0, min(hours, 48.0))
    return Fit(person, cost if feasible else INFEASIBLE, feasible, reasons)


def rank(people: Iterable[Person], need: Need, now: datetime) -> list[Fit]:
    """Everyone scored for one link: the feasible first, cheapest first, then the rest."""
    fits = [fit(p, need, now) for p in people]
    return sorted(fits, key=lambda f: (not f.feasible, f.cost, f.person.username))


# --- reading the pool ---------------------------------------------------------------------------


def load_people(connection: Connection, usernames: Sequence[str] | None = None) -> list[Person]:
    """Every pool member (or those named) with skills, shifts, leave, roles and current load."""
    query = select(StaffProfile.__table__).order_by(StaffProfile.username)
    if usernames is not None:
        query = query.where(StaffProfile.username.in_(list(usernames)))
    profiles = connection.execute(query).all()
    if not profiles:
        return []
    ids = [p.id for p in profiles]
    names = [p.username for p in profiles]
    skills: dict[int, dict[str, int]] = {}
    for skill_row in connection.execute(
        select(StaffSkill.profile_id, StaffSkill.skill, StaffSkill.level).where(
            StaffSkill.profile_id.in_(ids)
        )
    ):
        skills.setdefault(skill_row.profile_id, {})[skill_row.skill] = skill_row.level
    shifts: dict[int, list[tuple[int, int, int]]] = {}
    for shift_row in connection.execute(
        select(
            StaffShift.profile_id, StaffShift.weekday, StaffShift.start_minute, StaffShift.minutes
        )
        .where(StaffShift.profile_id.in_(ids))
        .order_by(StaffShift.weekday, StaffShift.start_minute)
    ):
        shifts.setdefault(shift_row.profile_id, []).append(
            (shift_row.weekday, shift_row.start_minute, shift_row.minutes)
        )
    leave: dict[int, list[tuple[datetime, datetime]]] = {}
    for leave_row in connection.execute(
        select(StaffLeave.profile_id, StaffLeave.starts_at, StaffLeave.ends_at)
        .where(StaffLeave.profile_id.in_(ids))
        .order_by(StaffLeave.starts_at)
    ):
        leave.setdefault(leave_row.profile_id, []).append((leave_row.starts_at, leave_row.ends_at))
    users = {
        row.username: row
        for row in connection.execute(
            select(User.username, User.display_name, User.display_name_zh, User.roles).where(
                User.username.in_(names)
            )
        )
    }
    loads = current_loads(connection, names)
    people = []
    for p in profiles:
        user = users.get(p.username)
        people.append(
            Person(
                username=p.username,
                display_name=(user.display_name if user else "") or p.username,
                roles=frozenset(user.roles or ()) if user else frozenset(),
                department=p.department,
                area=p.area,
                max_load=p.max_load,
                skills=skills.get(p.id, {}),
                shifts=tuple(shifts.get(p.id, ())),
                leave=tuple(leave.get(p.id, ())),
                load=loads.get(p.username, 0),
                display_name_zh=(user.display_name_zh if user else "") or "",
            )
        )
    return people


def current_loads(connection: Connection, usernames: Sequence[str]) -> dict[str, int]:
    """Open links each person holds or was given, plus those they help on."""
    loads: dict[str, int] = {}
    for username, count in connection.execute(
        select(WorkItem.assignee, func.count())
        .where(WorkItem.state.in_(OPEN), WorkItem.assignee.in_(list(usernames)))
        .group_by(WorkItem.assignee)
    ):
        if username is not None:
            loads[username] = int(count)
    for helper, count in connection.execute(
        select(LinkHelper.username, func.count())
        .join(WorkItem, WorkItem.id == LinkHelper.work_item_id)
        .where(WorkItem.state.in_(OPEN), LinkHelper.username.in_(list(usernames)))
        .group_by(LinkHelper.username)
    ):
        loads[helper] = loads.get(helper, 0) + int(count)
    return loads


def qualification(
    connection: Connection,
    roles: RoleBook,
    username: str,
    role: str,
    skills: Sequence[tuple[str, int]],
) -> str:
    """Whether a person may do a link of `role` that needs `skills`, for hand-over and helpers:
    "role" (they hold the role, or are an admin), "skills" (the skill pool gives them every
    skill at its level), or why not: "unknown" (no enabled account), "read_only" (they hold no
    work: auditors, designers, integration accounts), "unqualified"."""
    user = connection.execute(
        select(User.roles, User.active).where(User.username == username)
    ).first()
    if user is None or not user.active:
        return "unknown"
    held = frozenset(user.roles or ())
    if not roles.holds_work(held):
        return "read_only"
    if role in held or "admin" in held:
        return "role"
    if skills:
        levels = dict(
            connection.execute(
                select(StaffSkill.skill, StaffSkill.level)
                .join(StaffProfile, StaffProfile.id == StaffSkill.profile_id)
                .where(StaffProfile.username == username)
            ).all()
        )
        if all(levels.get(skill, 0) >= level for skill, level in skills):
            return "skills"
    return "unqualified"


def person(rt: Runtime, username: str) -> Person | None:
    with rt.db.snapshot() as connection:
        found = load_people(connection, [username])
    return found[0] if found else None


def people(rt: Runtime) -> list[Person]:
    with rt.db.snapshot() as connection:
        return load_people(connection)


def available_for_desk(connection: Connection, username: str, now: datetime) -> bool:
    """Whether a demand's owner takes a new front-end link now: on shift, not on leave, under
    their maximum load. No pool profile: not known to be working, so the team queue.

    The owner's profile row is locked first (PostgreSQL; SQLite writers are serialised), so two
    demands taken in at once cannot both count the owner's load before either link is written."""
    connection.execute(
        select(StaffProfile.id).where(StaffProfile.username == username).with_for_update()
    )
    found = load_people(connection, [username])
    if not found:
        return False
    owner = found[0]
    left = owner.shift_left(now)
    return left is not None and left >= MIN_SHIFT_LEFT and owner.load < owner.max_load


@dataclass(frozen=True)
class EquipmentRow:
    id: int
    code: str
    type: str
    area: str
    available: bool
    held_by: int | None  # the open work item it is out with


def equipment(connection: Connection) -> list[EquipmentRow]:
    """All equipment; `held_by` only while its work item is still open."""
    rows = connection.execute(
        select(Equipment.__table__, WorkItem.state)
        .outerjoin(WorkItem, WorkItem.id == Equipment.work_item_id)
        .order_by(Equipment.type, Equipment.code)
    ).all()
    return [
        EquipmentRow(
            r.id,
            r.code,
            r.type,
            r.area,
            r.available,
            r.work_item_id if r.work_item_id is not None and r.state in OPEN else None,
        )
        for r in rows
    ]


# --- keeping the pool ---------------------------------------------------------------------------

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _profile(session: Any, username: str) -> StaffProfile:  # noqa: ANN401 - an ORM session
    profile = session.scalar(select(StaffProfile).where(StaffProfile.username == username))
    if profile is None:
        raise NotFoundError(gettext("%(who)s has no pool profile"), who=repr(username))
    return profile


def save_profile(
    rt: Runtime,
    username: str,
    *,
    department: str,
    area: str,
    max_load: int,
    skills: str | None = None,
) -> None:
    """Create or change a person's profile (and, with `skills`, replace their skills)."""
    username = username.strip()
    if not username:
        raise PoolError(gettext("user name is required"))
    known_departments = {r.department.id for r in rt.roles.roles.values()}
    if department not in known_departments:
        raise PoolError(
            gettext("department %(department)s is unknown; known: %(known)s"),
            department=repr(department),
            known=", ".join(sorted(known_departments)),
        )
    if area not in AREAS:
        raise PoolError(
            gettext("area %(area)s is not one of: %(areas)s"),
            area=repr(area),
            areas=", ".join(AREAS),
        )
    if not isinstance(max_load, int) or not 1 <= max_load <= MAX_LOAD:
        raise PoolError(
            gettext("maximum load must be a whole number from 1 to %(max)s"), max=MAX_LOAD
        )
    parsed = None
    if skills is not None:
        try:
            parsed = parse_skills(skills)
        except SkillListError as exc:
            raise PoolError(exc.template, **exc.params) from exc
    with rt.db.write() as session:
        profile = session.scalar(select(StaffProfile).where(StaffProfile.username == username))
        if profile is None:
            profile = StaffProfile(username=username)
            session.add(profile)
        profile.department, profile.area, profile.max_load = department, area, max_load
        if parsed is not None:
            session.flush()
            session.execute(delete(StaffSkill).where(StaffSkill.profile_id == profile.id))
            session.add_all(
                StaffSkill(profile_id=profile.id, skill=s, level=level) for s, level in parsed
            )


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


def save_equipment(rt: Runtime, code: str, kind: str, area: str, *, available: bool = True) -> None:
    """Create or change a piece of equipment (a vehicle, a test instrument, meter stock)."""
    code = code.strip()
    if not code or len(code) > 40:
        raise PoolError(gettext("equipment code is required (at most 40 characters)"))
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind):
        raise PoolError(
            gettext("equipment type %(type)s must be a lower-case name such as vehicle"),
            type=repr(kind),
        )
    if area not in AREAS:
        raise PoolError(
            gettext("area %(area)s is not one of: %(areas)s"),
            area=repr(area),
            areas=", ".join(AREAS),
        )
    with rt.db.write() as session:
        row = session.scalar(select(Equipment).where(Equipment.code == code))
        if row is None:
            row = Equipment(code=code)
            session.add(row)
        row.type, row.area, row.available = kind, area, available


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


def candidates(rt: Runtime, item: WorkItem) -> list[Fit]:
    """ "Find help" for a link: everyone in the pool but its holder, ranked for it."""
    link = rt.definition(item.definition_id).links.get(item.element_id)
    with rt.db.snapshot() as connection:
        variables = (
            connection.scalar(select(Instance.variables).where(Instance.id == item.instance_id))
            or {}
        )
        members = [p for p in load_people(connection) if p.username != item.assignee]
    return rank(members, Need.of(link, item.role, variables, item.due_at), rt.clock.now())
