"""designer deploy records and instance migrations

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deploy_records",
        sa.Column("id", ID, nullable=False),
        sa.Column("definition_id", ID, nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deploy_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deploy_records_definition_id"), ["definition_id"], unique=False
        )
    op.create_table(
        "instance_migrations",
        sa.Column("id", ID, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("from_definition_id", ID, nullable=False),
        sa.Column("to_definition_id", ID, nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.ForeignKeyConstraint(["from_definition_id"], ["definitions.id"]),
        sa.ForeignKeyConstraint(["to_definition_id"], ["definitions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instance_migrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_instance_migrations_instance_id"), ["instance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("instance_migrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_migrations_instance_id"))
    op.drop_table("instance_migrations")
    with op.batch_alter_table("deploy_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deploy_records_definition_id"))
    op.drop_table("deploy_records")
