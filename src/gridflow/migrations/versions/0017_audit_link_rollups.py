"""audit link roll-ups: per-link totals, per-measure histograms (one row of packed buckets each) and per-person counts of the
completed links up to a watermark, folded in by the worker (`gridflow.link_rollups`)

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_rollup_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("watermark", sa.DateTime(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_link_rollups",
        sa.Column("definition_id", Id, autoincrement=False, nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("executions", sa.BigInteger(), nullable=False),
        sa.Column("within", sa.BigInteger(), nullable=False),
        sa.Column("breaches", sa.BigInteger(), nullable=False),
        sa.Column("instances", sa.BigInteger(), nullable=False),
        sa.Column("repeated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.PrimaryKeyConstraint("definition_id", "element_id"),
    )
    op.create_table(
        "audit_link_histograms",
        sa.Column("definition_id", Id, autoincrement=False, nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("buckets", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.PrimaryKeyConstraint("definition_id", "element_id", "measure"),
    )
    op.create_table(
        "audit_person_rollups",
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("executions", sa.BigInteger(), nullable=False),
        sa.Column("breaches", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("department", "person"),
    )


def downgrade() -> None:
    op.drop_table("audit_person_rollups")
    op.drop_table("audit_link_histograms")
    op.drop_table("audit_link_rollups")
    op.drop_table("audit_rollup_state")
