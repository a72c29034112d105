"""Predicted completion dates: "likely by" (p50) and "at the latest" (p90) from the history of
finished demands, laid on the working calendar (weekends and Chinese public holidays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bpmn_samples import chain, field, flow, process, two_lane, user_task
from conftest import complete, item_for

from gridflow import definitions, predictions
from gridflow.catalog import deploy
from gridflow.clock import SimulatedClock
from gridflow.definitions.ahead import certain_after
from gridflow.demands import DemandInput, create_demand
from gridflow.runtime import Runtime, load_roles


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC) - timedelta(hours=8)  # type: ignore[misc]


def _demand(rt: Runtime) -> tuple[int, int]:
    accepted = create_demand(
        rt,
        DemandInput("Wang household", "residential", "counter", "connection", area="urban"),
        processes=["two_lane"],
    )
    return accepted.demand_id, accepted.instances[0].instance_id


def _history(rt: Runtime, clock: SimulatedClock, hours: list[int]) -> None:
    """Finished demands, one a week from Monday 3 August 2026 (no holidays then): applied for
    at 09:00 and accepted at once, the survey done `h` working hours later (within the week:
    35 working hours)."""
    for n, h in enumerate(hours):
        monday = beijing(2026, 8, 3, 9, 0) + timedelta(weeks=n)
        clock.set(monday)
        _, instance_id = _demand(rt)
        complete(rt, instance_id, "Activity_accept", {"approved": True})
        clock.set(rt.calendar.add(monday, timedelta(hours=h), "working"))
        complete(rt, instance_id, "Activity_survey", {"approved": True})


def test_prediction_is_the_hand_computed_p50_and_p90_across_a_weekend_and_a_holiday(
    rt: Runtime, clock: SimulatedClock
) -> None:
    deploy(rt, [definitions.parse(two_lane().encode(), "two_lane.bpmn", rt.roles)], "test")
    # Remaining working time from the application (Accept ready) to the end: 3, 7, 14, 21, 30
    # working hours. p50 = 14 h; p90 = 21 + 0.6 × (30 − 21) = 26.4 h = 26 h 24 min.
    _history(rt, clock, [3, 7, 14, 21, 30])
    assert predictions.refresh(rt) == 5
    assert predictions.refresh(rt) == 0

    # A new application on Thursday 24 September 2026, 10:00 Beijing. Friday 25 is the
    # Mid-Autumn holiday, then the weekend: Thursday gives 6 h (10-12, 13:30-17:30), Monday 28
    # 7 h, Tuesday 29 the rest.
    clock.set(beijing(2026, 9, 24, 10, 0))
    demand_id, instance_id = _demand(rt)
    prediction = predictions.predict_demand(rt, demand_id)
    assert prediction.estimate is not None
    # p50 14 h: 6 on Thursday, 7 on Monday, 1 on Tuesday: Tuesday 29 September 10:00.
    assert prediction.estimate.likely_by == beijing(2026, 9, 29, 10, 0)
    # p90 26 h 24 min: 6 + 7 + 7 (Tuesday) = 20, then 6 h 24 min on Wednesday 30 September:
    # 09:00-12:00 (3 h), 13:30 + 3 h 24 min = 16:54.
    assert prediction.estimate.at_the_latest == beijing(2026, 9, 30, 16, 54)
    assert prediction.estimate.basis == "version_category_area"
    assert prediction.estimate.samples == 5
    # The standard's promise beside it: the open link's own due time.
    (link,) = prediction.links
    assert link.element_id == "Activity_accept"
    assert link.estimate.promised == item_for(rt, instance_id, "Activity_accept").due_at


def test_prediction_moves_on_as_links_complete_and_time_passes(
    rt: Runtime, clock: SimulatedClock
) -> None:
    deploy(rt, [definitions.parse(two_lane().encode(), "two_lane.bpmn", rt.roles)], "test")
    _history(rt, clock, [3, 7, 14, 21, 30])
    clock.set(beijing(2026, 9, 24, 10, 0))
    demand_id, instance_id = _demand(rt)
    # Two working hours later (12:00), every history was still running 2 h after its
    # application: the dates stand.
    clock.set(beijing(2026, 9, 24, 12, 0))
    first = predictions.predict_demand(rt, demand_id).estimate
    assert first is not None and first.likely_by == beijing(2026, 9, 29, 10, 0)
    # Four working hours in (15:30) the 3-hour history no longer fits: four are left in every
    # group, fewer than MIN_SAMPLES, and the process has no overall standard: the date is now.
    clock.set(beijing(2026, 9, 24, 15, 30))
    later = predictions.predict_demand(rt, demand_id).estimate
    assert later is not None
    assert (later.basis, later.samples, later.likely_by) == ("standard", 0, clock.now())
    # Accepting makes the survey, ready now, the anchor: its histories ran 3 to 30 h after it
    # became ready (p50 14 h): 2 h on Thursday, 7 on Monday 28, 5 on Tuesday: 15:30.
    complete(rt, instance_id, "Activity_accept", {"approved": True})
    moved = predictions.predict_demand(rt, demand_id)
    assert [link.element_id for link in moved.links] == ["Activity_survey"]
    assert moved.estimate is not None
    assert moved.estimate.likely_by == beijing(2026, 9, 29, 15, 30)
    assert moved.links[0].estimate.likely_by == beijing(2026, 9, 29, 15, 30)
    # Once the demand ends there is nothing left to predict.
    clock.set(beijing(2026, 9, 25, 10, 0))
    complete(rt, instance_id, "Activity_survey", {"approved": True})
    done = predictions.predict_demand(rt, demand_id)
    assert (done.estimate, done.links, done.ended_at) == (None, [], beijing(2026, 9, 25, 10, 0))


def test_demands_still_running_count_as_at_least_that_long() -> None:
    # Finished after 2, 4, 6 days; still running after 3 and 5. Kaplan-Meier: survival 0.8
    # after 2, 0.8 × 2/3 ≈ 0.53 after 4, 0 after 6.
    assert predictions.quantiles([2, 4, 6], [3, 5], (0.2, 0.5, 0.9)) == [2, 6, 6]
    # Without running ones: linear interpolation, as the audit's percentiles.
    assert predictions.quantiles([2, 4, 6], [], (0.5, 0.9)) == [4, 5.6]
    # Most still running: no median can be told.
    assert predictions.quantiles([1], [5, 5, 5, 5], (0.5,)) == [None]


def _three_links() -> str:
    """Accept → survey → connect, one working day's standard each."""
    body = (
        '\n    <bpmn:startEvent id="StartEvent_1" />'
        + user_task("Activity_accept")
        + user_task("Activity_survey")
        + user_task("Activity_connect")
        + '\n    <bpmn:endEvent id="End_done" />'
        + chain(
            "StartEvent_1", "Activity_accept", "Activity_survey", "Activity_connect", "End_done"
        )
    )
    return process(body, process_id="three_links")


