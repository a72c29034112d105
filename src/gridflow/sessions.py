"""Signed-in browsers, kept server-side: the session cookie carries a random session id, the
database its SHA-256 and the account. A session ends at logout, when its account is disabled,
after an idle time and after an absolute lifetime; an ended session's cookie, replayed, signs
no one in. Each sign-in makes a new id (the old one, if any, ends).

Every page request looks its session up (one indexed query, as the account was looked up
before); `seen_at` is written at most once a minute per session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, bindparam, select, update

from gridflow.models import StaffSession, User, to_ms
from gridflow.runtime import Runtime
from gridflow.tokens import digest
from gridflow.users import STAFF_COLUMNS, Staff, staff_of

DEFAULT_IDLE = timedelta(hours=2)
DEFAULT_LIFETIME = timedelta(hours=12)
SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta = DEFAULT_IDLE
    absolute: timedelta = DEFAULT_LIFETIME


def start(rt: Runtime, staff: Staff, address: str = "") -> str:
    """A new session for a signed-in account; the id goes into the cookie, only once."""
    session_id = secrets.token_urlsafe(32)
    now = to_ms(rt.clock.now())
    with rt.db.write() as session:
        session.add(
            StaffSession(
                token_hash=digest(session_id),
                user_id=staff.id,
                created_at=now,
                seen_at=now,
                address=address[:64],
            )
        )
    return session_id


_LOOKUP = (
    select(
        *STAFF_COLUMNS,
        StaffSession.id.label("session_row"),
        StaffSession.created_at,
        StaffSession.seen_at,
    )
    .join(StaffSession, StaffSession.user_id == User.id)
    .where(
        StaffSession.token_hash == bindparam("token_hash"),
        StaffSession.ended_at.is_(None),
        User.active.is_(True),
    )
)


def staff_for(
    rt: Runtime, session_id: str, lifetimes: Lifetimes, connection: Connection | None = None
) -> Staff | None:
    """The session's account, or None: unknown, ended, idle too long or too old, or its
    account disabled. Read on `connection` when given."""
    if not session_id or len(session_id) > 200:
        return None
    now = rt.clock.now()
    values = {"token_hash": digest(session_id)}
    if connection is None:
        with rt.db.snapshot() as own:
            row = own.execute(_LOOKUP, values).first()
    else:
        row = connection.execute(_LOOKUP, values).first()
    if row is None:
        return None
    row_id, seen_at = row.session_row, row.seen_at
    if now >= row.created_at + lifetimes.absolute or now >= seen_at + lifetimes.idle:
        return None
    staff = staff_of(row, rt.roles)
    if now - seen_at >= SEEN_RESOLUTION:
        with rt.db.write() as session:
            session.execute(
                update(StaffSession).where(StaffSession.id == row_id).values(seen_at=to_ms(now))
            )
    return staff


def end(rt: Runtime, session_id: str, reason: str = "logout") -> None:
    """End one session (logout, or a new sign-in in the same browser)."""
    with rt.db.write() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == digest(session_id), StaffSession.ended_at.is_(None))
            .values(ended_at=to_ms(rt.clock.now()), ended_reason=reason)
        )
