"""Figures computed in SQL from work items and task events: counts for `gridflow stats` and the
per-link summary table (count, median waiting and handling, share within standard)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select

from gridflow.models import Definition, Instance, TaskEvent, WorkItem
from gridflow.runtime import Runtime


def counts(rt: Runtime) -> dict[str, dict[str, int]]:
    """Instances by status, work items by state, task events by lifecycle."""
    with rt.db.read() as session:
        instances = dict(
            session.execute(select(Instance.status, func.count()).group_by(Instance.status)).all()
        )
        items = dict(
            session.execute(select(WorkItem.state, func.count()).group_by(WorkItem.state)).all()
        )
        events = dict(
            session.execute(
                select(TaskEvent.lifecycle, func.count()).group_by(TaskEvent.lifecycle)
            ).all()
        )
    open_items = items.get("ready", 0) + items.get("claimed", 0)
    return {
        "instances": {k: int(v) for k, v in instances.items()},
        "work_items": {**{k: int(v) for k, v in items.items()}, "open": open_items},
        "task_events": {k: int(v) for k, v in events.items()},
    }


@dataclass(frozen=True)
class LinkFigures:
    process_id: str
    version: int
    element_id: str
    link_name: str
    count: int
    waiting_median_s: float | None
    handling_median_s: float | None
    within_standard_share: float | None


def link_summary(rt: Runtime) -> list[LinkFigures]:
    """One row per process version and link, over completed work items, computed in SQL."""
    keys = [WorkItem.definition_id, WorkItem.element_id]
    done = WorkItem.state == "completed"
    figures = {}
    with rt.db.read() as session:
        totals = session.execute(
            select(
                WorkItem.definition_id,
                WorkItem.element_id,
                func.max(WorkItem.link_name),
                func.count(),
                func.avg(case((WorkItem.within_standard.is_(True), 1.0), else_=0.0)),
            )
            .where(done)
            .group_by(*keys)
        ).all()
        # Median in portable SQL (SQLite has no percentile function): the middle row, or the
        # mean of the two middle rows, by ROW_NUMBER over COUNT within each link.
        medians = {}
        for column in (WorkItem.waiting_s, WorkItem.handling_s):
            ranked = (
                select(
                    WorkItem.definition_id,
                    WorkItem.element_id,
                    column.label("value"),
                    func.row_number().over(partition_by=keys, order_by=column).label("rn"),
                    func.count().over(partition_by=keys).label("n"),
                )
                .where(done)
                .subquery()
            )
            middle = and_(2 * ranked.c.rn >= ranked.c.n, 2 * ranked.c.rn <= ranked.c.n + 2)
            rows = session.execute(
                select(ranked.c.definition_id, ranked.c.element_id, func.avg(ranked.c.value))
                .where(middle)
                .group_by(ranked.c.definition_id, ranked.c.element_id)
            ).all()
            medians[column.key] = {(d, e): v for d, e, v in rows}
        versions = dict(
            (row_id, (pid, ver))
            for row_id, pid, ver in session.execute(
                select(Definition.id, Definition.process_id, Definition.version)
            ).all()
        )
    for definition_id, element_id, name, count, share in totals:
        process_id, version = versions[definition_id]
        key = (definition_id, element_id)
        figures[(process_id, version, element_id)] = LinkFigures(
            process_id=process_id,
            version=version,
            element_id=element_id,
            link_name=name,
            count=int(count),
            waiting_median_s=_float(medians["waiting_s"].get(key)),
            handling_median_s=_float(medians["handling_s"].get(key)),
            within_standard_share=_float(share),
        )
    return [figures[k] for k in sorted(figures)]


def _float(value: object) -> float | None:
    return float(value) if value is not None else None  # type: ignore[arg-type]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def format_link_summary(rows: list[LinkFigures]) -> str:
    """The per-link table as plain text (calendar time)."""
    header = (
        f"{'process':<28} {'v':>2}  {'link':<38} {'count':>5} "
        f"{'wait p50':>8} {'handle p50':>10} {'in std':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        share = f"{row.within_standard_share:.0%}" if row.within_standard_share is not None else "-"
        lines.append(
            f"{row.process_id[:28]:<28} {row.version:>2}  {row.link_name[:38]:<38} "
            f"{row.count:>5} {_duration(row.waiting_median_s):>8} "
            f"{_duration(row.handling_median_s):>10} {share:>6}"
        )
    if not rows:
        lines.append("(no completed links yet)")
    return "\n".join(lines)
