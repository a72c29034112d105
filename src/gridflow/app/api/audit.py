"""Auditors' figures over the API: the per-link figures, filtered as the audit page is."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from gridflow import audit
from gridflow.app.api.base import blueprint, current, error
from gridflow.app.auth import runtime


@blueprint.get("/audit/links")
def audit_links() -> Response:
    """Per-link figures (durations in seconds, calendar and working time), filtered as the
    audit page is; a supervisor gets the links of their departments only."""
    rt = runtime()
    actor = current().actor
    for name in ("since", "until", "version"):
        if name in request.args and not request.args[name].strip():
            return error(422, "invalid", f"{name}: give a value, or leave the argument out")
    try:
        flt = audit.parse_filter(request.args, rt.calendar, audit.visible_departments(actor, rt))
    except audit.AuditFilterError as exc:
        return error(422, "invalid", str(exc))
    return jsonify(
        {
            "links": [row.as_json() for row in audit.link_figures(rt, flt)],
            "departments": sorted(flt.departments) if flt.departments is not None else None,
            "percentiles": "linear interpolation between closest ranks (numpy's default)",
            "working_day_s": rt.calendar.day_length.total_seconds(),
        }
    )
