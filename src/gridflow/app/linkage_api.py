"""JSON API for integrations and the skill pool: events (grid monitoring, metering, call
centre), the linkage rules, "find help" on a link, hand-over and helpers, dispatch rounds.
Routes live on the API blueprint (bearer tokens, the same error shape)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from gridflow import dispatch, linkage, pool, work_items
from gridflow.app.api import (
    BadBody,
    blueprint,
    body,
    current,
    error,
    item_json,
    optional_body,
)
from gridflow.app.api.work_items import _visible_item
from gridflow.app.auth import runtime
from gridflow.rules import EventError, RuleBook


@blueprint.errorhandler(EventError)
def event_error(exc: EventError) -> Response:
    return error(422, "invalid", str(exc), fields=exc.fields)


def _book() -> RuleBook:
    return linkage.rulebook(runtime().roles)


@blueprint.post("/events")
def post_event() -> Response:
    """Take an event: 201 the first time under its key, 200 with the same answer after.
    Integration accounts post the event types granted to them, supervisors any."""
    data = body()
    event_type = data.get("type")
    if not isinstance(event_type, str) or not current().may_post_event(event_type):
        return error(
            403, "forbidden", f"this account may not post events of type {str(event_type)[:60]!r}"
        )
    received = linkage.receive(
        runtime(),
        _book(),
        data.get("type"),
        data.get("key"),
        data.get("payload", {}),
        source=f"api:{current().username}",
    )
    response = jsonify(received.body)
    response.status_code = 200 if received.replayed else 201
    return response


@blueprint.get("/rules")
def list_rules() -> Response:
    book = _book()
    return jsonify(
        {
            "file": book.file,
            "events": {
                name: {
                    "source": event.source,
                    "internal": event.internal,
                    "name": dict(event.names),
                    "payload": {
                        f.name: {"type": f.type, "required": f.required, "enum": list(f.enum)}
                        for f in event.fields.values()
                    },
                }
                for name, event in book.events.items()
            },
            "rules": [
                {
                    "id": rule.id,
                    "on": rule.on,
                    "when": rule.when.source if rule.when else None,
                    "description": rule.description,
                    "name": dict(rule.names),
                    "line": rule.line,
                    "do": [
                        {
                            "action": a.kind,
                            "target": a.target,
                            "values": {k: e.source for k, e in a.values.items()},
                            **({"text": a.text} if a.text else {}),
                        }
                        for a in rule.actions
                    ],
                }
                for rule in book.rules
            ],
        }
    )


@blueprint.get("/work-items/<int:item_id>/help")
def find_help(item_id: int) -> Response:
    """People ranked for this link, each with the reasons for the rank."""
    item = _visible_item(item_id)
    ranked = pool.candidates(runtime(), item)
    return jsonify(
        {
            "work_item_id": item.id,
            "candidates": [
                {
                    "username": fit.person.username,
                    "display_name": fit.person.display_name,
                    "suitable": fit.feasible,
                    "cost": round(fit.cost, 3) if fit.feasible else None,
                    "reasons": [r.text for r in fit.reasons],
                }
                for fit in ranked
            ],
        }
    )


def _text(data: dict[str, Any], name: str, *, required: bool = False, limit: int = 500) -> str:
    """A text field of the body: 422 when it is not text (or missing and required)."""
    if name not in data and not required:
        return ""
    value = data.get(name)
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        need = "a non-empty text" if required else "a text"
        raise BadBody(f"{name} must be {need} of at most {limit} characters")
    return value


@blueprint.post("/work-items/<int:item_id>/hand-over")
def hand_over(item_id: int) -> Response:
    data = body()
    version = data.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or abs(version) > 2**31
    ):
        raise BadBody("version must be the work item's version as read (an integer)")
    item = work_items.hand_over(
        runtime(),
        item_id,
        current().actor,
        _text(data, "to", required=True, limit=100),
        reason=_text(data, "reason"),
        expected_version=version,
    )
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/helpers")
def add_helper(item_id: int) -> Response:
    data = body()
    item = work_items.add_helper(
        runtime(),
        item_id,
        current().actor,
        _text(data, "username", required=True, limit=100),
        reason=_text(data, "reason"),
    )
    return jsonify(item_json(item))


@blueprint.post("/dispatch/rounds")
def run_round() -> Response:
    data = optional_body()
    key = _text(data, "key", limit=100)
    done = dispatch.run_round(runtime(), key or None)
    response = jsonify(done.as_json())
    response.status_code = 200 if done.replayed else 201
    return response


@blueprint.get("/dispatch/rounds")
def list_rounds() -> Response:
    return jsonify({"rounds": [r.as_json() for r in dispatch.recent_rounds(runtime())]})