def test_without_finished_history_at_the_latest_is_no_earlier_than_the_standards_ahead(
    rt: Runtime, clock: SimulatedClock
) -> None:
    deploy(rt, [definitions.parse(_three_links().encode(), "three.bpmn", rt.roles)], "test")
    # Five demands applied for from Tuesday 22 September 2026: each had its application
    # accepted (after 30, 25, 20, 15 and 10 minutes) and its site surveyed 40 minutes after
    # applying, but none is connected yet: no demand of the process has ever finished, only
    # its links have.
    history = [
        beijing(2026, 9, 22, 9, 0),
        beijing(2026, 9, 22, 13, 30),
        beijing(2026, 9, 23, 9, 0),
        beijing(2026, 9, 23, 13, 30),
        beijing(2026, 9, 24, 9, 0),
    ]
    for applied, accepting in zip(history, [30, 25, 20, 15, 10], strict=True):
        clock.set(applied)
        accepted = create_demand(
            rt,
            DemandInput("Li household", "residential", "counter", "connection", area="urban"),
            processes=["three_links"],
        )
        instance_id = accepted.instances[0].instance_id
        clock.set(applied + timedelta(minutes=accepting))
        complete(rt, instance_id, "Activity_accept")
        clock.set(applied + timedelta(minutes=40))
        complete(rt, instance_id, "Activity_survey")
    assert predictions.refresh(rt) == 0

    # A new application on Thursday 24 September 2026, 10:00 Beijing (Friday 25 to Sunday 27:
    # the Mid-Autumn holiday).
    clock.set(beijing(2026, 9, 24, 10, 0))
    accepted = create_demand(
        rt,
        DemandInput("Wang household", "residential", "counter", "connection", area="urban"),
        processes=["three_links"],
    )
    prediction = predictions.predict_demand(rt, accepted.demand_id)
    estimate = prediction.estimate
    assert estimate is not None
    # The five still running have run 15, 12, 8, 5 and 1 working hours since their
    # application: likely by their median, 8 h: 6 h on Thursday, 2 on Monday 28: 11:00.
    assert (estimate.basis, estimate.samples) == ("running", 5)
    assert estimate.likely_by == beijing(2026, 9, 28, 11, 0)
    # The longest-running (15 h) would say Tuesday 29, 11:00; the standards of what is left
    # say later: accept (1 working day, 7 h), then survey and connect (7 h each), 21 h:
    # 6 on Thursday, 7 on Monday, 7 on Tuesday, 1 on Wednesday 30 September: 10:00.
    assert estimate.at_the_latest == beijing(2026, 9, 30, 10, 0)
    # The open link's own date: from the five acceptances (10 to 30 minutes), though no demand
    # they belong to has finished: p50 20 min, p90 25 + 0.6 × 5 = 28 min.
    (link,) = prediction.links
    assert (link.element_id, link.estimate.basis, link.estimate.samples) == (
        "Activity_accept",
        "link",
        5,
    )
    assert link.estimate.likely_by == beijing(2026, 9, 24, 10, 20)
    assert link.estimate.at_the_latest == beijing(2026, 9, 24, 10, 28)

    # Accepted at once, the survey is the anchor. The five surveys became ready 14 h 30,
    # 11 h 35, 7 h 40, 4 h 45 and 50 min ago. Likely by 7 h 40 min: 6 h on Thursday, 1 h 40
    # on Monday 28: 10:40. The standards ahead (survey and connection, 14 h) say Tuesday 29,
    # 10:00, but the longest-running one is later: 14 h 30 min, Tuesday 29, 10:30.
    complete(rt, accepted.instances[0].instance_id, "Activity_accept")
    moved = predictions.predict_demand(rt, accepted.demand_id)
    assert moved.estimate is not None
    assert moved.estimate.likely_by == beijing(2026, 9, 28, 10, 40)
    assert moved.estimate.at_the_latest == beijing(2026, 9, 29, 10, 30)
    # The surveys took 30, 25, 20, 15 and 10 minutes: the open survey likely by 10:20, at the
    # latest by 10:28.
    (survey,) = moved.links
    assert (survey.estimate.likely_by, survey.estimate.at_the_latest) == (
        beijing(2026, 9, 24, 10, 20),
        beijing(2026, 9, 24, 10, 28),
    )
    # Surveyed at once, the connection is open, and no connection was ever made: its own
    # dates are its due time, one working day: Monday 28, 10:00.
    complete(rt, accepted.instances[0].instance_id, "Activity_survey")
    (connect,) = predictions.predict_demand(rt, accepted.demand_id).links
    assert connect.estimate.basis == "standard"
    assert connect.estimate.likely_by == connect.estimate.at_the_latest
    assert connect.estimate.likely_by == beijing(2026, 9, 28, 10, 0)


