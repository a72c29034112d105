"""Work items: the queue, one link as the API shows it, and the verbs claim, release and
complete (a retried completion answers as the first did)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import Row
from werkzeug.wrappers import Response

from gridflow import access, queues, timeline, work_items
from gridflow.app.api.base import BadBody, blueprint, body, current, optional_body
from gridflow.app.auth import runtime
from gridflow.app.permissions import link_read
from gridflow.errors import ConflictError, ForbiddenError, FormError, NotFoundError
from gridflow.models import WorkItem


@blueprint.get("/work-items")
def list_work_items() -> Response:
    args = request.args
    page_number = _whole(args.get("page", "1"), "page", 1, queues.MAX_PAGE)
    per_page = _whole(args.get("per_page", "50"), "per_page", 1, queues.MAX_PER_PAGE)
    for flag in ("overdue", "due_today"):
        if args.get(flag, "false") not in ("true", "false", "1", "0"):
            raise BadBody(f"{flag} must be true or false")
    if any("\x00" in value for value in args.values()):
        raise BadBody("query arguments must not contain NUL characters")
    page = queues.work_queue(
        runtime(),
        current().actor,
        args.get("scope", "team"),
        queues.QueueFilter(
            process=args.get("process") or None,
            link=args.get("link") or None,
            department=args.get("department") or None,
            overdue=args.get("overdue") in ("1", "true"),
            due_today=args.get("due_today") in ("1", "true"),
        ),
        sort=args.get("sort", "due"),
        page=page_number,
        per_page=per_page,
    )
    return jsonify(
        {
            "scope": page.scope,
            "items": [row.as_json() for row in page.rows],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
            "counts": page.counts,
        }
    )


def _whole(raw: str, name: str, low: int, high: int) -> int:
    """A query argument that must be a whole number in [low, high]; 422 otherwise."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12 or not low <= int(raw) <= high:
        raise BadBody(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _visible_item(item_id: int) -> WorkItem:
    with runtime().db.read() as session:
        item = session.get(WorkItem, item_id)
    if item is None:
        raise NotFoundError(f"work item {item_id} does not exist")
    _may_view(item)
    return item


def _may_view(item: WorkItem | Row[Any]) -> None:
    if not access.may_view_link(current().actor, item):
        raise ForbiddenError(f"{item.link_name} belongs to role {item.role!r}, not to yours")


def item_json(item: WorkItem | Row[Any]) -> dict[str, object]:
    """A link as the API shows it, from its ORM object or its work_items row."""
    link = runtime().definition(item.definition_id).links.get(item.element_id)
    return {
        "id": item.id,
        "version": item.lock_version,
        "state": item.state,
        "instance_id": item.instance_id,
        "link_id": item.element_id,
        "link_name": item.link_name,
        "lane": item.lane,
        "role": item.role,
        "department": item.department,
        "assignee": item.assignee,
        "ready_at": item.ready_at.isoformat(),
        "claimed_at": item.claimed_at.isoformat() if item.claimed_at else None,
        "ended_at": item.ended_at.isoformat() if item.ended_at else None,
        "completed_by": item.completed_by,
        "due_at": item.due_at.isoformat(),
        "standard": {"target": item.standard_target, "basis": item.standard_basis},
        "within_standard": item.within_standard,
        "form_data": item.form_data,
        "form": {
            "fields": [
                {
                    "id": f.id,
                    "label": f.label,
                    "type": f.type,
                    "required": f.required,
                    "options": [{"id": i, "name": n} for i, n in f.options],
                    "min": f.min,
                    "max": f.max,
                    "minlength": f.minlength,
                    "maxlength": f.maxlength,
                    "readonly": f.readonly,
                }
                for f in (link.form.fields if link else ())
            ]
        },
    }


def _version(data: dict[str, Any], required: bool) -> int | None:
    version = data.get("version")
    if version is None and not required:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or abs(version) > 2**31:
        raise BadBody("give the work item's version as read (an integer)")
    return version


@blueprint.get("/work-items/<int:item_id>")
def get_work_item(item_id: int) -> Response:
    # The permission check has read the link: not read again.
    item = link_read()
    if item is None:
        return jsonify(item_json(_visible_item(item_id)))
    _may_view(item)
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/claim")
def claim_work_item(item_id: int) -> Response:
    data = optional_body()
    item = work_items.claim(
        runtime(), item_id, current().actor, expected_version=_version(data, False)
    )
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/release")
def release_work_item(item_id: int) -> Response:
    data = optional_body()
    item = work_items.release(
        runtime(), item_id, current().actor, expected_version=_version(data, False)
    )
    return jsonify(item_json(item))


@blueprint.post("/work-items/<int:item_id>/complete")
def complete_work_item(item_id: int) -> Response:
    # The verb checks the clerk's role (403) and the link's existence (404) itself.
    data = body()
    form = data.get("data", {})
    if not isinstance(form, dict):
        raise BadBody("'data' must be an object of form field values")
    version = _version(data, True)
    rt = runtime()
    try:
        item = work_items.complete(rt, item_id, current().actor, form, expected_version=version)
    except ConflictError:
        # A retried request whose first attempt went through: answer as the first time did.
        done = _visible_item(item_id)
        link = rt.definition(done.definition_id).links[done.element_id]
        if (
            done.state == "completed"
            and done.completed_by == current().username
            and done.form_data == _valid_or_none(link.form, form)
        ):
            return _completed(done)
        raise
    return _completed(item)


def _valid_or_none(form: Any, values: dict[str, Any]) -> dict[str, object] | None:
    try:
        return dict(form.validate(values))
    except FormError:
        return None


def _completed(item: WorkItem) -> Response:
    status, next_links = timeline.open_links(runtime(), item.instance_id)
    return jsonify(
        {
            "work_item": item_json(item),
            "instance_status": status,
            "next": [
                {"id": n.id, "link_name": n.link_name, "lane": n.lane, "role": n.role}
                for n in next_links
            ],
        }
    )
