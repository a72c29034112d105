"""customer channel engines: predictions, appointments, ratings, package offers

The predictor's history (finished demand processes and their links' remaining times), site-visit
appointments (one booked slot per person and start, one booked appointment per link), the
customers' ratings, and packages offered to a demand with the customer's answer.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BOOKED = sa.text("state = 'booked'")


def upgrade() -> None:
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
        "appointments",
        sa.Column("id", Id, nullable=False),
        sa.Column("work_item_id", Id, nullable=False),
        sa.Column("instance_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("booked_by", sa.String(length=100), nullable=False),
        sa.Column("booked_at", sa.DateTime(), nullable=False),
        sa.Column("missed_by", sa.String(length=20), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.ForeignKeyConstraint(["work_item_id"], ["work_items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_appointments_instance_id"), "appointments", ["instance_id"], unique=False
    )
    op.create_index(op.f("ix_appointments_username"), "appointments", ["username"], unique=False)
    op.create_index(
        op.f("ix_appointments_work_item_id"), "appointments", ["work_item_id"], unique=False
    )
    op.create_index(
        "uq_appointments_person_slot",
        "appointments",
        ["username", "starts_at"],
        unique=True,
        sqlite_where=BOOKED,
        postgresql_where=BOOKED,
    )
    op.create_index(
        "uq_appointments_link",
        "appointments",
        ["work_item_id"],
        unique=True,
        sqlite_where=BOOKED,
        postgresql_where=BOOKED,
    )
    op.create_table(
        "ratings",
        sa.Column("id", Id, nullable=False),
        sa.Column("demand_id", Id, nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_by", sa.String(length=100), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("rated_month", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("demand_id"),
    )
    op.create_index(op.f("ix_ratings_rated_month"), "ratings", ["rated_month"], unique=False)
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
    op.create_table(
        "package_offers",
        sa.Column("id", Id, nullable=False),
        sa.Column("demand_id", Id, nullable=False),
        sa.Column("package_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("offered_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("instance_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("demand_id", "package_id", name="uq_package_offer"),
    )
    op.create_index(
        op.f("ix_package_offers_demand_id"), "package_offers", ["demand_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("package_offers")
    op.drop_table("rating_visits")
    op.drop_table("ratings")
    op.drop_table("appointments")
    op.drop_table("prediction_samples")
    op.drop_table("prediction_instances")
