"""The JSON API for integrations and scripts: the same rules as the pages, bearer tokens
instead of a session, and status codes that say what happened (201, 200, 401, 403, 404, 409,
422). The OpenAPI 3 document is at /api/openapi.json."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import Row
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from gridflow import (
    access,
    audit,
    decision_catalog,
    decisions,
    definitions,
    linkage,
    queues,
    signin,
    timeline,
    tokens,
    versions,
    work_items,
)
from gridflow.app import content, wording
from gridflow.app.auth import bearer_token, client_address, runtime, staff_for_bearer
from gridflow.app.openapi import document
from gridflow.app.permissions import link_read
from gridflow.catalog import Deployment
from gridflow.decision_catalog import DecisionDeployment
from gridflow.demands import (
    EXTRA_PROCESSES,
    DemandError,
    DemandInput,
    classify,
    create_demand,
)
from gridflow.engine import EngineError
from gridflow.errors import (
    ConflictError,
    DefinitionError,
    ForbiddenError,
    FormError,
    GridflowError,
    InvalidStateError,
    NotFoundError,
    Problem,
)
from gridflow.models import WorkItem
from gridflow.users import Staff

blueprint = Blueprint("api", __name__, url_prefix="/api")
F = TypeVar("F", bound=Callable[..., Any])


def error(status: int, code: str, message: str, **extra: object) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gridflow"'
    return response


def token_required(view: F) -> F:
    """Kept for views that want to say so: `permissions.enforce` has already checked the
    token (unexpired, unrevoked, its account enabled) and the route's roles."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if staff_for_bearer() is None:
            return error(401, "unauthorized", "send Authorization: Bearer <token>")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def current() -> Staff:
    staff = g.staff
    assert isinstance(staff, Staff)
    return staff


