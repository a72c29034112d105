"""Figures computed in SQL from work items and task events: counts for `gridflow stats` and the
per-link summary table (count, median waiting and handling, share within standard), which
takes its figures from `gridflow.audit`, the one place they are computed."""

from __future__ import annotations

from sqlalchemy import func, select

from gridflow.audit import LinkFigures, link_figures
from gridflow.models import Incident, Instance, SystemTask, TaskEvent, WorkItem
from gridflow.runtime import Runtime


def counts(rt: Runtime) -> dict[str, dict[str, int]]:
    """Instances by status, work items by state, task events by lifecycle, system steps
    (external tasks and call activities) by state and incidents by state."""
    with rt.db.read(replica=True) as session:
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
        steps = dict(
            session.execute(select(SystemTask.state, func.count()).group_by(SystemTask.state)).all()
        )
        incidents = dict(
            session.execute(select(Incident.state, func.count()).group_by(Incident.state)).all()
        )
    open_items = items.get("ready", 0) + items.get("claimed", 0)
    return {
        "instances": {k: int(v) for k, v in instances.items()},
        "work_items": {**{k: int(v) for k, v in items.items()}, "open": open_items},
        "task_events": {k: int(v) for k, v in events.items()},
        "system_steps": {k: int(v) for k, v in steps.items()},
        "incidents": {k: int(v) for k, v in incidents.items()},
    }


def link_summary(rt: Runtime) -> list[LinkFigures]:
    """One row per process version and link, over completed work items: the auditors' figures
    (see `gridflow.audit`), waiting and handling in calendar time."""
    return link_figures(rt, measures=("waiting", "handling"))


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
            f"{row.count:>5} {_duration(row.durations['waiting_median_s']):>8} "
            f"{_duration(row.durations['handling_median_s']):>10} {share:>6}"
        )
    if not rows:
        lines.append("(no completed links yet)")
    return "\n".join(lines)
