"""Request ids: the id of the request (or worker round) being served, carried into the task
events it writes (`details.request_id`) and into the logs, so an operator follows one request
from the load balancer's log to the audit trail.

An id comes from the caller's `X-Request-Id` when it is a sane token (1 to 128 letters, digits
and `-_.:/@+=`), else a new random one; a worker names its rounds `worker:<id>:<round>`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

HEADER = "X-Request-Id"
_VALID = re.compile(r"[A-Za-z0-9\-_.:/@+=]{1,128}")
_current: ContextVar[str | None] = ContextVar("gridflow_request_id", default=None)


def accepted(given: str | None) -> str:
    """The caller's id when it is a sane token, else a new one."""
    if given is not None and _VALID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current() -> str | None:
    return _current.get()


def bind(request_id: str | None) -> Token[str | None]:
    return _current.set(request_id)


def reset(token: Token[str | None]) -> None:
    _current.reset(token)


def stamped(details: Mapping[str, object] | None) -> dict[str, object] | None:
    """Task event details with the current request id (unchanged when none is bound)."""
    request_id = _current.get()
    if request_id is None:
        return dict(details) if details else None
    return {**(details or {}), "request_id": request_id}


def stamp_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task event rows with the current request id in their details."""
    if _current.get() is None:
        return events
    return [{**event, "details": stamped(event.get("details"))} for event in events]
