"""Rating the service: a rating at the end of a demand appears in the audit's satisfaction by
process, department, link and month; a low rating raises one return visit for the account
manager through a linkage rule; supervisors read the comments of their departments."""

from __future__ import annotations

import pytest
from bpmn_samples import two_lane
from conftest import complete, item_for
from sqlalchemy import select

from gridflow import definitions, ratings
from gridflow.catalog import deploy
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.errors import ConflictError
from gridflow.models import Definition, Instance, LinkageEvent, WorkItem
from gridflow.ratings import RatingError, SatisfactionRow
from gridflow.roles import Actor
from gridflow.runtime import Runtime

CUSTOMER = Actor("customer:13800000000", frozenset())
AUDITOR = Actor("auditor1", frozenset({"auditor"}))


def _deploy(rt: Runtime) -> None:
    # The survey is a site visit the customer can say was on time or not.
    text = two_lane().replace(
        '<camunda:property name="standard_target" value="P3D" />',
        '<camunda:property name="site_visit" value="survey" />'
        '<camunda:property name="standard_target" value="P3D" />',
    )
    deploy(rt, [definitions.parse(text.encode(), "two_lane.bpmn", rt.roles)], "test")


def _finished_demand(rt: Runtime, name: str) -> tuple[int, int]:
    accepted = create_demand(
        rt, DemandInput(name, "residential", "app", "connection"), processes=["two_lane"]
    )
    instance_id = accepted.instances[0].instance_id
    complete(rt, instance_id, "Activity_accept", {"approved": True})
    survey = item_for(rt, instance_id, "Activity_survey").id
    complete(rt, instance_id, "Activity_survey", {"approved": True})
    return accepted.demand_id, survey


def test_a_rating_appears_in_the_audit_by_process_department_link_and_month(
    rt: Runtime, clock: SimulatedClock
) -> None:
    _deploy(rt)
    running = create_demand(
        rt, DemandInput("Zhou", "residential", "app", "connection"), processes=["two_lane"]
    )
    with pytest.raises(RatingError, match="once it is finished"):
        ratings.rate(rt, running.demand_id, 5, "", {}, CUSTOMER)
    demand_id, survey = _finished_demand(rt, "Wang")
    with pytest.raises(RatingError, match="1 to 5"):
        ratings.rate(rt, demand_id, 6, "", {}, CUSTOMER)
    with pytest.raises(RatingError, match="not a site visit"):
        ratings.rate(rt, demand_id, 4, "", {survey - 1: True}, CUSTOMER)
    rated = ratings.rate(rt, demand_id, 4, "Quick survey, polite staff", {survey: True}, CUSTOMER)
    assert (rated.stars, rated.visits_on_time) == (4, {survey: True})
    other_id, other_survey = _finished_demand(rt, "Li")
    ratings.rate(rt, other_id, 5, "", {other_survey: False}, CUSTOMER)

    def figures(by: str) -> list[tuple[object, ...]]:
        return [
            (r.key, r.ratings, r.mean_stars, r.low, r.visits, r.on_time)
            for r in ratings.satisfaction(rt, by)
        ]

    assert figures("process") == [("two_lane", 2, 4.5, 0, 2, 1)]
    assert figures("department") == [
        ("customer_service", 2, 4.5, 0, 0, 0),
        ("planning_design", 2, 4.5, 0, 2, 1),
    ]
    assert figures("link") == [
        ("two_lane:Activity_accept", 2, 4.5, 0, 0, 0),
        ("two_lane:Activity_survey", 2, 4.5, 0, 2, 1),
    ]
    assert figures("month") == [("2026-03", 2, 4.5, 0, 2, 1)]
    assert ratings.satisfaction(rt, "link")[1].label == "Site survey"
    assert isinstance(ratings.satisfaction(rt, "month")[0], SatisfactionRow)
    # Rated once.
    with pytest.raises(ConflictError):
        ratings.rate(rt, demand_id, 1, "", {}, CUSTOMER)
    assert ratings.rating_of(rt, demand_id) == rated


def test_a_one_star_rating_raises_the_return_visit_for_the_account_manager_once(
    rt: Runtime, clock: SimulatedClock
) -> None:
    _deploy(rt)
    demand_id, _ = _finished_demand(rt, "Zhang")
    ratings.rate(rt, demand_id, 1, "Three trips for one meter", {}, CUSTOMER)

    def return_visits() -> list[tuple[str, str, str]]:
        with rt.db.read() as session:
            return [
                (row.element_id, row.role, row.state)
                for row in session.scalars(
                    select(WorkItem)
                    .join(Instance, Instance.id == WorkItem.instance_id)
                    .join(Definition, Definition.id == Instance.definition_id)
                    .where(Instance.demand_id == demand_id, Definition.process_id == "return_visit")
                )
            ]

    assert return_visits() == [("Activity_return_visit", "account_manager", "ready")]
    # Rating again is refused and raises nothing more; the event under the demand's key acted
    # once.
    with pytest.raises(ConflictError):
        ratings.rate(rt, demand_id, 1, "again", {}, CUSTOMER)
    assert return_visits() == [("Activity_return_visit", "account_manager", "ready")]
    with rt.db.read() as session:
        events = session.scalars(select(LinkageEvent.type)).all()
    assert events == ["service_rated"]
    # The return visit's rating-time figures leave it out: the rated process is two_lane.
    assert [r.key for r in ratings.satisfaction(rt, "process")] == ["two_lane"]
    assert ratings.satisfaction(rt, "process")[0].low == 1
    # A good rating raises nothing.
    good_id, _ = _finished_demand(rt, "Chen")
    ratings.rate(rt, good_id, 5, "", {}, CUSTOMER)
    with rt.db.read() as session:
        started = session.scalar(
            select(Instance.id)
            .join(Definition, Definition.id == Instance.definition_id)
            .where(Instance.demand_id == good_id, Definition.process_id == "return_visit")
        )
    assert started is None


def test_supervisors_read_the_comments_of_their_departments(
    rt: Runtime, clock: SimulatedClock
) -> None:
    _deploy(rt)
    demand_id, _ = _finished_demand(rt, "Wu")
    ratings.rate(rt, demand_id, 2, "The surveyor was late", {}, CUSTOMER)
    assert [c.comment for c in ratings.comments(rt, AUDITOR)] == ["The surveyor was late"]
    planning = Actor("supervisor1", frozenset({"supervisor", "planning_design"}))
    assert [c.stars for c in ratings.comments(rt, planning)] == [2]
    metering = Actor("supervisor2", frozenset({"supervisor", "metering"}))
    assert ratings.comments(rt, metering) == []
    with pytest.raises(PermissionError):
        ratings.comments(rt, Actor("manager1", frozenset({"account_manager"})))


def test_a_supervisor_sees_the_satisfaction_of_their_departments_only(
    rt: Runtime, clock: SimulatedClock
) -> None:
    from gridflow.audit import AuditFilter

    _deploy(rt)
    demand_id, _ = _finished_demand(rt, "Zhao")
    ratings.rate(rt, demand_id, 3, "", {}, CUSTOMER)
    planning = AuditFilter(departments=frozenset({"planning_design"}))
    assert [r.key for r in ratings.satisfaction(rt, "department", planning)] == ["planning_design"]
    assert [r.key for r in ratings.satisfaction(rt, "link", planning)] == [
        "two_lane:Activity_survey"
    ]
    assert [r.ratings for r in ratings.satisfaction(rt, "process", planning)] == [1]
    metering = AuditFilter(departments=frozenset({"metering"}))
    assert ratings.satisfaction(rt, "month", metering) == []
