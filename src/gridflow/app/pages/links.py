"""A link's page: its form and the demand's timeline, claim, release, complete (what was
typed survives a conflict), comment and consult; refusals name the link and role as the
reader reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import comments, consultations, timeline, work_items
from gridflow.app import wording
from gridflow.app.auth import runtime
from gridflow.app.content import label
from gridflow.app.i18n import select_locale
from gridflow.app.pages.base import _int, blueprint, flash_engine_error, staff
from gridflow.engine import EngineError
from gridflow.errors import (
    ConflictError,
    ForbiddenError,
    FormError,
    InvalidStateError,
    NotFoundError,
)
from gridflow.forms import Form
from gridflow.models import Instance, WorkItem


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
