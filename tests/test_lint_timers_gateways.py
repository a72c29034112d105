"""The lint's timer, standard and gateway rules: each run-time breaker is a problem naming the
element and its line."""

from __future__ import annotations

import pytest
from bpmn_samples import STANDARD, chain, field, flow, process, two_lane, user_task

from gridflow import definitions
from gridflow.errors import Problem
from gridflow.roles import RoleBook


def lint(text: str, roles: RoleBook) -> list[Problem]:
    return definitions.lint(text.encode(), "sample.bpmn", roles)


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def with_timer(kind: str, text: str, *, boundary: bool = True) -> str:
    """Accept application (a user task) with a boundary timer, or followed by a catch event."""
    timer = (
        f"<bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>"
    )
    if boundary:
        event = f"""
    <bpmn:boundaryEvent id="Timer_1" attachedToRef="Activity_accept" cancelActivity="false">
      {timer}
    </bpmn:boundaryEvent>"""
    else:
        event = f"""
    <bpmn:intermediateCatchEvent id="Timer_1">{timer}</bpmn:intermediateCatchEvent>"""
    return two_lane(
        extra_elements=event
        + '<bpmn:sequenceFlow id="Flow_t" sourceRef="Timer_1" targetRef="End_t" />'
        + '<bpmn:endEvent id="End_t" />'
    ).replace(
        "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef><bpmn:flowNodeRef>Timer_1</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>End_t</bpmn:flowNodeRef>",
    )


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("timeDuration", "PT", "'PT' is not an ISO 8601 duration: it has no number in it"),
        ("timeDuration", "P1DT", "'P1DT': 'T' must be followed by hours, minutes or seconds"),
        ("timeDuration", "P5X", "'P5X' is not ISO 8601 text (e.g. PT30M)"),
        (
            "timeDuration",
            "P1D2H",
            "'P1D2H' is not an ISO 8601 duration (for example PT30M, P5D or P1DT12H)",
        ),
        ("timeDuration", "P20000Y", "P20000Y is 20,000 years, beyond the 10-year horizon"),
        ("timeDuration", "P4000D", "P4000D is 11 years, beyond the 10-year horizon"),
        (
            "timeDuration",
            "R3/PT1H",
            "'R3/PT1H' is a cycle: use timeCycle, or a duration such as PT30M",
        ),
        (
            "timeDate",
            "P5D",
            "'P5D' is a duration or a cycle, not a date: use timeDuration or timeCycle, or write "
            "a date such as 2026-03-02T09:00:00+08:00",
        ),
        (
            "timeDate",
            "2026-13-01T09:00:00",
            "'2026-13-01T09:00:00' is not an ISO 8601 date and time (for example "
            "2026-03-02T09:00:00+08:00)",
        ),
        (
            "timeDate",
            "20260302",
            "'20260302' gives 20260302, not ISO 8601 text (quote a date, or write it with its "
            "time, e.g. 2026-03-02T09:00:00+08:00)",
        ),
        (
            "timeCycle",
            "R/PT1H",
            "R/PT1H repeats without end: give the number of repetitions, for example R3/PT1H",
        ),
        (
            "timeCycle",
            "R5/PT10S",
            "R5/PT10S repeats every 10 seconds, faster than once a minute (each repetition is "
            "a task and a transaction)",
        ),
        (
            "timeCycle",
            "R100000/PT1H",
            "R100000/PT1H repeats for 11 years, beyond the 10-year horizon",
        ),
        ("timeCycle", "PT1H", "'PT1H' is not a cycle: a cycle starts with R<count>/, e.g. R3/PT1H"),
        (
            "timeDate",
            '${due("P1Y")}',
            "due(): 'P1Y': years and months are not accepted in a service standard",
        ),
        (
            "timeDate",
            '${due("P3000D", "working")}',
            "due(): P3000D is 3,000 working days, beyond the 10-year horizon (2,500 working days)",
        ),
        (
            "timeDate",
            '${due("P5D", "weekly")}',
            "due(): basis 'weekly' is neither 'working' nor 'calendar'",
        ),
        ("timeDuration", '${due("P5D")}', "due() gives a date and time; use it in timeDate"),
    ],
)
def test_a_timer_the_engine_cannot_run_is_refused_on_its_event(
    roles: RoleBook, kind: str, text: str, message: str
) -> None:
    sample = with_timer(kind, text)
    problem = only(lint(sample, roles))
    assert (problem.element_id, problem.line) == ("Timer_1", line_of(sample, 'id="Timer_1"'))
    assert problem.message.startswith(f"timer {kind}: {message}"), problem.message


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("timeDuration", "PT30M"),
        ("timeDuration", "P10Y"),
        ("timeDuration", '"P5D"'),
        ("timeDate", "2026-03-02T09:00:00+08:00"),
        ("timeDate", '${due("P5D", "working")}'),
        ("timeDate", "${standard_due()}"),
        ("timeCycle", "R3/PT1H"),
        ("timeCycle", "R2/2026-03-02T09:00:00+08:00/P1D"),
    ],
)
def test_timers_the_engine_runs_pass(roles: RoleBook, kind: str, text: str) -> None:
    assert lint(with_timer(kind, text), roles) == []


