"""Signing in and out: who a request comes from (a server-side session for pages, a bearer
token for the API), the throttled sign-in page, and cookies that are Secure over https."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from gridflow import sessions, signin, tokens, users
from gridflow.app.i18n import LANGUAGES
from gridflow.runtime import Runtime

blueprint = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def runtime() -> Runtime:
    rt = current_app.extensions["gridflow"]
    assert isinstance(rt, Runtime)
    return rt


def load_staff(connection: Connection | None = None) -> users.Staff | None:
    """The account signed in in this browser (its session still open), or None; looked up on
    `connection` when given."""
    if "staff" not in g:
        session_id = session.get("sid")
        lifetimes = current_app.config.get("SESSION_LIFETIMES", sessions.Lifetimes())
        g.staff = (
            sessions.staff_for(runtime(), session_id, lifetimes, connection)
            if isinstance(session_id, str)
            else None
        )
    staff = g.staff
    return staff if isinstance(staff, users.Staff) else None


def bearer_token() -> str | None:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def staff_for_bearer(connection: Connection | None = None) -> users.Staff | None:
    """The account of the request's bearer token (unexpired, unrevoked), or None; looked up on
    `connection` when given."""
    if "staff" not in g:
        token = bearer_token()
        g.staff = tokens.staff_for(runtime(), token, connection) if token else None
    staff = g.staff
    return staff if isinstance(staff, users.Staff) else None


def login_required(view: F) -> F:
    """Kept for views that want to say so; `permissions.enforce` has already checked."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if load_staff() is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def client_address() -> str:
    """The client's address: the socket's, or X-Forwarded-For's as far as the proxies that
    GRIDFLOW_TRUSTED_PROXIES trusts say (ProxyFix has put it in remote_addr)."""
    return (request.remote_addr or "unknown")[:64]


def _safe_next(target: str | None) -> str:
    """Only local paths: a sign-in link must not send staff to another site, nor put a line
    break into the Location header."""
    if not target:
        return url_for("pages.index")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in target):
        return url_for("pages.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.index")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if request.method == "POST":
        rt = runtime()
        username = request.form.get("username", "")
        try:
            staff = signin.sign_in(
                rt,
                username,
                request.form.get("password", ""),
                address=client_address(),
                channel="page",
            )
        except signin.Throttled as exc:
            from gridflow.app.pages import human_duration

            wait = human_duration(math.ceil(exc.seconds / 60) * 60)  # whole minutes, rounded up
            if exc.scope == "account":
                text = _(
                    "Too many failed sign-ins for this account. Try again in %(wait)s.", wait=wait
                )
            else:
                text = _(
                    "Too many failed sign-ins from your address. Try again in %(wait)s.", wait=wait
                )
            flash(text, "danger")
            response = make_response(render_template("login.html", username=username), 429)
            response.headers["Retry-After"] = str(exc.seconds)
            return response
        except signin.SignInFailed:
            flash(_("Wrong user name or password."), "danger")
            return make_response(render_template("login.html", username=username), 401)
        old = session.get("sid")
        if isinstance(old, str):
            sessions.end(rt, old, "replaced")
        # A new session id on every sign-in: a cookie planted before it signs no one in.
        locale = session.get("locale")
        session.clear()
        if locale in LANGUAGES:
            session["locale"] = locale
        session["sid"] = sessions.start(rt, staff, client_address())
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="")


@blueprint.post("/logout")
def logout() -> Response:
    session_id = session.get("sid")
    was = load_staff()
    if isinstance(session_id, str):
        sessions.end(runtime(), session_id, "logout")
    session.clear()
    if was is not None and was.is_customer:
        return redirect(url_for("portal.sign_in_page"))
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


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie (holding only the session id, the language and the CSRF token),
    marked Secure when GRIDFLOW_SECURE_COOKIES says so or the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookies()
