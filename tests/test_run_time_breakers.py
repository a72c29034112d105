"""The lint's run-time claim: each diagram that breaks at run time is a lint problem naming the
element and its line; the same file forced past the lint (inserted straight into the store,
bypassing `catalog`) shows what the run time does with it today.

Each run-time check runs the verb in a forked child process, bounded in time: a verb that
spins is killed, never left burning a core, and a raw exception (what the web app turns into
a 500) is reported as such. The assertions say what must hold for every breaker: no hang and
no 500. Where the verb already raises `EngineError`, it names the element.

An engine error inside a verb on a running instance is a 422 naming the element, plus an
incident; a demand whose process breaks at its start is a 422 naming the element, and nothing
is stored. A timer is checked as the lint would check it when it is about to be used, so a
malformed, centuries-long or every-second timer never reaches SpiffWorkflow. A stored version
that cannot be loaded any more is refused the same way, naming the element.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from bpmn_samples import STANDARD, chain, field, process, two_lane, user_task
from conftest import force_into_store, token
from sqlalchemy import func, select

from gridflow import definitions, incidents
from gridflow.models import Instance, WorkItem
from gridflow.roles import RoleBook
from gridflow.runtime import Runtime

PROCESS = "lv_residential_connection"  # what a residential connection demand starts
BOUND_S = 10  # far above what any verb takes; only a verb that spins reaches it
DEMAND = {
    "customer_name": "Zhou Min",
    "customer_category": "residential",
    "channel": "counter",
    "category": "connection",
    "address": "12 Heping Road",
    "phone": "13800138000",
    "capacity_kw": 8,
}


def timer(kind: str, text: str, cancel: str = "false") -> str:
    """Accept application with a boundary timer: it starts waiting when the demand arrives."""
    event = f"""
    <bpmn:boundaryEvent id="Timer_1" attachedToRef="Activity_accept" cancelActivity="{cancel}">
      <bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_t" sourceRef="Timer_1" targetRef="End_t" />
    <bpmn:endEvent id="End_t" />"""
    return two_lane(process_id=PROCESS, extra_elements=event).replace(
        "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef><bpmn:flowNodeRef>Timer_1</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>End_t</bpmn:flowNodeRef>",
    )


NO_OUTGOING = process(
    user_task("Activity_accept", field("approved", "boolean"))
    + '<bpmn:startEvent id="Start_1" /><bpmn:exclusiveGateway id="Gateway_survey" />'
    + chain("Start_1", "Activity_accept", "Gateway_survey"),
    process_id=PROCESS,
)
PARALLEL_CONDITION = two_lane(process_id=PROCESS, condition="${false}").replace(
    '<bpmn:exclusiveGateway id="Gateway_survey" default="Flow_declined" />',
    '<bpmn:parallelGateway id="Gateway_survey" />',
)

# name → (file, element the lint names, the start of its message)
BREAKERS: dict[str, tuple[str, str, str]] = {
    "invalid duration": (timer("timeDuration", "PT"), "Timer_1", "timer timeDuration: 'PT' is"),
    "duration of centuries": (
        timer("timeDuration", "P20000Y"),
        "Timer_1",
        "timer timeDuration: P20000Y is 20,000 years, beyond the 10-year horizon",
    ),
    "duration as a date": (
        timer("timeDate", "P5D"),
        "Timer_1",
        "timer timeDate: 'P5D' is a duration or a cycle, not a date",
    ),
    "endless fast cycle": (
        timer("timeCycle", "R/PT1S"),
        "Timer_1",
        "timer timeCycle: R/PT1S repeats every 1 seconds, faster than once a minute",
    ),
    "standard of centuries": (
        two_lane(process_id=PROCESS, accept_standard=STANDARD.format(target="P36500D")),
        "Activity_accept",
        "service standard standard_target: P36500D is 36,500 working days",
    ),
    "gateway without outgoing flow": (
        NO_OUTGOING,
        "Gateway_survey",
        "exclusiveGateway 'Gateway_survey' has no outgoing flow",
    ),
    "bare flow and no default": (
        two_lane(process_id=PROCESS).replace(' default="Flow_declined"', ""),
        "Gateway_survey",
        "exclusiveGateway 'Gateway_survey': outgoing flow(s) 'Flow_declined' have no condition",
    ),
    "condition on a parallel flow": (
        PARALLEL_CONDITION,
        "Flow_survey",
        "a flow leaving parallel gateway 'Gateway_survey' has a condition, which is never read",
    ),
    "variable nothing sets": (
        two_lane(process_id=PROCESS, condition="${survey_wanted}"),
        "Flow_survey",
        "condition '${survey_wanted}' reads 'survey_wanted', but no earlier form field",
    ),
    "ordering a yes/no against text": (
        two_lane(process_id=PROCESS, condition='${approved &gt; "high"}'),
        "Flow_survey",
        "condition '${approved > \"high\"}': approved (a yes/no value, form field of 'Accept "
        "application') cannot be ordered against 'high'",
    ),
    "comparing a yes/no with text": (
        two_lane(process_id=PROCESS, condition='${approved == "yes"}'),
        "Flow_survey",
        "condition '${approved == \"yes\"}': compares approved (a yes/no value",
    ),
}


def line_of(text: str, element_id: str) -> int:
    return text[: text.index(f'id="{element_id}"')].count("\n") + 1


@pytest.mark.parametrize("name", list(BREAKERS))
def test_each_run_time_breaker_is_a_lint_problem_with_element_and_line(
    roles: RoleBook, name: str
) -> None:
    text, element_id, message = BREAKERS[name]
    problems = definitions.lint(text.encode(), "breaker.bpmn", roles)
    matching = [p for p in problems if p.message.startswith(message)]
    assert len(matching) == 1, problems
    assert (matching[0].element_id, matching[0].line) == (element_id, line_of(text, element_id))


# --- forced past the lint --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a verb did in the child: returned a value, raised (type, message, element id),
    or hung (killed at the bound)."""

    kind: str  # returned | raised | hung
    value: Any = None
    error: str = ""
    message: str = ""
    element_id: str | None = None

    @property
    def server_error(self) -> bool:
        """A raw exception escaping a verb, or an HTTP 500: what the user would see as a 500."""
        if self.kind == "raised":
            return self.error not in ("EngineError", "DefinitionError")
        return self.kind == "returned" and isinstance(self.value, tuple) and self.value[0] == 500


