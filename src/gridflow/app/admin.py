"""Administrators' pages: the sign-in record (who signed in, who failed, from where, and which
accounts and addresses are locked now)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from gridflow import company_calendar, signin
from gridflow.app.auth import runtime
from gridflow.runtime import processes_dir

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/sign-ins")
def sign_ins() -> str:
    username = request.args.get("username", "").strip()[:100]
    outcome = request.args.get("outcome", "")
    if outcome not in signin.OUTCOMES:
        outcome = ""
    rt = runtime()
    today = rt.calendar.local_date(rt.clock.now())
    calendar_file = processes_dir() / company_calendar.CALENDAR_FILE
    undeclared = company_calendar.coming_year_warning(calendar_file, today)
    return render_template(
        "admin/sign_ins.html",
        undeclared_year=today.year + 1 if undeclared else None,
        attempts=signin.recent(rt, username=username or None, outcome=outcome or None),
        locked=signin.locked_now(rt),
        username=username,
        outcome=outcome,
        outcomes=signin.OUTCOMES,
    )


@blueprint.get("/outbox")
def outbox() -> str:
    """Every message told to customers, newest first: to whom, by which channel, its text and
    whether it went (the demo has no mail server: its messages are held and shown here)."""
    from sqlalchemy import select

    from gridflow.models import Notification
    from gridflow.notifications.outbox import STATUSES

    status = request.args.get("status", "")
    query = select(Notification).order_by(Notification.id.desc()).limit(200)
    if status in STATUSES:
        query = query.where(Notification.status == status)
    else:
        status = ""
    with runtime().db.read() as session:
        messages = list(session.scalars(query))
    return render_template("admin/outbox.html", messages=messages, status=status, statuses=STATUSES)
