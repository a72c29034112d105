"""Designer pages: the process catalog (versions, instances, standards per link, diagram),
downloads, the in-browser modeler, upload, rollback to an older version, the diff of two
versions and instance migration.

Only designers and admins reach these pages; every deploy and migration is recorded with who
and when (see `versions.history`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import catalog, decision_catalog, decisions, definitions, migration, versions
from gridflow.app import wording
from gridflow.app.api import deployment_json, designer_upload, problem_json
from gridflow.app.auth import load_staff, runtime
from gridflow.app.content import for_reading
from gridflow.errors import ConflictError, DefinitionError, GridflowError, NotFoundError, Problem
from gridflow.forms import FIELD_TYPES
from gridflow.labels import lint as label_lint

blueprint = Blueprint("designer", __name__, url_prefix="/designer")
F = TypeVar("F", bound=Callable[..., Any])


def _actor() -> str:
    staff = load_staff()
    assert staff is not None
    return staff.username


def _process(process_id: str) -> versions.Process:
    try:
        return versions.process(runtime(), process_id)
    except NotFoundError as exc:
        abort(404, wording.refusal(exc))


def _version(process: versions.Process, number: int | None) -> versions.Version:
    if number is None:
        return process.latest
    try:
        return process.version(number)
    except NotFoundError as exc:
        abort(404, wording.refusal(exc))


def _number(name: str) -> int | None:
    raw = request.values.get(name, "")
    return int(raw) if raw.isdigit() else None


@blueprint.get("/")
def index() -> str:
    return render_template(
        "designer/index.html",
        processes=versions.processes(runtime()),
        decisions=decision_catalog.catalog(runtime().db),
    )


@blueprint.get("/<process_id>")
def process(process_id: str) -> str:
    found = _process(process_id)
    version = _version(found, _number("version"))
    definition = runtime().definition(version.definition_id)
    return render_template(
        "designer/process.html",
        process=found,
        version=version,
        links=list(definition.links.values()),
        history=versions.history(runtime(), process_id),
    )


@blueprint.get("/<process_id>/<int:number>.bpmn")
def download(process_id: str, number: int) -> Response:
    version = _version(_process(process_id), number)
    file_name, xml = versions.bpmn_of(runtime(), version.definition_id)
    if request.args.get("labels") == "reader":  # to draw, in the page's language
        response = make_response(for_reading(xml))
        response.mimetype = "application/xml"
        return response
    response = make_response(xml)
    response.mimetype = "application/xml"
    stem = file_name.removesuffix(".bpmn")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}_v{number}.bpmn"'
    return response


@blueprint.get("/<process_id>/modeler")
def modeler(process_id: str) -> str:
    found = _process(process_id)
    version = _version(found, _number("version"))
    roles = [{"id": r.id, "name": r.name} for r in runtime().roles.roles.values() if r.owns_lanes]
    return render_template(
        "designer/modeler.html",
        process=found,
        version=version,
        roles=roles,
        field_types=FIELD_TYPES,
    )


@blueprint.post("/<process_id>/deploy/preview")
def deploy_preview(process_id: str) -> Response:
    """The modeler's first step: lint and say what a deploy would do, deploying nothing.
    JSON: 200 {unchanged, version (the next, or the newest when unchanged), latest_version,
    running_stay}, 422 problems."""
    found = _process(process_id)
    upload = designer_upload()
    if isinstance(upload, list):
        return _problems(upload)
    xml, _name = upload
    try:
        preview = versions.preview_bpmn(runtime(), xml, found.latest.file_name)
    except DefinitionError as exc:
        return _problems(exc.problems)
    if preview.process_id != found.process_id:
        return _problems(
            [
                Problem(
                    found.latest.file_name,
                    None,
                    None,
                    f"the file's process is {preview.process_id!r}, not {found.process_id!r}",
                )
            ]
        )
    # Labels without their Chinese: deployable, but said before the designer deploys.
    untranslated = label_lint.untranslated_xml(xml, found.latest.file_name)
    return jsonify(
        {
            "unchanged": preview.unchanged,
            "version": preview.next_version,
            "latest_version": preview.latest_version,
            "running_stay": preview.running_stay,
            "warnings": [problem_json(p) for p in untranslated],
        }
    )


@blueprint.post("/<process_id>/deploy")
def deploy(process_id: str) -> Response:
    """The modeler's save: lint, then deploy when clean. JSON: 201 a new version, 200
    unchanged content, 422 problems (nothing deployed)."""
    found = _process(process_id)
    upload = designer_upload()
    if isinstance(upload, list):
        return _problems(upload)
    xml, _name = upload
    try:
        deployment = versions.deploy_bpmn(
            runtime(), xml, found.latest.file_name, _actor(), "modeler"
        )
    except DefinitionError as exc:
        return _problems(exc.problems)
    except ConflictError as exc:
        # `text`: the refusal in the page's language, for the modeler to show.
        conflict = jsonify({"problems": [], "error": str(exc), "text": wording.refusal(exc)})
        conflict.status_code = 409
        return conflict
    body = deployment_json(deployment)
    body["url"] = url_for(
        "designer.process", process_id=deployment.process_id, version=deployment.version
    )
    response = jsonify(body)
    response.status_code = 201 if deployment.created else 200
    return response


def _problems(problems: list[Problem]) -> Response:
    response = jsonify({"problems": [problem_json(p) for p in problems]})
    response.status_code = 422
    return response


@blueprint.post("/upload")
def upload() -> Response | tuple[str, int]:
    uploaded = designer_upload()
    if isinstance(uploaded, list):
        return _upload_refused(uploaded, b"")
    xml, file_name = uploaded
    if decisions.looks_like_dmn(xml, file_name):
        return _upload_decisions(xml, file_name)
    try:
        deployment = versions.deploy_bpmn(runtime(), xml, file_name, _actor(), "upload")
    except DefinitionError as exc:
        return _upload_refused(exc.problems, xml)
    if deployment.restores_version is not None:
        flash(_rolled_back(deployment.version, deployment.restores_version), "success")
    elif deployment.created:
        flash(_("Deployed version %(version)d.", version=deployment.version), "success")
    else:
        flash(
            _("Unchanged: this content is version %(version)d.", version=deployment.version),
            "info",
        )
    return redirect(
        url_for("designer.process", process_id=deployment.process_id, version=deployment.version)
    )


def _upload_decisions(xml: bytes, file_name: str) -> Response | tuple[str, int]:
    """A .dmn upload: its decisions deployed, then the first one's page."""
    try:
        deployed = versions.deploy_dmn(runtime(), xml, file_name, _actor(), "upload")
    except DefinitionError as exc:
        page = render_template("designer/refused.html", problems=exc.problems, xml="", markers={})
        return page, 422
    for deployment in deployed:
        if deployment.created:
            flash(
                _(
                    "Deployed decision %(decision)s, version %(version)d.",
                    decision=deployment.decision_id,
                    version=deployment.version,
                ),
                "success",
            )
        else:
            flash(
                _(
                    "Unchanged: decision %(decision)s is version %(version)d.",
                    decision=deployment.decision_id,
                    version=deployment.version,
                ),
                "info",
            )
    first = deployed[0]
    return redirect(
        url_for("decisions.decision", decision_id=first.decision_id, version=first.version)
    )


