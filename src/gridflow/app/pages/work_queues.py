"""Each role's landing page, and the two queues (mine, the team's) with their filters named in
the page's language."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from gridflow import consultations, queues
from gridflow.app.auth import runtime
from gridflow.app.content import label
from gridflow.app.i18n import select_locale
from gridflow.app.pages.base import PER_PAGE, _int, blueprint, staff
from gridflow.models import Definition, WorkItem


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
