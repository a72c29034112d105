"""skill pool, dispatch and linkage rules

Staff profiles with skills, weekly shifts and leave; equipment; helpers on a link; dispatch
rounds and their plans; linkage events (kept under their key); a demand's owner.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_rounds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("items_considered", sa.Integer(), nullable=False),
        sa.Column("people_considered", sa.Integer(), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("unassigned", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "staff_profiles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("max_load", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "staff_leave",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["staff_profiles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_staff_leave_profile_id"), "staff_leave", ["profile_id"], unique=False)
    op.create_table(
        "staff_shifts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["staff_profiles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_staff_shifts_profile_id"), "staff_shifts", ["profile_id"], unique=False
    )
    op.create_table(
        "staff_skills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("skill", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["staff_profiles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("profile_id", "skill", name="uq_staff_skill"),
    )
    op.create_index(
        op.f("ix_staff_skills_profile_id"), "staff_skills", ["profile_id"], unique=False
    )
    op.create_table(
        "dispatch_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("round_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "work_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("equipment_code", sa.String(length=40), nullable=True),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["dispatch_rounds.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_dispatch_assignments_round_id"), "dispatch_assignments", ["round_id"], unique=False
    )
    op.create_index(
        op.f("ix_dispatch_assignments_work_item_id"),
        "dispatch_assignments",
        ["work_item_id"],
        unique=False,
    )
    op.create_table(
        "equipment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column(
            "work_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_equipment_type"), "equipment", ["type"], unique=False)
    op.create_table(
        "link_helpers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "work_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("work_item_id", "username", name="uq_link_helper"),
    )
    op.create_index(op.f("ix_link_helpers_username"), "link_helpers", ["username"], unique=False)
    op.create_index(
        op.f("ix_link_helpers_work_item_id"), "link_helpers", ["work_item_id"], unique=False
    )
    op.create_table(
        "linkage_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column(
            "task_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["task_event_id"],
            ["task_events.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("task_event_id"),
    )
    op.create_index(op.f("ix_linkage_events_type"), "linkage_events", ["type"], unique=False)
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_demands_owner"), ["owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demands_owner"))
        batch_op.drop_column("owner")
    op.drop_index(op.f("ix_linkage_events_type"), table_name="linkage_events")
    op.drop_table("linkage_events")
    op.drop_index(op.f("ix_link_helpers_work_item_id"), table_name="link_helpers")
    op.drop_index(op.f("ix_link_helpers_username"), table_name="link_helpers")
    op.drop_table("link_helpers")
    op.drop_index(op.f("ix_equipment_type"), table_name="equipment")
    op.drop_table("equipment")
    op.drop_index(op.f("ix_dispatch_assignments_work_item_id"), table_name="dispatch_assignments")
    op.drop_index(op.f("ix_dispatch_assignments_round_id"), table_name="dispatch_assignments")
    op.drop_table("dispatch_assignments")
    op.drop_index(op.f("ix_staff_skills_profile_id"), table_name="staff_skills")
    op.drop_table("staff_skills")
    op.drop_index(op.f("ix_staff_shifts_profile_id"), table_name="staff_shifts")
    op.drop_table("staff_shifts")
    op.drop_index(op.f("ix_staff_leave_profile_id"), table_name="staff_leave")
    op.drop_table("staff_leave")
    op.drop_table("staff_profiles")
    op.drop_table("dispatch_rounds")
