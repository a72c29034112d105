"""Event-log exports for process-mining tools: the task events as CSV and as IEEE XES
(1849-2016), and the per-link figures as CSV. Each export is a generator of text chunks read
from one streamed query, so a million events leave in bounded memory.

XES mapping. One trace per instance (`concept:name` = the instance id; process, version,
business key, demand reference and customer category as `gridflow:` attributes); one event per
lifecycle change of a link: `concept:name` = the link's name, `org:resource` = the person,
`org:role` = the role id, `org:group` = the department id, `gridflow:element` and
`gridflow:work_item` to tell executions apart. Lifecycles map to the XES standard lifecycle
model as follows:

    ready → schedule        claimed, assigned → assign     released, handed_over → reassign
    completed → complete    cancelled → ate_abort

System steps (external tasks served by other systems' workers) are events of the same traces,
`org:role` = integration, `org:group` = system, `org:resource` = the worker's account:

    locked → start          unlocked → suspend            error (a BPMN error) → ate_abort

`escalated`, `help_requested`, `migrated`, `arrived`, `restored` (a field crew on site, supply
back), `failed`, `incident` and `retried` have no counterpart in the standard model and are
left out of the XES log (they are in the CSV export, which keeps every event as stored).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from gridflow.audit import EVERYTHING, AuditFilter, duration_keys, link_figures, who_and_when
from gridflow.models import Definition, Demand, Instance, TaskEvent
from gridflow.runtime import Runtime

XES_LIFECYCLE = {
    "ready": "schedule",
    "claimed": "assign",
    "assigned": "assign",
    "released": "reassign",
    "handed_over": "reassign",
    "completed": "complete",
    "cancelled": "ate_abort",
    # system steps (external tasks): a worker's lock starts it, a BPMN error aborts it
    "locked": "start",
    "unlocked": "suspend",
    "error": "ate_abort",
}
CHUNK = 2000  # events per yielded chunk and per fetch
EVENT_COLUMNS = (
    "event_id",
    "instance_id",
    "process_id",
    "version",
    "business_key",
    "demand",
    "customer_category",
    "work_item_id",
    "element_id",
    "link_name",
    "lifecycle",
    "at",
    "actor",
    "lane",
    "role",
    "department",
)
Progress = Callable[[int], None]


def _event_conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    conditions = who_and_when(flt, TaskEvent.at, TaskEvent.department, TaskEvent.actor)
    if flt.process_id:
        conditions.append(Definition.process_id == flt.process_id)
    if flt.version is not None:
        conditions.append(Definition.version == flt.version)
    if flt.customer_category:
        conditions.append(Demand.customer_category == flt.customer_category)
    return conditions


def _events_query(flt: AuditFilter, lifecycles: Sequence[str] | None = None) -> Select[Any]:
    columns: list[Any] = [
        TaskEvent.id,
        TaskEvent.instance_id,
        Definition.process_id,
        Definition.version,
        Instance.business_key,
        Demand.reference,
        Demand.customer_category,
        TaskEvent.work_item_id,
        TaskEvent.element_id,
        TaskEvent.link_name,
        TaskEvent.lifecycle,
        TaskEvent.at,
        TaskEvent.actor,
        TaskEvent.lane,
        TaskEvent.role,
        TaskEvent.department,
    ]
    query: Select[Any] = (
        select(*columns)
        .select_from(TaskEvent)
        .join(Definition, Definition.id == TaskEvent.definition_id)
        .join(Instance, Instance.id == TaskEvent.instance_id)
        .outerjoin(Demand, Demand.id == Instance.demand_id)
        .where(*_event_conditions(flt))
    )
    if lifecycles is not None:
        query = query.where(TaskEvent.lifecycle.in_(lifecycles))
    return query


def count_events(rt: Runtime, flt: AuditFilter = EVERYTHING, *, xes: bool = False) -> int:
    """How many events an export with this filter writes (for a progress bar)."""
    inner = _events_query(flt, list(XES_LIFECYCLE) if xes else None).subquery()
    with rt.db.snapshot(replica=True) as connection:
        return int(connection.execute(select(func.count()).select_from(inner)).scalar_one())


def _rows(rt: Runtime, query: Select[Any]) -> Iterator[Sequence[Any]]:
    """The query's rows in order, fetched CHUNK at a time (a server-side cursor on
    PostgreSQL), each chunk as a list."""
    with rt.db.snapshot(replica=True) as connection:
        result = connection.execution_options(stream_results=True, yield_per=CHUNK).execute(
            query.order_by(TaskEvent.instance_id, TaskEvent.id)
        )
        yield from result.partitions()


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def events_csv(
    rt: Runtime, flt: AuditFilter = EVERYTHING, on_progress: Progress | None = None
) -> Iterator[str]:
    """Every task event the filter keeps, one CSV row each (UTC times, ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    yield buffer.getvalue()
    for rows in _rows(rt, _events_query(flt)):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            values = list(row)
            values[11] = _iso(values[11])
            writer.writerow(values)
        yield buffer.getvalue()
        if on_progress is not None:
            on_progress(len(rows))


def links_csv(rt: Runtime, flt: AuditFilter = EVERYTHING) -> Iterator[str]:
    """The per-link figures (one row per process version and link), durations in seconds."""
    figures = link_figures(rt, flt)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [
        "process_id",
        "version",
        "element_id",
        "link_name",
        "count",
        "within_standard_share",
        "breaches",
        "rework_instances",
        "rework_executions",
        "standard_target",
        "standard_basis",
        "standard_s",
        *duration_keys(("waiting", "handling", "total")),
        *duration_keys(("waiting_working", "handling_working", "total_working")),
    ]
    writer.writerow(columns)
    for row in figures:
        data = row.as_json()
        writer.writerow(["" if data[c] is None else data[c] for c in columns])
    yield buffer.getvalue()


_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _attr(value: object) -> str:
    """A value as an XML attribute's text: escaped, characters XML forbids dropped."""
    text = _INVALID_XML.sub("", str(value))
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def _string(key: str, value: object) -> str:
    return f'<string key="{key}" value="{_attr(value)}"/>'


XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849.2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<global scope="trace">
<string key="concept:name" value="__INVALID__"/>
</global>
<global scope="event">
<string key="concept:name" value="__INVALID__"/>
<string key="lifecycle:transition" value="complete"/>
<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
</global>
<classifier name="Activity" keys="concept:name"/>
<classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
<string key="concept:name" value="gridflow task events"/>
<string key="lifecycle:model" value="standard"/>
"""


def events_xes(
    rt: Runtime, flt: AuditFilter = EVERYTHING, on_progress: Progress | None = None
) -> Iterator[str]:
    """The task events as an XES log, one trace per instance (see the module docstring)."""
    yield XES_HEAD
    current: int | None = None
    for rows in _rows(rt, _events_query(flt, list(XES_LIFECYCLE))):
        parts: list[str] = []
        for row in rows:
            (
                _event_id,
                instance_id,
                process_id,
                version,
                business_key,
                demand,
                category,
                work_item_id,
                element_id,
                link_name,
                lifecycle,
                at,
                actor,
                _lane,
                role,
                department,
            ) = row
            if instance_id != current:
                if current is not None:
                    parts.append("</trace>\n")
                current = instance_id
                parts.append("<trace>")
                parts.append(_string("concept:name", instance_id))
                parts.append(_string("gridflow:process", process_id))
                parts.append(f'<int key="gridflow:version" value="{int(version)}"/>')
                parts.append(_string("gridflow:business_key", business_key))
                if demand is not None:
                    parts.append(_string("gridflow:demand", demand))
                if category is not None:
                    parts.append(_string("gridflow:customer_category", category))
                parts.append("\n")
            parts.append("<event>")
            parts.append(_string("concept:name", link_name))
            parts.append(_string("lifecycle:transition", XES_LIFECYCLE[lifecycle]))
            parts.append(f'<date key="time:timestamp" value="{_iso(at)}"/>')
            if actor:
                parts.append(_string("org:resource", actor))
            parts.append(_string("org:role", role))
            parts.append(_string("org:group", department))
            parts.append(_string("gridflow:element", element_id))
            if work_item_id is not None:  # a link's (a system step has none)
                parts.append(_string("gridflow:work_item", work_item_id))
            parts.append("</event>\n")
        yield "".join(parts)
        if on_progress is not None:
            on_progress(len(rows))
    if current is not None:
        yield "</trace>\n"
    yield "</log>\n"
