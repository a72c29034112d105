"""Auditors' figures, computed by SQL aggregation over work items (one row per link execution):
per-link durations against standards, breaches, rework, per-department ranking, and the
whole-process figures of finished instances against their process's cap.

`filters` says which executions count and who may see them; `measures` holds the durations
and the SQL for count, mean, percentiles and maximum per group; `links` the per-link figures;
`breaches` late links and who was responsible; `departments` the department ranking;
`processes` the whole-process figures and their trend; `electricity` and `repairs` the
getting-electricity and repair-share reports.
"""

from gridflow.audit.breaches import Breach, Responsible, breaches, breaches_by_person
from gridflow.audit.departments import DepartmentFigures, department_ranking
from gridflow.audit.electricity import (
    GETTING_ELECTRICITY_REFERENCE,
    ElectricityRow,
    getting_electricity,
)
from gridflow.audit.filters import (
    EVERYTHING,
    FILTER_ARGUMENTS,
    FIRST_DAY,
    LAST_DAY,
    MAX_VERSION,
    VIEW_ROLES,
    AuditFilter,
    AuditFilterError,
    may_view,
    parse_filter,
    visible_departments,
    who_and_when,
)
from gridflow.audit.links import LinkFigures, Rework, distribution, link_figures, standard_seconds
from gridflow.audit.measures import (
    CALENDAR_MEASURES,
    MEASURES,
    PERCENTILES,
    WORKING_MEASURES,
    duration_keys,
)
from gridflow.audit.processes import (
    PROCESS_DURATIONS,
    ProcessFigures,
    TrendPoint,
    process_figures,
    refresh_instances,
    trend,
)
from gridflow.audit.repairs import RepairShare, active_repair_share

__all__ = [
    "CALENDAR_MEASURES",
    "EVERYTHING",
    "FILTER_ARGUMENTS",
    "FIRST_DAY",
    "GETTING_ELECTRICITY_REFERENCE",
    "LAST_DAY",
    "MAX_VERSION",
    "MEASURES",
    "PERCENTILES",
    "PROCESS_DURATIONS",
    "VIEW_ROLES",
    "WORKING_MEASURES",
    "AuditFilter",
    "AuditFilterError",
    "Breach",
    "DepartmentFigures",
    "ElectricityRow",
    "LinkFigures",
    "ProcessFigures",
    "RepairShare",
    "Responsible",
    "Rework",
    "TrendPoint",
    "active_repair_share",
    "breaches",
    "breaches_by_person",
    "department_ranking",
    "distribution",
    "duration_keys",
    "getting_electricity",
    "link_figures",
    "may_view",
    "parse_filter",
    "process_figures",
    "refresh_instances",
    "standard_seconds",
    "trend",
    "visible_departments",
    "who_and_when",
]
