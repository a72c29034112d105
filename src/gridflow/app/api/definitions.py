"""Process definitions (designers and admins): the versions deployed, and deploying a BPMN or
DMN file; the upload and problem shapes the designer pages share."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from gridflow import decision_catalog, decisions, definitions, versions
from gridflow.app.api.base import blueprint, current
from gridflow.app.auth import runtime
from gridflow.catalog import Deployment
from gridflow.decision_catalog import DecisionDeployment
from gridflow.errors import DefinitionError, Problem

DESIGNER_ROLES = ("designer",)


def version_json(version: versions.Version) -> dict[str, Any]:
    return {
        "definition_id": version.definition_id,
        "version": version.version,
        "content_hash": version.content_hash,
        "file_name": version.file_name,
        "deployed_at": version.deployed_at.isoformat(),
        "deployed_by": version.deployed_by,
        "running": version.running,
        "finished": version.finished,
    }


@blueprint.get("/definitions")
def list_definitions() -> Response:
    return jsonify(
        {
            "processes": [
                {
                    "process_id": p.process_id,
                    "name": p.name,
                    "category": p.category,
                    "versions": [version_json(v) for v in p.versions],
                }
                for p in versions.processes(runtime())
            ],
            "decisions": [
                {
                    "decision_id": d.decision_id,
                    "name": d.name,
                    "versions": [
                        {
                            "version": v.version,
                            "content_hash": v.content_hash,
                            "file_name": v.file_name,
                            "deployed_at": v.deployed_at.isoformat(),
                            "deployed_by": v.deployed_by,
                        }
                        for v in d.versions
                    ],
                }
                for d in decision_catalog.catalog(runtime().db)
            ],
        }
    )


@blueprint.post("/definitions")
def post_definition() -> Response:
    """Deploy a BPMN file: multipart field `file`, or the XML itself as the body."""
    upload = designer_upload()
    if isinstance(upload, list):
        return definition_problems(upload)
    xml, file_name = upload
    if decisions.looks_like_dmn(xml, file_name):
        return _post_decisions(xml, file_name)
    try:
        deployment = versions.deploy_bpmn(runtime(), xml, file_name, current().username, "api")
    except DefinitionError as exc:
        return definition_problems(exc.problems)
    response = jsonify(deployment_json(deployment))
    response.status_code = 201 if deployment.created else 200
    return response


def _post_decisions(xml: bytes, file_name: str) -> Response:
    """A .dmn file (by name, or by its DMN namespace): each decision in it deployed."""
    try:
        deployed = versions.deploy_dmn(runtime(), xml, file_name, current().username, "api")
    except DefinitionError as exc:
        return definition_problems(exc.problems)
    response = jsonify({"decisions": [decision_deployment_json(d) for d in deployed]})
    response.status_code = 201 if any(d.created for d in deployed) else 200
    return response


def decision_deployment_json(deployment: DecisionDeployment) -> dict[str, Any]:
    return {
        "decision_id": deployment.decision_id,
        "version": deployment.version,
        "created": deployment.created,
    }


def designer_upload() -> tuple[bytes, str] | list[Problem]:
    """The uploaded BPMN bytes and file name, or the problem (too big, no file): bodies are
    refused above the lint's size limit before they are read."""
    length = request.content_length
    if length is not None and length > definitions.MAX_FILE_BYTES + 64 * 1024:
        return [
            Problem(
                "upload",
                None,
                None,
                f"the request is {length} bytes; a BPMN file may have at most "
                f"{definitions.MAX_FILE_BYTES} bytes",
            )
        ]
    if request.mimetype == "multipart/form-data":
        file = request.files.get("file")
        if file is None or not file.filename:
            return [
                Problem("upload", None, None, "send the BPMN or DMN file in the form field 'file'")
            ]
        return file.read(definitions.MAX_FILE_BYTES + 1), file.filename
    # One byte over the limit is enough for the lint to refuse it with its size message.
    return request.stream.read(definitions.MAX_FILE_BYTES + 1), "upload.bpmn"


def problem_json(problem: Problem) -> dict[str, Any]:
    return {"element_id": problem.element_id, "line": problem.line, "message": problem.message}


def definition_problems(problems: list[Problem]) -> Response:
    """422: the error object every refusal of this API has, and the problems at the top level."""
    listed = [problem_json(p) for p in problems]
    message = "the file cannot be deployed; nothing was deployed"
    response = jsonify({"error": {"code": "invalid", "message": message}, "problems": listed})
    response.status_code = 422
    return response


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    return {
        "process_id": deployment.process_id,
        "version": deployment.version,
        "definition_id": deployment.definition_id,
        "created": deployment.created,
        "restores_version": deployment.restores_version,
    }
