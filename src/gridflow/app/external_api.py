"""The external-task API, in Camunda 7's shape (paths, bodies, typed variables), so that
workers written with Camunda's external-task clients can serve gridflow with only a new base
URL (`…/api`) and a bearer token: fetch and lock, complete, failure, BPMN error, extend lock,
unlock, set retries. Also incidents (list, retry) and cancelling an instance.

Workers are `integration` accounts limited to the topics granted to them; administrators may
act as any worker, supervisors may read, unlock and retry. Every body is checked before
anything is touched: 422 naming the field, 404 for a task the account cannot see, 409 for a
lock held by another worker or a task already finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from gridflow import external_tasks, incidents, system_tasks
from gridflow.app.api import blueprint, body, current, error, token_required
from gridflow.app.auth import runtime
from gridflow.errors import GridflowError
from gridflow.external_tasks import LockedTask, TopicRequest, Worker

MAX_ASYNC_RESPONSE_MS = 30_000
POLL_SECONDS = 0.25
# Camunda's value types and the JSON values they carry.
TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Boolean": bool,
    "Integer": int,
    "Short": int,
    "Long": int,
    "Double": (int, float),
}


class ApiInputError(GridflowError):
    """A request body field that is missing or of the wrong shape; names the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@blueprint.errorhandler(ApiInputError)
def input_error(exc: ApiInputError) -> Response:
    return error(422, "invalid", str(exc), fields={exc.field: str(exc).split(": ", 1)[-1]})


def _worker(data: Mapping[str, Any]) -> Worker:
    staff = current()
    worker_id = data.get("workerId")
    if not isinstance(worker_id, str):
        raise ApiInputError("workerId", "give the worker's id as a string")
    serves = None if staff.has("admin") else _served_topics(staff)
    return Worker(staff.username, worker_id, serves)


def _served_topics(staff: Any) -> frozenset[str]:  # noqa: ANN401 - users.Staff
    return frozenset(
        grant.split(":", 1)[1]
        for grant in getattr(staff, "grants", ())
        if grant.startswith("topic:") and staff.may_serve_topic(grant.split(":", 1)[1])
    )


def _whole(data: Mapping[str, Any], name: str, low: int, high: int, default: int | None) -> int:
    value = data.get(name, default)
    if value is None:
        raise ApiInputError(name, "is required")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiInputError(name, f"must be a whole number from {low} to {high}")
    return value


