"""What a call activity and the process it calls must agree on, checked before deploy: the
called process gets, through `camunda:in`, every variable it reads at its start, and gives
back, through `camunda:out`, only variables it can have set. Each problem names the caller's
file, line and call activity."""

from __future__ import annotations

from gridflow.definitions.describe import ProcessDefinition
from gridflow.errors import Problem


def call_problems(
    caller: ProcessDefinition, callees: dict[str, ProcessDefinition]
) -> list[Problem]:
    """Problems of the caller's call activities against the called processes known here
    (a called process not among `callees` is not checked)."""
    problems = []
    for step in caller.steps.values():
        if step.kind != "call" or step.called_element not in callees:
            continue
        callee = callees[step.called_element]
        if step.in_targets is not None:
            missing = sorted(set(callee.start_reads) - set(step.in_targets))
            if missing:
                problems.append(
                    Problem(
                        caller.file,
                        step.line,
                        step.element_id,
                        f"calls {callee.process_id!r}, which reads {', '.join(missing)} at its "
                        'start: pass them with camunda:in (or variables="all")',
                    )
                )
        produced = _produced(callee)
        unknown = sorted(s for s in step.out_sources if s not in produced)
        if unknown:
            problems.append(
                Problem(
                    caller.file,
                    step.line,
                    step.element_id,
                    f"camunda:out takes {', '.join(unknown)} from {callee.process_id!r}, which "
                    "never sets it (no form field, external-task output, decision result or "
                    "start variable of that name)",
                )
            )
    return problems


def _produced(definition: ProcessDefinition) -> set[str]:
    """Names a process can set: its links' form fields, its external tasks' outputs, its
    decisions' result variables, its called processes' outputs, and what it starts with."""
    names: set[str] = set(definition.start_reads)
    for link in definition.links.values():
        names.update(field.id for field in link.form.fields)
    for step in definition.steps.values():
        names.update(step.outputs)
    for reference in definition.decision_refs.values():
        if reference.result_variable:
            names.add(reference.result_variable)
    return names
