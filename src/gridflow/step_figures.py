"""Auditors' figures of system steps, kept apart from the staff's link figures: per process
version and external task, how many ran, how long each waited for a worker (created → first
locked) and how long the worker took (first locked → completed), how often workers failed, how
many raised an incident, and how many are open now. Call activities count how long their child
instance ran. All in one SQL statement per figure set, percentiles as for links."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from gridflow.audit.filters import AuditFilter
from gridflow.audit.measures import PERCENTILES, _percentile, _ranked_columns
from gridflow.models import Definition, Incident, SystemTask, TaskEvent
from gridflow.runtime import Runtime

MEASURES: dict[str, ColumnElement[Any]] = {
    "waiting": SystemTask.waiting_s.expression,
    "handling": SystemTask.handling_s.expression,
}
ENDED = ("completed", "error")
OPEN = ("ready", "locked", "incident", "running")


@dataclass
class StepFigures:
    process_id: str
    version: int
    definition_id: int
    element_id: str
    step_name: str
    kind: str
    topic: str | None
    count: int  # ended (completed or by a BPMN error)
    errors: int  # ended by a BPMN error
    failures: int  # failures workers reported
    incidents: int
    open: int
    durations: dict[str, float | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "process_id": self.process_id,
            "version": self.version,
            "step_id": self.element_id,
            "step_name": self.step_name,
            "kind": self.kind,
            "topic": self.topic,
            "count": self.count,
            "bpmn_errors": self.errors,
            "failures": self.failures,
            "incidents": self.incidents,
            "open": self.open,
            **self.durations,
        }


def _conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.since is not None:
        conditions.append(SystemTask.ended_at >= flt.since)
    if flt.until is not None:
        conditions.append(SystemTask.ended_at < flt.until)
    if flt.process_id or flt.version is not None:
        definitions = select(Definition.id)
        if flt.process_id:
            definitions = definitions.where(Definition.process_id == flt.process_id)
        if flt.version is not None:
            definitions = definitions.where(Definition.version == flt.version)
        conditions.append(SystemTask.definition_id.in_(definitions.scalar_subquery()))
    return conditions


def step_figures(rt: Runtime, flt: AuditFilter) -> list[StepFigures]:
    """Per process version and system step: executions ended in the filter's period, their
    waiting and handling (mean, median, p90, p95, max), failures, incidents, open now."""
    keys = [SystemTask.definition_id, SystemTask.element_id]
    names, columns = _ranked_columns(keys, MEASURES)
    columns.append(case((SystemTask.state == "error", 1), else_=0).label("is_error"))
    ranked = (
        select(*columns).where(SystemTask.state.in_(ENDED), *_conditions(flt)).subquery("ranked")
    )
    out: list[Any] = [ranked.c[name] for name in names]
    out.append(func.count().label("count"))
    out.append(func.sum(ranked.c.is_error).label("errors"))
    for measure in MEASURES:
        value, rank = ranked.c[f"v_{measure}"], ranked.c[f"r_{measure}"]
        out.append(func.avg(value).label(f"{measure}_mean_s"))
        for label, k in PERCENTILES:
            out.append(_percentile(value, rank, ranked.c.n, k).label(f"{measure}_{label}_s"))
        out.append(func.max(value).label(f"{measure}_max_s"))
    ended = select(*out).group_by(*[ranked.c[name] for name in names])
    period_free = AuditFilter(process_id=flt.process_id, version=flt.version)
    failed_when: list[ColumnElement[bool]] = []
    if flt.since is not None:
        failed_when.append(TaskEvent.at >= flt.since)
    if flt.until is not None:
        failed_when.append(TaskEvent.at < flt.until)
    with rt.db.read(replica=True) as session:
        rows = {(r[0], r[1]): r for r in session.execute(ended).all()}
        describe = session.execute(
            select(
                SystemTask.definition_id,
                SystemTask.element_id,
                func.max(SystemTask.step_name),
                func.max(SystemTask.kind),
                func.max(SystemTask.topic),
                func.sum(case((SystemTask.state.in_(OPEN), 1), else_=0)),
                Definition.process_id,
                Definition.version,
            )
            .join(Definition, Definition.id == SystemTask.definition_id)
            .where(*_conditions(period_free))
            .group_by(
                SystemTask.definition_id,
                SystemTask.element_id,
                Definition.process_id,
                Definition.version,
            )
        ).all()
        failures = dict(
            ((r[0], r[1]), r[2])
            for r in session.execute(
                select(TaskEvent.definition_id, TaskEvent.element_id, func.count())
                .join(SystemTask, SystemTask.id == TaskEvent.system_task_id)
                .where(TaskEvent.lifecycle == "failed", *_conditions(period_free), *failed_when)
                .group_by(TaskEvent.definition_id, TaskEvent.element_id)
            ).all()
        )
        raised = dict(
            ((r[0], r[1]), r[2])
            for r in session.execute(
                select(SystemTask.definition_id, SystemTask.element_id, func.count(Incident.id))
                .join(Incident, Incident.system_task_id == SystemTask.id)
                .where(*_conditions(period_free))
                .group_by(SystemTask.definition_id, SystemTask.element_id)
            ).all()
        )
    result = []
    for d in describe:
        key = (d[0], d[1])
        row = rows.get(key)
        durations: dict[str, float | None] = {}
        if row is not None:
            mapping = row._mapping
            for measure in MEASURES:
                for stat in ("mean", *(label for label, _ in PERCENTILES), "max"):
                    name = f"{measure}_{stat}_s"
                    value = mapping[name]
                    durations[name] = float(value) if value is not None else None
        result.append(
            StepFigures(
                process_id=d[6],
                version=d[7],
                definition_id=d[0],
                element_id=d[1],
                step_name=d[2],
                kind=d[3],
                topic=d[4],
                count=int(row._mapping["count"]) if row is not None else 0,
                errors=int(row.errors or 0) if row is not None else 0,
                failures=int(failures.get(key, 0)),
                incidents=int(raised.get(key, 0)),
                open=int(d[5] or 0),
                durations=durations,
            )
        )
    return sorted(result, key=lambda f: (f.process_id, -f.version, f.step_name))
