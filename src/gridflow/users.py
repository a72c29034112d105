"""Staff accounts: create, grant, disable, check a password. Passwords are hashed.

Integration accounts (role `integration`) hold grants: `event:<type>` for each event type they
may post, `topic:<topic>` for each external-task topic they may serve. Tokens are in `tokens`,
signed-in browsers in `sessions`, the sign-in throttle in `signin`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from gridflow.errors import GridflowError, NotFoundError
from gridflow.models import ApiToken, StaffSession, User, to_ms
from gridflow.roles import Actor, RoleBook
from gridflow.runtime import Runtime

MIN_PASSWORD = 8
# werkzeug's default (scrypt) costs ~0.17 s a hash here, on purpose; tests may lower it.
PASSWORD_METHOD = "scrypt"
INTEGRATION = "integration"
CUSTOMER = "customer"
GRANT_KINDS = ("event", "topic")
_GRANT = re.compile(r"^(event|topic):[A-Za-z0-9_.\-]{1,100}$")


class UserError(GridflowError):
    """An account that cannot be created or changed as asked; the message names the problem."""


@dataclass(frozen=True)
class Staff:
    """A signed-in member of staff (or integration account), as the web layer needs it."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    locale: str | None
    grants: frozenset[str] = frozenset()
    # False for accounts that never hold links (auditors, designers, integration accounts).
    holds_work: bool = True
    display_name_zh: str = ""

    def name_in(self, locale: str | None) -> str:
        """The display name in a page's language (Chinese when there is one)."""
        return (self.display_name_zh if locale == "zh_Hans" else "") or self.display_name

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.roles, holds_work=self.holds_work)

    def has(self, *role_ids: str) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in role_ids)

    @property
    def is_person(self) -> bool:
        """Staff who use the pages: any role but `integration` alone (customers are not staff)."""
        return not self.is_customer and bool(self.roles - {INTEGRATION})

    @property
    def is_customer(self) -> bool:
        """A customer's account (portal only): never staff, whatever else it holds."""
        return CUSTOMER in self.roles

    def may_post_event(self, event_type: str) -> bool:
        """Supervisors (and admins) post any event; integration accounts the types granted."""
        if self.has("supervisor"):
            return True
        return INTEGRATION in self.roles and f"event:{event_type}" in self.grants

    def may_serve_topic(self, topic: str) -> bool:
        """Only integration accounts serve external tasks, and only the topics granted."""
        return INTEGRATION in self.roles and f"topic:{topic}" in self.grants


def staff_of(user: Any, roles: RoleBook) -> Staff:  # noqa: ANN401 - a User or a row of STAFF_COLUMNS
    role_ids = frozenset(user.roles)
    return Staff(
        user.id,
        user.username,
        user.display_name or user.username,
        role_ids,
        user.locale,
        frozenset(user.grants or ()),
        roles.holds_work(role_ids),
        getattr(user, "display_name_zh", "") or "",
    )


# What `staff_of` reads, for Core selects on hot paths (every request looks its account up).
STAFF_COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.roles,
    User.locale,
    User.grants,
    User.display_name_zh,
)


def check_grants(grants: Iterable[str], role_ids: Iterable[str]) -> list[str]:
    """Grants as stored (sorted, unique), or UserError naming the first that is wrong."""
    found = sorted({g.strip() for g in grants})
    for grant in found:
        if not _GRANT.match(grant):
            raise UserError(
                f"grant {grant!r}: write event:<event type> or topic:<external-task topic>"
            )
    if found and INTEGRATION not in set(role_ids):
        raise UserError("grants are for integration accounts (role integration)")
    return found


def create_user(
    rt: Runtime,
    username: str,
    password: str,
    roles: Iterable[str],
    *,
    display_name: str = "",
    display_name_zh: str = "",
    locale: str | None = None,
    grants: Iterable[str] = (),
) -> Staff:
    username = username.strip()
    role_ids = sorted(set(roles))
    if (
        not username
        or len(username) > 100
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
        or not username.isascii()
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
    granted = check_grants(grants, role_ids)
    with rt.db.write() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise UserError(f"user {username!r} already exists")
        user = User(
            username=username,
            display_name=display_name or username,
            display_name_zh=display_name_zh.strip()[:200],
            password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
            roles=role_ids,
            grants=granted,
            locale=locale,
            active=True,
            created_at=to_ms(rt.clock.now()),
        )
        session.add(user)
        session.flush()
        return staff_of(user, rt.roles)


def change_grants(
    rt: Runtime, username: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Staff:
    """Add and take away grants of an integration account; effective on its next request."""
    with rt.db.write() as session:
        user = _user(session, username)
        taken = {g.strip() for g in remove}
        unknown = sorted(taken - set(user.grants or ()))
        if unknown:
            raise UserError(f"{username} has no grant {', '.join(unknown)}")
        kept = [g for g in (user.grants or ()) if g not in taken]
        user.grants = check_grants([*kept, *add], user.roles)
        return staff_of(user, rt.roles)


def disable(rt: Runtime, username: str) -> int:
    """Disable an account: it cannot sign in, and its sessions and tokens end at once (every
    request looks them up). Returns how many sessions and tokens were ended."""
    now = to_ms(rt.clock.now())
    with rt.db.write() as session:
        user = _user(session, username)
        user.active = False
        sessions = (
            session.connection()
            .execute(
                update(StaffSession)
                .where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
                .values(ended_at=now, ended_reason="disabled")
            )
            .rowcount
        )
        tokens = (
            session.connection()
            .execute(
                update(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                .values(revoked=True, revoked_at=now)
            )
            .rowcount
        )
        return int(sessions or 0) + int(tokens or 0)


def enable(rt: Runtime, username: str) -> None:
    with rt.db.write() as session:
        _user(session, username).active = True


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFoundError(f"no account is called {username!r}")
    return user


def authenticate(rt: Runtime, username: str, password: str) -> Staff | None:
    """The staff member with these credentials, or None (the caller says only "wrong").
    Sign-in pages and token requests go through `signin.sign_in`, which throttles."""
    with rt.db.read() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None or not user.active or CUSTOMER in (user.roles or ()):
            # Spend the same time as a real check, so timing does not reveal user names.
            # Customers sign in on the portal with a one-time code, never with a password.
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        return staff_of(user, rt.roles)


def get_staff(rt: Runtime, user_id: int) -> Staff | None:
    with rt.db.read() as session:
        user = session.get(User, user_id)
        return staff_of(user, rt.roles) if user is not None and user.active else None


def set_locale(rt: Runtime, user_id: int, locale: str | None) -> None:
    with rt.db.write() as session:
        session.execute(update(User).where(User.id == user_id).values(locale=locale))


def list_users(rt: Runtime) -> list[Staff]:
    with rt.db.read() as session:
        return [
            staff_of(u, rt.roles) for u in session.scalars(select(User).order_by(User.username))
        ]


_DUMMY_HASH = generate_password_hash("not a real password")
