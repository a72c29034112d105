"""audit figures: finished instances' end-to-end figures for whole-process reports

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


MEASURES = (
    "waiting_s",
    "handling_s",
    "total_s",
    "waiting_working_s",
    "handling_working_s",
    "total_working_s",
)


def upgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("total_working_s", sa.Float(), nullable=True))
    op.execute(
        "UPDATE work_items SET total_s = waiting_s + handling_s, "
        "total_working_s = waiting_working_s + handling_working_s "
        "WHERE waiting_s IS NOT NULL"
    )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        for column in MEASURES:
            batch_op.create_index(
                f"ix_work_items_fig_{column.removesuffix('_s')}",
                ["state", "definition_id", "element_id", column],
                unique=False,
            )
        batch_op.create_index(
            "ix_work_items_fig_summary",
            ["state", "definition_id", "element_id", "instance_id", "within_standard", *MEASURES],
            unique=False,
        )
        batch_op.create_index(
            "ix_work_items_fig_breaches", ["within_standard", "ended_at"], unique=False
        )
        batch_op.create_index(
            "ix_work_items_fig_people",
            ["state", "department", "completed_by", "within_standard"],
            unique=False,
        )
    op.create_table(
        "audit_instances",
        sa.Column("instance_id", Id, autoincrement=False, nullable=False),
        sa.Column("definition_id", Id, nullable=False),
        sa.Column("customer_category", sa.String(length=40), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("ended_week", sa.String(length=10), nullable=False),
        sa.Column("ended_month", sa.String(length=7), nullable=False),
        sa.Column("calendar_s", sa.Float(), nullable=False),
        sa.Column("working_s", sa.Float(), nullable=False),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.Column("procedures", sa.Integer(), nullable=False),
        sa.Column("cap_target", sa.String(length=40), nullable=True),
        sa.Column("cap_basis", sa.String(length=20), nullable=True),
        sa.Column("within_cap", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    with op.batch_alter_table("audit_instances", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_instances_definition", ["definition_id", "ended_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        for name in ("people", "breaches", "summary"):
            batch_op.drop_index(f"ix_work_items_fig_{name}")
        for column in MEASURES:
            batch_op.drop_index(f"ix_work_items_fig_{column.removesuffix('_s')}")
        batch_op.drop_column("total_working_s")
        batch_op.drop_column("total_s")
    with op.batch_alter_table("audit_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_instances_definition")
    op.drop_table("audit_instances")
