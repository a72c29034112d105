"""The linkage paths (issue 6): events and their payload schemas, rules, find help, hand-over,
helpers and dispatch rounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridflow.app.openapi.common import ERRORS, ITEM_ID, VERSION, _body, _json, _object, _ref
from gridflow.rules import MAX_TEXT, EventType

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
