"""Staff accounts: create, sign in, API tokens. Passwords are hashed; tokens are stored only
as their SHA-256, so a leaked database does not leak working credentials."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from gridflow.errors import GridflowError
from gridflow.models import ApiToken, User, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime

MIN_PASSWORD = 8
# werkzeug's default (scrypt) costs ~0.17 s a hash here, on purpose; tests may lower it.
PASSWORD_METHOD = "scrypt"


class UserError(GridflowError):
    """An account that cannot be created as asked; the message names the problem."""


@dataclass(frozen=True)
class Staff:
    """A signed-in member of staff, as the web layer needs it."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    locale: str | None
    grants: frozenset[str] = frozenset()

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.roles)

    def has(self, *role_ids: str) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in role_ids)

    def may_serve_topic(self, topic: str) -> bool:
        """Only integration accounts serve external tasks, and only the topics granted."""
        return "integration" in self.roles and f"topic:{topic}" in self.grants


def _staff(user: User) -> Staff:
    return Staff(
        user.id,
        user.username,
        user.display_name or user.username,
        frozenset(user.roles),
        user.locale,
    )


def create_user(
    rt: Runtime,
    username: str,
    password: str,
    roles: Iterable[str],
    *,
    display_name: str = "",
    locale: str | None = None,
) -> Staff:
    username = username.strip()
    role_ids = sorted(set(roles))
    if (
        not username
        or len(username) > 100
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise UserError(f"user name {username!r}: use letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")
    if not role_ids:
        raise UserError("give at least one role")
    unknown = [r for r in role_ids if r not in rt.roles]
    if unknown:
        raise UserError(
            f"unknown role(s) {', '.join(unknown)}; known: {', '.join(sorted(rt.roles.roles))}"
        )
    with rt.db.write() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise UserError(f"user {username!r} already exists")
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
            roles=role_ids,
            locale=locale,
            active=True,
            created_at=to_ms(rt.clock.now()),
        )
        session.add(user)
        session.flush()
        return _staff(user)


def authenticate(rt: Runtime, username: str, password: str) -> Staff | None:
    """The staff member with these credentials, or None (the caller says only "wrong")."""
    with rt.db.read() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None or not user.active:
            # Spend the same time as a real check, so timing does not reveal user names.
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        return _staff(user)


def get_staff(rt: Runtime, user_id: int) -> Staff | None:
    with rt.db.read() as session:
        user = session.get(User, user_id)
        return _staff(user) if user is not None and user.active else None


def set_locale(rt: Runtime, user_id: int, locale: str | None) -> None:
    with rt.db.write() as session:
        session.execute(update(User).where(User.id == user_id).values(locale=locale))


def issue_token(rt: Runtime, staff: Staff) -> str:
    """A new bearer token for the JSON API; shown once, stored hashed."""
    token = secrets.token_urlsafe(32)
    with rt.db.write() as session:
        session.add(
            ApiToken(
                user_id=staff.id,
                token_hash=_hash(token),
                created_at=to_ms(rt.clock.now()),
                revoked=False,
            )
        )
    return token


def staff_for_token(rt: Runtime, token: str) -> Staff | None:
    with rt.db.read() as session:
        user = session.scalar(
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == _hash(token), ApiToken.revoked.is_(False))
        )
        return _staff(user) if user is not None and user.active else None


def list_users(rt: Runtime) -> list[Staff]:
    with rt.db.read() as session:
        return [_staff(u) for u in session.scalars(select(User).order_by(User.username))]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY_HASH = generate_password_hash("not a real password")
