"""Timelines: an instance's, and a demand's with its customer's personal data only for those
who work it."""

from __future__ import annotations

from flask import jsonify
from werkzeug.wrappers import Response

from gridflow import access, timeline
from gridflow.app import content
from gridflow.app.api.base import blueprint, current
from gridflow.app.auth import runtime


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
