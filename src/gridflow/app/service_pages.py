"""Staff pages of the customer channel's engines (issue 13): a link's site-visit appointment
(booked for the customer on the phone, kept or missed), a demand's predicted dates, package
offers and rating, and the auditors' satisfaction figures with the customers' comments.

The link and demand pages include small templates (`_appointment.html`, `_demand_service.html`)
that read through the template globals registered here, so those pages need no changes of
their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import appointments, audit, packages, predictions, ratings
from gridflow.app import wording
from gridflow.app.auth import load_staff, runtime
from gridflow.appointments import AppointmentError
from gridflow.errors import ConflictError, NotFoundError
from gridflow.models import WorkItem

blueprint = Blueprint("service", __name__)


def _staff() -> Any:  # noqa: ANN401 - the signed-in Staff
    current = load_staff()
    if current is None:
        abort(401)
    return current


# --- a link's appointment -----------------------------------------------------------------------


@blueprint.post("/work-items/<int:item_id>/appointment")
def book(item_id: int) -> Response:
    """Book the visit in the slot chosen (staff booking for the customer)."""
    rt = runtime()
    raw = request.form.get("starts_at", "")
    try:
        starts_at = datetime.fromisoformat(raw)
        if starts_at.tzinfo is None:
            raise ValueError
    except ValueError:
        flash(_("Choose one of the free slots."), "danger")
        return redirect(url_for("pages.work_item", item_id=item_id) + "#appointment")
    try:
        booked = appointments.book(rt, item_id, starts_at, _staff().actor)
        flash(
            _(
                "Visit booked for %(when)s with %(who)s.",
                when=rt.calendar.to_local(booked.starts_at).strftime("%Y-%m-%d %H:%M"),
                who=booked.username,
            ),
            "success",
        )
    except ConflictError:
        flash(_("That slot was taken meanwhile: choose another."), "warning")
    except AppointmentError as exc:
        flash(wording.refusal(exc), "danger")
    return redirect(url_for("pages.work_item", item_id=item_id) + "#appointment")


def _record(appointment_id: int, outcome: str) -> Response:
    rt = runtime()
    staff = _staff()
    with rt.db.read() as session:
        from gridflow.models import Appointment

        found = session.get(Appointment, appointment_id)
        if found is None:
            abort(404)
        item = session.get(WorkItem, found.work_item_id)
    # Who came (or should have), the link's holder, supervisors and admins record the visit.
    allowed = staff.username in (found.username, item.assignee if item else None) or staff.has(
        "supervisor"
    )
    if not allowed:
        abort(403)
    try:
        if outcome == "kept":
            appointments.record_kept(rt, appointment_id, staff.actor)
            flash(_("The visit is recorded as kept."), "success")
        else:
            missed_by = request.form.get("missed_by", "")
            appointments.record_missed(
                rt, appointment_id, missed_by, staff.actor, request.form.get("note", "")[:500]
            )
            flash(_("The missed visit is recorded; the link can be booked again."), "info")
    except ConflictError:
        flash(_("Someone else recorded this visit first."), "warning")
    except AppointmentError as exc:
        flash(wording.refusal(exc), "danger")
    return redirect(url_for("pages.work_item", item_id=found.work_item_id) + "#appointment")


@blueprint.post("/appointments/<int:appointment_id>/kept")
def kept(appointment_id: int) -> Response:
    return _record(appointment_id, "kept")


@blueprint.post("/appointments/<int:appointment_id>/missed")
def missed(appointment_id: int) -> Response:
    return _record(appointment_id, "missed")


# --- package offers -----------------------------------------------------------------------------


@blueprint.post("/offers/<int:offer_id>/answer")
def answer_offer(offer_id: int) -> Response:
    """Record the customer's answer to a package offer (given at the counter or by phone)."""
    rt = runtime()
    choice = request.form.get("answer")
    if choice not in ("accept", "decline"):
        abort(422, _("Answer accept or decline."))
    try:
        done = packages.answer(rt, offer_id, choice == "accept", _staff().actor)
    except NotFoundError:
        abort(404)
    except ConflictError as exc:
        flash(wording.refusal(exc), "warning")
        return redirect(url_for("pages.demands"))
    if done.state == "accepted":
        flash(_("Accepted: the package's processes have started in this demand."), "success")
    else:
        flash(_("The customer declined the offer."), "info")
    return redirect(url_for("pages.demand", demand_id=done.demand_id) + "#service")


# --- the auditors' satisfaction -----------------------------------------------------------------


@blueprint.get("/audit/satisfaction")
def satisfaction() -> str:
    rt = runtime()
    staff = _staff()
    departments = audit.visible_departments(staff.actor, rt)
    try:
        flt = audit.parse_filter(request.args, rt.calendar, departments)
    except audit.AuditFilterError as exc:
        abort(422, str(exc))
    tables = {by: ratings.satisfaction(rt, by, flt) for by in ratings.GROUPINGS}
    return render_template(
        "audit/satisfaction.html",
        tables=tables,
        comments=ratings.comments(rt, staff.actor, flt),
        missed=appointments.missed_by_person(rt),
        query=flt.as_query(rt.calendar),
    )


# --- what the link and demand pages read --------------------------------------------------------


def register_globals(app: Flask) -> None:
    @app.template_global()
    def appointment_of(item: WorkItem) -> dict[str, Any] | None:
        """The link's site visit: its kind, booked appointment and free slots (when open)."""
        rt = runtime()
        link = rt.definition(item.definition_id).links.get(item.element_id)
        if link is None or link.site_visit is None:
            return None
        slots: list[appointments.Slot] = []
        booking = appointments.for_work_item(rt, item.id)
        if item.state in ("ready", "claimed") and (booking is None or booking.state != "booked"):
            try:
                slots = appointments.free_slots(rt, item.id, days=7)[:21]
            except AppointmentError:
                slots = []
        now = rt.clock.now()
        return {
            "kind": link.site_visit,
            "booking": booking,
            "slots": slots,
            "begun": booking is not None and booking.starts_at <= now,
        }

    @app.template_global()
    def service_of(demand_id: int) -> dict[str, Any]:
        """A demand's predicted dates, package offers and rating."""
        rt = runtime()
        staff = load_staff()
        rating = ratings.rating_of(rt, demand_id)
        return {
            "prediction": predictions.predict_demand(rt, demand_id),
            "offers": packages.offers_for(rt, demand_id),
            "reasons": {o.id: packages.reason_of(o) for o in packages.offers_for(rt, demand_id)},
            "rating": rating,
            "comment_visible": staff is not None and audit.may_view(staff.actor),
            "may_answer": staff is not None
            and staff.has("account_manager", "service_desk", "admin"),
        }
