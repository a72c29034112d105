"""The skill pool, dispatch and linkage rules (issue 6): staff profiles with skills, shifts and
leave, equipment, helpers on links, dispatch rounds with their assignments, and linkage
events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridflow.models.base import Base, Id


class StaffProfile(Base):
    """A member of staff in the skill pool: where they work and how much they may hold at once."""

    __tablename__ = "staff_profiles"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    department: Mapped[str] = mapped_column(String(100))
    area: Mapped[str] = mapped_column(String(20))  # urban | rural | remote
    max_load: Mapped[int] = mapped_column(Integer, default=3)

    skills: Mapped[list[StaffSkill]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="StaffSkill.skill"
    )
    shifts: Mapped[list[StaffShift]] = relationship(
        back_populates="profile",
        cascade="all, delete-orphan",
        order_by="(StaffShift.weekday, StaffShift.start_minute)",
    )
    leave: Mapped[list[StaffLeave]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="StaffLeave.starts_at"
    )


class StaffSkill(Base):
    """One skill of one person at a level from 1 (can do it) to 5 (teaches it)."""

    __tablename__ = "staff_skills"
    __table_args__ = (UniqueConstraint("profile_id", "skill", name="uq_staff_skill"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("staff_profiles.id"), index=True)
    skill: Mapped[str] = mapped_column(String(50))
    level: Mapped[int] = mapped_column(Integer)

    profile: Mapped[StaffProfile] = relationship(back_populates="skills")


class StaffShift(Base):
    """A weekly working window in UTC: weekday (0 = Monday), start minute, length in minutes."""

    __tablename__ = "staff_shifts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("staff_profiles.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)

    profile: Mapped[StaffProfile] = relationship(back_populates="shifts")


class StaffLeave(Base):
    """An absence (leave, training, sick): no work is routed to the person in this window."""

    __tablename__ = "staff_leave"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("staff_profiles.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")

    profile: Mapped[StaffProfile] = relationship(back_populates="leave")


class Equipment(Base):
    """A vehicle, test instrument or meter stock item; held by one open work item at a time."""

    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    area: Mapped[str] = mapped_column(String(20))
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # The work item it went out with; free again once that item is no longer open.
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))


class LinkHelper(Base):
    """A person added to help on a link (the holder keeps it); counts towards their load."""

    __tablename__ = "link_helpers"
    __table_args__ = (UniqueConstraint("work_item_id", "username", name="uq_link_helper"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    added_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class DispatchRound(Base):
    """One dispatch round: the work and people it considered and what it assigned."""

    __tablename__ = "dispatch_rounds"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    at: Mapped[datetime]
    items_considered: Mapped[int] = mapped_column(Integer)
    people_considered: Mapped[int] = mapped_column(Integer)
    assigned: Mapped[int] = mapped_column(Integer)
    unassigned: Mapped[dict[str, Any]] = mapped_column(default=dict)  # work item id → why not

    assignments: Mapped[list[DispatchAssignment]] = relationship(
        back_populates="round", order_by="DispatchAssignment.id"
    )


class DispatchAssignment(Base):
    """One line of a round's plan: a work item, the person (and equipment) and the reasons."""

    __tablename__ = "dispatch_assignments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("dispatch_rounds.id"), index=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    equipment_code: Mapped[str | None] = mapped_column(String(40))
    cost: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)

    round: Mapped[DispatchRound] = relationship(back_populates="assignments")


class LinkageEvent(Base):
    """An event from grid monitoring, metering, the call centre or the engine itself, kept
    under its key so the same event twice acts once; `outcome` is the answer given."""

    __tablename__ = "linkage_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # For internal events: the task event (a breached standard) it came from.
    # No foreign key: on PostgreSQL task_events is partitioned by month (migration 0016) and its
    # ids are unique only with their month, which a foreign key cannot name.
    task_event_id: Mapped[int | None] = mapped_column(Id, unique=True)
    # While a request finishes the event (deliveries, dispatch), others with the same key wait
    # for its answer until then; past it (the request died), a retry finishes the event.
    taken_until: Mapped[datetime | None]
