"""Auditors' pages under /audit: the per-link heatmap on the process diagram with its table,
breaches and exports; one link's duration distribution; whole-process figures and trends; a
running instance's diagram with its current position. Auditors, supervisors (their
departments) and administrators see them; nobody changes anything here."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from gridflow import audit, export, step_figures, timeline
from gridflow.app.auth import load_staff, runtime
from gridflow.app.content import for_reading, label
from gridflow.app.i18n import select_locale
from gridflow.audit import AuditFilter, AuditFilterError
from gridflow.demands import CUSTOMER_CATEGORIES
from gridflow.errors import NotFoundError
from gridflow.models import Definition, Instance

blueprint = Blueprint("audit", __name__, url_prefix="/audit")
F = TypeVar("F", bound=Callable[..., Any])
# Metrics the heatmap can colour by (JSON keys of the per-link figures, or derived ones).
HEAT_METRICS = (
    "total_working_median_s",
    "handling_working_median_s",
    "waiting_working_median_s",
    "total_working_p95_s",
    "total_median_s",
    "breach_share",
    "count",
)
DEFAULT_PROCESS = "hv_connection"
BINS = 20


def current_filter() -> AuditFilter:
    staff = load_staff()
    assert staff is not None
    rt = runtime()
    try:
        return audit.parse_filter(
            request.args, rt.calendar, audit.visible_departments(staff.actor, rt)
        )
    except AuditFilterError as exc:
        abort(400, str(exc))


def _choices() -> dict[str, Any]:
    rt = runtime()
    with rt.db.read(replica=True) as session:
        versions = session.execute(
            select(
                Definition.id, Definition.process_id, Definition.name, Definition.version
            ).order_by(Definition.name, Definition.version)
        ).all()
    zh = select_locale() == "zh_Hans"
    departments = sorted(
        {
            (r.department.id, r.department.name_zh if zh else r.department.name)
            for r in rt.roles.roles.values()
            if r.owns_lanes
        }
    )
    newest: dict[str, int] = {}
    for i, p, _n, _v in versions:
        newest[p] = max(newest.get(p, 0), i)
    names = {p: label(newest[p], p, n) for _i, p, n, _v in versions}
    return {
        "versions": versions,
        "processes": sorted(names.items(), key=lambda x: x[1]),
        "departments": departments,
        "customer_categories": CUSTOMER_CATEGORIES,
    }


def _selected_definition(flt: AuditFilter, versions: list[Any]) -> Any:  # noqa: ANN401
    """The version whose diagram to draw: the filter's, else the newest of the filter's
    process, else the newest high-voltage connection, else the first there is."""
    process = flt.process_id or DEFAULT_PROCESS
    candidates = [v for v in versions if v.process_id == process]
    if flt.version is not None:
        candidates = [v for v in candidates if v.version == flt.version]
    if not candidates:
        candidates = list(versions)
    if not candidates:
        return None
    return max(candidates, key=lambda v: v.version)


@blueprint.get("/")
def index() -> Response:
    return redirect(url_for("audit.links"))  # type: ignore[return-value]


@blueprint.get("/links")
def links() -> str:
    """The chosen process version's diagram as a heatmap, its links' figures, breaches."""
    rt = runtime()
    flt = current_filter()
    choices = _choices()
    # "All processes" lists every process's links (newest versions first); the diagram is
    # drawn for one chosen process.
    chosen = _selected_definition(flt, choices["versions"]) if flt.process_id else None
    figures = audit.link_figures(rt, flt)
    shown = [f for f in figures if chosen is None or f.definition_id == chosen.id]
    steps = [
        f
        for f in step_figures.step_figures(rt, flt)
        if chosen is None or f.definition_id == chosen.id
    ]
    if chosen is None:
        shown.sort(key=lambda f: (f.process_name, -f.version, f.link_name))
    heat: dict[str, dict[str, object]] = {}
    default_metric = HEAT_METRICS[0]
    if chosen is not None:
        links = rt.definition(chosen.id).links
        working = sum(1 for link in links.values() if link.standard.basis == "working")
        if 2 * working < len(links):  # mostly minutes and hours on the clock: calendar time
            default_metric = "total_median_s"
        for element_id, link in links.items():
            heat[element_id] = {
                "name": label(chosen.id, element_id, link.name),
                "count": 0,
                "department": link.department,
            }
        for row in shown:
            data = row.as_json()
            on_basis = "total_working" if row.standard_basis == "working" else "total"
            heat[row.element_id] = {
                "name": label(row.definition_id, row.element_id, row.link_name),
                "basis_median_s": data.get(f"{on_basis}_median_s"),
                "basis_metric": f"{on_basis}_median_s",
                **{k: data.get(k) for k in HEAT_METRICS if k != "breach_share"},
                "breach_share": 1 - row.within_standard_share
                if row.within_standard_share is not None
                else None,
                "standard": f"{row.standard_target} ({row.standard_basis})",
                "chart_url": url_for(
                    "audit.link_chart",
                    definition_id=row.definition_id,
                    element_id=row.element_id,
                    **flt.as_query(rt.calendar),  # type: ignore[arg-type]
                ),
            }
    step_heat = {
        f.element_id: {
            "name": label(f.definition_id, f.element_id, f.step_name),
            "kind": f.kind,
            "count": f.count,
            "handling_median_s": f.durations.get("handling_median_s"),
            "failures": f.failures,
            "incidents": f.incidents,
        }
        for f in steps
    }
    page_data = {
        "mode": "heatmap",
        "steps": step_heat,
        "diagram_url": url_for("audit.diagram", definition_id=chosen.id) if chosen else None,
        "links": heat,
        "metric": request.args.get("metric") or default_metric,
        "working_day_s": rt.calendar.day_length.total_seconds(),
        "labels": _js_labels(),
    }
    return render_template(
        "audit/links.html",
        flt=flt,
        query=flt.as_query(rt.calendar),
        choices=choices,
        chosen=chosen,
        figures=shown,
        steps=steps,
        breaches=audit.breaches(rt, flt),
        responsible=audit.breaches_by_person(rt, flt)[:20],
        page_data=page_data,
        metrics=HEAT_METRICS,
        working_day_s=rt.calendar.day_length.total_seconds(),
    )


def _js_labels() -> dict[str, str]:
    return {
        "slowest": _("slowest"),
        "no_data": _("no data"),
        "breaches": _("late"),
        "count": _("n"),
        "wd": _("working days"),
        "h": _("hours"),
        "min": _("minutes"),
        "d": _("days"),
        "executions": _("executions"),
        "standard": _("standard"),
        "here": _("here"),
        "share_within_cap": _("share within cap"),
        "working_median_days": _("median working days"),
        "instances": _("instances"),
        "system_step": _("system step"),
        "called_process": _("called process"),
        "failures": _("failures"),
    }


@blueprint.get("/diagram/<int:definition_id>.bpmn")
def diagram(definition_id: int) -> Response:
    with runtime().db.read() as session:
        definition = session.get(Definition, definition_id)
    if definition is None:
        abort(404)
    return Response(for_reading(definition.bpmn_xml), mimetype="application/xml")


@blueprint.get("/links/<int:definition_id>/<element_id>")
def link_chart(definition_id: int, element_id: str) -> str:
    """One link: its figures and the distribution of its total time, standard marked."""
    rt = runtime()
    flt = current_filter()
    try:
        definition = rt.definition(definition_id)
    except NotFoundError:
        abort(404)
    link = definition.links.get(element_id)
    if link is None:
        abort(404)
    row = next(
        (
            f
            for f in audit.link_figures(rt, flt)
            if f.definition_id == definition_id and f.element_id == element_id
        ),
        None,
    )
    working = link.standard.basis == "working"
    measure = "total_working" if working else "total"
    standard_s = audit.standard_seconds(rt, link.standard.target, link.standard.basis)
    top = max(standard_s, (row.durations.get(f"{measure}_max_s") or 0.0) if row else 0.0)
    width = top * 1.05 / BINS or 1.0
    edges = [i * width for i in range(BINS)]
    counts = audit.distribution(rt, flt, definition_id, element_id, measure, edges)
    unit = rt.calendar.day_length.total_seconds() if working else 3600.0
    chart = {
        "mode": "distribution",
        "edges": [e / unit for e in edges],
        "width": width / unit,
        "counts": counts,
        "standard": standard_s / unit,
        "unit": _("working days") if working else _("hours"),
        "labels": _js_labels(),
    }
    return render_template(
        "audit/link.html",
        link=link,
        definition=definition,
        definition_id=definition_id,
        row=row,
        chart=chart,
        query=flt.as_query(rt.calendar),
        back_query={**flt.as_query(rt.calendar), "process": definition.process_id},
        measure=measure,
        working_day_s=rt.calendar.day_length.total_seconds(),
    )


@blueprint.get("/processes")
def processes() -> str:
    """End-to-end figures per process against its cap, trends, departments, repairs, and the
    "getting electricity" panel."""
    rt = runtime()
    flt = current_filter()
    by = request.args.get("by", "week")
    try:
        trends = audit.trend(rt, flt, by)
    except AuditFilterError as exc:
        abort(400, str(exc))
    figures = audit.process_figures(rt, flt)
    working_day = rt.calendar.day_length.total_seconds()
    basis = {p.process_id: p.cap_basis for p in figures}
    series: dict[str, list[dict[str, object]]] = {}
    units: dict[str, dict[str, str]] = {}
    for pid, points in trends.items():
        # On the cap's basis; a process whose medians stay under a working day (a repair's
        # minutes and hours) is plotted in minutes or hours, never in 0.11 working days.
        clock = basis.get(pid) == "calendar"
        seconds = [p.calendar_median_s if clock else p.working_median_s for p in points]
        longest = max((v for v in seconds if v is not None), default=0.0)
        if clock or longest < working_day:
            divisor, unit, axis = (
                (60.0, _("median minutes"), _("minutes"))
                if longest < 2 * 3600
                else (3600.0, _("median hours"), _("hours"))
            )
        else:
            divisor, unit, axis = working_day, _("median working days"), _("working days")
        units[pid] = {"label": unit, "axis": axis}
        series[pid] = [
            {
                "period": p.period,
                "instances": p.instances,
                "share": p.within_cap_share,
                "value": value / divisor if value is not None else None,
            }
            for p, value in zip(points, seconds, strict=True)
        ]
    trend_data = {
        "mode": "trend",
        "series": series,
        "units": units,
        "selected": flt.process_id or DEFAULT_PROCESS,
        "labels": _js_labels(),
    }
    return render_template(
        "audit/processes.html",
        flt=flt,
        query=flt.as_query(rt.calendar),
        choices=_choices(),
        figures=figures,
        trend_data=trend_data,
        by=by,
        ranking=audit.department_ranking(rt, flt),
        repairs=audit.active_repair_share(rt, flt),
        electricity=audit.getting_electricity(rt, flt),
        reference=audit.GETTING_ELECTRICITY_REFERENCE,
        working_day_s=working_day,
    )


@blueprint.get("/instances/<int:instance_id>")
def instance(instance_id: int) -> str:
    """A running (or finished) instance's diagram with where it stands now. Every member of
    staff may look, as every department sees the demand's timeline."""
    rt = runtime()
    with rt.db.read() as session:
        row = session.get(Instance, instance_id)
        definition_id = row.definition_id if row is not None else None
    if definition_id is None:
        abort(404)
    view = timeline.instance_timeline(rt, instance_id)
    states: dict[str, str] = {}
    for link in view.links:
        if states.get(link.element_id) in ("ready", "claimed"):
            continue
        states[link.element_id] = link.state
    data = {
        "mode": "instance",
        "diagram_url": url_for("audit.diagram", definition_id=definition_id),
        "states": states,
        "labels": _js_labels(),
    }
    return render_template("audit/instance.html", view=view, page_data=data)


# --- exports -----------------------------------------------------------------------------------


def _download(chunks: Iterator[str], name: str, mimetype: str) -> Response:
    """Stream an export. Its filter was checked before (`current_filter`), and its first two
    chunks (the header, then the first rows: the query has run) are made before the answer
    starts, so a failure shows as an error, not as a file cut off."""
    first = list(itertools.islice(chunks, 2))

    def rest() -> Iterator[str]:
        yield from first
        yield from chunks

    response = Response(stream_with_context(rest()), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blueprint.get("/export/events.csv")
def export_events_csv() -> Response:
    return _download(
        export.events_csv(runtime(), current_filter()), "gridflow-events.csv", "text/csv"
    )


@blueprint.get("/export/events.xes")
def export_events_xes() -> Response:
    return _download(
        export.events_xes(runtime(), current_filter()), "gridflow-events.xes", "application/xml"
    )


@blueprint.get("/export/links.csv")
def export_links_csv() -> Response:
    return _download(
        export.links_csv(runtime(), current_filter()), "gridflow-links.csv", "text/csv"
    )
