"""The customer channel (issue 13): documents customers upload, what predictions learn from,
site-visit appointments, ratings and package offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id


class Document(Base):
    """A file a customer uploaded with an application, kept under a name the server chose."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # id_card | property | load_list | photo
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    # Shown to staff only; never used as a path.
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class PredictionInstance(Base):
    """A finished demand process (a root instance, with the processes it called) as the
    predictor learns from it: recorded once by `predictions.refresh`."""

    __tablename__ = "prediction_instances"
    __table_args__ = (Index("ix_prediction_instances_process", "process_id", "ended_at"),)

    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("instances.id"), primary_key=True, autoincrement=False
    )
    process_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    customer_category: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    # Times below are on the process's basis: working time, or calendar time for the processes
    # whose standard counts calendar time (repairs run round the clock).
    basis: Mapped[str] = mapped_column(String(20))
    duration_s: Mapped[float] = mapped_column(Float)  # start → end


class PredictionSample(Base):
    """One completed link of a finished demand process: how long the link took and how long
    the whole process still ran from the moment the link became ready (seconds on the
    process's basis, as in `PredictionInstance`)."""

    __tablename__ = "prediction_samples"
    __table_args__ = (
        Index(
            "ix_prediction_samples_link",
            "process_id",
            "link_process_id",
            "element_id",
            "ended_at",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        Id, ForeignKey("prediction_instances.instance_id"), index=True
    )
    process_id: Mapped[str] = mapped_column(String(200))  # the root instance's process
    version: Mapped[int] = mapped_column(Integer)
    link_process_id: Mapped[str] = mapped_column(String(200))  # the link's own (called) process
    element_id: Mapped[str] = mapped_column(String(200))
    customer_category: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(20))
    ended_at: Mapped[datetime]  # when the root instance ended (what a cut-off filters on)
    link_s: Mapped[float] = mapped_column(Float)
    remaining_s: Mapped[float] = mapped_column(Float)


class Appointment(Base):
    """A site visit booked for a link: one qualified person, one slot. `state` is booked,
    kept, missed or cancelled; a missed one names who missed it (customer or staff)."""

    __tablename__ = "appointments"
    __table_args__ = (
        # One booked slot per person and start, one booked appointment per link: the second
        # booking of a slot is refused by the database itself, whoever races.
        Index(
            "uq_appointments_person_slot",
            "username",
            "starts_at",
            unique=True,
            sqlite_where=text("state = 'booked'"),
            postgresql_where=text("state = 'booked'"),
        ),
        Index(
            "uq_appointments_link",
            "work_item_id",
            unique=True,
            sqlite_where=text("state = 'booked'"),
            postgresql_where=text("state = 'booked'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # survey | installation | repair
    username: Mapped[str] = mapped_column(String(100), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    booked_by: Mapped[str] = mapped_column(String(100))
    booked_at: Mapped[datetime]
    missed_by: Mapped[str | None] = mapped_column(String(20))  # customer | staff
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime | None]


class Rating(Base):
    """The customer's rating of a finished demand: stars 1-5 and a comment (each site visit's
    punctuality in `rating_visits`)."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), unique=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by: Mapped[str] = mapped_column(String(100))
    rated_at: Mapped[datetime]
    rated_month: Mapped[str] = mapped_column(String(7), index=True)  # local YYYY-MM


class RatingVisit(Base):
    """Whether one site visit (a link of the rated demand) was on time, as the customer says."""

    __tablename__ = "rating_visits"
    __table_args__ = (UniqueConstraint("rating_id", "work_item_id", name="uq_rating_visit"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"), index=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    on_time: Mapped[bool] = mapped_column(Boolean)


class PackageOffer(Base):
    """A package offered to a demand's customer by a rule, and the answer (state offered,
    accepted or declined); an accepted package's processes run in the same demand."""

    __tablename__ = "package_offers"
    __table_args__ = (UniqueConstraint("demand_id", "package_id", name="uq_package_offer"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    package_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    offered_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None]
    instance_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
