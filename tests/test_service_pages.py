"""Staff pages of the customer channel: a site visit booked on the link's page and recorded as
missed, a package offer answered on the demand's page beside the predicted dates, and the
auditors' satisfaction page."""

from __future__ import annotations

from typing import Any

from conftest import complete, item_for, login

from gridflow import appointments, pool, ratings
from gridflow.demands import DemandInput, create_demand
from gridflow.roles import Actor
from gridflow.runtime import Runtime


def test_staff_book_a_survey_on_the_link_page_and_record_it_missed(
    rt: Runtime, client: Any, clock: Any
) -> None:
    pool.save_profile(
        rt, "planner1", department="planning_design", area="urban", max_load=3, skills="design:2"
    )
    for weekday in range(5):
        pool.add_shift(rt, "planner1", weekday, "09:00", "17:30", offset_minutes=480)
    accepted = create_demand(
        rt, DemandInput("Li household", "residential", "app", "ev_charger", capacity_kw=11.0)
    )
    instance_id = accepted.instances[0].instance_id
    complete(rt, instance_id, "Activity_accept")
    survey = item_for(rt, instance_id, "Activity_survey")
    login(client, "planner1")
    page = client.get(f"/work-items/{survey.id}")
    assert page.status_code == 200
    assert "Site survey visit" in page.text and "2026-03-02 11:00" in page.text
    slot = appointments.free_slots(rt, survey.id, days=1)[0].starts_at
    booked = client.post(
        f"/work-items/{survey.id}/appointment", data={"starts_at": slot.isoformat()}
    )
    assert booked.status_code == 302
    visit = appointments.for_work_item(rt, survey.id)
    assert visit is not None and (visit.username, visit.state) == ("planner1", "booked")
    refused = client.post(f"/work-items/{survey.id}/appointment", data={"starts_at": "soon"})
    assert refused.status_code == 302 and appointments.for_work_item(rt, survey.id) == visit
    clock.set(visit.starts_at)
    login(client, "planner1")  # a new working day: the session idled out
    assert "Customer not at home" in client.get(f"/work-items/{survey.id}").text
    client.post(f"/appointments/{visit.id}/missed", data={"missed_by": "customer"})
    recorded = appointments.for_work_item(rt, survey.id)
    assert recorded is not None and (recorded.state, recorded.missed_by) == ("missed", "customer")
    # Someone who neither came nor holds the link records nothing.
    client.post("/logout")
    login(client, "planner2")
    assert client.post(f"/appointments/{visit.id}/kept").status_code == 403


def test_the_desk_answers_a_package_offer_beside_the_predicted_dates(
    rt: Runtime, client: Any
) -> None:
    accepted = create_demand(
        rt, DemandInput("Sun household", "residential", "counter", "connection", capacity_kw=12.0)
    )
    login(client, "desk1")
    page = client.get(f"/demands/{accepted.demand_id}")
    assert page.status_code == 200
    assert "Likely by" in page.text and "EV charger with metering" in page.text
    assert "No history yet: the standard is shown." in page.text
    offer_id = page.text.split('action="/offers/')[1].split("/")[0]
    assert client.post(f"/offers/{offer_id}/answer", data={"answer": "maybe"}).status_code == 422
    answered = client.post(f"/offers/{offer_id}/answer", data={"answer": "accept"})
    assert answered.status_code == 302
    page = client.get(f"/demands/{accepted.demand_id}")
    assert "accepted" in page.text and "Accept request" in page.text


def test_auditors_read_satisfaction_and_comments_and_others_are_refused(
    rt: Runtime, client: Any
) -> None:
    accepted = create_demand(
        rt, DemandInput("Wu", "residential", "monitoring", "repair", feeder="F001")
    )
    # An active repair raised by monitoring: finish it link by link.
    instance_id = accepted.instances[0].instance_id
    for element in ("Activity_locate", "Activity_dispatch", "Activity_arrive", "Activity_restore"):
        complete(rt, instance_id, element)
    for element in ("Activity_notify",):
        complete(rt, instance_id, element)
    ratings.rate(rt, accepted.demand_id, 2, "Power back late", {}, Actor("customer", frozenset()))
    login(client, "auditor1")
    page = client.get("/audit/satisfaction")
    assert page.status_code == 200
    assert 'data-key="active_repair"' in page.text and "Power back late" in page.text
    client.post("/logout")
    login(client, "manager1")
    assert client.get("/audit/satisfaction").status_code == 403
