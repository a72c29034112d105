"""The tables the verbs write and their Core statements, built once: SQLAlchemy then finds
each compiled form by a memoized key instead of building and hashing a new statement per call."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam

from gridflow.database import DEFER_ROWCOUNT
from gridflow.models import (
    Definition,
    Incident,
    Instance,
    TaskEvent,
    User,
    Wait,
    WorkItem,
)

OPEN = ("ready", "claimed")

DEFINITIONS = cast(Table, Definition.__table__)
INSTANCES = cast(Table, Instance.__table__)
WORK_ITEMS = cast(Table, WorkItem.__table__)
TASK_EVENTS = cast(Table, TaskEvent.__table__)
WAITS = cast(Table, Wait.__table__)
USERS = cast(Table, User.__table__)
INCIDENTS = cast(Table, Incident.__table__)

# What a task event copies from its work item.
EVENT_SOURCE = (
    WORK_ITEMS.c.id,
    WORK_ITEMS.c.instance_id,
    WORK_ITEMS.c.definition_id,
    WORK_ITEMS.c.element_id,
    WORK_ITEMS.c.link_name,
    WORK_ITEMS.c.lane,
    WORK_ITEMS.c.role,
    WORK_ITEMS.c.department,
)
_WAIT_FIELDS = ("kind", "name", "task_id", "element_id", "due_at", "attached_task_id")

# Statements are built once: SQLAlchemy then finds each compiled form by a memoized key instead
# of building and hashing a new statement on every call. UPDATEs set the columns named by the
# parameters given; the WHERE parameters are prefixed so they never clash with a column.
INSERT_INSTANCE = INSTANCES.insert()
INSERT_ITEM = WORK_ITEMS.insert()
# Inline: no RETURNING of the new id, so a single row need not be waited for (see database).
INSERT_EVENTS = TASK_EVENTS.insert().inline()
INSERT_WAITS = WAITS.insert().inline()
# Their row counts are checked with `expect_rows`: on PostgreSQL they need no round trip of
# their own (see database).
UPDATE_ITEM = (
    WORK_ITEMS.update()
    .where(
        WORK_ITEMS.c.id == bindparam("where_id"),
        WORK_ITEMS.c.lock_version == bindparam("where_version"),
    )
    .execution_options(**DEFER_ROWCOUNT)
)
UPDATE_INSTANCE = (
    INSTANCES.update()
    .where(
        INSTANCES.c.id == bindparam("where_id"),
        INSTANCES.c.lock_version == bindparam("where_version"),
    )
    .execution_options(**DEFER_ROWCOUNT)
)
DELETE_WAITS = WAITS.delete().where(WAITS.c.instance_id == bindparam("instance_id"))