def bounded(rt: Runtime, action: Callable[[], Any]) -> Outcome:
    """Run `action` in a forked child with its own database connections, at most BOUND_S."""
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()

    def child() -> None:
        # Fresh connections in the child; the parent's stay referenced (never closed from
        # here, which would end them for the parent too).
        kept = rt.db.engine.pool  # noqa: F841 - held until the child exits
        rt.db.engine.dispose(close=False)
        try:
            results.put(("returned", action(), "", "", None))
        except BaseException as exc:  # the point is to see whatever escapes
            results.put(
                ("raised", None, type(exc).__name__, str(exc), getattr(exc, "element_id", None))
            )

    worker = context.Process(target=child, daemon=True)
    worker.start()
    worker.join(BOUND_S)
    if worker.is_alive():
        worker.kill()
        worker.join()
        return Outcome("hung")
    return Outcome(*results.get())


def force(rt: Runtime, xml: str) -> int:
    """Insert the file as the newest version of the process, as no deploy would."""
    return force_into_store(rt, PROCESS, xml.encode())


def post_demand(client: Any) -> tuple[int, Any]:
    response = client.post("/api/demands", json=DEMAND, headers=token(client, "desk1"))
    return response.status_code, response.json


def accept(client: Any, approved: bool = True) -> tuple[int, Any]:
    """The account manager completes Accept application through the API."""
    manager = token(client, "manager1")
    items = client.get("/api/work-items?scope=team", headers=manager).json["items"]
    [item] = [i for i in items if i["link_id"] == "Activity_accept"]
    body = {"version": item["version"], "data": {"approved": approved}}
    response = client.post(f"/api/work-items/{item['id']}/complete", json=body, headers=manager)
    return response.status_code, response.json


def forced_instance(rt: Runtime, definition_id: int) -> tuple[str, list[str]]:
    with rt.db.read() as session:
        instance = session.scalar(select(Instance).where(Instance.definition_id == definition_id))
        assert instance is not None
        items = session.scalars(
            select(WorkItem.element_id).where(
                WorkItem.instance_id == instance.id, WorkItem.state.in_(("ready", "claimed"))
            )
        ).all()
    return instance.status, list(items)


