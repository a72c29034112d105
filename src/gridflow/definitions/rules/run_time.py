"""The checks of what would break at run time, before a file is deployed: timers and service
standards (`timers`), gateways (`gateways`), and the variables each element reads with their
types (`variables`, `effects`, `types`).

They run when a file is linted for deploy, not when a deployed version is loaded again to run
its instances (see `parse.parse_deployed`): a version deployed before a check existed keeps
running.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from lxml import etree

from gridflow.definitions.rules.common import NS, Report, properties
from gridflow.definitions.rules.effects import Produced, Scope
from gridflow.definitions.rules.gateways import check_gateways
from gridflow.definitions.rules.timers import check_standard, check_timers
from gridflow.definitions.rules.types import VarType
from gridflow.definitions.rules.variables import Findings, check_variables
from gridflow.forms import FIELD_TYPES
from gridflow.intake import START_VARIABLES

# The process property naming start variables beyond the demand's: "meter_id, reading:double".
START_VARIABLES_PROPERTY = "start_variables"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check(
    process: etree._Element,
    messages: dict[str, str],
    report: Report,
    decision_inputs: Callable[[str], Sequence[str] | None] | None = None,
) -> Findings:
    """Every run-time check on one executable process; the findings of its variables.
    `decision_inputs` gives a decision's input expressions by `decisionRef` where known."""
    check_timers(process, report)
    check_standard(process, report)
    for task in process.iter(f"{{{NS['bpmn']}}}userTask"):
        check_standard(task, report)
    check_gateways(process, report)
    start = start_variables(process, report)
    scope = Scope(messages) if decision_inputs is None else Scope(messages, decision_inputs)
    return check_variables(process, scope, start, report)


def start_variables(process: etree._Element, report: Report) -> list[Produced]:
    """What every start of the process gives: the demand's start variables, and those the
    process declares in its `start_variables` property (`name` or `name:type`)."""
    process_id = process.get("id", "")
    given: dict[str, Produced] = {
        v.name: Produced(
            v.name, process_id, "a demand's start variable", VarType(v.type, v.choices)
        )
        for v in START_VARIABLES
    }
    declared = properties(process).get(START_VARIABLES_PROPERTY, "")
    types = [t for t in FIELD_TYPES if t != "enum"]
    for part in (p.strip() for p in declared.split(",")):
        if not part:
            continue
        name, _, declared_type = (s.strip() for s in part.partition(":"))
        if not _NAME.fullmatch(name) or "__" in name:
            report(process, f"{START_VARIABLES_PROPERTY}: {name!r} is not a plain variable name")
            continue
        if declared_type and declared_type not in types:
            report(
                process,
                f"{START_VARIABLES_PROPERTY}: type {declared_type!r} of {name!r} is not one of "
                + ", ".join(types),
            )
            continue
        given[name] = Produced(
            name,
            process_id,
            f"declared in {START_VARIABLES_PROPERTY}",
            VarType(declared_type) if declared_type else None,
        )
    return list(given.values())
