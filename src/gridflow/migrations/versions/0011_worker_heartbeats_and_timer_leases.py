"""workers: heartbeats of `gridflow worker` processes and timer leases

Several workers share one database: each records a heartbeat per round, and claims the due
timers of a batch of instances with a lease, so a worker that dies leaves its batch to another
once the lease runs out.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("last_round_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    op.create_index("ix_worker_heartbeats_beat_at", "worker_heartbeats", ["beat_at"], unique=False)
    op.create_table(
        "timer_leases",
        sa.Column("instance_id", Id, nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("leased_until", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_index("ix_timer_leases_leased_until", "timer_leases", ["leased_until"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_timer_leases_leased_until", table_name="timer_leases")
    op.drop_table("timer_leases")
    op.drop_index("ix_worker_heartbeats_beat_at", table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
