"""Customer accounts: a phone number and a one-time code, sent through the outbox.

A code is six digits, works once, for CODE_LIFETIME, and for MAX_TRIES wrong tries; only a
keyed hash (HMAC-SHA256 with the application's secret) is stored, so a copy of the database
does not give the codes away. A phone may ask for CODES_PER_MINUTE codes a minute and an
address for ADDRESS_CODES_PER_MINUTE; a further request is refused with the wait.

Where a code goes: by SMS to the phone when an SMS gateway is configured (the code then proves
the phone); otherwise by e-mail, to the account's address, which a new customer gives with
their first request (the code then proves the e-mail address, and the phone number is the
account's name). An existing account's e-mail is never changed by a code request. The account
(role `customer`) is made when its first code is used."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gridflow.errors import GridflowError
from gridflow.models import SignInCode, User, to_ms
from gridflow.notifications.outbox import EMAIL, Message, Recipient, enqueue
from gridflow.runtime import Runtime
from gridflow.texts import _, translate
from gridflow.users import CUSTOMER, Staff, staff_of

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
CODES_PER_MINUTE = 3
ADDRESS_CODES_PER_MINUTE = 10
WINDOW = timedelta(minutes=1)
_PHONE = re.compile(r"^\+?\d{6,15}$")
_SEPARATORS = re.compile(r"[\s\-().]")


class CustomerError(GridflowError):
    """A request that cannot be taken: field → reason."""

    def __init__(self, field_errors: dict[str, str]):
        self.field_errors = field_errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in field_errors.items()))


class CodeThrottled(GridflowError):
    """Too many codes asked for in a minute; `seconds` until the next may be asked."""

    def __init__(self, seconds: int):
        self.seconds = max(1, seconds)
        super().__init__(f"too many codes asked for; try again in {self.seconds} s")


class CodeRefused(GridflowError):
    """No code, a wrong one, an expired one or one tried too often (not said which)."""


@dataclass(frozen=True)
class CodeSent:
    channel: str  # sms | email
    expires_at: datetime


def normalize_phone(text: str) -> str:
    """A phone number as accounts keep it: digits with an optional leading +."""
    phone = _SEPARATORS.sub("", text or "")
    if not _PHONE.match(phone):
        raise CustomerError({"phone": "a phone number: 6 to 15 digits, + allowed in front"})
    return phone


def _hash(secret: bytes, phone: str, code: str) -> str:
    return hmac.new(secret, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(
    rt: Runtime,
    phone_text: str,
    email_text: str,
    *,
    address: str,
    secret: bytes,
    sms_configured: bool,
    locale: str | None = None,
) -> CodeSent:
    """Make a code for the phone and put it in the outbox, in one transaction."""
    phone = normalize_phone(phone_text)
    email = (email_text or "").strip() or None
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        raise CustomerError({"email": "an e-mail address like name@example.com"})
    now = to_ms(rt.clock.now())
    code = f"{secrets.randbelow(10**6):06d}"
    with rt.db.transaction() as connection:
        for column, value, allowed in (
            (SignInCode.phone, phone, CODES_PER_MINUTE),
            (SignInCode.address, address[:64], ADDRESS_CODES_PER_MINUTE),
        ):
            count, oldest = connection.execute(
                select(func.count(), func.min(SignInCode.created_at)).where(
                    column == value, SignInCode.created_at > now - WINDOW
                )
            ).one()
            if count >= allowed:
                wait = oldest + WINDOW - now
                raise CodeThrottled(int(wait.total_seconds() + 0.999))
        account = connection.execute(
            select(User.email, User.locale, User.active).where(User.phone == phone)
        ).first()
        if account is not None and not account.active:
            raise CustomerError({"phone": "this account is disabled; call the service line"})
        if account is not None:
            email, locale = account.email, account.locale or locale
        channel = "sms" if sms_configured else "email"
        if channel == "email" and email is None:
            raise CustomerError({"email": "give your e-mail address: the code is sent there"})
        connection.execute(
            insert(SignInCode),
            {
                "phone": phone,
                "code_hash": _hash(secret, phone, code),
                "email": email if account is None else None,
                "address": address[:64],
                "created_at": now,
                "expires_at": now + CODE_LIFETIME,
                "failed_tries": 0,
            },
        )
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        enqueue(
            connection,
            now,
            Recipient(email=email, phone=phone, locale=locale),
            Message(
                "sign_in_code",
                translate(_("Your gridflow sign-in code"), locale),
                translate(
                    _(
                        "Your sign-in code is %(code)s. It works for %(minutes)d minutes. "
                        "Nobody from the grid company will ask you for it."
                    ),
                    locale,
                    code=code,
                    minutes=minutes,
                ),
            ),
            channels=(channel,),
        )
    return CodeSent(channel, now + CODE_LIFETIME)


def sign_in(
    rt: Runtime, phone_text: str, code_text: str, *, secret: bytes, locale: str | None = None
) -> Staff:
    """The customer's account for a right code (made on first use); CodeRefused otherwise."""
    try:
        phone = normalize_phone(phone_text)
    except CustomerError as exc:
        raise CodeRefused("wrong or expired code") from exc
    code = re.sub(r"\s", "", code_text or "")
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        latest = connection.execute(
            select(SignInCode)
            .where(SignInCode.phone == phone)
            .order_by(SignInCode.id.desc())
            .limit(1)
            .with_for_update()
        ).first()
        if (
            latest is None
            or latest.used_at is not None
            or latest.expires_at <= now
            or latest.failed_tries >= MAX_TRIES
        ):
            raise CodeRefused("wrong or expired code")
        right = code.isdigit() and hmac.compare_digest(latest.code_hash, _hash(secret, phone, code))
        # A wrong try counts (committed with this block) before the refusal is answered.
        connection.execute(
            update(SignInCode)
            .where(SignInCode.id == latest.id)
            .values({"used_at": now} if right else {"failed_tries": SignInCode.failed_tries + 1})
        )
        email = latest.email
    if not right:
        raise CodeRefused("wrong or expired code")
    return ensure_account(rt, phone, email, locale)


def ensure_account(rt: Runtime, phone: str, email: str | None, locale: str | None) -> Staff:
    """The customer account of a phone, made when there is none (role `customer`)."""
    with rt.db.write() as session:
        user = session.scalar(select(User).where(User.phone == phone))
        if user is None:
            user = User(
                username=f"customer-{phone.lstrip('+')}",
                display_name=phone,
                password_hash="!",  # no password: customers sign in with codes only
                roles=[CUSTOMER],
                grants=[],
                locale=locale,
                active=True,
                created_at=to_ms(rt.clock.now()),
                phone=phone,
                email=email,
            )
            session.add(user)
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                user = session.scalar(select(User).where(User.phone == phone))
                assert user is not None
        if not user.active:
            raise CodeRefused("this account is disabled")
        return staff_of(user, rt.roles)


def contact(rt: Runtime, user_id: int) -> Recipient:
    """Where a customer is told things."""
    with rt.db.read() as session:
        user = session.get(User, user_id)
        if user is None:
            return Recipient()
        return Recipient(user.email, user.phone, user.locale)
