"""The core API's paths: tokens, demands, instances, work items and their actions,
definitions and deployments, and the audit's link figures."""

from __future__ import annotations

from typing import Any

from gridflow.app.openapi.common import (
    DAY,
    ERRORS,
    ITEM_ID,
    VERSION,
    VERSION_BODY,
    _body,
    _json,
    _object,
    _ref,
)
from gridflow.queues import MAX_PAGE, MAX_PER_PAGE


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
