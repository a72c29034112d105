"""The pages blueprint and what its pages share: the signed-in staff, the engine's refusal
flashed, whole numbers from forms and queries."""

from __future__ import annotations

from flask import Blueprint, flash
from flask_babel import gettext as _

from gridflow.app import wording
from gridflow.app.auth import load_staff
from gridflow.engine import EngineError
from gridflow.users import Staff

blueprint = Blueprint("pages", __name__)
PER_PAGE = 25


def flash_engine_error(exc: EngineError) -> None:
    """The process cannot go on past a link as designed: nothing was saved, and an incident
    tells a supervisor where it stands (the link page and the field view say so alike)."""
    flash(
        _(
            "The process could not go on after this link (at “%(element)s”: %(reason)s). "
            "Nothing was saved; a supervisor has been told (incident %(incident)s).",
            element=exc.element_id or "",
            reason=wording.refusal(exc),
            incident=exc.incident_id or "",
        ),
        "danger",
    )


def staff() -> Staff:
    current = load_staff()
    assert current is not None
    return current


def _int(raw: str | None, default: int) -> int:
    """A whole number from a form or query (default when missing or not one); kept within
    what the database stores."""
    if not raw or len(raw) > 12:
        return default
    try:
        return int(raw)
    except ValueError:
        return default
