"""predictions timed on each process's basis; each rated visit a row of its own

The predictor's history is a cache `predictions.refresh` rebuilds from the finished instances:
its two tables are made again with times on the process's basis (working, or calendar time for
repairs). A rating's visits on time move from a JSON column to `rating_visits` rows, so the
audit counts them in SQL by link and department.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.drop_table("prediction_samples")
    op.drop_table("prediction_instances")
    op.create_table(
        "prediction_instances",
        sa.Column("instance_id", Id, autoincrement=False, nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_category", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_index(
        "ix_prediction_instances_process",
        "prediction_instances",
        ["process_id", "ended_at"],
        unique=False,
    )
    op.create_table(
        "prediction_samples",
        sa.Column("id", Id, nullable=False),
        sa.Column("instance_id", Id, nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("link_process_id", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("customer_category", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("link_s", sa.Float(), nullable=False),
        sa.Column("remaining_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["prediction_instances.instance_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_prediction_samples_instance_id"),
        "prediction_samples",
        ["instance_id"],
        unique=False,
    )
    op.create_index(
        "ix_prediction_samples_link",
        "prediction_samples",
        ["process_id", "link_process_id", "element_id", "ended_at"],
        unique=False,
    )
    op.create_table(
        "rating_visits",
        sa.Column("id", Id, nullable=False),
        sa.Column("rating_id", Id, nullable=False),
        sa.Column("work_item_id", Id, nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["rating_id"], ["ratings.id"]),
        sa.ForeignKeyConstraint(["work_item_id"], ["work_items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rating_id", "work_item_id", name="uq_rating_visit"),
    )
    op.create_index(
        op.f("ix_rating_visits_rating_id"), "rating_visits", ["rating_id"], unique=False
    )
    op.create_index(
        op.f("ix_rating_visits_work_item_id"), "rating_visits", ["work_item_id"], unique=False
    )
    # Visits already rated ({work item id: on time}) become rows.
    connection = op.get_bind()
    ratings = sa.table("ratings", sa.column("id"), sa.column("visits_on_time", sa.JSON()))
    visits = sa.table(
        "rating_visits", sa.column("rating_id"), sa.column("work_item_id"), sa.column("on_time")
    )
    rows = [
        {"rating_id": rating_id, "work_item_id": int(item), "on_time": bool(on_time)}
        for rating_id, found in connection.execute(
            sa.select(ratings.c.id, ratings.c.visits_on_time)
        )
        for item, on_time in (found or {}).items()
    ]
    if rows:
        connection.execute(visits.insert(), rows)
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_column("visits_on_time")


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visits_on_time", sa.JSON(), nullable=True))
    op.drop_table("rating_visits")
