"""DMN decisions: deployed versions, deploy records, and the versions process versions bind

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("decision_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("dmn_xml", sa.LargeBinary(), nullable=False),
        sa.Column("deployed_at", sa.DateTime(), nullable=False),
        sa.Column("deployed_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id", "version", name="uq_decision_version"),
        sa.UniqueConstraint("decision_id", "content_hash", name="uq_decision_content"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_decision_id"), ["decision_id"], unique=False)
    op.create_table(
        "decision_deploy_records",
        sa.Column("id", ID, nullable=False),
        sa.Column("decision_row_id", ID, nullable=False),
        sa.Column("decision_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["decision_row_id"], ["decisions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decision_deploy_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_deploy_records_decision_row_id"),
            ["decision_row_id"],
            unique=False,
        )
    op.create_table(
        "decision_bindings",
        sa.Column("id", ID, nullable=False),
        sa.Column("definition_id", ID, nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("decision_id", sa.String(length=200), nullable=False),
        sa.Column("decision_row_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.ForeignKeyConstraint(["decision_row_id"], ["decisions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("definition_id", "element_id", name="uq_decision_binding"),
    )
    with op.batch_alter_table("decision_bindings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_bindings_definition_id"), ["definition_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("decision_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_bindings_definition_id"))
    op.drop_table("decision_bindings")
    with op.batch_alter_table("decision_deploy_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_deploy_records_decision_row_id"))
    op.drop_table("decision_deploy_records")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_decision_id"))
    op.drop_table("decisions")
