"""The field view: a link done at the customer's site (`gridflow.field_work`), on a phone. One
column with big buttons: the customer's phone to call, the address to open in a map, then
arrive, restore supply (a repair) and complete with the link's form."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, make_response, redirect, request, url_for
from flask import render_template as render
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import access, field_work
from gridflow.app import content, wording
from gridflow.app.auth import runtime
from gridflow.app.pages import flash_engine_error, staff
from gridflow.app.settings import DEFAULT_MAP_URL
from gridflow.engine import EngineError
from gridflow.errors import ConflictError, ForbiddenError, FormError, NotFoundError
from gridflow.forms import Form
from gridflow.models import Demand, Instance, WorkItem

blueprint = Blueprint("field", __name__)
# What a tel: link keeps of a written number ("0571-8888 0000" → tel:057188880000).
_DIALLED = re.compile(r"[^0-9+]")


def _item(item_id: int) -> WorkItem:
    with runtime().db.read() as session:
        item = session.get(WorkItem, item_id)
    if item is None:
        abort(404)
    return item


def tel_link(phone: str) -> str | None:
    """tel: and the digits (and a leading +) of a written number; None when it has none."""
    digits = _DIALLED.sub("", phone)
    digits = digits[:1] + digits[1:].replace("+", "")
    return f"tel:{digits}" if any(c.isdigit() for c in digits) else None


def map_link(address: str) -> str:
    """The configured map URL (GRIDFLOW_MAP_URL) for an address."""
    template = current_app.config.get("MAP_URL") or DEFAULT_MAP_URL
    return str(template).replace("{address}", quote(address.strip(), safe=""))


def _customer(item: WorkItem) -> tuple[Demand | None, bool]:
    """The link's demand and whether this person sees its personal data (`access`)."""
    rt = runtime()
    with rt.db.read() as session:
        instance = session.get(Instance, item.instance_id)
        demand = (
            session.get(Demand, instance.demand_id) if instance and instance.demand_id else None
        )
        if demand is None:
            return None, False
        session.expunge(demand)
        shown = demand.id in access.personal_demands(
            session.connection(), staff().actor, rt.roles, [demand.id]
        )
    return demand, shown


def _render(
    item: WorkItem,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    rt = runtime()
    state = field_work.field_state(rt, item)
    if state is None:
        return redirect(url_for("pages.work_item", item_id=item.id))
    definition = rt.definition(item.definition_id)
    link = definition.links.get(item.element_id)
    demand, personal = _customer(item)
    me = staff().username
    page = render(
        "field.html",
        item=item,
        process_name=definition.name,
        process_id=definition.process_id,
        form=link.form if link else Form(),
        state=state,
        demand=demand,
        personal=personal,
        tel=tel_link(demand.phone) if personal and demand and demand.phone else None,
        map_url=map_link(demand.address) if personal and demand and demand.address else None,
        values=values if values is not None else (item.form_data or {}),
        errors=errors or {},
        can_act=item.state in ("ready", "claimed")
        and item.assignee in (None, me)
        and staff().actor.may_act_on(item.role, item.assignee),
    )
    return make_response(page, status)


@blueprint.get("/work-items/<int:item_id>/field")
def field_view(item_id: int) -> Response:
    return _render(_item(item_id))


def _mark(item_id: int, lifecycle: str) -> Response:
    rt = runtime()
    try:
        if lifecycle == field_work.ARRIVED:
            mark = field_work.arrive(rt, item_id, staff().actor)
            flash(_("Arrival on site recorded: %(at)s.", at=_local(mark.at)), "success")
        else:
            mark = field_work.restore(rt, item_id, staff().actor)
            flash(_("Supply restored: %(at)s.", at=_local(mark.at)), "success")
    except field_work.FieldWorkError as exc:
        if exc.reason == "not_field":
            return redirect(url_for("pages.work_item", item_id=item_id))
        flash(_refusal(exc), "danger")
    except (ConflictError, ForbiddenError, NotFoundError) as exc:
        flash(wording.refusal(exc), "warning")
    return redirect(url_for("field.field_view", item_id=item_id))


def _refusal(exc: field_work.FieldWorkError) -> str:
    if exc.reason == "visit":
        return _("A site visit restores no supply: record the arrival, then complete.")
    if exc.reason == "arrive_first":
        return _("Record the arrival on site first.")
    return wording.refusal(exc)


def _local(moment: Any) -> str:  # noqa: ANN401 - a datetime, shown as the pages show it
    filters = current_app.jinja_env.filters
    return str(filters["local"](moment))


@blueprint.post("/work-items/<int:item_id>/arrive")
def arrive(item_id: int) -> Response:
    return _mark(item_id, field_work.ARRIVED)


@blueprint.post("/work-items/<int:item_id>/restore")
def restore(item_id: int) -> Response:
    return _mark(item_id, field_work.RESTORED)


@blueprint.post("/work-items/<int:item_id>/field/complete")
def complete(item_id: int) -> Response:
    rt = runtime()
    item = _item(item_id)
    link = rt.definition(item.definition_id).links.get(item.element_id)
    if link is None or link.field_work is None:
        return redirect(url_for("pages.work_item", item_id=item_id))
    values = {
        f.id: raw
        for f in link.form.fields
        if not f.readonly and (raw := request.form.get(f"field_{f.id}")) is not None
    }
    version = request.form.get("version", "")
    expected = int(version) if version.isdigit() and len(version) < 12 else -1
    try:
        done = field_work.complete(rt, item_id, staff().actor, values, expected_version=expected)
    except FormError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _render(item, values=values, errors=wording.refusals(exc), status=422)
    except field_work.FieldWorkError as exc:
        flash(_refusal(exc), "warning")
        return _render(_item(item_id), values=values, status=409)
    except ConflictError as exc:
        flash(wording.refusal(exc), "warning")
        return _render(_item(item_id), values=values, status=409)
    except ForbiddenError as exc:
        abort(403, wording.refusal(exc))
    except EngineError as exc:
        flash_engine_error(exc)
        return _render(_item(item_id), values=values, status=422)
    name = content.label(done.definition_id, done.element_id, done.link_name)
    flash(_("Completed “%(link)s”.", link=name), "success")
    return redirect(url_for("pages.queue", scope="mine"))