def _text(data: Mapping[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiInputError(name, "is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiInputError(name, f"must be text of at most {limit} characters")
    return value


def plain_variables(raw: object, name: str = "variables") -> dict[str, object]:
    """Camunda's typed variables (`{"paid": {"value": true, "type": "Boolean"}}`) or plain JSON
    values, as plain values; ApiInputError naming the variable otherwise."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiInputError(name, "must be an object of variables")
    result: dict[str, object] = {}
    for key, entry in raw.items():
        where = f"{name}.{key}"
        if not isinstance(entry, dict) or "value" not in entry:
            raise ApiInputError(where, 'write each variable as {"value": …, "type": …}')
        value, kind = entry.get("value"), entry.get("type")
        if kind in (None, "Null") or value is None:
            result[key] = value if kind != "Null" else None
        elif kind == "Json":
            if not isinstance(value, str):
                raise ApiInputError(where, "a Json value is a JSON text")
            try:
                result[key] = json.loads(value)
            except ValueError as exc:
                raise ApiInputError(where, f"not JSON: {exc}") from exc
        elif kind in TYPES:
            expected = TYPES[kind]
            if isinstance(value, bool) and kind != "Boolean" or not isinstance(value, expected):
                raise ApiInputError(where, f"a {kind} value cannot be {value!r}")
            result[key] = value
        else:
            raise ApiInputError(where, f"type {kind!r} is not supported (String, Boolean, "
                                "Integer, Long, Double, Json, Null)")  # fmt: skip
    return result


def typed_variables(values: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """Plain values as Camunda's typed variables."""
    result: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        kind: str
        shown: object
        if value is None:
            kind, shown = "Null", None
        elif isinstance(value, bool):
            kind, shown = "Boolean", value
        elif isinstance(value, int):
            kind, shown = ("Integer" if -(2**31) <= value < 2**31 else "Long"), value
        elif isinstance(value, float):
            kind, shown = "Double", value
        elif isinstance(value, str):
            kind, shown = "String", value
        else:
            kind, shown = "Json", json.dumps(value, ensure_ascii=False)
        result[key] = {"value": shown, "type": kind, "valueInfo": {}}
    return result


def task_json(task: LockedTask) -> dict[str, object]:
    """An external task as Camunda's REST API shows one."""
    return {
        "id": str(task.id),
        "topicName": task.topic,
        "workerId": task.worker_id,
        "lockExpirationTime": task.lock_expires_at.isoformat() if task.lock_expires_at else None,
        "retries": task.retries,
        "errorMessage": task.error_message,
        "activityId": task.element_id,
        "activityName": task.step_name,
        "processInstanceId": str(task.instance_id),
        "processDefinitionKey": task.process_id,
        "processDefinitionVersion": task.process_version,
        "businessKey": task.business_key,
        "priority": task.priority,
        "state": task.state,
        "createTime": task.created_at.isoformat(),
        "variables": typed_variables(task.variables),
    }


def _topics(data: Mapping[str, Any]) -> list[TopicRequest]:
    raw = data.get("topics")
    if not isinstance(raw, list) or not raw:
        raise ApiInputError("topics", "give a list of topics to fetch")
    topics = []
    for n, entry in enumerate(raw):
        where = f"topics[{n}]"
        if not isinstance(entry, dict):
            raise ApiInputError(where, "must be an object")
        name = entry.get("topicName")
        if not isinstance(name, str) or not name or len(name) > 100:
            raise ApiInputError(f"{where}.topicName", "give the topic's name")
        duration = entry.get("lockDuration")
        if isinstance(duration, bool) or not isinstance(duration, int):
            raise ApiInputError(f"{where}.lockDuration", "give the lock's length in milliseconds")
        names = entry.get("variables")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(v, str) for v in names)
        ):
            raise ApiInputError(f"{where}.variables", "must be a list of variable names")
        topics.append(TopicRequest(name, duration, tuple(names) if names is not None else None))
    return topics


@blueprint.post("/external-task/fetchAndLock")
@token_required
def fetch_and_lock() -> Response:
    """Lock up to maxTasks tasks of the topics; with asyncResponseTimeout, wait up to that long
    (at most 30 s) for one to come."""
    data = body()
    worker = _worker(data)
    topics = _topics(data)
    max_tasks = _whole(data, "maxTasks", 1, external_tasks.MAX_TASKS, None)
    wait_ms = _whole(data, "asyncResponseTimeout", 0, MAX_ASYNC_RESPONSE_MS, 0)
    use_priority = data.get("usePriority", True)
    if not isinstance(use_priority, bool):
        raise ApiInputError("usePriority", "must be true or false")
    external_tasks.check_topics(worker, topics)
    deadline = time.monotonic() + wait_ms / 1000
    rt = runtime()
    while True:
        locked = external_tasks.fetch_and_lock(
            rt, worker, topics, max_tasks, use_priority=use_priority
        )
        if locked or time.monotonic() >= deadline:
            return jsonify([task_json(task) for task in locked])
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


@blueprint.get("/external-task")
@token_required
def list_external_tasks() -> Response:
    """Open external tasks (a worker sees those of its topics), oldest first."""
    staff = current()
    topic = request.args.get("topicName") or None
    worker = None
    if not staff.has(*SUPERVISING):
        worker = Worker(staff.username, "list", _served_topics(staff))
    found = external_tasks.listing(runtime(), topic=topic, worker=worker)
    return jsonify([task_json(task) for task in found])


@blueprint.get("/external-task/<int:task_id>")
@token_required
def get_external_task(task_id: int) -> Response:
    staff = current()
    worker = None
    if not staff.has("admin", "supervisor"):
        worker = Worker(staff.username, "read", _served_topics(staff))
    return jsonify(task_json(external_tasks.get(runtime(), task_id, worker)))


def _done() -> Response:
    return Response(status=204)


SUPERVISING = ("supervisor",)  # and admin, which `has` always allows


def _supervising() -> Response | None:
    """Incidents, retries and cancelling are for supervisors and administrators."""
    if not current().has(*SUPERVISING):
        return error(403, "forbidden", "only supervisors and administrators may do this")
    return None


@blueprint.post("/external-task/<int:task_id>/complete")
@token_required
def complete_external_task(task_id: int) -> Response:
    data = body()
    worker = _worker(data)
    variables = plain_variables(data.get("variables"))
    if data.get("localVariables"):
        variables.update(plain_variables(data.get("localVariables"), "localVariables"))
    external_tasks.complete(runtime(), task_id, worker, variables)
    return _done()


@blueprint.post("/external-task/<int:task_id>/failure")
@token_required
def fail_external_task(task_id: int) -> Response:
    data = body()
    worker = _worker(data)
    external_tasks.failure(
        runtime(),
        task_id,
        worker,
        _text(data, "errorMessage", 500) or "",
        error_details=_text(data, "errorDetails", 20_000),
        retries=_whole(data, "retries", 0, external_tasks.MAX_RETRIES, None),
        retry_timeout_ms=_whole(data, "retryTimeout", 0, external_tasks.MAX_RETRY_TIMEOUT_MS, 0),
    )
    return _done()


@blueprint.post("/external-task/<int:task_id>/bpmnError")
@token_required
def bpmn_error_external_task(task_id: int) -> Response:
    data = body()
    worker = _worker(data)
    external_tasks.bpmn_error(
        runtime(),
        task_id,
        worker,
        _text(data, "errorCode", 100, required=True) or "",
        _text(data, "errorMessage", 500),
        plain_variables(data.get("variables")),
    )
    return _done()


@blueprint.post("/external-task/<int:task_id>/extendLock")
@token_required
def extend_lock_external_task(task_id: int) -> Response:
    data = body()
    worker = _worker(data)
    external_tasks.extend_lock(
        runtime(),
        task_id,
        worker,
        _whole(data, "newDuration", external_tasks.MIN_LOCK_MS, external_tasks.MAX_LOCK_MS, None),
    )
    return _done()


@blueprint.post("/external-task/<int:task_id>/unlock")
@token_required
def unlock_external_task(task_id: int) -> Response:
    staff = current()
    worker = None
    if not staff.has("admin", "supervisor"):
        data = body()
        worker = _worker(data)
    external_tasks.unlock(runtime(), task_id, staff.actor, worker)
    return _done()


@blueprint.put("/external-task/<int:task_id>/retries")
@token_required
def set_external_task_retries(task_id: int) -> Response:
    if (refused := _supervising()) is not None:
        return refused
    data = body()
    retries = _whole(data, "retries", 1, external_tasks.MAX_RETRIES, None)
    external_tasks.set_retries(runtime(), task_id, retries, current().actor)
    return _done()


# --- incidents and cancelling ----------------------------------------------------------------


@blueprint.get("/incidents")
@token_required
def list_incidents() -> Response:
    if (refused := _supervising()) is not None:
        return refused
    state = request.args.get("state", "open")
    if state not in ("open", "resolved"):
        raise ApiInputError("state", "must be open or resolved")
    return jsonify([i.as_json() for i in incidents.listing(runtime(), state=state)])


@blueprint.post("/incidents/<int:incident_id>/retry")
@token_required
def retry_incident(incident_id: int) -> Response:
    if (refused := _supervising()) is not None:
        return refused
    data = body() if request.get_data() else {}
    retries = _whole(data, "retries", 1, 100, 1)
    return jsonify(incidents.retry(runtime(), incident_id, current().actor, retries).as_json())


@blueprint.post("/instances/<int:instance_id>/cancel")
@token_required
def cancel_instance(instance_id: int) -> Response:
    if (refused := _supervising()) is not None:
        return refused
    data = body()
    reason = _text(data, "reason", 500, required=True) or ""
    system_tasks.cancel(runtime(), instance_id, current().actor, reason)
    return _done()