def body() -> dict[str, Any]:
    """The request's JSON object, checked to hold nothing a database cannot store (a NUL
    character in text, NaN or an infinite number); 422 otherwise."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadBody("the request body must be a JSON object")
    problem = _unstorable(data)
    if problem:
        raise BadBody(problem)
    return data


def optional_body() -> dict[str, Any]:
    """As `body`, for requests whose body may be left out entirely (then: {})."""
    if not request.get_data(cache=True):
        return {}
    return body()


def _unstorable(value: object, depth: int = 0) -> str | None:
    if isinstance(value, str):
        return "text must not contain NUL characters" if "\x00" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite (no NaN or Infinity)"
    if depth > 50:
        return "the body nests too deep"
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        problem = _unstorable(item, depth + 1)
        if problem:
            return problem
    return None


class BadBody(GridflowError):
    pass


@blueprint.errorhandler(GridflowError)
def gridflow_error(exc: GridflowError) -> Response:
    if isinstance(exc, FormError):
        return error(
            422,
            "invalid",
            "the form data is invalid",
            fields=exc.field_errors,
            field_texts=wording.refusals(exc),
        )
    if isinstance(exc, DemandError):
        return error(
            422,
            "invalid",
            "the demand is invalid",
            fields=exc.field_errors,
            messages=wording.intake_messages_both(exc.problems),
        )
    if isinstance(exc, queues.QueueError | BadBody):
        return error(422, "invalid", str(exc))
    # `text`: the refusal in the request's language (Accept-Language), `message` in English.
    if isinstance(exc, ForbiddenError):
        return error(403, "forbidden", str(exc), text=wording.refusal(exc))
    if isinstance(exc, NotFoundError):
        return error(404, "not_found", str(exc), text=wording.refusal(exc))
    if isinstance(exc, ConflictError | InvalidStateError):
        return error(409, "conflict", str(exc), text=wording.refusal(exc))
    # What is left is the server's own state, not the request (a stored definition that no
    # longer loads): 400, documented on the operations that start processes.
    return error(400, "bad_request", str(exc))


@blueprint.errorhandler(EngineError)
def engine_error(exc: EngineError) -> Response:
    """The process could not go on (nothing changed); the element is named, and an incident
    records it for a supervisor when the instance exists."""
    return error(
        422,
        "engine_error",
        str(exc),
        text=f"{exc.element_id or ''}: {wording.refusal(exc)}".lstrip(": "),
        element=exc.element_id,
        incident_id=exc.incident_id,
    )


@blueprint.errorhandler(queues.QueueError)
def queue_error(exc: queues.QueueError) -> Response:
    return error(422, "invalid", str(exc))


@blueprint.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    if code >= 500:
        return error(code, "server_error", "the server could not answer; nothing was changed")
    response = error(code, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")
    for name, value in exc.get_headers():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value  # 405 says which methods the path takes
    return response


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(linkage.rulebook(runtime().roles).events))


@blueprint.post("/tokens")
def create_token() -> Response:
    data = body()
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return error(422, "invalid", "give username and password as strings")
    if len(username) > 100 or len(password) > 1000:
        return error(422, "invalid", "username or password too long")
    rt = runtime()
    try:
        staff = signin.sign_in(rt, username, password, address=client_address(), channel="api")
    except signin.Throttled as exc:
        response = error(429, "too_many_attempts", str(exc), retry_after_s=exc.seconds)
        response.headers["Retry-After"] = str(exc.seconds)
        return response
    except signin.SignInFailed:
        return error(401, "unauthorized", "wrong user name or password")
    issued = tokens.issue(rt, staff, current_app.config["TOKEN_LIFETIME"])
    # The token is shown here, once; the database keeps only its SHA-256.
    response = jsonify({"token": issued.token, "expires_at": issued.expires_at.isoformat()})
    response.status_code = 201
    return response


@blueprint.delete("/tokens/current")
def revoke_token() -> Response:
    """Revoke the token this request carries: it stops working at once."""
    token = bearer_token()
    assert token is not None  # `permissions.enforce` let only a working token through
    tokens.revoke(runtime(), token)
    return Response(status=204)


@blueprint.post("/demands")
def post_demand() -> Response:
    data = body()
    fields = (
        "customer_name",
        "customer_category",
        "channel",
        "category",
        "address",
        "phone",
        "voltage",
        "supply",
        "area",
        "feeder",
    )
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    defaults = {"address": "", "phone": "", "feeder": "", "voltage": "low", "supply": "single"}
    defaults["area"] = "urban"
    for name in fields:
        value = data[name] if name in data else defaults.get(name)
        if not isinstance(value, str):
            problems[name] = "is required (text)" if name not in defaults else "must be text"
        values[name] = value
    capacity = data.get("capacity_kw", 0)
    if isinstance(capacity, bool) or not isinstance(capacity, int | float):
        problems["capacity_kw"] = "must be a number of kW"
    elif not 0 <= capacity <= 1e7:
        problems["capacity_kw"] = "must be a number of kW, from 0 to 10,000,000"
        capacity = 0
    priority = data.get("priority", 1)
    if isinstance(priority, bool) or not isinstance(priority, int):
        problems["priority"] = "must be 0 (low) to 3 (urgent)"
    also = data.get("also", [])
    if not isinstance(also, list) or not all(
        isinstance(a, str) and a in EXTRA_PROCESSES for a in also
    ):
        problems["also"] = "a list of: " + ", ".join(EXTRA_PROCESSES)
    if problems:
        raise DemandError(problems)
    demand = DemandInput(capacity_kw=float(capacity), priority=priority, **values)
    demand.validate(office=True)
    processes = [classify(demand)] + [EXTRA_PROCESSES[a] for a in also]
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and (len(key) > 100 or "\x00" in key):
        raise DemandError({"Idempotency-Key": "at most 100 characters"})
    accepted = create_demand(
        runtime(), demand, current().actor, processes=processes, request_key=key
    )
    response = jsonify(
        {
            "id": accepted.demand_id,
            "reference": accepted.reference,
            "instances": [
                {"instance_id": s.instance_id, "process_id": s.process_id, "version": s.version}
                for s in accepted.instances
            ],
        }
    )
    # A replayed key answers as the first request did, but says nothing new was created.
    response.status_code = 200 if accepted.replayed else 201
    response.headers["Location"] = f"/api/demands/{accepted.demand_id}"
    return response


@blueprint.get("/work-items")
def list_work_items() -> Response:
    args = request.args
    page_number = _whole(args.get("page", "1"), "page", 1, queues.MAX_PAGE)
    per_page = _whole(args.get("per_page", "50"), "per_page", 1, queues.MAX_PER_PAGE)
    for flag in ("overdue", "due_today"):
        if args.get(flag, "false") not in ("true", "false", "1", "0"):
            raise BadBody(f"{flag} must be true or false")
    if any("\x00" in value for value in args.values()):
        raise BadBody("query arguments must not contain NUL characters")
    page = queues.work_queue(
        runtime(),
        current().actor,
        args.get("scope", "team"),
        queues.QueueFilter(
            process=args.get("process") or None,
            link=args.get("link") or None,
            department=args.get("department") or None,
            overdue=args.get("overdue") in ("1", "true"),
            due_today=args.get("due_today") in ("1", "true"),
        ),
        sort=args.get("sort", "due"),
        page=page_number,
        per_page=per_page,
    )
    return jsonify(
        {
            "scope": page.scope,
            "items": [row.as_json() for row in page.rows],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
            "counts": page.counts,
        }
    )


def _whole(raw: str, name: str, low: int, high: int) -> int:
    """A query argument that must be a whole number in [low, high]; 422 otherwise."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12 or not low <= int(raw) <= high:
        raise BadBody(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _visible_item(item_id: int) -> WorkItem:
    with runtime().db.read() as session:
        item = session.get(WorkItem, item_id)
    if item is None:
        raise NotFoundError(f"work item {item_id} does not exist")
    _may_view(item)
    return item


def _may_view(item: WorkItem | Row[Any]) -> None:
    if not access.may_view_link(current().actor, item):
        raise ForbiddenError(f"{item.link_name} belongs to role {item.role!r}, not to yours")


def item_json(item: WorkItem | Row[Any]) -> dict[str, object]:
    """A link as the API shows it, from its ORM object or its work_items row."""
    link = runtime().definition(item.definition_id).links.get(item.element_id)
    return {
        "id": item.id,
        "version": item.lock_version,
        "state": item.state,
        "instance_id": item.instance_id,
        "link_id": item.element_id,
        "link_name": item.link_name,
        "lane": item.lane,
        "role": item.role,
        "department": item.department,
        "assignee": item.assignee,
        "ready_at": item.ready_at.isoformat(),
        "claimed_at": item.claimed_at.isoformat() if item.claimed_at else None,
        "ended_at": item.ended_at.isoformat() if item.ended_at else None,
        "completed_by": item.completed_by,
        "due_at": item.due_at.isoformat(),
        "standard": {"target": item.standard_target, "basis": item.standard_basis},
        "within_standard": item.within_standard,
        "form_data": item.form_data,
        "form": {
            "fields": [
                {
                    "id": f.id,
                    "label": f.label,
                    "type": f.type,
                    "required": f.required,
                    "options": [{"id": i, "name": n} for i, n in f.options],
                    "min": f.min,
                    "max": f.max,
                    "minlength": f.minlength,
                    "maxlength": f.maxlength,
                    "readonly": f.readonly,
                }
                for f in (link.form.fields if link else ())
            ]
        },
    }


def _version(data: dict[str, Any], required: bool) -> int | None:
    version = data.get("version")
    if version is None and not required:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or abs(version) > 2**31:
        raise BadBody("give the work item's version as read (an integer)")
    return version


@blueprint.get("/work-items/<int:item_id>")
def get_work_item(item_id: int) -> Response:
    # The permission check has read the link: not read again.
    item = link_read()
    if item is None:
        return jsonify(item_json(_visible_item(item_id)))
    _may_view(item)
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/claim")
def claim_work_item(item_id: int) -> Response:
    data = optional_body()
    item = work_items.claim(
        runtime(), item_id, current().actor, expected_version=_version(data, False)
    )
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/release")
def release_work_item(item_id: int) -> Response:
    data = optional_body()
    item = work_items.release(
        runtime(), item_id, current().actor, expected_version=_version(data, False)
    )
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/complete")
def complete_work_item(item_id: int) -> Response:
    # The verb checks the clerk's role (403) and the link's existence (404) itself.
    data = body()
    form = data.get("data", {})
    if not isinstance(form, dict):
        raise BadBody("'data' must be an object of form field values")
    version = _version(data, True)
    rt = runtime()
    try:
        item = work_items.complete(rt, item_id, current().actor, form, expected_version=version)
    except ConflictError:
        # A retried request whose first attempt went through: answer as the first time did.
        done = _visible_item(item_id)
        link = rt.definition(done.definition_id).links[done.element_id]
        if (
            done.state == "completed"
            and done.completed_by == current().username
            and done.form_data == _valid_or_none(link.form, form)
        ):
            return _completed(done)
        raise
    return _completed(item)


def _valid_or_none(form: Any, values: dict[str, Any]) -> dict[str, object] | None:
    try:
        return dict(form.validate(values))
    except FormError:
        return None


def _completed(item: WorkItem) -> Response:
    status, next_links = timeline.open_links(runtime(), item.instance_id)
    return jsonify(
        {
            "work_item": item_json(item),
            "instance_status": status,
            "next": [
                {"id": n.id, "link_name": n.link_name, "lane": n.lane, "role": n.role}
                for n in next_links
            ],
        }
    )


@blueprint.get("/instances/<int:instance_id>")
def get_instance(instance_id: int) -> Response:
    return jsonify(timeline.instance_timeline(runtime(), instance_id).as_json(content.say_note))


@blueprint.get("/demands/<int:demand_id>")
def get_demand(demand_id: int) -> Response:
    """The demand and its timeline; its customer's name, phone and address only for those who
    work it (see `gridflow.access`), `null` with `"personal_data": "withheld"` for others."""
    rt = runtime()
    view = timeline.demand_timeline(rt, demand_id).as_json(content.say_note)
    with rt.db.snapshot() as connection:
        sees = access.personal_demands(connection, current().actor, rt.roles, [demand_id])
    return jsonify(view if demand_id in sees else access.withheld(view))


# --- process definitions (designers and admins) -----------------------------------------------

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