def test_the_links_certain_to_come_leave_out_a_choice_and_take_every_parallel_branch() -> None:
    body = (
        '\n    <bpmn:startEvent id="StartEvent_1" />'
        + user_task("Activity_accept", field("approved", "boolean"))
        + '\n    <bpmn:exclusiveGateway id="Gateway_approved" default="Flow_rework" />'
        + user_task("Activity_rework")
        + user_task("Activity_survey")
        + '\n    <bpmn:parallelGateway id="Gateway_split" />'
        + user_task("Activity_design")
        + user_task("Activity_check")
        + '\n    <bpmn:parallelGateway id="Gateway_join" />'
        + user_task("Activity_connect")
        + '\n    <bpmn:endEvent id="End_done" />'
        + chain("StartEvent_1", "Activity_accept", "Gateway_approved")
        + flow("Flow_approved", "Gateway_approved", "Activity_survey", "${approved}")
        + flow("Flow_rework", "Gateway_approved", "Activity_rework")
        + flow("Flow_back", "Activity_rework", "Activity_accept")
        + chain("Activity_survey", "Gateway_split", "Activity_design", "Gateway_join")
        + chain("Gateway_split", "Activity_check", "Gateway_join", prefix="Flow_b")
        + chain("Gateway_join", "Activity_connect", "End_done", prefix="Flow_c")
    )
    definition = definitions.parse(process(body).encode(), "branches.bpmn", load_roles())
    after_accept = ("Activity_survey", "Activity_design", "Activity_check", "Activity_connect")
    assert certain_after(definition, "Activity_accept") == after_accept
    # Reworking leads back to accepting, and every way out of that loop goes on as above.
    assert certain_after(definition, "Activity_rework") == ("Activity_accept", *after_accept)
    assert certain_after(definition, "Activity_design") == ("Activity_connect",)
    assert certain_after(definition, None) == ("Activity_accept", *after_accept)
    assert certain_after(definition, "Activity_connect") == ()


