"""The OpenAPI 3 description of the JSON API (served at /api/openapi.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridflow import __version__
from gridflow.demands import (
    AREAS,
    CATEGORIES,
    CHANNELS,
    CUSTOMER_CATEGORIES,
    EXTRA_PROCESSES,
    PRIORITIES,
    SUPPLIES,
    VOLTAGES,
)
from gridflow.queues import MAX_PAGE, MAX_PER_PAGE
from gridflow.rules import MAX_TEXT, EventType


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _json(_ref("Error"), "No bearer token, or one unknown, expired or revoked"),
    "403": _json(_ref("Error"), "The token's account may not do this"),
    "404": _json(_ref("Error"), "No such object"),
}
MAX_ID = 2**63 - 1
# A local day, YYYY-MM-DD, from 1970 to 2999 (audit filters).
DAY = {
    "type": "string",
    "format": "date",
    "pattern": "^(19[7-9][0-9]|2[0-9]{3})-",
    "description": "a local day from 1970-01-01 to 2999-12-31",
}
ITEM_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
# Statuses any operation of a kind can give, added to each (see `_complete`).
TOO_LONG = {"description": "The request line is too long (answered by the HTTP server)"}
TOO_LARGE = _json(_ref("Error"), "The body is larger than 8 MiB")
BAD_BODY = _json(
    _ref("Error"), "The body is not a JSON object of the documented shape, or a value is invalid"
)


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


# A work item's version as read (a request may send a stale one: 409).
VERSION = {"type": "integer", "minimum": -(2**31), "maximum": 2**31}
VERSION_BODY = _body({"type": "object", "properties": {"version": VERSION}}, required=False)


def document(events: Mapping[str, EventType] | None = None) -> dict[str, Any]:
    """The document; with the linkage rules' event types, each type's payload schema."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridflow API",
            "version": __version__,
            "description": "Demands, work queues and links of the grid company's customer "
            "processes. Every call but POST /api/tokens needs `Authorization: Bearer <token>`. "
            "Text in a body or query must not contain NUL characters (U+0000), and numbers "
            "must be finite: such requests are refused with 422.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
        "security": [{"bearer": []}],
        "paths": _complete(
            {
                **_paths(),
                **_linkage_paths(events or {}),
                **_system_step_paths(),
                **_operations_paths(),
            }
        ),
    }


