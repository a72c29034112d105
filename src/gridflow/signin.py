"""Signing in, on the page or for an API token: every attempt is recorded (admins read them),
and failures are throttled per account and per client address.

An account is locked after 5 failures since its last successful sign-in (within a day), an
address after 20: the lock lasts 1 minute from the last failure and doubles with each further
failure, up to an hour. While locked, even the right password is refused, without being checked
(so a locked account gives a guesser nothing), and such an attempt does not lengthen the lock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select
from sqlalchemy.orm.attributes import InstrumentedAttribute

from gridflow.errors import GridflowError
from gridflow.models import SignInAttempt, to_ms
from gridflow.runtime import Runtime
from gridflow.users import Staff, authenticate

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
WINDOW = timedelta(days=1)
CHANNELS = ("page", "api")
OUTCOMES = ("signed_in", "failed", "throttled")


class SignInFailed(GridflowError):
    """Wrong user name or password (which of them is not said)."""


class Throttled(GridflowError):
    """Too many failures for this account or from this address; try again after `retry_after`."""

    def __init__(self, scope: str, retry_after: timedelta):
        self.scope = scope  # account | address
        self.retry_after = retry_after
        super().__init__(
            f"too many failed sign-ins for this {scope}; try again in {words(retry_after)}"
        )

    @property
    def seconds(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))


def words(delta: timedelta) -> str:
    seconds = max(1, math.ceil(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def sign_in(rt: Runtime, username: str, password: str, *, address: str, channel: str) -> Staff:
    """The account, if the password is right and neither it nor the address is locked."""
    assert channel in CHANNELS
    name = username.strip()[:100]
    where = (address or "unknown")[:64]
    now = rt.clock.now()
    with rt.db.snapshot() as connection:
        lock = _lock(connection, SignInAttempt.username, name, ACCOUNT_FREE_FAILURES, now)
        scope = "account"
        if lock is None:
            lock = _lock(connection, SignInAttempt.address, where, ADDRESS_FREE_FAILURES, now)
            scope = "address"
    if lock is not None:
        _record(rt, name, where, channel, "throttled")
        raise Throttled(scope, lock - now)
    staff = authenticate(rt, name, password)
    _record(rt, name, where, channel, "failed" if staff is None else "signed_in")
    if staff is None:
        raise SignInFailed("wrong user name or password")
    return staff


def lock_for(failures: int, free: int) -> timedelta | None:
    """How long the `failures`-th failure locks for (None: not yet)."""
    if failures < free:
        return None
    return min(LONGEST_LOCK, FIRST_LOCK * 2 ** min(failures - free, 12))


def _lock(
    connection: Connection,
    column: InstrumentedAttribute[str],
    value: str,
    free: int,
    now: datetime,
) -> datetime | None:
    """When the lock on this account or address ends, if it is locked now."""
    last_success = connection.scalar(
        select(func.max(SignInAttempt.at)).where(
            column == value, SignInAttempt.outcome == "signed_in", SignInAttempt.at > now - WINDOW
        )
    )
    since = max(last_success, now - WINDOW) if last_success is not None else now - WINDOW
    failures, last_failure = connection.execute(
        select(func.count(), func.max(SignInAttempt.at)).where(
            column == value, SignInAttempt.outcome == "failed", SignInAttempt.at > since
        )
    ).one()
    lock = lock_for(int(failures), free)
    if lock is None or last_failure is None:
        return None
    ends = last_failure + lock
    return ends if ends > now else None


def _record(rt: Runtime, username: str, address: str, channel: str, outcome: str) -> None:
    with rt.db.write() as session:
        session.add(
            SignInAttempt(
                at=to_ms(rt.clock.now()),
                username=username,
                address=address,
                channel=channel,
                outcome=outcome,
            )
        )


@dataclass(frozen=True)
class Attempt:
    at: datetime
    username: str
    address: str
    channel: str
    outcome: str


def recent(
    rt: Runtime, *, username: str | None = None, outcome: str | None = None, limit: int = 200
) -> list[Attempt]:
    """The latest sign-in attempts, newest first (for admins)."""
    query = select(SignInAttempt).order_by(SignInAttempt.id.desc()).limit(limit)
    if username:
        query = query.where(SignInAttempt.username == username)
    if outcome:
        query = query.where(SignInAttempt.outcome == outcome)
    with rt.db.read() as session:
        return [
            Attempt(a.at, a.username, a.address, a.channel, a.outcome)
            for a in session.scalars(query)
        ]


def locked_now(rt: Runtime) -> list[tuple[str, str, datetime]]:
    """Accounts and addresses locked at this moment: (scope, who, until), for admins."""
    now = rt.clock.now()
    found: list[tuple[str, str, datetime]] = []
    with rt.db.snapshot() as connection:
        for scope, column, free in (
            ("account", SignInAttempt.username, ACCOUNT_FREE_FAILURES),
            ("address", SignInAttempt.address, ADDRESS_FREE_FAILURES),
        ):
            candidates = connection.scalars(
                select(column)
                .where(SignInAttempt.outcome == "failed", SignInAttempt.at > now - WINDOW)
                .group_by(column)
                .having(func.count() >= free)
            ).all()
            for who in candidates:
                until = _lock(connection, column, who, free, now)
                if until is not None:
                    found.append((scope, who, until))
    return found
