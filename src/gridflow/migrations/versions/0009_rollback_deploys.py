"""rollback: the same content may be deployed again as a newer version

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An older version's content deployed again becomes the newest version (a rollback), so a
    # content hash may repeat within a process; deploys still look versions up by it.
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_definition_content", type_="unique")
        batch_op.create_index(
            "ix_definitions_process_content", ["process_id", "content_hash"], unique=False
        )
    with op.batch_alter_table("deploy_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restores_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deploy_records", schema=None) as batch_op:
        batch_op.drop_column("restores_version")
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.drop_index("ix_definitions_process_content")
        batch_op.create_unique_constraint("uq_definition_content", ["process_id", "content_hash"])
