"""The outbox: messages written in the transaction of the verb they tell about, sent later
by delivery rounds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id


class Notification(Base):
    """One message in the outbox: written in the transaction of the verb it tells about, sent
    later by a delivery round (claimed with a lease, retried with a growing pause)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key", "channel", "recipient", name="uq_outbox_once"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    # The same key (and recipient) twice is one message: an event retried tells once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # pending | sending | sent | failed | held
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