def test_a_catch_event_timer_is_checked_as_a_boundary_timer_is(roles: RoleBook) -> None:
    sample = with_timer("timeCycle", "R/PT1M", boundary=False).replace(
        '<bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_survey" targetRef="End_done" />',
        '<bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_survey" targetRef="Timer_1" />',
    )
    problem = only([p for p in lint(sample, roles) if p.element_id == "Timer_1"])
    assert "repeats without end" in problem.message


@pytest.mark.parametrize(
    ("target", "basis", "message"),
    [
        (
            "P3000D",
            "working",
            "service standard standard_target: P3000D is 3,000 working days, beyond the "
            "10-year horizon (2,500 working days)",
        ),
        (
            "P4000D",
            "calendar",
            "service standard standard_target: P4000D is 11 years, beyond the 10-year horizon",
        ),
        (
            "PT30000H",
            "working",
            "service standard standard_target: PT30000H is 3,750 working days, beyond the "
            "10-year horizon (2,500 working days)",
        ),
    ],
)
def test_a_standard_of_centuries_is_refused(
    roles: RoleBook, target: str, basis: str, message: str
) -> None:
    standard = STANDARD.format(target=target).replace('value="working"', f'value="{basis}"')
    problem = only(lint(two_lane(accept_standard=standard), roles))
    assert (problem.element_id, problem.message) == ("Activity_accept", message)
    assert lint(two_lane(accept_standard=STANDARD.format(target="P2000D")), roles) == []


# --- gateways -----------------------------------------------------------------------------------


def gateway(kind: str, attributes: str, flows: str) -> str:
    return process(
        user_task("Check", field("ok", "boolean"))
        + f"""
    <bpmn:startEvent id="Start_1" />
    <bpmn:{kind} id="Gate" name="Ok?"{attributes} />
    <bpmn:endEvent id="End_a" /><bpmn:endEvent id="End_b" />"""
        + chain("Start_1", "Check", "Gate")
        + flows
    )


def test_a_gateway_with_no_outgoing_flow(roles: RoleBook) -> None:
    text = gateway("exclusiveGateway", "", "")
    problems = lint(text, roles)
    assert [(p.element_id, p.line, p.message) for p in problems if p.element_id == "Gate"] == [
        (
            "Gate",
            line_of(text, 'id="Gate"'),
            "exclusiveGateway 'Ok?' has no outgoing flow: a token that reaches it stops",
        )
    ]


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_a_choosing_gateway_with_a_bare_flow_and_no_default(roles: RoleBook, kind: str) -> None:
    text = gateway(
        kind, "", flow("Flow_a", "Gate", "End_a", "${ok}") + flow("Flow_b", "Gate", "End_b")
    )
    problem = only(lint(text, roles))
    assert (problem.element_id, problem.message) == (
        "Gate",
        f"{kind} 'Ok?': outgoing flow(s) 'Flow_b' have no condition and are not its default "
        "flow; give each a condition, or make one the default",
    )
    fixed = text.replace('name="Ok?"', 'name="Ok?" default="Flow_b"')
    assert lint(fixed, roles) == []


def test_a_default_flow_with_a_condition(roles: RoleBook) -> None:
    text = gateway(
        "exclusiveGateway",
        ' default="Flow_b"',
        flow("Flow_a", "Gate", "End_a", "${ok}") + flow("Flow_b", "Gate", "End_b", "${!ok}"),
    )
    problem = only(lint(text, roles))
    assert (problem.element_id, problem.line) == ("Flow_b", line_of(text, 'id="Flow_b"'))
    assert problem.message.startswith("the default flow of 'Ok?' has a condition, which is never")


def test_a_condition_on_a_flow_leaving_a_parallel_gateway(roles: RoleBook) -> None:
    text = gateway(
        "parallelGateway",
        "",
        flow("Flow_a", "Gate", "End_a", "${ok}") + flow("Flow_b", "Gate", "End_b"),
    )
    problem = only(lint(text, roles))
    assert (problem.element_id, problem.message) == (
        "Flow_a",
        "a flow leaving parallel gateway 'Ok?' has a condition, which is never read (every "
        "outgoing flow is taken): use an inclusive or exclusive gateway",
    )


def test_a_default_that_is_not_an_outgoing_flow(roles: RoleBook) -> None:
    text = gateway(
        "exclusiveGateway",
        ' default="Flow_1"',
        flow("Flow_a", "Gate", "End_a", "${ok}") + flow("Flow_b", "Gate", "End_b", "${!ok}"),
    )
    problem = only(lint(text, roles))
    assert (problem.element_id, problem.message) == (
        "Gate",
        "default flow 'Flow_1' is not an outgoing flow of 'Ok?'",
    )
