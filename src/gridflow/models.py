"""The store's tables: definitions, demands, instances, work items, waits and task events.

Times are stored as UTC with millisecond precision and come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, milliseconds kept, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: gridflow stores UTC only")
        value = value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def to_ms(moment: datetime) -> datetime:
    """A moment as storage keeps it (milliseconds), so in-memory values equal stored ones."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# BIGINT on PostgreSQL, INTEGER on SQLite (which only autoincrements INTEGER PRIMARY KEY).
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Definition(Base):
    """One deployed version of one process."""

    __tablename__ = "definitions"
    __table_args__ = (
        UniqueConstraint("process_id", "version", name="uq_definition_version"),
        # Not unique: an older version's content deployed again is a newer version (rollback).
        Index("ix_definitions_process_content", "process_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(50))
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(200))


class Demand(Base):
    """What a customer asked for, entered once from any channel."""

    __tablename__ = "demands"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_category: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    priority: Mapped[int] = mapped_column(
        Integer, default=1, server_default="1"
    )  # 0 low, 1 normal, 2 high, 3 urgent
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    # The client's key for this request: the same key again returns this demand, not a copy.
    request_key: Mapped[str | None] = mapped_column(String(100))
    # Its account manager (issue 6): its front-end links go to this person's "My work" first.
    owner: Mapped[str | None] = mapped_column(String(100), index=True)
    # The customer account that applied online (issue 13): the only customer who sees it.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    instances: Mapped[list[Instance]] = relationship(back_populates="demand")

    __table_args__ = (UniqueConstraint("created_by", "request_key", name="uq_demand_request_key"),)


class Instance(Base):
    """One run of one process version for one demand; `document` is the saved workflow."""

    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_status", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))  # running | completed | cancelled
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    document: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lock_version: Mapped[int] = mapped_column(Integer)
    # A called process's instance (issue 10): the caller and its call activity's task.
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    parent_task_id: Mapped[str | None] = mapped_column(String(36))

    definition: Mapped[Definition] = relationship()
    demand: Mapped[Demand | None] = relationship(back_populates="instances")

    __mapper_args__ = {"version_id_col": lock_version}


class WorkItem(Base):
    """One execution of one link: waiting for someone, held by someone, or finished."""

    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_queue", "state", "role"),
        Index("ix_work_items_link", "definition_id", "element_id"),
        Index("ix_work_items_assignee", "assignee", "state"),
        Index("ix_work_items_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(200))
    link_name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    customer_facing: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20))  # ready | claimed | completed | cancelled
    assignee: Mapped[str | None] = mapped_column(String(200))
    ready_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime]
    standard_target: Mapped[str] = mapped_column(String(40))
    standard_basis: Mapped[str] = mapped_column(String(20))
    form_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Filled once the link completes, so reports read one row per execution.
    waiting_s: Mapped[float | None] = mapped_column(Float)
    handling_s: Mapped[float | None] = mapped_column(Float)
    waiting_working_s: Mapped[float | None] = mapped_column(Float)
    handling_working_s: Mapped[float | None] = mapped_column(Float)
    # waiting + handling, kept so audit percentiles read one indexed column (issue 4)
    total_s: Mapped[float | None] = mapped_column(Float)
    total_working_s: Mapped[float | None] = mapped_column(Float)
    within_standard: Mapped[bool | None] = mapped_column(Boolean)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    lock_version: Mapped[int] = mapped_column(Integer)

    instance: Mapped[Instance] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class Wait(Base):
    """A timer, message or signal an instance waits for; timers carry their due time."""

    __tablename__ = "waits"
    __table_args__ = (
        Index("ix_waits_due", "kind", "due_at"),
        Index("ix_waits_name", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime | None]
    attached_task_id: Mapped[str | None] = mapped_column(String(36))


class TaskEvent(Base):
    """Append-only audit trail: one row per lifecycle change of a link.

    On PostgreSQL the table is partitioned by month of `at` (see `gridflow.partitions`), with
    the primary key (id, at); ids still come from one sequence, so `id` alone is unique."""

    __tablename__ = "task_events"
    __table_args__ = (
        Index("ix_task_events_instance", "instance_id", "id"),
        Index("ix_task_events_lifecycle", "lifecycle"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # A link's events name its work item; a system step's (issue 10) its system task.
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"), index=True)
    system_task_id: Mapped[int | None] = mapped_column(ForeignKey("system_tasks.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    element_id: Mapped[str] = mapped_column(String(200))
    link_name: Mapped[str] = mapped_column(String(500))
    lifecycle: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    work_item: Mapped[WorkItem | None] = relationship()


class SystemTask(Base):
    """A step a process hands to the world outside it (issue 10): an external task that a
    worker of another system fetches, locks and completes, or a call activity waiting for the
    child instance of the process it calls."""

    __tablename__ = "system_tasks"
    __table_args__ = (
        Index("ix_system_tasks_fetch", "kind", "state", "topic", "priority"),
        Index("ix_system_tasks_lock", "state", "lock_expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(200))
    step_name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # external | call
    # external: ready | locked | incident | completed | error (a BPMN error) | cancelled
    # call: running | completed | cancelled
    state: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(200))  # as the worker names itself
    locked_by: Mapped[str | None] = mapped_column(String(100))  # the worker's account
    lock_expires_at: Mapped[datetime | None]
    retries: Mapped[int | None] = mapped_column(Integer)  # None until the first failure
    retry_at: Mapped[datetime | None]  # not fetched again before this moment
    error_message: Mapped[str | None] = mapped_column(String(500))
    error_details: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times locked
    created_at: Mapped[datetime]
    first_locked_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # its data when reached
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what it completed with
    child_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    # created → first locked, first locked → completed, in seconds (set when it completes)
    waiting_s: Mapped[float | None] = mapped_column(Float)
    handling_s: Mapped[float | None] = mapped_column(Float)
    lock_version: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    """Something a person must look at (issue 10): an external task whose retries ran out, or
    an instance the engine could not move (an error at an element). Open until resolved."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    system_task_id: Mapped[int | None] = mapped_column(ForeignKey("system_tasks.id"), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # failed_external_task | engine_error
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))  # open | resolved
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(String(40))  # retried | cancelled


class User(Base):
    """A member of staff who signs in; roles are role ids from processes/roles.yaml."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("phone", name="uq_users_phone"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # The name in Simplified Chinese (empty: the display name above serves every language).
    display_name_zh: Mapped[str] = mapped_column(String(200), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What an integration account may do beyond its role: "event:<type>", "topic:<topic>".
    grants: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Customer accounts (role `customer`, issue 13) sign in with their phone and a one-time
    # code; their e-mail address, if given, receives codes and notifications.
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored. It works until it expires
    or is revoked (or its user is disabled)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class StaffSession(Base):
    """A signed-in browser: the cookie carries the session id, the database only its SHA-256.
    Logout, `gridflow user disable` and the idle and absolute lifetimes end it here, so a
    copied cookie stops working on every app process at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # logout | disabled
    address: Mapped[str] = mapped_column(String(64), default="")


class SignInAttempt(Base):
    """One sign-in, on the page or for an API token: who (as typed), from where, and how it
    went. Failures since the last success drive the throttle; admins read them."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username", "username", "at"),
        Index("ix_sign_in_attempts_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))  # page | api
    outcome: Mapped[str] = mapped_column(String(20))  # signed_in | failed | throttled


class Comment(Base):
    """A note on a link, visible on the demand's timeline to every department."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    # Written for the customer too (issue 13): shown on their timeline, e.g. why a link is late.
    for_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Consultation(Base):
    """Forward support: a front-end link asks a back-end role for advice; the link stays put."""

    __tablename__ = "consultations"
    __table_args__ = (Index("ix_consultations_open", "state", "role"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    role: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(100))
    asked_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | answered
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None]


# --- designers: deploy records, instance migrations (issue 5) ----------------------------------


class DeployRecord(Base):
    """Who deployed what and when: one row per deploy request that named a version (a new
    one, or an existing one for unchanged content)."""

    __tablename__ = "deploy_records"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    created: Mapped[bool] = mapped_column(Boolean)  # False: the same content is the newest
    channel: Mapped[str] = mapped_column(String(20))  # cli | upload | modeler | api
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    # A rollback: the new version repeats this older version's content.
    restores_version: Mapped[int | None] = mapped_column(Integer)


class InstanceMigration(Base):
    """One running instance moved from one version of its process to another."""

    __tablename__ = "instance_migrations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


# --- skill pool, dispatch and linkage rules (issue 6) --------------------------------------------


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


# --- audit (issue 4) -----------------------------------------------------------------------------

# Covering indexes for the per-link figures: each link's completed executions in the order of
# one measure, so a percentile is one index probe (LIMIT 2 OFFSET ⌊(n-1)p⌋) instead of a sort.
AUDIT_MEASURE_COLUMNS = (
    "waiting_s",
    "handling_s",
    "total_s",
    "waiting_working_s",
    "handling_working_s",
    "total_working_s",
)
for _column in AUDIT_MEASURE_COLUMNS:
    Index(
        f"ix_work_items_fig_{_column.removesuffix('_s')}",
        WorkItem.state,
        WorkItem.definition_id,
        WorkItem.element_id,
        getattr(WorkItem, _column),
    )
# Count, share within standard, mean and max of every measure, rework: one scan of this one.
Index(
    "ix_work_items_fig_summary",
    WorkItem.state,
    WorkItem.definition_id,
    WorkItem.element_id,
    WorkItem.instance_id,
    WorkItem.within_standard,
    *(getattr(WorkItem, _column) for _column in AUDIT_MEASURE_COLUMNS),
)
Index("ix_work_items_fig_breaches", WorkItem.within_standard, WorkItem.ended_at)
Index(
    "ix_work_items_fig_people",
    WorkItem.state,
    WorkItem.department,
    WorkItem.completed_by,
    WorkItem.within_standard,
)


class AuditInstance(Base):
    """A finished instance's end-to-end figures, recorded once (by `audit.refresh_instances`)
    so whole-process reports aggregate one row per instance in SQL; the working time needs the
    calendar, which SQL does not have."""

    __tablename__ = "audit_instances"
    __table_args__ = (Index("ix_audit_instances_definition", "definition_id", "ended_at"),)

    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("instances.id"), primary_key=True, autoincrement=False
    )
    definition_id: Mapped[int] = mapped_column(Id, ForeignKey("definitions.id"))
    customer_category: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    ended_week: Mapped[str] = mapped_column(String(10))  # local date of that week's Monday
    ended_month: Mapped[str] = mapped_column(String(7))  # local YYYY-MM
    calendar_s: Mapped[float] = mapped_column(Float)
    working_s: Mapped[float] = mapped_column(Float)
    links: Mapped[int] = mapped_column(Integer)  # links completed
    procedures: Mapped[int] = mapped_column(Integer)  # customer-facing links completed ("trips")
    cap_target: Mapped[str | None] = mapped_column(String(40))
    cap_basis: Mapped[str | None] = mapped_column(String(20))
    within_cap: Mapped[bool | None] = mapped_column(Boolean)


LIFECYCLES = (
    "ready",
    "claimed",
    "released",
    "completed",
    "cancelled",
    "escalated",
    "help_requested",
    "assigned",  # given to a person by the desk-owner rule or a dispatch round (XES: assign)
    "handed_over",  # passed from its holder to another person (XES: reassign)
    "migrated",  # its instance moved to another version of the process
    "arrived",  # the crew of a field link is on site (gridflow.field_work)
    "restored",  # the crew of a repair has restored supply
    # system steps (issue 10)
    "locked",  # an external task fetched and locked by a worker (XES: start)
    "unlocked",  # its lock given back or expired (XES: suspend)
    "failed",  # a worker reported a failure; retries count down (XES: pi_abort once they end)
    "error",  # a worker threw a BPMN error; the boundary path took over (XES: ate_abort)
    "incident",  # retries ran out: a person must look
    "retried",  # a person gave it retries again
)


# --- DMN decisions (issue 10) -------------------------------------------------------------------


class DecisionDefinition(Base):
    """One deployed version of one DMN decision (a table of a .dmn file; the whole file is kept,
    so a version can be downloaded and opened in Camunda Modeler or dmn-js as it was)."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("decision_id", "version", name="uq_decision_version"),
        UniqueConstraint("decision_id", "content_hash", name="uq_decision_content"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    dmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(200))


class DecisionDeployRecord(Base):
    """Who deployed a decision and when: one row per deploy request (new version or unchanged)."""

    __tablename__ = "decision_deploy_records"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    decision_row_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    decision_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    created: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(20))  # cli | upload | modeler | api
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class DecisionBinding(Base):
    """The decision version that was newest when a process version was deployed, per
    business-rule task: what `camunda:decisionRefBinding="deployment"` runs."""

    __tablename__ = "decision_bindings"
    __table_args__ = (UniqueConstraint("definition_id", "element_id", name="uq_decision_binding"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    decision_id: Mapped[str] = mapped_column(String(200))
    decision_row_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))


class SignInCode(Base):
    """A one-time code a customer asked for: only its keyed hash is kept. It works once, until
    it expires, and for a few wrong tries."""

    __tablename__ = "sign_in_codes"
    __table_args__ = (Index("ix_sign_in_codes_phone", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    phone: Mapped[str] = mapped_column(String(40))
    code_hash: Mapped[str] = mapped_column(String(64))
    # The e-mail address a new customer gave with the request (kept when the code is used).
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]


class Notification(Base):
    """One message in the outbox: written in the transaction of the verb it tells about, sent
    later by a delivery round (claimed with a lease, retried with a growing pause)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key", "channel", "recipient", name="uq_outbox_once"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    # The same key (and recipient) twice is one message: an event retried tells once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # pending | sending | sent | failed | held
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class Document(Base):
    """A file a customer uploaded with an application, kept under a name the server chose."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # id_card | property | load_list | photo
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    # Shown to staff only; never used as a path.
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


# --- workers (issue 14) --------------------------------------------------------------------------


class WorkerHeartbeat(Base):
    """A `gridflow worker` process: when it started, when it last finished a round, how many
    rounds it ran and in what state it is. Another worker or an operator tells a dead worker
    (no beat for several rounds) from a slow one by `beat_at`."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(20))  # running | stopping | stopped
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    interval_s: Mapped[float] = mapped_column(Float)
    last_round_s: Mapped[float | None] = mapped_column(Float)


class TimerLease(Base):
    """A worker's claim on the due timers of one instance until `leased_until`: other workers
    leave the instance alone until then, so a batch claimed by a worker that dies is fired by
    another once the lease runs out."""

    __tablename__ = "timer_leases"

    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("instances.id"), primary_key=True, autoincrement=False
    )
    worker_id: Mapped[str] = mapped_column(String(200))
    leased_until: Mapped[datetime] = mapped_column(index=True)


# --- customer channel engines: predictions, appointments, ratings, packages (issue 13) ----------


class PredictionInstance(Base):
    """A finished demand process (a root instance, with the processes it called) as the
    predictor learns from it: recorded once by `predictions.refresh`."""

    __tablename__ = "prediction_instances"
    __table_args__ = (Index("ix_prediction_instances_process", "process_id", "ended_at"),)

    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("instances.id"), primary_key=True, autoincrement=False
    )
    process_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    customer_category: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    # Times below are on the process's basis: working time, or calendar time for the processes
    # whose standard counts calendar time (repairs run round the clock).
    basis: Mapped[str] = mapped_column(String(20))
    duration_s: Mapped[float] = mapped_column(Float)  # start → end


class PredictionSample(Base):
    """One completed link of a finished demand process: how long the link took and how long
    the whole process still ran from the moment the link became ready (seconds on the
    process's basis, as in `PredictionInstance`)."""

    __tablename__ = "prediction_samples"
    __table_args__ = (
        Index(
            "ix_prediction_samples_link",
            "process_id",
            "link_process_id",
            "element_id",
            "ended_at",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("prediction_instances.instance_id"), index=True
    )
    process_id: Mapped[str] = mapped_column(String(200))  # the root instance's process
    version: Mapped[int] = mapped_column(Integer)
    link_process_id: Mapped[str] = mapped_column(String(200))  # the link's own (called) process
    element_id: Mapped[str] = mapped_column(String(200))
    customer_category: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(20))
    ended_at: Mapped[datetime]  # when the root instance ended (what a cut-off filters on)
    link_s: Mapped[float] = mapped_column(Float)
    remaining_s: Mapped[float] = mapped_column(Float)


class Appointment(Base):
    """A site visit booked for a link: one qualified person, one slot. `state` is booked,
    kept, missed or cancelled; a missed one names who missed it (customer or staff)."""

    __tablename__ = "appointments"
    __table_args__ = (
        # One booked slot per person and start, one booked appointment per link: the second
        # booking of a slot is refused by the database itself, whoever races.
        Index(
            "uq_appointments_person_slot",
            "username",
            "starts_at",
            unique=True,
            sqlite_where=text("state = 'booked'"),
            postgresql_where=text("state = 'booked'"),
        ),
        Index(
            "uq_appointments_link",
            "work_item_id",
            unique=True,
            sqlite_where=text("state = 'booked'"),
            postgresql_where=text("state = 'booked'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # survey | installation | repair
    username: Mapped[str] = mapped_column(String(100), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    booked_by: Mapped[str] = mapped_column(String(100))
    booked_at: Mapped[datetime]
    missed_by: Mapped[str | None] = mapped_column(String(20))  # customer | staff
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime | None]


class Rating(Base):
    """The customer's rating of a finished demand: stars 1-5 and a comment (each site visit's
    punctuality in `rating_visits`)."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), unique=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by: Mapped[str] = mapped_column(String(100))
    rated_at: Mapped[datetime]
    rated_month: Mapped[str] = mapped_column(String(7), index=True)  # local YYYY-MM


class RatingVisit(Base):
    """Whether one site visit (a link of the rated demand) was on time, as the customer says."""

    __tablename__ = "rating_visits"
    __table_args__ = (UniqueConstraint("rating_id", "work_item_id", name="uq_rating_visit"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"), index=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    on_time: Mapped[bool] = mapped_column(Boolean)


class PackageOffer(Base):
    """A package offered to a demand's customer by a rule, and the answer (state offered,
    accepted or declined); an accepted package's processes run in the same demand."""

    __tablename__ = "package_offers"
    __table_args__ = (UniqueConstraint("demand_id", "package_id", name="uq_package_offer"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    package_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    offered_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None]
    instance_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)


# --- audit roll-ups (issue 14): completed links folded in up to a watermark ----------------------


class AuditRollupState(Base):
    """One row: the roll-ups hold every link completed before `watermark` (ended_at)."""

    __tablename__ = "audit_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    watermark: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]


class AuditLinkRollup(Base):
    """Per process version and link: executions, within standard, breaches, instances in
    which it completed, and of those the instances in which it completed more than once."""

    __tablename__ = "audit_link_rollups"

    definition_id: Mapped[int] = mapped_column(
        Id, ForeignKey("definitions.id"), primary_key=True, autoincrement=False
    )
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    executions: Mapped[int] = mapped_column(BigInteger)
    within: Mapped[int] = mapped_column(BigInteger)
    breaches: Mapped[int] = mapped_column(BigInteger)
    instances: Mapped[int] = mapped_column(BigInteger)
    repeated: Mapped[int] = mapped_column(BigInteger)


class AuditLinkHistogram(Base):
    """Per link and measure, its values in fine buckets (see `link_rollups.INNER`): the
    bucket numbers, counts, sums, smallest and largest values as packed arrays
    (`link_rollups.Histogram`), one row read per link and measure."""

    __tablename__ = "audit_link_histograms"

    definition_id: Mapped[int] = mapped_column(
        Id, ForeignKey("definitions.id"), primary_key=True, autoincrement=False
    )
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    buckets: Mapped[bytes] = mapped_column(LargeBinary)


class AuditPersonRollup(Base):
    """Per department and person who completed (empty for none): executions, breaches."""

    __tablename__ = "audit_person_rollups"

    department: Mapped[str] = mapped_column(String(100), primary_key=True)
    person: Mapped[str] = mapped_column(String(200), primary_key=True)
    executions: Mapped[int] = mapped_column(BigInteger)
    breaches: Mapped[int] = mapped_column(BigInteger)
