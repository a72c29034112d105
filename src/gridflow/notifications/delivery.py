"""Delivery rounds: claim due messages from the outbox, send each, record the outcome.

Several workers on several hosts share the outbox: a round claims its messages with
`SELECT … FOR UPDATE SKIP LOCKED` (one writer at a time on SQLite) and marks them `sending`
with a lease, so no two rounds send the same message; sending happens after that commit, so
a slow server never holds a lock. A message whose round died is claimed again when its lease
ends. A failure is retried after 1, 2, 4, 8 … minutes, up to MAX_ATTEMPTS tries, then the
message is `failed` (a refusal the server says is permanent fails at once). A channel with no
sender configured holds its messages (`held`): they are shown on the outbox page only. A
sign-in code's text is blanked once it is sent or given up (the code is kept hashed only).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, update

from gridflow.models import to_ms
from gridflow.notifications.outbox import OUTBOX
from gridflow.notifications.senders import TIMEOUT_S, Sender, SendError
from gridflow.runtime import Runtime

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(minutes=1)
MAX_ATTEMPTS = 6
BATCH = 50
REDACTED = "(sign-in code removed once sent)"

_DUE = (
    select(OUTBOX.c.id)
    .where(
        or_(
            and_(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= bindparam("now")),
            and_(OUTBOX.c.status == "sending", OUTBOX.c.claimed_until < bindparam("now")),
        )
    )
    .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIMED = select(
    OUTBOX.c.id,
    OUTBOX.c.channel,
    OUTBOX.c.recipient,
    OUTBOX.c.subject,
    OUTBOX.c.body,
    OUTBOX.c.attempts,
    OUTBOX.c.kind,
).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Round:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    # Claimed but not sent: the round ran so long that a send might outlast its lease.
    given_back: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.failed + self.held


def retry_pause(attempts: int) -> timedelta:
    """The pause before try number `attempts` + 1."""
    return FIRST_RETRY * 2 ** max(0, min(attempts - 1, 12))


def deliver_round(
    rt: Runtime, senders: Mapping[str, Sender], *, limit: int = BATCH, lease: timedelta = LEASE
) -> Round:
    """Claim up to `limit` due messages for `lease` and send them; the outcome of each is
    recorded. A round that dies leaves its messages `sending` until the lease ends."""
    now = to_ms(rt.clock.now())
    until = to_ms(now + lease)
    with rt.db.transaction() as connection:
        ids = list(connection.scalars(_DUE, {"now": now, "limit": limit}))
        if not ids:
            return Round()
        connection.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(ids))
            .values(status="sending", claimed_until=until, attempts=OUTBOX.c.attempts + 1)
        )
        claimed = connection.execute(_CLAIMED, {"ids": ids}).all()
    counts = {"sent": 0, "retrying": 0, "failed": 0, "held": 0, "given_back": 0}
    # A send may take up to the senders' timeout: none starts so late that the lease could run
    # out under it (another worker would send that message again). The rest are given back.
    last_start = until - min(lease / 2, timedelta(seconds=TIMEOUT_S))
    for n, row in enumerate(claimed):
        sender = senders.get(row.channel)
        values: dict[str, object]
        if sender is not None and rt.clock.now() > last_start:
            counts["given_back"] = _give_back(rt, [r.id for r in claimed[n:]], until)
            break
        if sender is None:
            values = {"status": "held", "claimed_until": None, "last_error": None}
            counts["held"] += 1
        else:
            try:
                sender.send(row.recipient, row.subject, row.body)
            except SendError as exc:
                log.warning("outbox %s to %s: %s", row.id, row.channel, exc)
                last = exc.permanent or row.attempts >= MAX_ATTEMPTS
                values = {
                    "status": "failed" if last else "pending",
                    "claimed_until": None,
                    "next_attempt_at": now + retry_pause(row.attempts),
                    "last_error": str(exc)[:500],
                }
                counts["failed" if last else "retrying"] += 1
            else:
                values = {
                    "status": "sent",
                    "claimed_until": None,
                    "sent_at": to_ms(rt.clock.now()),
                    "last_error": None,
                }
                counts["sent"] += 1
        if row.kind == "sign_in_code" and values["status"] in ("sent", "failed"):
            # Once sent (or given up), the code is not kept readable: only its hash stays.
            values["body"] = REDACTED
        with rt.db.transaction() as connection:
            connection.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == row.id, OUTBOX.c.status == "sending")
                .values(**values)
            )
    return Round(**counts)


def _give_back(rt: Runtime, ids: list[int], until: datetime) -> int:
    """Messages claimed until `until` and not sent: due again at once, their try not counted
    (unless their lease ran out and another round has them)."""
    with rt.db.transaction() as connection:
        return connection.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.id.in_(ids), OUTBOX.c.status == "sending", OUTBOX.c.claimed_until == until
            )
            .values(status="pending", claimed_until=None, attempts=OUTBOX.c.attempts - 1)
        ).rowcount


def backlog(rt: Runtime) -> tuple[int, float]:
    """Messages due and not sent yet, and how long the oldest has waited (seconds)."""
    from sqlalchemy import func

    now = rt.clock.now()
    with rt.db.snapshot() as connection:
        count, oldest = connection.execute(
            select(func.count(), func.min(OUTBOX.c.next_attempt_at)).where(
                OUTBOX.c.status.in_(("pending", "sending")), OUTBOX.c.next_attempt_at <= now
            )
        ).one()
    return int(count), max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def deliver_all(rt: Runtime, senders: Mapping[str, Sender]) -> Round:
    """Rounds until nothing due is left (the CLI's `notify-deliver`)."""
    total = Round()
    while True:
        done = deliver_round(rt, senders)
        if not done.claimed:
            return total
        total = Round(
            total.sent + done.sent,
            total.retrying + done.retrying,
            total.failed + done.failed,
            total.held + done.held,
        )
