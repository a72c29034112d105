"""trust boundaries: grants, expiring tokens, server-side sessions, sign-in attempts

Integration accounts' grants (event types, external-task topics); API tokens get an expiry and
a revocation time (tokens made before this upgrade count as expired: make new ones); signed-in
browsers are rows that logout and `user disable` end; every sign-in attempt is recorded for the
throttle and for admins; a linkage event being finished holds a lease.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grants", sa.JSON(), nullable=True))
    op.execute("UPDATE users SET grants = '[]'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("grants", existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
    # Tokens that never expired expire now: their holders make new ones.
    op.execute("UPDATE api_tokens SET expires_at = created_at")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(), nullable=False)

    op.create_table(
        "staff_sessions",
        sa.Column("id", Id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=20), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"], unique=False)
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", Id, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sign_in_attempts_username", "sign_in_attempts", ["username", "at"], unique=False
    )
    op.create_index(
        "ix_sign_in_attempts_address", "sign_in_attempts", ["address", "at"], unique=False
    )

    with op.batch_alter_table("linkage_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taken_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("linkage_events", schema=None) as batch_op:
        batch_op.drop_column("taken_until")
    op.drop_index("ix_sign_in_attempts_address", table_name="sign_in_attempts")
    op.drop_index("ix_sign_in_attempts_username", table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
    op.drop_index(op.f("ix_staff_sessions_user_id"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("grants")
