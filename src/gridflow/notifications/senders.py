"""The real senders: e-mail through an SMTP server (smtplib) and text messages through an
SMS gateway's HTTP API. Settings come from the environment; a channel with no settings has
no sender, and its messages are held in the outbox (the admins' outbox page shows them).

E-mail: GRIDFLOW_SMTP_HOST, GRIDFLOW_SMTP_PORT (default 25), GRIDFLOW_SMTP_USER,
GRIDFLOW_SMTP_PASSWORD, GRIDFLOW_SMTP_STARTTLS (1 to upgrade the connection),
GRIDFLOW_SMTP_FROM (default gridflow@localhost).
SMS: GRIDFLOW_SMS_URL (POST), GRIDFLOW_SMS_TEMPLATE (the JSON body, with {phone} and {text}
where the values go, JSON-quoted; default {"to": {phone}, "text": {text}}), GRIDFLOW_SMS_TOKEN
(sent as `Authorization: Bearer …` when set).
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from gridflow.errors import ConfigurationError, GridflowError

TIMEOUT_S = 10.0
DEFAULT_SMS_TEMPLATE = '{"to": {phone}, "text": {text}}'


class SendError(GridflowError):
    """A message the server or gateway did not take; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        self.permanent = permanent
        super().__init__(message)


class Sender(Protocol):
    def send(self, recipient: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "gridflow@localhost"

    def send(self, recipient: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"the SMTP server refused {recipient}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP {self.host}:{self.port}: {exc}") from exc


@dataclass(frozen=True)
class SmsGateway:
    url: str
    template: str = DEFAULT_SMS_TEMPLATE
    token: str | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigurationError(f"GRIDFLOW_SMS_URL {self.url!r}: an http(s) address")
        try:
            json.loads(self.body("+8613800000000", "test"))
        except ValueError as exc:
            raise ConfigurationError(
                f"GRIDFLOW_SMS_TEMPLATE is not JSON once {{phone}} and {{text}} are filled: {exc}"
            ) from exc

    def body(self, phone: str, text: str) -> str:
        # Values go in JSON-quoted, so no text can change the body's shape.
        return self.template.replace("{phone}", json.dumps(phone)).replace(
            "{text}", json.dumps(text, ensure_ascii=False)
        )

    def send(self, recipient: str, subject: str, body: str) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.url,
            data=self.body(recipient, body).encode("utf-8"),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310 - http(s) checked
                answer.read(4096)
        except urllib.error.HTTPError as exc:
            # 4xx but 408/429: the gateway will never take this message as it is.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise SendError(f"SMS gateway answered {exc.code}", permanent=permanent) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SendError(f"SMS gateway {self.url}: {exc}") from exc


def from_environment(env: Mapping[str, str]) -> dict[str, Sender]:
    """The senders the environment configures, by channel."""
    senders: dict[str, Sender] = {}
    host = env.get("GRIDFLOW_SMTP_HOST", "").strip()
    if host:
        port_text = env.get("GRIDFLOW_SMTP_PORT", "25").strip() or "25"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigurationError(f"GRIDFLOW_SMTP_PORT {port_text!r}: a port number")
        senders["email"] = SmtpSender(
            host=host,
            port=int(port_text),
            user=env.get("GRIDFLOW_SMTP_USER") or None,
            password=env.get("GRIDFLOW_SMTP_PASSWORD") or None,
            starttls=env.get("GRIDFLOW_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes"),
            sender=env.get("GRIDFLOW_SMTP_FROM") or "gridflow@localhost",
        )
    url = env.get("GRIDFLOW_SMS_URL", "").strip()
    if url:
        senders["sms"] = SmsGateway(
            url=url,
            template=env.get("GRIDFLOW_SMS_TEMPLATE") or DEFAULT_SMS_TEMPLATE,
            token=env.get("GRIDFLOW_SMS_TOKEN") or None,
        )
    return senders
