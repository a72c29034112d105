"""The customer portal (/portal): sign in with a phone and a one-time code, apply online,
follow each demand link by link with its predicted dates. Pages are made for a phone first.

Who may see what is in `permissions` (CUSTOMERS, OWN_DEMAND); the verbs are in
`gridflow.customers`."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import sessions
from gridflow.app import content, wording
from gridflow.app.auth import client_address, load_staff, runtime
from gridflow.app.i18n import LANGUAGES, select_locale
from gridflow.customer_words import ACTIONS
from gridflow.customers import accounts, applications, documents, services
from gridflow.customers import timeline as customer_timeline
from gridflow.demands import DemandError
from gridflow.intake import AREAS, SUPPLIES
from gridflow.roles import Actor
from gridflow.users import Staff

blueprint = Blueprint("portal", __name__, url_prefix="/portal")


def customer() -> Staff:
    current = load_staff()
    assert current is not None and current.is_customer
    return current


def _secret() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode()


def documents_folder() -> Path:
    configured = current_app.config.get("DOCUMENTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "documents"


# --- signing in ----------------------------------------------------------------------------


@blueprint.get("/sign-in")
def sign_in_page() -> str:
    return render_template(
        "portal/sign_in.html",
        phone=request.args.get("phone", "")[:40],
        sent=request.args.get("sent") == "1",
        email_needed=not current_app.config.get("SMS_CONFIGURED"),
    )


@blueprint.post("/code")
def request_code() -> Response:
    phone = request.form.get("phone", "")[:40]
    try:
        sent = accounts.request_code(
            runtime(),
            phone,
            request.form.get("email", "")[:254],
            address=client_address(),
            secret=_secret(),
            sms_configured=bool(current_app.config.get("SMS_CONFIGURED")),
            locale=select_locale(),
        )
    except accounts.CodeThrottled as exc:
        flash(_("Too many codes asked for. Try again in %(s)d seconds.", s=exc.seconds), "danger")
        response = make_response(_sign_in_again(phone), 429)
        response.headers["Retry-After"] = str(exc.seconds)
        return response
    except accounts.CustomerError as exc:
        for field, reason in exc.field_errors.items():
            flash(_field_message(field, reason), "danger")
        return make_response(_sign_in_again(phone), 422)
    if sent.channel == "sms":
        flash(_("We sent a code to your phone."), "success")
    else:
        flash(_("We sent a code to your e-mail address."), "success")
    return redirect(url_for("portal.sign_in_page", phone=phone, sent="1"))


def _sign_in_again(phone: str) -> str:
    return render_template(
        "portal/sign_in.html",
        phone=phone,
        sent=False,
        email_needed=not current_app.config.get("SMS_CONFIGURED"),
    )


@blueprint.post("/sign-in")
def sign_in() -> Response:
    rt = runtime()
    phone = request.form.get("phone", "")[:40]
    try:
        account = accounts.sign_in(
            rt, phone, request.form.get("code", "")[:20], secret=_secret(), locale=select_locale()
        )
    except accounts.CodeRefused:
        flash(_("Wrong or expired code. Ask for a new one if needed."), "danger")
        response = make_response(
            render_template(
                "portal/sign_in.html",
                phone=phone,
                sent=True,
                email_needed=not current_app.config.get("SMS_CONFIGURED"),
            ),
            401,
        )
        return response
    old = session.get("sid")
    if isinstance(old, str):
        sessions.end(rt, old, "replaced")
    locale = session.get("locale")
    session.clear()
    if locale in LANGUAGES:
        session["locale"] = locale
    session["sid"] = sessions.start(rt, account, client_address())
    session.permanent = True
    return redirect(url_for("portal.home"))


# --- the customer's pages ------------------------------------------------------------------


@blueprint.get("/")
def home() -> str:
    mine = customer_timeline.demands_of(runtime(), customer().id)
    return render_template("portal/home.html", demands=mine)


@blueprint.get("/apply")
def choose() -> str:
    return render_template("portal/choose.html", kinds=applications.KINDS.values())


@blueprint.route("/apply/<kind_id>", methods=["GET", "POST"])
def apply(kind_id: str) -> Response | str | tuple[str, int]:
    kind = applications.KINDS.get(kind_id)
    if kind is None:
        abort(404)
    if request.method == "GET":
        return _form(kind, {}, {}, 200)
    uploads: dict[str, tuple[str, bytes]] = {}
    for document_kind in kind.documents:
        file = request.files.get(document_kind)
        if file is None or not file.filename:
            continue
        # One byte more than the limit is enough to know it is too big.
        uploads[document_kind] = (file.filename, file.stream.read(documents.MAX_BYTES + 1))
    form = {k: v[:1000] for k, v in request.form.items()}
    try:
        accepted = applications.apply(
            runtime(),
            customer(),
            kind.id,
            form,
            uploads,
            folder=documents_folder(),
            request_key=(form.get("request_key") or "")[:100] or None,
        )
    except DemandError as exc:
        return _form(kind, form, exc.field_errors, 422)
    except documents.DocumentError as exc:
        return _form(kind, form, exc.field_errors, 422)
    flash(_("Application %(reference)s received.", reference=accepted.reference), "success")
    return redirect(url_for("portal.demand", demand_id=accepted.demand_id))


def _form(
    kind: applications.Kind, form: dict[str, str], errors: dict[str, str], status: int
) -> tuple[str, int]:
    return (
        render_template(
            "portal/apply.html",
            kind=kind,
            form=form,
            errors={k: _field_message(k, v) for k, v in errors.items()},
            areas=AREAS,
            supplies=SUPPLIES,
            document_names=documents.KINDS,
            max_mib=documents.MAX_BYTES // (1024 * 1024),
            request_key=form.get("request_key") or secrets.token_urlsafe(16),
        ),
        status,
    )


@blueprint.get("/demands/<int:demand_id>")
def demand(demand_id: int) -> str:
    rt = runtime()
    view = customer_timeline.customer_timeline(rt, demand_id, content.say_note)
    open_ids = [s.work_item_id for s in view.steps if s.state != "done"]
    rating = services.rating_of(rt, demand_id)
    return render_template(
        "portal/demand.html",
        view=view,
        can_rate=view.finished_at is not None and rating is None,
        actions=ACTIONS,
        bookable=services.bookable(rt, demand_id, open_ids),
        # Once rated, the rating stays shown (a low one reopens the demand for a return visit).
        rating=rating,
    )


def _actor() -> Actor:
    me = customer()
    return Actor(me.username, me.roles, holds_work=False)


@blueprint.route("/demands/<int:demand_id>/visits/<int:item_id>", methods=["GET", "POST"])
def book_visit(demand_id: int, item_id: int) -> Response | str | tuple[str, int]:
    """Pick a slot for a site visit from the free time of qualified people."""
    rt = runtime()
    if not services.visit_link(rt, demand_id, item_id):
        abort(404)
    problem = None
    if request.method == "POST":
        try:
            starts_at = datetime.fromisoformat(request.form.get("slot", ""))
            if starts_at.tzinfo is None:
                raise ValueError("no time zone")
            services.book(rt, demand_id, item_id, starts_at, _actor())
        except ValueError:
            problem = _("Choose one of the times offered.")
        except services.ServiceError as exc:
            problem = wording.refusal(exc)
        else:
            flash(_("Your visit is booked."), "success")
            return redirect(url_for("portal.demand", demand_id=demand_id))
    page = render_template(
        "portal/book.html",
        demand_id=demand_id,
        item_id=item_id,
        slots=services.free_slots(rt, item_id),
        booked=services.booking(rt, item_id),
        problem=problem,
    )
    return (page, 422) if problem else page


@blueprint.route("/demands/<int:demand_id>/rating", methods=["GET", "POST"])
def rate(demand_id: int) -> Response | str | tuple[str, int]:
    """Rate a finished demand: 1-5 stars, a comment, each visit on time or not."""
    rt = runtime()
    view = customer_timeline.customer_timeline(rt, demand_id, content.say_note)
    if view.finished_at is None:
        abort(404)
    if services.rating_of(rt, demand_id) is not None:
        flash(_("You have rated this application. Thank you."), "info")
        return redirect(url_for("portal.demand", demand_id=demand_id))
    visits = services.visits_to_rate(rt, demand_id)
    problem = None
    if request.method == "POST":
        stars_text = request.form.get("stars", "")
        on_time = {
            v.work_item_id: request.form.get(f"on_time_{v.work_item_id}") == "yes"
            for v in visits
            if request.form.get(f"on_time_{v.work_item_id}") in ("yes", "no")
        }
        if not stars_text.isdigit() or not 1 <= int(stars_text) <= 5:
            problem = _("Choose from 1 to 5 stars.")
        else:
            try:
                services.rate(
                    rt,
                    demand_id,
                    int(stars_text),
                    request.form.get("comment", "")[:2000].strip(),
                    on_time,
                    _actor(),
                )
            except services.ServiceError as exc:
                problem = wording.refusal(exc)
            else:
                flash(_("Thank you for rating our service."), "success")
                return redirect(url_for("portal.demand", demand_id=demand_id))
    page = render_template("portal/rate.html", view=view, visits=visits, problem=problem)
    return (page, 422) if problem else page


def _field_message(field: str, reason: str) -> str:
    """A field's problem in the reader's words (the verbs say it in English)."""
    names = {
        "phone": _("Phone number"),
        "email": _("E-mail"),
        "customer_name": _("Name"),
        "address": _("Address"),
        "capacity_kw": _("Capacity (kW)"),
        "description": _("What is wrong"),
        "area": _("Area"),
        "supply": _("Supply"),
        **{k: _(v) for k, v in documents.KINDS.items()},
    }
    reasons = {
        "is required": _("is required"),
        "a number of kW": _("must be a number of kW"),
        "the file is not a PDF, JPEG or PNG": _("is not a PDF, JPEG or PNG file"),
        "a photo must be a JPEG or PNG picture": _("must be a JPEG or PNG picture"),
        "the file is empty": _("is empty"),
        "say what is wrong": _("say what is wrong"),
    }
    if reason.startswith("the file is larger than"):
        text = _("is larger than %(n)d MiB", n=documents.MAX_BYTES // (1024 * 1024))
    elif reason.startswith("more than 0 and at most"):
        text = _("must be more than 0 and at most the limit for this application")
    else:
        text = reasons.get(reason, reason)
    return f"{names.get(field, field)}: {text}"
