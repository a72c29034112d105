"""Signing in and out, and the decorator every staff page uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import users
from gridflow.app.i18n import LANGUAGES
from gridflow.runtime import Runtime

blueprint = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def runtime() -> Runtime:
    rt = current_app.extensions["gridflow"]
    assert isinstance(rt, Runtime)
    return rt


def load_staff() -> users.Staff | None:
    if "staff" not in g:
        user_id = session.get("user_id")
        g.staff = users.get_staff(runtime(), user_id) if isinstance(user_id, int) else None
    staff = g.staff
    return staff if isinstance(staff, users.Staff) else None


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if load_staff() is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    """Only local paths: a sign-in link must not send staff to another site."""
    if not target:
        return url_for("pages.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return url_for("pages.index")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if request.method == "POST":
        staff = users.authenticate(
            runtime(), request.form.get("username", ""), request.form.get("password", "")
        )
        if staff is None:
            flash(_("Wrong user name or password."), "danger")
            page = render_template("login.html", username=request.form.get("username", ""))
            return make_response(page, 401)
        session.clear()
        session["user_id"] = staff.id
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="")


@blueprint.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.post("/language")
def language() -> Response:
    choice = request.form.get("locale", "")
    if choice in LANGUAGES:
        session["locale"] = choice
        staff = load_staff()
        if staff is not None:
            users.set_locale(runtime(), staff.id, choice)
    return redirect(_safe_next(request.form.get("next")))
