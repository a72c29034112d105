"""Demands at the front desk: intake (the form, its choices, one demand per form however often
it is sent), the demands list and search, and a demand's timeline."""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import access, demand_search, queues, timeline
from gridflow.app import wording
from gridflow.app.auth import runtime
from gridflow.app.pages.base import _int, blueprint, staff
from gridflow.demands import (
    AREAS,
    CATEGORIES,
    CHANNELS,
    CUSTOMER_CATEGORIES,
    EXTRA_PROCESSES,
    SUPPLIES,
    VOLTAGES,
    DemandError,
    DemandInput,
    classify,
    create_demand,
)
from gridflow.errors import NotFoundError
from gridflow.intake import IntakeProblem


def intake_choices() -> dict[str, tuple[str, ...]]:
    return {
        "channel": CHANNELS,
        "customer_category": CUSTOMER_CATEGORIES,
        "category": CATEGORIES,
        "voltage": VOLTAGES,
        "supply": SUPPLIES,
        "area": AREAS,
    }


@blueprint.route("/demands/new", methods=["GET", "POST"])
def new_demand() -> Response:
    values: dict[str, str] = dict(request.form.items()) if request.method == "POST" else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            demand = demand_from_form(request.form)
            # Before classifying (an empty category names no process), and what a counter
            # would refuse: no address, no reachable phone, a capacity outside the range.
            demand.validate(office=True)
            extra = request.form.getlist("also")
            processes = [classify(demand)] + [
                EXTRA_PROCESSES[e] for e in extra if e in EXTRA_PROCESSES
            ]
            accepted = create_demand(
                runtime(),
                demand,
                staff().actor,
                processes=processes,
                request_key=request.form.get("request_key") or None,
            )
            flash(
                _(
                    "Demand %(ref)s accepted; %(n)d process(es) started.",
                    ref=accepted.reference,
                    n=len(accepted.instances),
                ),
                "success",
            )
            return redirect(url_for("pages.demand", demand_id=accepted.demand_id))
        except DemandError as exc:
            errors = wording.intake_messages(exc.problems)
            flash(_("Please correct the marked fields."), "danger")
    # A key per form: submitting the same form twice (a double click, a resent POST) takes
    # the demand in once.
    values.setdefault("request_key", secrets.token_urlsafe(16))
    page = render_template(
        "demand_new.html", values=values, errors=errors, choices=intake_choices()
    )
    return make_response(page, 422 if errors else 200)


def demand_from_form(form: Any) -> DemandInput:
    """A demand from submitted text; numbers that are not numbers become field errors."""
    errors: dict[str, IntakeProblem] = {}
    raw_capacity = (form.get("capacity_kw") or "0").strip()
    try:
        capacity = float(raw_capacity)
    except ValueError:
        errors["capacity_kw"] = IntakeProblem("capacity", {}, "must be a number of kW")
        capacity = 0.0
    raw_priority = form.get("priority") or "1"
    priority = _int(raw_priority, -1)
    if priority not in (0, 1, 2, 3):
        errors["priority"] = IntakeProblem("priority", {}, "must be 0 (low) to 3 (urgent)")
    if errors:
        raise DemandError(errors)
    return DemandInput(
        customer_name=form.get("customer_name", ""),
        customer_category=form.get("customer_category", ""),
        channel=form.get("channel", ""),
        category=form.get("category", ""),
        address=form.get("address", ""),
        phone=form.get("phone", ""),
        priority=priority,
        voltage=form.get("voltage") or "low",
        capacity_kw=capacity,
        supply=form.get("supply") or "single",
        area=form.get("area") or "urban",
        feeder=form.get("feeder", ""),
    )


@blueprint.get("/demands")
def demands() -> str:
    """Demands newest first, a page at a time with the total; found by demand number, customer
    name or phone (personal data only among demands one may see, and shown masked elsewhere)."""
    args = request.args
    found = demand_search.search(
        runtime(),
        staff().actor,
        args.get("q", ""),
        page=min(max(_int(args.get("page"), 1), 1), queues.MAX_PAGE),
        per_page=_int(args.get("per_page"), demand_search.PAGE_SIZES[0]),
    )
    return render_template("demands.html", found=found, sizes=demand_search.PAGE_SIZES)


@blueprint.get("/demands/<int:demand_id>")
def demand(demand_id: int) -> str:
    rt = runtime()
    try:
        view = timeline.demand_timeline(rt, demand_id)
    except NotFoundError:
        abort(404)
    with rt.db.snapshot() as connection:
        personal = demand_id in access.personal_demands(
            connection, staff().actor, rt.roles, [demand_id]
        )
    return render_template("demand.html", view=view, personal=personal)