def _operations_paths() -> dict[str, Any]:
    """For load balancers and Prometheus (outside /api/, answered the same way)."""
    readiness = _object(
        ["status"],
        status={"type": "string", "enum": ["ready", "not ready"]},
        migration={"type": "string", "nullable": True},
        newest={"type": "string"},
        reason={"type": "string"},
    )
    return {
        "/healthz": {
            "get": {
                "summary": "Alive: the process answers (the database is not asked)",
                "security": [],
                "responses": {
                    "200": _json(_object(["status"], status={"type": "string"}), "Alive")
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Ready for traffic: the database answers and its schema is at the "
                "newest migration",
                "security": [],
                "responses": {
                    "200": _json(readiness, "Ready, with the schema's migration"),
                    "503": _json(readiness, "Not ready, with the reason"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format): request latency and "
                "status per route, open and overdue links by role, worker backlogs and lag, "
                "dispatch round durations, worker heartbeats. Administrators' tokens, or the "
                "GRIDFLOW_METRICS_TOKEN bearer.",
                "responses": {
                    "200": {
                        "description": "The metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def _complete(paths: dict[str, Any]) -> dict[str, Any]:
    """Name every status each operation can give: 401 and 403 where a token is needed, 404
    where the path names an object, 413 and 422 where there is a body, 414 everywhere."""
    for operations in paths.values():
        for operation in operations.values():
            responses = operation["responses"]
            if operation.get("security") != []:
                responses.setdefault("401", ERRORS["401"])
                responses.setdefault("403", ERRORS["403"])
            if any(p.get("in") == "path" for p in operation.get("parameters", ())):
                responses.setdefault("404", ERRORS["404"])
            if "requestBody" in operation:
                responses.setdefault("413", TOO_LARGE)
                responses.setdefault("422", BAD_BODY)
            responses.setdefault("414", TOO_LONG)
    return paths


TEXT_100 = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}
REASON = {"type": "string", "maxLength": 500}
EVENT_KEY = {**TEXT_100, "description": "the same key acts once"}


def _event_body(events: Mapping[str, EventType]) -> dict[str, Any]:
    """One variant per event type the API takes, with its payload's own schema."""
    variants = []
    for name, event in sorted(events.items()):
        if event.internal:
            continue
        properties: dict[str, Any] = {}
        for spec in event.fields.values():
            field: dict[str, Any] = {"type": spec.type}
            if spec.type == "string":
                field["maxLength"] = MAX_TEXT
            if spec.enum:
                field["enum"] = list(spec.enum) + ([] if spec.required else [None])
            if not spec.required:
                field["nullable"] = True
            properties[spec.name] = field
        payload = {
            "type": "object",
            "required": [f.name for f in event.fields.values() if f.required],
            "properties": properties,
            "additionalProperties": False,
        }
        variants.append(
            _object(
                ["type", "key", "payload"],
                type={"type": "string", "enum": [name]},
                key=EVENT_KEY,
                payload=payload,
            )
        )
    if not variants:
        return _object(
            ["type", "key", "payload"],
            type={"type": "string", "example": "outage_alarm"},
            key=EVENT_KEY,
            payload={"type": "object", "example": {"feeder": "F007", "area": "urban"}},
        )
    return {"oneOf": variants}


def _linkage_paths(events: Mapping[str, EventType]) -> dict[str, Any]:
    """Events and rules, find help, hand-over and helpers, dispatch rounds (issue 6)."""
    event_body = _event_body(events)
    received = _json({"type": "object"}, "What the rules did: processes started, notes, "
                     "messages delivered, links dispatched")  # fmt: skip
    return {
        "/api/events": {
            "post": {
                "summary": "Post an event from grid monitoring, metering or the call centre "
                "(integration accounts: the event types granted to them; supervisors: any)",
                "requestBody": _body(event_body),
                "responses": {
                    "201": received,
                    "200": _json({"type": "object"}, "The same key again: the same answer"),
                    "409": _json(_ref("Error"), "The key was used for another event type"),
                    "422": _json(_ref("Error"), "Unknown type or a payload failing its schema"),
                    **ERRORS,
                },
            }
        },
        "/api/rules": {
            "get": {
                "summary": "The linkage rules and the event types with their payload schemas",
                "responses": {"200": _json({"type": "object"}, "Rules and events"), **ERRORS},
            }
        },
        "/api/work-items/{id}/help": {
            "get": {
                "summary": "Find help: people ranked for the link, with the reasons",
                "parameters": [ITEM_ID],
                "responses": {"200": _json({"type": "object"}, "Ranked candidates"), **ERRORS},
            }
        },
        "/api/work-items/{id}/hand-over": {
            "post": {
                "summary": "Hand the link over to another person",
                "parameters": [ITEM_ID],
                "requestBody": _body(_object(["to"], to=TEXT_100, version=VERSION, reason=REASON)),
                "responses": {
                    "200": _json(_ref("WorkItem"), "Handed over"),
                    "409": _json(_ref("Error"), "Changed since read, or not open any more"),
                    "422": _json(_ref("Error"), "No person named, or a value of the wrong type"),
                    **ERRORS,
                },
            }
        },
        "/api/work-items/{id}/helpers": {
            "post": {
                "summary": "Add a helper to the link (its holder keeps it)",
                "parameters": [ITEM_ID],
                "requestBody": _body(_object(["username"], username=TEXT_100, reason=REASON)),
                "responses": {
                    "200": _json(_ref("WorkItem"), "Helper added"),
                    "409": _json(_ref("Error"), "The link is not open any more"),
                    "422": _json(_ref("Error"), "No person named, or a value of the wrong type"),
                    **ERRORS,
                },
            }
        },
        "/api/dispatch/rounds": {
            "get": {
                "summary": "Recent dispatch rounds with their plans and reasons",
                "responses": {"200": _json({"type": "object"}, "Rounds"), **ERRORS},
            },
            "post": {
                "summary": "Run a dispatch round (supervisors); the same key plans once",
                "requestBody": _body(
                    _object([], key={"type": "string", "maxLength": 100}), required=False
                ),
                "responses": {
                    "201": _json({"type": "object"}, "The round"),
                    "200": _json({"type": "object"}, "The same key again: the same round"),
                    **ERRORS,
                },
            },
        },
    }


def _link_figures_schema() -> dict[str, Any]:
    from gridflow.audit import MEASURES, duration_keys

    number = {"type": "number", "nullable": True}
    properties: dict[str, Any] = {
        "process_id": {"type": "string"},
        "process_name": {"type": "string"},
        "version": {"type": "integer"},
        "definition_id": {"type": "integer"},
        "element_id": {"type": "string"},
        "link_name": {"type": "string"},
        "count": {"type": "integer"},
        "within_standard_share": number,
        "breaches": {"type": "integer"},
        "rework_instances": {"type": "integer"},
        "rework_executions": {"type": "integer"},
        "standard_target": {"type": "string", "nullable": True},
        "standard_basis": {"type": "string", "nullable": True},
        "standard_s": number,
    }
    properties.update({key: number for key in duration_keys(MEASURES)})
    return {"type": "object", "properties": properties}


def _schemas() -> dict[str, Any]:
    return {
        "LinkFigures": _link_figures_schema(),
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "text": {
                            "type": "string",
                            "description": "the message in the request's language "
                            "(Accept-Language; Simplified Chinese by default)",
                        },
                        "field_texts": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "`fields` in the request's language (422 only)",
                        },
                        "fields": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "field id → what is wrong with it (422 only)",
                        },
                        "messages": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "object",
                                "properties": {
                                    "en": {"type": "string"},
                                    "zh_Hans": {"type": "string"},
                                },
                            },
                            "description": "a refused demand: field id → the message in "
                            "English and Simplified Chinese",
                        },
                    },
                }
            },
        },
        "DemandInput": {
            "type": "object",
            "required": ["customer_name", "customer_category", "channel", "category", "address"],
            "description": "Also checked: a phone that reaches the customer (a mobile "
            "1[3-9]xxxxxxxxx or a landline with its area code such as 010-12345678; not needed "
            "for channel monitoring) and, for a connection, a capacity above zero within the "
            "voltage's range (low voltage up to 100 kW, small and micro enterprises up to 160 "
            "kW in cities; high voltage above that). A refusal is 422 with each field's message "
            "in `fields` (English) and `messages` (English and Simplified Chinese).",
            "properties": {
                "customer_name": {"type": "string", "maxLength": 200, "pattern": "\\S"},
                "customer_category": {"type": "string", "enum": list(CUSTOMER_CATEGORIES)},
                "channel": {"type": "string", "enum": list(CHANNELS)},
                "category": {"type": "string", "enum": list(CATEGORIES)},
                "address": {"type": "string", "maxLength": 500, "pattern": "\\S"},
                "phone": {"type": "string", "maxLength": 40},
                "priority": {"type": "integer", "enum": list(PRIORITIES), "default": 1},
                "voltage": {"type": "string", "enum": list(VOLTAGES), "default": "low"},
                "capacity_kw": {"type": "number", "minimum": 0, "maximum": 1e7, "default": 0},
                "supply": {"type": "string", "enum": list(SUPPLIES), "default": "single"},
                "area": {"type": "string", "enum": list(AREAS), "default": "urban"},
                "feeder": {"type": "string"},
                "also": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(EXTRA_PROCESSES)},
                    "description": "further processes the same demand starts",
                },
            },
        },
        "Accepted": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "reference": {"type": "string"},
                "instances": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "instance_id": {"type": "integer"},
                            "process_id": {"type": "string"},
                            "version": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "QueueRow": {
            "type": "object",
            "required": ["id", "version", "state"],
            "properties": {
                "id": {"type": "integer"},
                "version": {"type": "integer"},
                "state": {"type": "string", "enum": ["ready", "claimed"]},
                "customer": {"type": "string"},
                "process_id": {"type": "string"},
                "link_id": {"type": "string"},
                "link_name": {"type": "string"},
                "role": {"type": "string"},
                "department": {"type": "string"},
                "due_at": {"type": "string", "format": "date-time"},
                "overdue": {"type": "boolean"},
                "waited_s": {"type": "number"},
                "time_left_s": {"type": "number"},
            },
        },
        "WorkItem": {
            "type": "object",
            "required": ["id", "version", "state", "form"],
            "properties": {
                "id": {"type": "integer"},
                "version": {"type": "integer", "description": "send it back when acting"},
                "state": {
                    "type": "string",
                    "enum": ["ready", "claimed", "completed", "cancelled"],
                },
                "link_id": {"type": "string"},
                "link_name": {"type": "string"},
                "role": {"type": "string"},
                "assignee": {"type": "string", "nullable": True},
                "due_at": {"type": "string", "format": "date-time"},
                "form": {
                    "type": "object",
                    "properties": {
                        "fields": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "label": {"type": "string"},
                                    "type": {
                                        "type": "string",
                                        "enum": [
                                            "string",
                                            "long",
                                            "double",
                                            "boolean",
                                            "date",
                                            "enum",
                                        ],
                                    },
                                    "required": {"type": "boolean"},
                                    "options": {"type": "array", "items": {"type": "object"}},
                                },
                            },
                        }
                    },
                },
            },
        },
        "Timeline": {"type": "object", "description": "instances with every link and its times"},
        "Deployment": _object(
            ["process_id", "version", "definition_id", "created", "restores_version"],
            process_id={"type": "string"},
            version={"type": "integer"},
            definition_id={"type": "integer"},
            created={
                "type": "boolean",
                "description": "false: the content is the newest version's (nothing changed)",
            },
            restores_version={
                "type": "integer",
                "nullable": True,
                "description": "a rollback: the older version whose content this new version "
                "repeats (new demands start on it; running instances keep their version)",
            },
        ),
        "DecisionDeployments": _object(
            ["decisions"],
            decisions={
                "type": "array",
                "items": _object(
                    ["decision_id", "version", "created"],
                    decision_id={"type": "string"},
                    version={"type": "integer"},
                    created={"type": "boolean"},
                ),
            },
        ),
        "Problems": {
            "type": "object",
            "required": ["error", "problems"],
            "properties": {
                "error": {"type": "object"},
                "problems": {
                    "type": "array",
                    "items": _object(
                        ["element_id", "line", "message"],
                        element_id={"type": "string", "nullable": True},
                        line={"type": "integer", "nullable": True},
                        message={"type": "string"},
                    ),
                },
            },
        },
        "Processes": {
            "type": "object",
            "description": "every process with its versions (who, when, content hash, "
            "running and finished instances), newest version first; every DMN decision "
            "with its versions",
            "properties": {
                "processes": {"type": "array", "items": {"type": "object"}},
                "decisions": {"type": "array", "items": {"type": "object"}},
            },
        },
    }


