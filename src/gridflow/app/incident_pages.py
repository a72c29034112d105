"""Incidents for supervisors and administrators: what the engine could not do by itself (an
external task whose retries ran out, an instance stuck on an engine error), with the place in
the process, and a button to retry each; and cancelling an instance with a reason."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import incidents, system_tasks
from gridflow.app import wording
from gridflow.app.auth import load_staff, login_required, runtime
from gridflow.errors import ConflictError, InvalidStateError, NotFoundError

blueprint = Blueprint("incidents", __name__)


def _supervisor() -> None:
    staff = load_staff()
    if staff is None or not staff.has("supervisor"):
        abort(403, _("Incidents are for supervisors and administrators."))


@blueprint.get("/incidents")
@login_required
def incident_list() -> str:
    _supervisor()
    rt = runtime()
    return render_template(
        "incidents.html",
        open_incidents=incidents.listing(rt, state="open"),
        resolved=incidents.listing(rt, state="resolved", limit=30),
    )


@blueprint.post("/incidents/<int:incident_id>/retry")
@login_required
def retry(incident_id: int) -> Response:
    _supervisor()
    staff = load_staff()
    assert staff is not None
    try:
        done = incidents.retry(runtime(), incident_id, staff.actor)
    except NotFoundError:
        abort(404)
    except (InvalidStateError, ConflictError) as exc:
        flash(wording.refusal(exc), "warning")
    else:
        if done.kind == "failed_external_task":
            flash(_("Retried: the system step goes back to its workers."), "success")
        else:
            flash(_("Marked retried: the step that failed runs again."), "success")
    return redirect(url_for("incidents.incident_list"))


@blueprint.post("/instances/<int:instance_id>/cancel")
@login_required
def cancel(instance_id: int) -> Response:
    _supervisor()
    staff = load_staff()
    assert staff is not None
    reason = (request.form.get("reason") or "").strip()[:500]
    try:
        system_tasks.cancel(runtime(), instance_id, staff.actor, reason)
    except NotFoundError:
        abort(404)
    except (InvalidStateError, ConflictError) as exc:
        flash(wording.refusal(exc), "warning")
    else:
        flash(_("Instance %(id)s cancelled.", id=instance_id), "success")
    return redirect(request.referrer or url_for("incidents.incident_list"))
