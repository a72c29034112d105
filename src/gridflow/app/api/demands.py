"""Demands taken in over the API: checked, classified and started as one or more instances;
an Idempotency-Key makes a retried request answer as the first did."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from gridflow.app.api.base import blueprint, body, current
from gridflow.app.auth import runtime
from gridflow.demands import EXTRA_PROCESSES, DemandError, DemandInput, classify, create_demand


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
