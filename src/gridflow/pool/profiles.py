"""Keeping a person's profile: department, area, maximum load and skills."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from gridflow.definitions import SkillListError, parse_skills
from gridflow.errors import NotFoundError
from gridflow.models import StaffProfile, StaffSkill
from gridflow.pool.members import AREAS, PoolError
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

MAX_LOAD = 20


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
