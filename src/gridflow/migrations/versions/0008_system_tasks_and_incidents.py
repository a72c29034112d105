"""system steps: external tasks and call activities, incidents, child instances

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_instance_id", Id, nullable=True))
        batch_op.add_column(sa.Column("parent_task_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_instances_parent_instance_id", ["parent_instance_id"])
        batch_op.create_foreign_key(
            "fk_instances_parent_instance_id", "instances", ["parent_instance_id"], ["id"]
        )
    op.create_table(
        "system_tasks",
        sa.Column("id", Id, nullable=False),
        sa.Column("instance_id", Id, nullable=False),
        sa.Column("definition_id", Id, nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("step_name", sa.String(length=500), nullable=False),
        sa.Column("lane", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("retry_at", sa.DateTime(), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("first_locked_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=True),
        sa.Column("child_instance_id", Id, nullable=True),
        sa.Column("waiting_s", sa.Float(), nullable=True),
        sa.Column("handling_s", sa.Float(), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["child_instance_id"], ["instances.id"]),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id"),
    )
    with op.batch_alter_table("system_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_system_tasks_instance_id", ["instance_id"])
        batch_op.create_index("ix_system_tasks_fetch", ["kind", "state", "topic", "priority"])
        batch_op.create_index("ix_system_tasks_lock", ["state", "lock_expires_at"])
    op.create_table(
        "incidents",
        sa.Column("id", Id, nullable=False),
        sa.Column("instance_id", Id, nullable=False),
        sa.Column("system_task_id", Id, nullable=True),
        sa.Column("element_id", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.ForeignKeyConstraint(["system_task_id"], ["system_tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_instance_id", ["instance_id"])
        batch_op.create_index("ix_incidents_system_task_id", ["system_task_id"])
        batch_op.create_index("ix_incidents_open", ["state", "created_at"])
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.alter_column("work_item_id", existing_type=Id, nullable=True)
        batch_op.add_column(sa.Column("system_task_id", Id, nullable=True))
        batch_op.create_index("ix_task_events_system_task_id", ["system_task_id"])
        batch_op.create_foreign_key(
            "fk_task_events_system_task_id", "system_tasks", ["system_task_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_task_events_system_task_id", type_="foreignkey")
        batch_op.drop_index("ix_task_events_system_task_id")
        batch_op.drop_column("system_task_id")
        batch_op.alter_column("work_item_id", existing_type=Id, nullable=False)
    op.drop_table("incidents")
    op.drop_table("system_tasks")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_constraint("fk_instances_parent_instance_id", type_="foreignkey")
        batch_op.drop_index("ix_instances_parent_instance_id")
        batch_op.drop_column("parent_task_id")
        batch_op.drop_column("parent_instance_id")
