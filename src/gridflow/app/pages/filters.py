"""What every page shares, registered on the app: the navigation counts, the template filters,
the hook refusing NUL characters and the error pages (JSON under /api/)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, abort, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import consultations, incidents, queues
from gridflow.app import api, wording
from gridflow.app.auth import load_staff, runtime
from gridflow.app.i18n import select_locale
from gridflow.app.permissions import is_api
from gridflow.errors import (
    ConflictError,
    ForbiddenError,
    GridflowError,
    InvalidStateError,
    NotFoundError,
)


def register_filters(app: Flask) -> None:
    @app.context_processor
    def nav() -> dict[str, object]:
        current = load_staff()
        if current is None or current.is_customer:
            return {"nav": {}}
        with runtime().db.read() as session:
            tabs = queues.counts(session, current.actor)
        tabs["consultations"] = consultations.open_count(runtime(), current.actor)
        if current.has("supervisor"):
            tabs["incidents"] = incidents.count_open(runtime())
        return {"nav": tabs}

    @app.template_filter("local")
    def local(moment: datetime | str | None) -> str:
        """An instant in the calendar's local time; also an ISO text (as kept in JSON)."""
        if moment is None:
            return ""
        if isinstance(moment, str):
            try:
                parsed = datetime.fromisoformat(moment)
            except ValueError:
                return moment
            if parsed.tzinfo is None:
                return moment
            moment = parsed
        return runtime().calendar.to_local(moment).strftime("%Y-%m-%d %H:%M")

    @app.template_filter("refusal")
    def refusal(reason: str) -> str:
        """A reason (`errors.Reason`) in the page's language; plain text as it is."""
        return wording.refusal(reason)

    @app.template_filter("duration")
    def duration(delta: timedelta | float | None) -> str:
        if delta is None:
            return ""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        return human_duration(seconds)

    @app.template_filter("working_time")
    def working_time(seconds: float) -> str:
        """Working seconds in words: working days of the calendar's day, hours, minutes."""
        return wording.working_words(seconds, runtime().calendar.day_length.total_seconds())

    @app.template_filter("standard")
    def standard(target: str | None, basis: str | None = "calendar") -> str:
        """A standard's ISO target (or a range of them) in words on its basis."""
        return wording.standard_words(target, basis)

    @app.template_filter("code_name")
    def code_name(code: object, kind: str) -> str:
        """A code's name in the page's language: `'call_centre'|code_name('channel')`."""
        return wording.code_name(kind, code)

    @app.template_filter("role_name")
    def role_name(role_id: str) -> str:
        """A role's name in the page's language (lanes are named after roles)."""
        role = runtime().roles.roles.get(role_id)
        if role is None:
            return role_id
        return role.name_zh if select_locale() == "zh_Hans" else role.name

    @app.template_filter("department_name")
    def department_name(department_id: str) -> str:
        """A department's name in the page's language."""
        for role in runtime().roles.roles.values():
            if role.department.id == department_id:
                department = role.department
                return department.name_zh if select_locale() == "zh_Hans" else department.name
        return department_id

    @app.template_filter("on_basis")
    def on_basis(delta: timedelta, basis: str, magnitude: bool = False) -> str:
        """Time left on a standard's basis: working days of the calendar's working day, or
        plain hours and days, in words."""
        seconds = abs(delta.total_seconds()) if magnitude else delta.total_seconds()
        if basis != "working":
            return human_duration(seconds)
        return wording.working_words(seconds, runtime().calendar.day_length.total_seconds())

    @app.before_request
    def refuse_nul() -> None:
        """No database stores a NUL character in text: such a page request is refused (the API
        answers the same with its own 422)."""
        if is_api(request.path):
            return
        values = [request.path, *request.args.values()]
        if request.method == "POST" and request.mimetype != "multipart/form-data":
            values.extend(request.form.values())
        if any("\x00" in value for value in values):
            abort(400, _("The request contains a NUL character."))

    @app.errorhandler(GridflowError)
    def gridflow_error(exc: GridflowError) -> tuple[str, int]:
        # A refusal no page caught itself: said in the reader's language, with the status
        # the API gives it.
        code = 400
        if isinstance(exc, ForbiddenError):
            code = 403
        elif isinstance(exc, NotFoundError):
            code = 404
        elif isinstance(exc, ConflictError | InvalidStateError):
            code = 409
        return render_template("error.html", message=wording.refusal(exc), code=code), code

    for code in (400, 403, 404, 405, 413, 429, 500):

        @app.errorhandler(code)
        def http_error(exc: Any, code: int = code) -> Response | tuple[str, int]:
            # Under /api/ every answer is JSON, also for paths and methods no route knows.
            if is_api(request.path):
                return api.http_error(exc)
            message = (getattr(exc, "description", "") or "") if code < 500 else ""
            return render_template("error.html", message=message, code=code), code


def human_duration(seconds: float) -> str:
    """Clock time in words ('4 hours 55 minutes'); see `wording`."""
    return wording.elapsed_words(seconds)
