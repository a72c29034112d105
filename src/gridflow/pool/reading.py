"""Reading the pool: every member with skills, shifts, leave, roles and current load
(`load_people`, `person`, `people`), the open links each holds, whether someone may do a link
(`qualification`), whether a demand's owner takes a front-end link now, and "find help"
(`candidates`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select

from gridflow.models import (
    Instance,
    LinkHelper,
    StaffLeave,
    StaffProfile,
    StaffShift,
    StaffSkill,
    User,
    WorkItem,
)
from gridflow.pool.members import Person
from gridflow.pool.ranking import MIN_SHIFT_LEFT, Fit, Need, rank
from gridflow.roles import RoleBook
from gridflow.runtime import Runtime

OPEN = ("ready", "claimed")


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
