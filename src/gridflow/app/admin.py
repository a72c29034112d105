"""Administrators' pages: the sign-in record (who signed in, who failed, from where, and which
accounts and addresses are locked now)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from gridflow import signin
from gridflow.app.auth import runtime

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/sign-ins")
def sign_ins() -> str:
    username = request.args.get("username", "").strip()[:100]
    outcome = request.args.get("outcome", "")
    if outcome not in signin.OUTCOMES:
        outcome = ""
    rt = runtime()
    return render_template(
        "admin/sign_ins.html",
        attempts=signin.recent(rt, username=username or None, outcome=outcome or None),
        locked=signin.locked_now(rt),
        username=username,
        outcome=outcome,
        outcomes=signin.OUTCOMES,
    )
