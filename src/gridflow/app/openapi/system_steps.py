"""The system steps' paths, in Camunda 7's shape: external tasks (fetch and lock, complete,
fail, BPMN error, extend, unlock, retries), incidents, cancelling an instance."""

from __future__ import annotations

from typing import Any

from gridflow.app.openapi.common import ERRORS, ITEM_ID, _body, _json, _object, _ref


def _id(name: str) -> dict[str, Any]:
    return {**ITEM_ID, "name": name}


VARIABLES = {
    "type": "object",
    "description": "Camunda's typed variables: name → {value, type}; type one of String, "
    "Boolean, Integer, Short, Long, Double, Json (a JSON text), Null",
    "additionalProperties": _object(
        ["value"],
        value={"nullable": True},
        type={
            "type": "string",
            "enum": ["String", "Boolean", "Integer", "Short", "Long", "Double", "Json", "Null"],
        },
    ),
}
WORKER_ID = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Za-z0-9_.:@-]+$"}
LOCK_MS = {"type": "integer", "minimum": 1000, "maximum": 7 * 24 * 3600 * 1000}


def _system_step_paths() -> dict[str, Any]:
    """External tasks in Camunda 7's shape, incidents, cancelling an instance (issue 10)."""
    task = _object(
        ["id", "topicName", "activityId", "processInstanceId", "businessKey", "variables"],
        id={"type": "string", "description": "the task's id (a number, as text, as Camunda)"},
        topicName={"type": "string"},
        workerId={"type": "string", "nullable": True},
        lockExpirationTime={"type": "string", "format": "date-time", "nullable": True},
        retries={"type": "integer", "nullable": True},
        errorMessage={"type": "string", "nullable": True},
        activityId={"type": "string"},
        activityName={"type": "string"},
        processInstanceId={"type": "string"},
        processDefinitionKey={"type": "string"},
        processDefinitionVersion={"type": "integer"},
        businessKey={"type": "string"},
        priority={"type": "integer"},
        state={"type": "string", "enum": ["ready", "locked", "incident"]},
        createTime={"type": "string", "format": "date-time"},
        variables={"type": "object"},
    )
    done = {"description": "Done (no content)"}
    conflict = _json(_ref("Error"), "Not locked by this worker, or finished already")
    worker = {"workerId": WORKER_ID}
    incident = _object(
        ["id", "instance_id", "kind", "message", "state"],
        id={"type": "integer"},
        instance_id={"type": "integer"},
        process_id={"type": "string"},
        version={"type": "integer"},
        business_key={"type": "string"},
        element_id={"type": "string", "nullable": True},
        step_name={"type": "string", "nullable": True},
        kind={"type": "string", "enum": ["failed_external_task", "engine_error"]},
        message={"type": "string"},
        state={"type": "string", "enum": ["open", "resolved"]},
        created_at={"type": "string", "format": "date-time"},
        last_seen_at={"type": "string", "format": "date-time"},
        occurrences={"type": "integer"},
        external_task_id={"type": "integer", "nullable": True},
        topic={"type": "string", "nullable": True},
        resolved_at={"type": "string", "format": "date-time", "nullable": True},
        resolved_by={"type": "string", "nullable": True},
        resolution={"type": "string", "nullable": True},
    )
    task_id = [_id("task_id")]
    return {
        "/api/external-task/fetchAndLock": {
            "post": {
                "summary": "Lock up to maxTasks tasks of the topics the worker serves "
                "(integration accounts: the topics granted to them)",
                "requestBody": _body(
                    _object(
                        ["workerId", "maxTasks", "topics"],
                        **worker,
                        maxTasks={"type": "integer", "minimum": 1, "maximum": 100},
                        usePriority={"type": "boolean"},
                        asyncResponseTimeout={"type": "integer", "minimum": 0, "maximum": 30000},
                        topics={
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 20,
                            "items": _object(
                                ["topicName", "lockDuration"],
                                topicName={"type": "string", "minLength": 1, "maxLength": 100},
                                lockDuration=LOCK_MS,
                                variables={"type": "array", "items": {"type": "string"}},
                            ),
                        },
                    )
                ),
                "responses": {
                    "200": _json({"type": "array", "items": task}, "The tasks now locked"),
                    **ERRORS,
                },
            }
        },
        "/api/external-task": {
            "get": {
                "summary": "Open external tasks (a worker sees those of its topics)",
                "parameters": [{"name": "topicName", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _json({"type": "array", "items": task}, "Open tasks")},
            }
        },
        "/api/external-task/{task_id}": {
            "get": {
                "summary": "One external task",
                "parameters": task_id,
                "responses": {"200": _json(task, "The task")},
            }
        },
        "/api/external-task/{task_id}/complete": {
            "post": {
                "summary": "Complete a locked task with the variables it declares (outputs)",
                "parameters": task_id,
                "requestBody": _body(
                    _object(["workerId"], **worker, variables=VARIABLES, localVariables=VARIABLES)
                ),
                "responses": {"204": done, "409": conflict},
            }
        },
        "/api/external-task/{task_id}/failure": {
            "post": {
                "summary": "Report a failure; with no retries left an incident opens",
                "parameters": task_id,
                "requestBody": _body(
                    _object(
                        ["workerId", "retries"],
                        **worker,
                        errorMessage={"type": "string", "maxLength": 500},
                        errorDetails={"type": "string", "maxLength": 20000},
                        retries={"type": "integer", "minimum": 0, "maximum": 1000},
                        retryTimeout={
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 7 * 24 * 3600 * 1000,
                        },
                    )
                ),
                "responses": {"204": done, "409": conflict},
            }
        },
        "/api/external-task/{task_id}/bpmnError": {
            "post": {
                "summary": "A business error: the task's error boundary event for the code "
                "takes over (422 naming the element when none catches it)",
                "parameters": task_id,
                "requestBody": _body(
                    _object(
                        ["workerId", "errorCode"],
                        **worker,
                        errorCode={"type": "string", "minLength": 1, "maxLength": 100},
                        errorMessage={"type": "string", "maxLength": 500},
                        variables=VARIABLES,
                    )
                ),
                "responses": {"204": done, "409": conflict},
            }
        },
        "/api/external-task/{task_id}/extendLock": {
            "post": {
                "summary": "Keep the lock for newDuration more milliseconds from now",
                "parameters": task_id,
                "requestBody": _body(
                    _object(["workerId", "newDuration"], **worker, newDuration=LOCK_MS)
                ),
                "responses": {"204": done, "409": conflict},
            }
        },
        "/api/external-task/{task_id}/unlock": {
            "post": {
                "summary": "Give a locked task back (its worker; supervisors and admins any)",
                "parameters": task_id,
                "requestBody": _body(_object([], **worker), required=False),
                "responses": {"204": done, "409": conflict},
            }
        },
        "/api/external-task/{task_id}/retries": {
            "put": {
                "summary": "Give a task retries again (resolves its incident)",
                "parameters": task_id,
                "requestBody": _body(
                    _object(["retries"], retries={"type": "integer", "minimum": 1, "maximum": 1000})
                ),
                "responses": {"204": done, "409": conflict},
            }
        },
        "/api/incidents": {
            "get": {
                "summary": "Incidents (supervisors and administrators)",
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["open", "resolved"]},
                    }
                ],
                "responses": {
                    "200": _json({"type": "array", "items": incident}, "Incidents"),
                    "422": _json(_ref("Error"), "An unknown state"),
                },
            }
        },
        "/api/incidents/{incident_id}/retry": {
            "post": {
                "summary": "Retry: a system step goes back to its workers, a stuck step runs again",
                "parameters": [_id("incident_id")],
                "requestBody": _body(
                    _object([], retries={"type": "integer", "minimum": 1, "maximum": 100}),
                    required=False,
                ),
                "responses": {
                    "200": _json(incident, "The incident, resolved"),
                    "409": _json(_ref("Error"), "Resolved already"),
                },
            }
        },
        "/api/instances/{instance_id}/cancel": {
            "post": {
                "summary": "Cancel a running instance with a reason: its links, system steps "
                "and called processes end",
                "parameters": [_id("instance_id")],
                "requestBody": _body(
                    _object(["reason"], reason={"type": "string", "minLength": 1, "maxLength": 500})
                ),
                "responses": {
                    "204": done,
                    "409": _json(_ref("Error"), "Not running, or a called process"),
                },
            }
        },
    }
