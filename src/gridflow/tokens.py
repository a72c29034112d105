"""Bearer tokens for the JSON API: made at sign-in (`POST /api/tokens`), shown once, stored
only as their SHA-256, ending when they expire, when revoked (`DELETE /api/tokens/current`,
`gridflow token revoke`) or when their account is disabled.

Every request looks its token up in the database (one indexed query): nothing is remembered
between requests, so a revoke or a disable takes effect at once on every app process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, select, update

from gridflow.errors import NotFoundError
from gridflow.models import ApiToken, User, to_ms
from gridflow.runtime import Runtime
from gridflow.users import STAFF_COLUMNS, Staff, staff_of

DEFAULT_LIFETIME = timedelta(hours=8)  # a working day
# `last_used_at` is written at most this often per token: a busy integration calling many
# times a second costs one write a minute, not one per call.
USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    """A token as `gridflow token list` shows it: never the token itself."""

    id: int
    username: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(rt: Runtime, staff: Staff, lifetime: timedelta = DEFAULT_LIFETIME) -> Issued:
    """A new bearer token for the JSON API; shown once, stored hashed."""
    token = secrets.token_urlsafe(32)
    now = to_ms(rt.clock.now())
    expires = to_ms(now + lifetime)
    with rt.db.write() as session:
        session.add(
            ApiToken(
                user_id=staff.id,
                token_hash=digest(token),
                created_at=now,
                expires_at=expires,
                revoked=False,
            )
        )
    return Issued(token, expires)


# One indexed query, built once: the token's account, if the token works now.
_LOOKUP = (
    select(*STAFF_COLUMNS, ApiToken.id.label("token_id"), ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked.is_(False),
        ApiToken.expires_at > bindparam("now"),
        User.active.is_(True),
    )
)


def staff_for(rt: Runtime, token: str, connection: Connection | None = None) -> Staff | None:
    """The token's account, or None: unknown, expired, revoked, or its account disabled.
    Read on `connection` when given (a request reading its link too shares one transaction)."""
    if not token or len(token) > 200:
        return None
    now = rt.clock.now()
    values = {"token_hash": digest(token), "now": now}
    if connection is None:
        with rt.db.snapshot() as own:
            row = own.execute(_LOOKUP, values).first()
    else:
        row = connection.execute(_LOOKUP, values).first()
    if row is None:
        return None
    staff = staff_of(row, rt.roles)
    token_id, last_used = row.token_id, row.last_used_at
    if last_used is None or now - last_used >= USE_RESOLUTION:
        with rt.db.write() as session:
            session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=to_ms(now))
            )
    return staff


def revoke(rt: Runtime, token: str) -> bool:
    """Revoke one token (the caller's own); False when it was not a working token."""
    with rt.db.write() as session:
        done = session.connection().execute(
            update(ApiToken)
            .where(ApiToken.token_hash == digest(token), ApiToken.revoked.is_(False))
            .values(revoked=True, revoked_at=to_ms(rt.clock.now()))
        )
        return bool(done.rowcount)


def revoke_all(rt: Runtime, username: str) -> int:
    """Revoke every token of an account; how many were revoked."""
    with rt.db.write() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            raise NotFoundError(f"no account is called {username!r}")
        done = session.connection().execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
            .values(revoked=True, revoked_at=to_ms(rt.clock.now()))
        )
        return int(done.rowcount or 0)


def revoke_id(rt: Runtime, token_id: int) -> None:
    with rt.db.write() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFoundError(f"token {token_id} does not exist")
        if not token.revoked:
            token.revoked = True
            token.revoked_at = to_ms(rt.clock.now())


def listed(rt: Runtime, username: str | None = None) -> list[TokenInfo]:
    """Tokens, newest first (those of one account when named)."""
    query = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id.desc())
    )
    if username:
        query = query.where(User.username == username)
    with rt.db.read() as session:
        return [
            TokenInfo(
                t.id,
                name,
                t.created_at,
                t.expires_at,
                t.last_used_at,
                t.revoked,
                t.revoked_at,
            )
            for t, name in session.execute(query)
        ]
