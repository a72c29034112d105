"""customer channel: customer accounts, one-time codes, the notification outbox, documents

Customer accounts are users with role `customer`, a phone (unique) and an optional e-mail; a
demand applied for online names its customer; a comment may be written for the customer too;
one-time sign-in codes are kept as keyed hashes; the outbox holds every message until a
delivery round sends it; uploaded documents are rows naming a file the server named.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.create_unique_constraint("uq_users_phone", ["phone"])
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", Id, nullable=True))
        batch_op.create_index(batch_op.f("ix_demands_customer_id"), ["customer_id"], unique=False)
        batch_op.create_foreign_key("fk_demands_customer_id", "users", ["customer_id"], ["id"])
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("for_customer", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "sign_in_codes",
        sa.Column("id", Id, nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("failed_tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_codes_phone", "sign_in_codes", ["phone", "created_at"])
    op.create_table(
        "outbox",
        sa.Column("id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("demand_id", Id, nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", "channel", "recipient", name="uq_outbox_once"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_outbox_demand_id"), "outbox", ["demand_id"])
    op.create_table(
        "documents",
        sa.Column("id", Id, nullable=False),
        sa.Column("demand_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by", Id, nullable=False),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"]),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stored_name"),
    )
    op.create_index(op.f("ix_documents_demand_id"), "documents", ["demand_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_documents_demand_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_outbox_demand_id"), table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_sign_in_codes_phone", table_name="sign_in_codes")
    op.drop_table("sign_in_codes")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_column("for_customer")
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_constraint("fk_demands_customer_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_demands_customer_id"))
        batch_op.drop_column("customer_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_phone", type_="unique")
        batch_op.drop_column("email")
        batch_op.drop_column("phone")
