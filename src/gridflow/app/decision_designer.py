"""Designer pages for DMN decision tables: a deployed version drawn with dmn-js, its download,
the dmn-js editor, and "check and deploy" through the same lint as `gridflow lint`.

Only designers and admins reach these pages (the designer blueprint's rule).
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, make_response, render_template, request, url_for
from werkzeug.wrappers import Response

from gridflow import decision_catalog, versions
from gridflow.app import wording
from gridflow.app.api import designer_upload, problem_json
from gridflow.app.auth import load_staff, runtime
from gridflow.app.content import for_reading
from gridflow.decision_catalog import DecisionEntry, DecisionVersion
from gridflow.errors import DefinitionError, NotFoundError, Problem

blueprint = Blueprint("decisions", __name__, url_prefix="/designer/decisions")


def _entry(decision_id: str) -> DecisionEntry:
    try:
        return decision_catalog.entry(runtime().db, decision_id)
    except NotFoundError as exc:
        abort(404, wording.refusal(exc))


def _version(entry: DecisionEntry) -> DecisionVersion:
    raw = request.args.get("version", "")
    if not raw:
        return entry.latest
    if not raw.isdigit():
        abort(404)
    try:
        return entry.version(int(raw))
    except NotFoundError as exc:
        abort(404, wording.refusal(exc))


@blueprint.get("/<decision_id>")
def decision(decision_id: str) -> str:
    entry = _entry(decision_id)
    return render_template("designer/decision.html", entry=entry, version=_version(entry))


@blueprint.get("/<decision_id>/<int:number>.dmn")
def download(decision_id: str, number: int) -> Response:
    try:
        version = _entry(decision_id).version(number)
    except NotFoundError as exc:
        abort(404, wording.refusal(exc))
    file_name, xml = decision_catalog.dmn_of(runtime().db, version.row_id)
    if request.args.get("labels") == "reader":  # to draw, in the page's language
        response = make_response(for_reading(xml))
        response.mimetype = "application/xml"
        return response
    response = make_response(xml)
    response.mimetype = "application/xml"
    stem = file_name.removesuffix(".dmn")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}_v{number}.dmn"'
    return response


@blueprint.get("/<decision_id>/editor")
def editor(decision_id: str) -> str:
    entry = _entry(decision_id)
    return render_template("designer/decision_editor.html", entry=entry, version=_version(entry))


@blueprint.post("/<decision_id>/deploy")
def deploy(decision_id: str) -> Response:
    """The editor's save: lint, then deploy when clean. JSON: 201 a new version, 200
    unchanged content, 422 problems (nothing deployed)."""
    entry = _entry(decision_id)
    upload = designer_upload()
    if isinstance(upload, list):
        return _problems(upload)
    xml, _name = upload
    staff = load_staff()
    assert staff is not None
    try:
        deployed = versions.deploy_dmn(
            runtime(), xml, entry.latest.file_name, staff.username, "modeler"
        )
    except DefinitionError as exc:
        return _problems(exc.problems)
    mine = next((d for d in deployed if d.decision_id == decision_id), None)
    if mine is None:
        return _problems(
            [
                Problem(
                    entry.latest.file_name, None, None, f"the file no longer holds {decision_id!r}"
                )
            ]
        )
    body = {
        "decision_id": mine.decision_id,
        "version": mine.version,
        "created": mine.created,
        "url": url_for("decisions.decision", decision_id=decision_id, version=mine.version),
    }
    response = jsonify(body)
    response.status_code = 201 if mine.created else 200
    return response


def _problems(problems: list[Problem]) -> Response:
    response = jsonify({"problems": [problem_json(p) for p in problems]})
    response.status_code = 422
    return response