def test_the_standards_ahead_run_through_a_called_process_and_back(
    rt: Runtime, clock: SimulatedClock
) -> None:
    child = process(
        '\n    <bpmn:startEvent id="StartEvent_1" />'
        + user_task("Activity_install")
        + '\n    <bpmn:endEvent id="End_done" />'
        + chain("StartEvent_1", "Activity_install", "End_done"),
        process_id="install_child",
    )
    parent = process(
        '\n    <bpmn:startEvent id="StartEvent_1" />'
        + user_task("Activity_accept")
        + '\n    <bpmn:callActivity id="Activity_call" name="Install" '
        'calledElement="install_child" />'
        + user_task("Activity_sign")
        + '\n    <bpmn:endEvent id="End_done" />'
        + chain("StartEvent_1", "Activity_accept", "Activity_call", "Activity_sign", "End_done"),
        process_id="call_parent",
    )
    deploy(
        rt,
        [
            definitions.parse(child.encode(), "child.bpmn", rt.roles),
            definitions.parse(parent.encode(), "parent.bpmn", rt.roles),
        ],
        "test",
    )
    clock.set(beijing(2026, 9, 24, 10, 0))
    accepted = create_demand(
        rt,
        DemandInput("Zhao household", "residential", "counter", "connection", area="urban"),
        processes=["call_parent"],
    )
    # Nothing has ever run: likely by now (no standard for the whole process); at the latest
    # by accept, install (in the called process) and sign, 7 working hours each: 21 h from
    # Thursday 24 September 10:00 across the Mid-Autumn holiday: Wednesday 30, 10:00.
    first = predictions.predict_demand(rt, accepted.demand_id).estimate
    assert first is not None
    assert (first.basis, first.likely_by) == ("standard", beijing(2026, 9, 24, 10, 0))
    assert first.at_the_latest == beijing(2026, 9, 30, 10, 0)
    # Accepted: the called process's install link is open; its standard, then the caller's
    # sign: 14 h, Tuesday 29, 10:00.
    complete(rt, accepted.instances[0].instance_id, "Activity_accept")
    later = predictions.predict_demand(rt, accepted.demand_id)
    assert [link.element_id for link in later.links] == ["Activity_install"]
    assert later.estimate is not None
    assert later.estimate.at_the_latest == beijing(2026, 9, 29, 10, 0)
