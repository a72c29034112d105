"""Browser libraries installed from the npm registry at setup (web/node_modules), served as
static files. Only the distribution folders listed here are reachable."""

from __future__ import annotations

from flask import Blueprint, abort, send_from_directory
from werkzeug.wrappers import Response

from gridflow.app import WEB

blueprint = Blueprint("vendor", __name__, url_prefix="/vendor")
PACKAGES = {
    "bootstrap": "bootstrap/dist",
    "bpmn-js": "bpmn-js/dist",
    "camunda-bpmn-moddle": "camunda-bpmn-moddle/resources",
    "camunda-dmn-moddle": "camunda-dmn-moddle/resources",
    "chart.js": "chart.js/dist",
    "dmn-js": "dmn-js/dist",
}


@blueprint.get("/<package>/<path:filename>")
def asset(package: str, filename: str) -> Response:
    folder = PACKAGES.get(package)
    if folder is None:
        abort(404)
    response = send_from_directory(WEB / "node_modules" / folder, filename, max_age=86400)
    return response
