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


def upgrade() -> None:
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
    with op.batch_alter_table("audit_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_instances_definition")
    op.drop_table("audit_instances")
