"""JSON API for integrations and the skill pool: events (grid monitoring, metering, call
centre), the linkage rules, "find help" on a link, hand-over and helpers, dispatch rounds.
Routes live on the API blueprint (bearer tokens, the same error shape)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from gridflow import dispatch, linkage, pool, work_items
from gridflow.app.api import (
    _visible_item,
    blueprint,
    body,
    current,
    error,
    item_json,
    token_required,
)
from gridflow.app.auth import runtime
from gridflow.rules import EventError, RuleBook

SUPERVISING = ("supervisor", "admin")


@blueprint.errorhandler(EventError)
def event_error(exc: EventError) -> Response:
    return error(422, "invalid", str(exc), fields=exc.fields)


def _book() -> RuleBook:
    return linkage.rulebook(runtime().roles)


@blueprint.post("/events")
@token_required
def post_event() -> Response:
    """Take an event: 201 the first time under its key, 200 with the same answer after."""
    if current().roles <= {"auditor"}:
        return error(403, "forbidden", "auditors read; they do not post events")
    data = body()
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
@token_required
def list_rules() -> Response:
    book = _book()
    return jsonify(
        {
            "file": book.file,
            "events": {
                name: {
                    "source": event.source,
                    "internal": event.internal,
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
@token_required
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


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


@blueprint.post("/work-items/<int:item_id>/hand-over")
@token_required
def hand_over(item_id: int) -> Response:
    data = body()
    version = data.get("version")
    item = work_items.hand_over(
        runtime(),
        item_id,
        current().actor,
        _text(data, "to"),
        reason=_text(data, "reason"),
        expected_version=version if isinstance(version, int) else None,
    )
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/helpers")
@token_required
def add_helper(item_id: int) -> Response:
    data = body()
    item = work_items.add_helper(
        runtime(),
        item_id,
        current().actor,
        _text(data, "username"),
        reason=_text(data, "reason"),
    )
    return jsonify(item_json(item))


@blueprint.post("/dispatch/rounds")
@token_required
def run_round() -> Response:
    if not current().has(*SUPERVISING):
        return error(403, "forbidden", "only supervisors run dispatch rounds")
    data = request.get_json(silent=True) or {}
    key = data.get("key") if isinstance(data, dict) else None
    done = dispatch.run_round(runtime(), key if isinstance(key, str) and key else None)
    response = jsonify(done.as_json())
    response.status_code = 200 if done.replayed else 201
    return response


@blueprint.get("/dispatch/rounds")
@token_required
def list_rounds() -> Response:
    return jsonify({"rounds": [r.as_json() for r in dispatch.recent_rounds(runtime())]})