def _upload_refused(problems: list[Problem], xml: bytes) -> tuple[str, int]:
    # The diagram is shown (with the problems marked) only for a file that is XML we read.
    parsed = definitions.well_formed(xml)
    page = render_template(
        "designer/refused.html",
        problems=problems,
        xml=xml.decode("utf-8", "replace") if parsed else "",
        markers={p.element_id: "gf-problem" for p in problems if p.element_id},
    )
    return page, 422


@blueprint.route("/<process_id>/rollback", methods=["GET", "POST"])
def rollback(process_id: str) -> Response | str | tuple[str, int]:
    """Make an older version the newest again: a confirmation naming the version (GET), then
    its content deployed as the next version (POST). New demands start on it; running
    instances keep their version."""
    found = _process(process_id)
    number = _number("to")
    if number is None:
        abort(404)
    version = _version(found, number)
    if request.method == "GET":
        same = version.content_hash == found.latest.content_hash
        return render_template(
            "designer/rollback.html", process=found, version=version, newest_already=same
        )
    try:
        deployment = catalog.rollback(runtime(), process_id, version.version, _actor(), "designer")
    except DefinitionError as exc:
        return _upload_refused(exc.problems, b"")
    if deployment.created:
        flash(_rolled_back(deployment.version, version.version), "success")
    else:
        flash(
            _("Unchanged: this content is version %(version)d.", version=deployment.version),
            "info",
        )
    return redirect(url_for("designer.process", process_id=process_id, version=deployment.version))


def _rolled_back(version: int, old: int) -> str:
    return _(
        "Version %(version)d is the content of version %(old)d again; new demands start on it.",
        version=version,
        old=old,
    )


@blueprint.get("/<process_id>/diff")
def diff(process_id: str) -> str:
    found = _process(process_id)
    old = _version(found, _number("a") or max(found.latest.version - 1, 1))
    new = _version(found, _number("b") or found.latest.version)
    rt = runtime()
    changes = versions.diff(rt.definition(old.definition_id), rt.definition(new.definition_id))
    before = {c.element_id: "gf-removed" for c in changes.removed}
    after = {c.element_id: "gf-added" for c in changes.added}
    for change in changes.changed:
        before[change.element_id] = after[change.element_id] = "gf-changed"
    return render_template(
        "designer/diff.html",
        process=found,
        old=old,
        new=new,
        changes=changes,
        before=before,
        after=after,
    )


@blueprint.route("/<process_id>/migrate", methods=["GET", "POST"])
def migrate(process_id: str) -> str:
    found = _process(process_id)
    source = _version(found, _number("from") or found.versions[-1].version)
    target = _version(found, _number("to") or found.latest.version)
    rt = runtime()
    staff = load_staff()
    assert staff is not None
    moved: list[migration.Candidate] = []
    candidates: list[migration.Candidate] = []
    try:
        if request.method == "POST":
            chosen = [int(i) for i in request.form.getlist("instance") if i.isdigit()]
            if not chosen:
                flash(_("Choose at least one instance to move."), "warning")
            else:
                moved = migration.migrate(
                    rt, source.definition_id, target.definition_id, chosen, staff.actor
                )
                count = sum(1 for m in moved if m.moved)
                flash(
                    _(
                        "%(count)d instance(s) moved to version %(version)d.",
                        count=count,
                        version=target.version,
                    ),
                    "success" if count else "warning",
                )
        if source.definition_id != target.definition_id:
            candidates = migration.dry_run(rt, source.definition_id, target.definition_id)
    except GridflowError as exc:
        flash(wording.refusal(exc), "danger")
    return render_template(
        "designer/migrate.html",
        process=found,
        source=source,
        target=target,
        candidates=candidates,
        moved=moved,
    )
