"""Fitting people to a link: what a link needs (`Need`), how well one person suits it (`fit`:
a cost, lower is better, with the reasons in words) and everyone ranked for it (`rank`); the
dispatcher builds its cost matrix from `fit`, so a supervisor reads the same reasons in both
places."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gridflow.definitions import Link
from gridflow.pool.members import AREAS, Person

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


@dataclass(frozen=True)
class Reason:
    """One reason for a rank, as a code the pages translate and English text for the API."""

    code: str
    params: Mapping[str, object]
    text: str

    def as_json(self) -> dict[str, object]:
        return {**dict(self.params), "code": self.code, "text": self.text}


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