def _paths() -> dict[str, Any]:
    return {
        "/api/tokens": {
            "post": {
                "summary": "Exchange a user name and password for a bearer token",
                "description": "The token is shown only in this answer and expires at "
                "`expires_at` (GRIDFLOW_TOKEN_LIFETIME, default 8 hours). Sign-in is throttled "
                "per account and per client address: 429 with Retry-After.",
                "security": [],
                "requestBody": _body(
                    _object(
                        ["username", "password"],
                        username={"type": "string", "maxLength": 100},
                        password={"type": "string", "maxLength": 1000},
                    )
                ),
                "responses": {
                    "201": _json(
                        _object(
                            ["token", "expires_at"],
                            token={"type": "string"},
                            expires_at={"type": "string", "format": "date-time"},
                        ),
                        "A new token",
                    ),
                    "401": _json(_ref("Error"), "Wrong user name or password"),
                    "422": _json(_ref("Error"), "Missing fields"),
                    "429": {
                        "description": "Too many failed sign-ins for this account or from "
                        "this address; try again after Retry-After seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                        "content": {"application/json": {"schema": _ref("Error")}},
                    },
                },
            }
        },
        "/api/tokens/current": {
            "delete": {
                "summary": "Revoke the token this request carries; it stops working at once",
                "responses": {"204": {"description": "Revoked"}},
            }
        },
        "/api/demands": {
            "post": {
                "summary": "Take in a demand; it is classified and starts its process(es)",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 100},
                        "description": "the same key again (same user) returns the first "
                        "demand with 200 instead of creating another",
                    }
                ],
                "requestBody": _body(_ref("DemandInput")),
                "responses": {
                    "201": _json(_ref("Accepted"), "Accepted"),
                    "200": _json(_ref("Accepted"), "Already accepted under this key"),
                    "422": _json(
                        _ref("Error"),
                        "Invalid fields, or the process it starts cannot run as deployed "
                        "(code engine_error, naming the element; nothing is stored)",
                    ),
                    **ERRORS,
                },
            }
        },
        "/api/demands/{id}": {
            "get": {
                "summary": "A demand with the timeline of every instance it started",
                "parameters": [ITEM_ID],
                "responses": {"200": _json(_ref("Timeline"), "The demand"), **ERRORS},
            }
        },
        "/api/instances/{id}": {
            "get": {
                "summary": "An instance with its timeline",
                "parameters": [ITEM_ID],
                "responses": {"200": _json(_ref("Timeline"), "The instance"), **ERRORS},
            }
        },
        "/api/work-items": {
            "get": {
                "summary": "A work queue: mine (held by me) or team (ready, in my roles)",
                "parameters": [
                    {
                        "name": "scope",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["mine", "team"], "default": "team"},
                    },
                    {"name": "process", "in": "query", "schema": {"type": "string"}},
                    {"name": "link", "in": "query", "schema": {"type": "string"}},
                    {"name": "department", "in": "query", "schema": {"type": "string"}},
                    {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "due_today", "in": "query", "schema": {"type": "boolean"}},
                    {
                        "name": "sort",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["due", "priority", "waiting"]},
                    },
                    {
                        "name": "page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                    },
                    {
                        "name": "per_page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                    },
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": _ref("QueueRow")},
                                "total": {"type": "integer"},
                                "page": {"type": "integer"},
                                "per_page": {"type": "integer"},
                                "counts": {"type": "object"},
                            },
                        },
                        "One page of the queue",
                    ),
                    "422": _json(_ref("Error"), "Unknown scope or sort, a page out of range"),
                    "401": ERRORS["401"],
                },
            }
        },
        "/api/work-items/{id}": {
            "get": {
                "summary": "One work item with its form definition and version",
                "parameters": [ITEM_ID],
                "responses": {"200": _json(_ref("WorkItem"), "The work item"), **ERRORS},
            }
        },
        "/api/definitions": {
            "get": {
                "summary": "Processes and their deployed versions (designers and admins)",
                "responses": {"200": _json(_ref("Processes"), "The catalog"), **ERRORS},
            },
            "post": {
                "summary": "Lint and deploy a BPMN or DMN file (designers and admins)",
                "description": "The file as multipart field `file`, or the XML as the body. "
                "A .dmn file (by its name, or by its DMN namespace) deploys each decision "
                "table in it and answers with `decisions`. "
                "Files over 5 MiB, with DOCTYPE or entity declarations, Java delegates, "
                "code in scripts and conditions, or decision cells outside gridflow's FEEL "
                "are refused with problems.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": _object(["file"], file={"type": "string", "format": "binary"})
                        },
                        "application/xml": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "201": _json(
                        {"oneOf": [_ref("Deployment"), _ref("DecisionDeployments")]},
                        "A new version of a process (an older version's content again: a "
                        "rollback), or of decisions",
                    ),
                    "200": _json(
                        {"oneOf": [_ref("Deployment"), _ref("DecisionDeployments")]},
                        "The newest version's content: unchanged",
                    ),
                    "409": _json(_ref("Error"), "Another deploy of the process came first"),
                    "422": _json(_ref("Problems"), "Problems; nothing was deployed"),
                    **ERRORS,
                },
            },
        },
        "/api/audit/links": {
            "get": {
                "summary": "Per-link figures: count, waiting/handling/total mean, median, p90, "
                "p95 and max in seconds (calendar and working time), share within standard, "
                "breaches, rework; auditors, supervisors (their departments) and admins",
                "parameters": [
                    {"name": name, "in": "query", "schema": schema}
                    for name, schema in (
                        ("process", {"type": "string"}),
                        ("version", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
                        ("since", DAY),
                        ("until", DAY),
                        ("department", {"type": "string"}),
                        ("person", {"type": "string"}),
                        ("customer_category", {"type": "string"}),
                    )
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "links": {"type": "array", "items": _ref("LinkFigures")},
                                "departments": {"type": "array", "nullable": True},
                                "percentiles": {"type": "string"},
                                "working_day_s": {"type": "number"},
                            },
                        },
                        "One object per process, version and link",
                    ),
                    "422": _json(_ref("Error"), "A filter value is not valid"),
                    "401": ERRORS["401"],
                    "403": ERRORS["403"],
                },
            }
        },
        "/api/work-items/{id}/claim": _action("Take the link into my queue"),
        "/api/work-items/{id}/release": _action("Hand the link back to the team queue"),
        "/api/work-items/{id}/complete": {
            "post": {
                "summary": "Complete the link with its form data and the version read",
                "parameters": [ITEM_ID],
                "requestBody": _body(
                    _object(["version", "data"], version=VERSION, data={"type": "object"})
                ),
                "responses": {
                    "200": _json({"type": "object"}, "Completed; the next links"),
                    "409": _json(_ref("Error"), "Someone else completed or holds it"),
                    "422": _json(_ref("Error"), "Invalid form data, per field"),
                    **ERRORS,
                },
            }
        },
    }


def _action(summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": [ITEM_ID],
            "requestBody": VERSION_BODY,
            "responses": {
                "200": _json(_ref("WorkItem"), "Done"),
                "409": _json(_ref("Error"), "Changed or held by someone else"),
                "422": _json(_ref("Error"), "The body is not an object with an integer version"),
                **ERRORS,
            },
        }
    }


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