@pytest.mark.parametrize(
    ("name", "element"),
    [
        ("invalid duration", "Timer_1"),
        ("duration of centuries", "Timer_1"),
        ("duration as a date", "Timer_1"),
        ("endless fast cycle", "Timer_1"),
        ("standard of centuries", "Activity_accept"),
    ],
)
def test_a_timer_or_standard_forced_past_the_lint_refuses_the_demand_naming_it(
    client: Any, rt: Runtime, name: str, element: str
) -> None:
    """The engine checks what a timer is about to use (and lays each standard on the
    calendar) as the lint would: the demand is refused with a 422 naming the element, and
    nothing is stored. A cycle of every second never starts, so no worker spins on it."""
    force(rt, BREAKERS[name][0])
    outcome = bounded(rt, lambda: post_demand(client))
    assert outcome.kind == "returned", outcome
    status, body = outcome.value
    # No demand and no instance, so no incident: the intake is told.
    assert (status, body["error"]["code"], body["error"]["element"]) == (
        422,
        "engine_error",
        element,
    )
    with rt.db.read() as session:
        assert session.scalar(select(func.count(Instance.id))) == 0


@pytest.mark.parametrize("name", ["variable nothing sets", "ordering a yes/no against text"])
def test_a_condition_that_fails_forced_past_the_lint_is_a_422_naming_it_and_an_incident(
    client: Any, rt: Runtime, name: str
) -> None:
    definition_id = force(rt, BREAKERS[name][0])
    assert post_demand(client)[0] == 201
    outcome = bounded(rt, lambda: accept(client))
    assert outcome.kind == "returned", outcome
    status, body = outcome.value
    assert (status, body["error"]["code"], body["error"]["element"]) == (
        422,
        "engine_error",
        "Gateway_survey",
    )
    assert body["error"]["message"].startswith("Gateway_survey: ")
    # Nothing changed (the link is still open), and an incident names the element.
    assert forced_instance(rt, definition_id) == ("running", ["Activity_accept"])
    [incident] = incidents.listing(rt)
    assert (incident.kind, incident.element_id, incident.id) == (
        "engine_error",
        "Gateway_survey",
        body["error"]["incident_id"],
    )


def test_a_gateway_without_outgoing_flow_forced_past_the_lint_is_a_422_and_an_incident(
    client: Any, rt: Runtime
) -> None:
    definition_id = force(rt, NO_OUTGOING)
    assert post_demand(client)[0] == 201
    outcome = bounded(rt, lambda: accept(client))
    assert outcome.kind == "returned", outcome
    status, body = outcome.value
    assert (status, body["error"]["element"]) == (422, "Gateway_survey")
    assert "At least one output required" in body["error"]["message"]
    assert forced_instance(rt, definition_id) == ("running", ["Activity_accept"])
    [incident] = incidents.listing(rt)
    assert (incident.kind, incident.element_id) == ("engine_error", "Gateway_survey")


def test_a_bare_flow_without_default_forced_past_the_lint_is_refused_by_the_engine(
    client: Any, rt: Runtime
) -> None:
    force(rt, BREAKERS["bare flow and no default"][0])
    outcome = bounded(rt, lambda: post_demand(client))
    assert outcome.kind == "returned", outcome
    status, body = outcome.value
    # SpiffWorkflow's own parser refuses the stored version, naming the flow: no demand.
    assert (status, body["error"]["code"], body["error"]["element"]) == (
        422,
        "engine_error",
        "Flow_declined",
    )
    assert "Non-default exclusive outgoing sequence flow" in body["error"]["message"]
    with rt.db.read() as session:
        assert session.scalar(select(func.count(Instance.id))) == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Approved, but "yes" is never a yes/no value: the default (declined) path is taken.
        ("comparing a yes/no with text", ("completed", [])),
        # The condition ${false} is never read: the survey starts anyway.
        ("condition on a parallel flow", ("running", ["Activity_survey"])),
    ],
)
def test_conditions_the_engine_ignores_or_misreads_route_silently(
    client: Any, rt: Runtime, name: str, expected: tuple[str, list[str]]
) -> None:
    definition_id = force(rt, BREAKERS[name][0])
    assert post_demand(client)[0] == 201
    outcome = bounded(rt, lambda: accept(client))
    assert outcome.kind == "returned" and outcome.value[0] == 200, outcome
    assert forced_instance(rt, definition_id) == expected
