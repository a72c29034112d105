"""Which link executions an auditor's figures count: the filter (period, department, person,
customer category, process and version) read from query arguments, who may see what, and the
filter as SQL conditions on work items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import QueryableAttribute

from gridflow.models import Definition, Demand, Instance, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

VIEW_ROLES = ("auditor", "supervisor", "admin")
# Filters outside these are refused: no task event is older, and dates near the ends of the
# calendar overflow once turned into instants.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)
MAX_VERSION = 2**31 - 1
FILTER_ARGUMENTS = (
    "process",
    "version",
    "since",
    "until",
    "department",
    "person",
    "customer_category",
)


class AuditFilterError(ValueError):
    """A filter value that cannot be used; the message names it."""


@dataclass(frozen=True)
class AuditFilter:
    """Which link executions count: ended in [since, until), of a department, completed by a
    person, for a customer category, of a process (and version). `departments` is the viewer's
    own limit (a supervisor's departments), None for everything."""

    since: datetime | None = None
    until: datetime | None = None
    department: str | None = None
    person: str | None = None
    customer_category: str | None = None
    process_id: str | None = None
    version: int | None = None
    departments: frozenset[str] | None = None

    def as_query(self, calendar: Any) -> dict[str, str]:  # noqa: ANN401 - a WorkingCalendar
        """The filter as query-string arguments (for links to exports and charts): local
        days, `until` inclusive, as `parse_filter` reads them."""
        last_day = self.until - timedelta(microseconds=1) if self.until else None
        values = {
            "since": calendar.local_date(self.since).isoformat() if self.since else None,
            "until": calendar.local_date(last_day).isoformat() if last_day else None,
            "department": self.department,
            "person": self.person,
            "customer_category": self.customer_category,
            "process": self.process_id,
            "version": str(self.version) if self.version is not None else None,
        }
        return {k: v for k, v in values.items() if v}


EVERYTHING = AuditFilter()


def visible_departments(actor: Actor, rt: Runtime) -> frozenset[str] | None:
    """What a viewer may see: auditors and admins everything (None); a supervisor the
    departments of their roles (supervisor's own department included)."""
    if actor.is_system or actor.roles & {"auditor", "admin"}:
        return None
    if "supervisor" in actor.roles:
        return frozenset(rt.roles[r].department.id for r in actor.roles if r in rt.roles)
    raise PermissionError("only auditors, supervisors and administrators see audit figures")


def may_view(actor: Actor) -> bool:
    return actor.is_system or bool(actor.roles & set(VIEW_ROLES))


def parse_filter(
    args: Any,  # noqa: ANN401 - a Mapping of query arguments (werkzeug MultiDict or dict)
    calendar: Any,  # noqa: ANN401 - the runtime's WorkingCalendar
    departments: frozenset[str] | None = None,
) -> AuditFilter:
    """A filter from query arguments; dates are local calendar days (until is inclusive)."""
    if any("\x00" in str(args.get(name) or "") for name in FILTER_ARGUMENTS):
        raise AuditFilterError("filters must not contain NUL characters")

    def day(name: str) -> date | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            found = date.fromisoformat(raw) if len(raw) <= 10 else None
        except ValueError:
            found = None
        if found is None:
            raise AuditFilterError(f"{name}: {raw[:40]!r} is not a date (YYYY-MM-DD)")
        if not FIRST_DAY <= found <= LAST_DAY:
            raise AuditFilterError(f"{name}: {raw} is not between {FIRST_DAY} and {LAST_DAY}")
        return found

    since, until = day("since"), day("until")
    zone = ZoneInfo(calendar.timezone)
    raw_version = (args.get("version") or "").strip()
    if raw_version and not (
        raw_version.isascii()
        and raw_version.isdigit()
        and len(raw_version) <= 10
        and 1 <= int(raw_version) <= MAX_VERSION
    ):
        raise AuditFilterError(f"version: {raw_version[:40]!r} is not a version number")
    return AuditFilter(
        since=datetime.combine(since, time(), zone).astimezone(UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), zone).astimezone(UTC)
        if until
        else None,
        department=(args.get("department") or "").strip() or None,
        person=(args.get("person") or "").strip() or None,
        customer_category=(args.get("customer_category") or "").strip() or None,
        process_id=(args.get("process") or "").strip() or None,
        version=int(raw_version) if raw_version else None,
        departments=departments,
    )


def who_and_when(
    flt: AuditFilter,
    at: QueryableAttribute[Any],
    department: QueryableAttribute[Any],
    person: QueryableAttribute[Any],
) -> list[ColumnElement[bool]]:
    """The filter's period, department(s) and person, on the given columns."""
    conditions: list[ColumnElement[bool]] = []
    if flt.since is not None:
        conditions.append(at >= flt.since)
    if flt.until is not None:
        conditions.append(at < flt.until)
    if flt.department:
        conditions.append(department == flt.department)
    if flt.departments is not None:
        conditions.append(department.in_(sorted(flt.departments)))
    if flt.person:
        conditions.append(person == flt.person)
    return conditions


def _item_conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    conditions = [
        WorkItem.state == "completed",
        *who_and_when(flt, WorkItem.ended_at, WorkItem.department, WorkItem.completed_by),
    ]
    if flt.process_id or flt.version is not None:
        definitions = select(Definition.id)
        if flt.process_id:
            definitions = definitions.where(Definition.process_id == flt.process_id)
        if flt.version is not None:
            definitions = definitions.where(Definition.version == flt.version)
        conditions.append(WorkItem.definition_id.in_(definitions.scalar_subquery()))
    if flt.customer_category:
        instances = (
            select(Instance.id)
            .join(Demand, Demand.id == Instance.demand_id)
            .where(Demand.customer_category == flt.customer_category)
        )
        conditions.append(WorkItem.instance_id.in_(instances.scalar_subquery()))
    return conditions
