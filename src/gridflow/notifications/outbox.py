"""The outbox: one row per message and channel (e-mail, SMS), written with the caller's
connection so a message exists exactly when the verb it tells about committed. A dedupe key
makes telling the same thing twice (a retried event) one message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from gridflow.models import Notification, to_ms

OUTBOX = cast(Table, Notification.__table__)
CHANNELS = ("email", "sms")
STATUSES = ("pending", "sending", "sent", "failed", "held")
KINDS = ("sign_in_code", "link_completed", "link_late", "appointment", "outage", "application")
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")


@dataclass(frozen=True)
class Recipient:
    """Where a customer is told: an e-mail address, a mobile phone, or both."""

    email: str | None = None
    phone: str | None = None
    locale: str | None = None

    def addresses(self) -> list[tuple[str, str]]:
        found = []
        if self.email:
            found.append(("email", self.email))
        if self.phone:
            found.append(("sms", self.phone))
        return found


@dataclass(frozen=True)
class Message:
    kind: str
    subject: str
    body: str
    demand_id: int | None = None
    # Telling the same key to the same address again adds nothing.
    dedupe_key: str | None = None


def enqueue(
    connection: Connection,
    now: datetime,
    recipient: Recipient,
    message: Message,
    *,
    channels: Sequence[str] = CHANNELS,
) -> int:
    """Write the message for each of the recipient's addresses on `channels`; returns how
    many rows were written (a dedupe key already told is skipped)."""
    assert message.kind in KINDS, message.kind
    rows: list[dict[str, Any]] = []
    for channel, address in recipient.addresses():
        if channel not in channels:
            continue
        rows.append(
            {
                "created_at": to_ms(now),
                "kind": message.kind,
                "channel": channel,
                "recipient": address[:254],
                "subject": message.subject[:300],
                "body": message.body,
                "demand_id": message.demand_id,
                "dedupe_key": message.dedupe_key,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": to_ms(now),
            }
        )
    if message.dedupe_key is not None and rows:
        told = set(
            connection.execute(
                select(OUTBOX.c.channel, OUTBOX.c.recipient).where(
                    OUTBOX.c.dedupe_key == message.dedupe_key
                )
            ).all()
        )
        rows = [r for r in rows if (r["channel"], r["recipient"]) not in told]
    if rows:
        connection.execute(OUTBOX.insert(), rows)
    return len(rows)
