"""Accounts and signing in: staff and customer users, API tokens, signed-in browsers, sign-in
attempts (the throttle) and customers' one-time codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridflow.models.base import Base, Id


class User(Base):
    """A member of staff who signs in; roles are role ids from processes/roles.yaml."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("phone", name="uq_users_phone"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # The name in Simplified Chinese (empty: the display name above serves every language).
    display_name_zh: Mapped[str] = mapped_column(String(200), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What an integration account may do beyond its role: "event:<type>", "topic:<topic>".
    grants: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Customer accounts (role `customer`, issue 13) sign in with their phone and a one-time
    # code; their e-mail address, if given, receives codes and notifications.
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored. It works until it expires
    or is revoked (or its user is disabled)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class StaffSession(Base):
    """A signed-in browser: the cookie carries the session id, the database only its SHA-256.
    Logout, `gridflow user disable` and the idle and absolute lifetimes end it here, so a
    copied cookie stops working on every app process at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # logout | disabled
    address: Mapped[str] = mapped_column(String(64), default="")


class SignInAttempt(Base):
    """One sign-in, on the page or for an API token: who (as typed), from where, and how it
    went. Failures since the last success drive the throttle; admins read them."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username", "username", "at"),
        Index("ix_sign_in_attempts_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))  # page | api
    outcome: Mapped[str] = mapped_column(String(20))  # signed_in | failed | throttled


class SignInCode(Base):
    """A one-time code a customer asked for: only its keyed hash is kept. It works once, until
    it expires, and for a few wrong tries."""

    __tablename__ = "sign_in_codes"
    __table_args__ = (Index("ix_sign_in_codes_phone", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    phone: Mapped[str] = mapped_column(String(40))
    code_hash: Mapped[str] = mapped_column(String(64))
    # The e-mail address a new customer gave with the request (kept when the code is used).
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]
