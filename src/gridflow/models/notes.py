"""Notes on links: comments on an instance's timeline, and consultations (a front-end link
asking a back-end role for advice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id


class Comment(Base):
    """A note on a link, visible on the demand's timeline to every department."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    # Written for the customer too (issue 13): shown on their timeline, e.g. why a link is late.
    for_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Consultation(Base):
    """Forward support: a front-end link asks a back-end role for advice; the link stays put."""

    __tablename__ = "consultations"
    __table_args__ = (Index("ix_consultations_open", "state", "role"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    role: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(100))
    asked_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | answered
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None]
