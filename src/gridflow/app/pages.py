"""Staff pages: the two queues, a link's page (claim, form, complete, release, comment,
consult), front-desk intake, the demand timeline and the consultations list."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from gridflow import (
    access,
    comments,
    consultations,
    demand_search,
    incidents,
    queues,
    timeline,
    work_items,
)
from gridflow.app import api, wording
from gridflow.app.auth import load_staff, runtime
from gridflow.app.content import label
from gridflow.app.i18n import select_locale
from gridflow.app.permissions import is_api
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
from gridflow.engine import EngineError
from gridflow.errors import (
    ConflictError,
    ForbiddenError,
    FormError,
    GridflowError,
    InvalidStateError,
    NotFoundError,
)
from gridflow.forms import Form
from gridflow.intake import IntakeProblem
from gridflow.models import Consultation, Definition, Instance, WorkItem
from gridflow.users import Staff

blueprint = Blueprint("pages", __name__)
PER_PAGE = 25


def flash_engine_error(exc: EngineError) -> None:
    """The process cannot go on past a link as designed: nothing was saved, and an incident
    tells a supervisor where it stands (the link page and the field view say so alike)."""
    flash(
        _(
            "The process could not go on after this link (at “%(element)s”: %(reason)s). "
            "Nothing was saved; a supervisor has been told (incident %(incident)s).",
            element=exc.element_id or "",
            reason=wording.refusal(exc),
            incident=exc.incident_id or "",
        ),
        "danger",
    )


def staff() -> Staff:
    current = load_staff()
    assert current is not None
    return current


@blueprint.get("/")
def index() -> Response:
    """Each role's own page: supervisors the team overview, auditors the audit, designers
    the process catalog, clerks their queue ("My work" when they hold some, else the team's).
    Sign-in lands here too."""
    current = staff()
    roles = current.roles
    if "supervisor" in roles or "admin" in roles:
        return redirect(url_for("manpower.team_overview"))
    if "auditor" in roles:
        return redirect(url_for("audit.links"))
    if "designer" in roles and not current.holds_work:
        return redirect(url_for("designer.index"))
    with runtime().db.read() as session:
        mine = queues.counts(session, current.actor)["mine"]
    return redirect(url_for("pages.queue", scope="mine" if mine else "team"))


@blueprint.get("/queue")
def queue() -> str:
    args = request.args
    scope = args.get("scope", "team")
    filters = queues.QueueFilter(
        process=args.get("process") or None,
        link=args.get("link") or None,
        department=args.get("department") or None,
        overdue=args.get("overdue") == "1",
        due_today=args.get("due_today") == "1",
    )
    try:
        page = queues.work_queue(
            runtime(),
            staff().actor,
            scope,
            filters,
            sort=args.get("sort", "due"),
            page=min(max(_int(args.get("page"), 1), 1), queues.MAX_PAGE),
            per_page=PER_PAGE,
        )
    except queues.QueueError as exc:
        abort(400, str(exc))
    return render_template(
        "queue.html",
        page=page,
        filters=filters,
        sort=args.get("sort", "due"),
        choices=_filter_choices(),
        consultations_open=consultations.open_count(runtime(), staff().actor),
    )


def _filter_choices() -> dict[str, list[tuple[str, str]]]:
    """The queue's filters, named in the page's language (each by its newest version)."""
    rt = runtime()
    with rt.db.read() as session:
        processes = session.execute(
            select(Definition.process_id, func.max(Definition.id)).group_by(Definition.process_id)
        ).all()
        names = dict(session.execute(select(Definition.id, Definition.name)).all())
        # Only links of the clerk's own roles: the filter must not reveal other lanes' work.
        link_query = select(
            WorkItem.element_id, WorkItem.link_name, func.max(WorkItem.definition_id)
        ).where(WorkItem.state.in_(("ready", "claimed")))
        if "admin" not in staff().roles:
            link_query = link_query.where(WorkItem.role.in_(sorted(staff().roles)))
        links = session.execute(link_query.group_by(WorkItem.element_id, WorkItem.link_name)).all()
    zh = select_locale() == "zh_Hans"
    departments = sorted(
        {
            (r.department.id, r.department.name_zh if zh else r.department.name)
            for r in rt.roles.roles.values()
            if r.owns_lanes
        }
    )
    link_names: dict[str, str] = {}
    for element_id, name, definition_id in links:
        link_names.setdefault(element_id, label(definition_id, element_id, name))
    return {
        "process": sorted(
            ((p, label(d, p, names.get(d, p))) for p, d in processes), key=lambda x: x[1]
        ),
        "link": sorted(link_names.items(), key=lambda x: x[1]),
        "department": departments,
    }


def _int(raw: str | None, default: int) -> int:
    """A whole number from a form or query (default when missing or not one); kept within
    what the database stores."""
    if not raw or len(raw) > 12:
        return default
    try:
        return int(raw)
    except ValueError:
        return default


# --- a link's page -----------------------------------------------------------------------------


def _item_or_404(item_id: int) -> WorkItem:
    with runtime().db.read() as session:
        item = session.get(WorkItem, item_id)
    if item is None:
        abort(404)
    return item


def _render_item(
    item: WorkItem,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    keep_form: bool = False,
    stale: bool = False,
) -> Response:
    rt = runtime()
    link = rt.definition(item.definition_id).links.get(item.element_id)
    with rt.db.read() as session:
        instance = session.get(Instance, item.instance_id)
        demand_id = instance.demand_id if instance else None
    demand_view = timeline.demand_timeline(rt, demand_id) if demand_id else None
    instance_view = None if demand_view else timeline.instance_timeline(rt, item.instance_id)
    page = render_template(
        "work_item.html",
        item=item,
        link=link,
        form=link.form if link else Form(),
        values=values if values is not None else (item.form_data or {}),
        errors=errors or {},
        demand_view=demand_view,
        instance_view=instance_view,
        consult_roles=[r for r in rt.roles.roles.values() if r.side == "back"],
        keep_form=keep_form,
        stale=stale,
        can_act=item.state in ("ready", "claimed") and item.assignee in (None, staff().username),
    )
    return make_response(page, status)


@blueprint.get("/work-items/<int:item_id>")
def work_item(item_id: int) -> Response:
    return _render_item(_item_or_404(item_id))


def _act(item_id: int, action: str) -> Response:
    rt = runtime()
    item = _item_or_404(item_id)
    version = _int(request.form.get("version"), -1)
    actor = staff().actor
    try:
        if action == "claim":
            work_items.claim(rt, item_id, actor, expected_version=version)
            flash(_("You hold “%(link)s” now.", link=item.link_name), "success")
        else:
            work_items.release(rt, item_id, actor, expected_version=version)
            flash(_("“%(link)s” is back in the team queue.", link=item.link_name), "info")
            return redirect(url_for("pages.queue", scope="team"))
    except ConflictError as exc:
        flash(_conflict_text(exc, item), "warning")
    except (InvalidStateError, ForbiddenError) as exc:
        flash(wording.refusal(exc, **item_words(item)), "danger")
    return redirect(url_for("pages.work_item", item_id=item_id))


@blueprint.post("/work-items/<int:item_id>/claim")
def claim(item_id: int) -> Response:
    return _act(item_id, "claim")


@blueprint.post("/work-items/<int:item_id>/release")
def release(item_id: int) -> Response:
    return _act(item_id, "release")


def _submitted(form: Form) -> dict[str, object]:
    values: dict[str, object] = {}
    for field in form.fields:
        raw = request.form.get(f"field_{field.id}")
        if raw is not None and not (field.readonly):
            values[field.id] = raw
    return values


def _stale_text(item: WorkItem, exc: ConflictError) -> str:
    """What happened to a link since the page was read, said to the one who read it."""
    me = staff().username
    if item.state == "completed" and item.completed_by == me:
        return _(
            "You already completed “%(link)s” at %(when)s (in another tab or window). Nothing "
            "was saved again; what you typed here is shown below.",
            link=item.link_name,
            when=_local(item.ended_at),
        )
    if item.state == "completed":
        return _(
            "%(who)s completed “%(link)s” at %(when)s, before you. Nothing you entered was "
            "saved; it is shown below.",
            who=item.completed_by or "",
            link=item.link_name,
            when=_local(item.ended_at),
        )
    if item.state == "cancelled":
        return _(
            "“%(link)s” was cancelled (the process moved on without it). Nothing you entered "
            "was saved; it is shown below.",
            link=item.link_name,
        )
    if item.assignee not in (None, me):
        return _(
            "%(who)s holds “%(link)s” now. Nothing you entered was saved; it is shown below.",
            who=item.assignee or "",
            link=item.link_name,
        )
    return _conflict_text(exc, item)


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return runtime().calendar.to_local(moment).strftime("%Y-%m-%d %H:%M")


def _conflict_text(exc: ConflictError, item: WorkItem) -> str:
    return _(
        "Someone else got there first: %(reason)s. Nothing you entered was saved "
        "here; it is still in the form below.",
        reason=wording.refusal(exc, **item_words(item)),
    )


def item_words(item: WorkItem) -> dict[str, object]:
    """What a refusal names, as the page shows it: the link by its version's label in the
    reader's language, and on a Chinese page the role by its Chinese name."""
    words: dict[str, object] = {"link": label(item.definition_id, item.element_id, item.link_name)}
    words.update(_role_words(item.role))
    return words


def _role_words(role_id: str) -> dict[str, object]:
    """On a Chinese page a refusal names the role by its Chinese name."""
    role = runtime().roles.roles.get(role_id)
    if role is not None and select_locale() == "zh_Hans":
        return {"role": role.name_zh}
    return {}


@blueprint.post("/work-items/<int:item_id>/complete")
def complete(item_id: int) -> Response:
    rt = runtime()
    item = _item_or_404(item_id)
    link = rt.definition(item.definition_id).links[item.element_id]
    values = _submitted(link.form)
    version = _int(request.form.get("version"), -1)
    try:
        done = work_items.complete(rt, item_id, staff().actor, values, expected_version=version)
    except FormError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _render_item(item, values=values, errors=wording.refusals(exc), status=422)
    except ConflictError as exc:
        now = _item_or_404(item_id)
        flash(_stale_text(now, exc), "warning")
        # Show what was typed again (nothing is lost), with a Complete button only while the
        # link is still one the clerk can complete.
        still_open = now.state in ("ready", "claimed") and now.assignee in (
            None,
            staff().username,
        )
        return _render_item(
            now, values=values, status=409, keep_form=still_open, stale=not still_open
        )
    except ForbiddenError as exc:
        abort(403, wording.refusal(exc, **item_words(item)))
    except EngineError as exc:
        flash_engine_error(exc)
        return _render_item(_item_or_404(item_id), values=values, status=422, keep_form=True)
    flash(_completed_text(done), "success")
    return redirect(url_for("pages.queue", scope="mine"))


def _completed_text(done: WorkItem) -> str:
    """What a clerk is told after completing a link: the next open links by name, never the
    link just done; the same link still open for others (a countersign's other signatures)
    is said as such."""
    open_now = [n for n in timeline.open_links(runtime(), done.instance_id)[1] if n.id != done.id]
    same = [n for n in open_now if n.element_id == done.element_id]
    others = [n for n in open_now if n.element_id != done.element_id]
    text = _("Completed “%(link)s”.", link=done.link_name)
    if others:
        names = ", ".join(f"{n.link_name} ({n.lane})" for n in others)
        text += " " + _("Next: %(next)s.", next=names)
    if same:
        lanes = ", ".join(n.lane for n in same)
        text += " " + _("Still open at this link for: %(lanes)s.", lanes=lanes)
    return text


@blueprint.post("/work-items/<int:item_id>/comment")
def comment(item_id: int) -> Response:
    try:
        comments.add_comment(
            runtime(),
            item_id,
            staff().actor,
            request.form.get("body", ""),
            for_customer=request.form.get("for_customer") == "1",
        )
        flash(_("Comment added."), "success")
    except ForbiddenError as exc:
        abort(403, wording.refusal(exc, **item_words(_item_or_404(item_id))))
    except (comments.CommentError, NotFoundError) as exc:
        flash(wording.refusal(exc), "danger")
    return redirect(url_for("pages.work_item", item_id=item_id) + "#comments")


@blueprint.post("/work-items/<int:item_id>/consult")
def consult(item_id: int) -> Response:
    try:
        consultations.ask(
            runtime(),
            item_id,
            staff().actor,
            request.form.get("role", ""),
            request.form.get("question", ""),
        )
        flash(_("Your question went to the specialists; the link stays with you."), "success")
    except consultations.ConsultationError as exc:
        flash(wording.refusal(exc), "danger")
    except (ConflictError, ForbiddenError) as exc:
        flash(wording.refusal(exc, **item_words(_item_or_404(item_id))), "danger")
    return redirect(url_for("pages.work_item", item_id=item_id))


@blueprint.get("/consultations")
def consultation_list() -> str:
    questions = consultations.open_for(runtime(), staff().actor)
    return render_template(
        "consultations.html",
        questions=questions,
        subjects=consultations.subjects(runtime(), staff().actor, questions),
    )


@blueprint.post("/consultations/<int:consultation_id>/answer")
def answer(consultation_id: int) -> Response:
    try:
        consultations.answer(
            runtime(), consultation_id, staff().actor, request.form.get("answer", "")
        )
        flash(_("Answer sent."), "success")
    except ForbiddenError as exc:
        with runtime().db.read() as session:
            asked = session.get(Consultation, consultation_id)
        flash(wording.refusal(exc, **_role_words(asked.role if asked else "")), "danger")
    except (consultations.ConsultationError, ConflictError, NotFoundError) as exc:
        flash(wording.refusal(exc), "danger")
    return redirect(url_for("pages.consultation_list"))


# --- intake and the demand timeline ------------------------------------------------------------


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


# --- filters and errors ------------------------------------------------------------------------


def register_filters(app: Flask) -> None:
    @app.context_processor
    def nav() -> dict[str, object]:
        current = load_staff()
        if current is None or current.is_customer:
            return {"nav": {}}
        with runtime().db.read() as session:
            tabs = queues.counts(session, current.actor)
        tabs["consultations"] = consultations.open_count(runtime(), current.actor)
        if current.has("supervisor"):
            tabs["incidents"] = incidents.count_open(runtime())
        return {"nav": tabs}

    @app.template_filter("local")
    def local(moment: datetime | str | None) -> str:
        """An instant in the calendar's local time; also an ISO text (as kept in JSON)."""
        if moment is None:
            return ""
        if isinstance(moment, str):
            try:
                parsed = datetime.fromisoformat(moment)
            except ValueError:
                return moment
            if parsed.tzinfo is None:
                return moment
            moment = parsed
        return runtime().calendar.to_local(moment).strftime("%Y-%m-%d %H:%M")

    @app.template_filter("refusal")
    def refusal(reason: str) -> str:
        """A reason (`errors.Reason`) in the page's language; plain text as it is."""
        return wording.refusal(reason)

    @app.template_filter("duration")
    def duration(delta: timedelta | float | None) -> str:
        if delta is None:
            return ""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        return human_duration(seconds)

    @app.template_filter("working_time")
    def working_time(seconds: float) -> str:
        """Working seconds in words: working days of the calendar's day, hours, minutes."""
        return wording.working_words(seconds, runtime().calendar.day_length.total_seconds())

    @app.template_filter("standard")
    def standard(target: str | None, basis: str | None = "calendar") -> str:
        """A standard's ISO target (or a range of them) in words on its basis."""
        return wording.standard_words(target, basis)

    @app.template_filter("code_name")
    def code_name(code: object, kind: str) -> str:
        """A code's name in the page's language: `'call_centre'|code_name('channel')`."""
        return wording.code_name(kind, code)

    @app.template_filter("role_name")
    def role_name(role_id: str) -> str:
        """A role's name in the page's language (lanes are named after roles)."""
        role = runtime().roles.roles.get(role_id)
        if role is None:
            return role_id
        return role.name_zh if select_locale() == "zh_Hans" else role.name

    @app.template_filter("department_name")
    def department_name(department_id: str) -> str:
        """A department's name in the page's language."""
        for role in runtime().roles.roles.values():
            if role.department.id == department_id:
                department = role.department
                return department.name_zh if select_locale() == "zh_Hans" else department.name
        return department_id

    @app.template_filter("on_basis")
    def on_basis(delta: timedelta, basis: str, magnitude: bool = False) -> str:
        """Time left on a standard's basis: working days of the calendar's working day, or
        plain hours and days, in words."""
        seconds = abs(delta.total_seconds()) if magnitude else delta.total_seconds()
        if basis != "working":
            return human_duration(seconds)
        return wording.working_words(seconds, runtime().calendar.day_length.total_seconds())

    @app.before_request
    def refuse_nul() -> None:
        """No database stores a NUL character in text: such a page request is refused (the API
        answers the same with its own 422)."""
        if is_api(request.path):
            return
        values = [request.path, *request.args.values()]
        if request.method == "POST" and request.mimetype != "multipart/form-data":
            values.extend(request.form.values())
        if any("\x00" in value for value in values):
            abort(400, _("The request contains a NUL character."))

    @app.errorhandler(GridflowError)
    def gridflow_error(exc: GridflowError) -> tuple[str, int]:
        # A refusal no page caught itself: said in the reader's language, with the status
        # the API gives it.
        code = 400
        if isinstance(exc, ForbiddenError):
            code = 403
        elif isinstance(exc, NotFoundError):
            code = 404
        elif isinstance(exc, ConflictError | InvalidStateError):
            code = 409
        return render_template("error.html", message=wording.refusal(exc), code=code), code

    for code in (400, 403, 404, 405, 413, 429, 500):

        @app.errorhandler(code)
        def http_error(exc: Any, code: int = code) -> Response | tuple[str, int]:
            # Under /api/ every answer is JSON, also for paths and methods no route knows.
            if is_api(request.path):
                return api.http_error(exc)
            message = (getattr(exc, "description", "") or "") if code < 500 else ""
            return render_template("error.html", message=message, code=code), code


def human_duration(seconds: float) -> str:
    """Clock time in words ('4 hours 55 minutes'); see `wording`."""
    return wording.elapsed_words(seconds)
