"""Who may do what with a link, an event and a customer's personal data: hand-over and
helpers only to people who may do the link (never an auditor), a supervisor's override
recorded, comments only from those who see the link, events only from integration accounts
(their granted types) and supervisors, and names, phones and addresses shown by need."""

from __future__ import annotations

from typing import Any

from conftest import STAFF_PASSWORD, complete, item_for, login, serve_system_steps, token
from sqlalchemy import select, update

from gridflow import pool, users
from gridflow.models import Comment, TaskEvent, WorkItem
from gridflow.runtime import Runtime

HV = {
    "customer_name": "Hongda Steel",
    "customer_category": "business",
    "channel": "counter",
    "category": "connection",
    "address": "88 Jianshe Road",
    "phone": "0571-8888 0000",
    "voltage": "high",
    "capacity_kw": 800,
    "supply": "dual",
    "area": "urban",
}
ALARM = {"type": "outage_alarm", "key": "scada-1", "payload": {"feeder": "F007", "area": "urban"}}


def take_in(client: Any) -> tuple[int, int]:
    """A high-voltage connection taken in by desk1: (demand id, instance id)."""
    response = client.post("/api/demands", json=HV, headers=token(client, "desk1"))
    assert response.status_code == 201, response.text
    return response.json["id"], response.json["instances"][0]["instance_id"]


def survey_held_by_planner1(rt: Runtime, client: Any) -> WorkItem:
    """The demand's site survey (planning and design, needs design:2), claimed by planner1."""
    _demand, iid = take_in(client)
    complete(rt, iid, "Activity_accept")
    serve_system_steps(rt)  # the marketing system archives the customer first
    survey = item_for(rt, iid, "Activity_site_survey")
    planner = token(client, "planner1")
    claimed = client.post(f"/api/work-items/{survey.id}/claim", json={}, headers=planner)
    assert claimed.status_code == 200, claimed.text
    return item_for(rt, iid, "Activity_site_survey")


def events_of(rt: Runtime, item_id: int, lifecycle: str) -> list[tuple[str | None, Any]]:
    """Who did it and what they said; the request id every API event carries is left out
    (tests/test_operations.py checks it)."""
    with rt.db.read() as session:
        return [
            (row.actor, {k: v for k, v in (row.details or {}).items() if k != "request_id"})
            for row in session.execute(
                select(TaskEvent.actor, TaskEvent.details)
                .where(TaskEvent.work_item_id == item_id, TaskEvent.lifecycle == lifecycle)
                .order_by(TaskEvent.id)
            )
        ]


def test_a_link_is_not_handed_to_an_auditor_and_an_auditor_given_one_may_not_work_it(
    app: Any, rt: Runtime, client: Any
) -> None:
    survey = survey_held_by_planner1(rt, client)
    planner = token(client, "planner1")
    handed = client.post(
        f"/api/work-items/{survey.id}/hand-over",
        json={"to": "auditor1", "version": survey.lock_version},
        headers=planner,
    )
    assert handed.status_code == 403
    assert handed.json["error"]["message"] == (
        "auditor1 does not hold links: Site survey cannot go to them"
    )
    helper = client.post(
        f"/api/work-items/{survey.id}/helpers", json={"username": "auditor1"}, headers=planner
    )
    assert helper.status_code == 403
    # Not even a supervisor's override sends work to a read-only account.
    supervisor = token(client, "supervisor1")
    over = client.post(
        f"/api/work-items/{survey.id}/hand-over", json={"to": "auditor1"}, headers=supervisor
    )
    assert over.status_code == 403
    assert item_for(rt, survey.instance_id, "Activity_site_survey").assignee == "planner1"
    # The page refuses the same (and says why).
    browser = app.test_client()
    login(browser, "planner1")
    page = browser.post(
        f"/work-items/{survey.id}/hand-over",
        data={"username": "auditor1", "version": str(survey.lock_version)},
        follow_redirects=True,
    )
    assert "auditor1 does not hold links" in page.text
    # Were a link ever given to an auditor (before this rule), the auditor still cannot act.
    with rt.db.transaction() as connection:
        connection.execute(
            update(WorkItem).where(WorkItem.id == survey.id).values(assignee="auditor1")
        )
    auditor = token(client, "auditor1")
    survey = item_for(rt, survey.instance_id, "Activity_site_survey")
    for verb, body in (
        ("claim", {}),
        ("complete", {"version": survey.lock_version, "data": {}}),
    ):
        refused = client.post(f"/api/work-items/{survey.id}/{verb}", json=body, headers=auditor)
        assert refused.status_code == 403, (verb, refused.text)
    assert item_for(rt, survey.instance_id, "Activity_site_survey").state == "claimed"


def test_hand_over_goes_to_the_role_or_the_skills_and_a_supervisor_override_is_recorded(
    rt: Runtime, client: Any
) -> None:
    survey = survey_held_by_planner1(rt, client)
    planner = token(client, "planner1")
    unqualified = client.post(
        f"/api/work-items/{survey.id}/hand-over", json={"to": "meter1"}, headers=planner
    )
    assert unqualified.status_code == 403
    assert unqualified.json["error"]["message"] == (
        "meter1 neither works as planning_design nor has the skills Site survey needs"
    )
    # The skill pool says meter1 can survey (design at level 2): then it may go to them.
    pool.save_profile(
        rt, "meter1", department="metering", area="urban", max_load=5, skills="design:2"
    )
    helper = client.post(
        f"/api/work-items/{survey.id}/helpers", json={"username": "meter1"}, headers=planner
    )
    assert helper.status_code == 200, helper.text
    handed = client.post(
        f"/api/work-items/{survey.id}/hand-over", json={"to": "planner2"}, headers=planner
    )
    assert handed.status_code == 200 and handed.json["assignee"] == "planner2"
    # A supervisor steps in: passes a link not theirs, to someone outside its role.
    supervisor = token(client, "supervisor1")
    over = client.post(
        f"/api/work-items/{survey.id}/hand-over", json={"to": "desk1"}, headers=supervisor
    )
    assert over.status_code == 200, over.text
    assert events_of(rt, survey.id, "handed_over") == [
        ("planner1", {"to": "planner2", "from": "planner1"}),
        ("supervisor1", {"to": "desk1", "from": "planner2", "override": "supervisor"}),
    ]
    assert events_of(rt, survey.id, "help_requested") == [("planner1", {"helper": "meter1"})]


def test_comments_come_only_from_those_who_may_view_the_link(
    app: Any, rt: Runtime, client: Any
) -> None:
    _demand, iid = take_in(client)
    accept = item_for(rt, iid, "Activity_accept")  # an account manager's link
    for username, status in (
        ("meter1", 403),
        ("auditor1", 403),
        ("manager1", 302),
        ("supervisor1", 302),
    ):
        browser = app.test_client()
        login(browser, username)
        said = browser.post(
            f"/work-items/{accept.id}/comment", data={"body": f"note from {username}"}
        )
        assert said.status_code == status, (username, said.status_code)
    with rt.db.read() as session:
        assert session.scalars(select(Comment.author).order_by(Comment.id)).all() == [
            "manager1",
            "supervisor1",
        ]
    meter = app.test_client()
    login(meter, "meter1")
    assert meter.get(f"/work-items/{accept.id}").status_code == 403
    assert meter.post(f"/work-items/{accept.id}/consult", data={}).status_code == 403


def test_events_come_from_integration_accounts_for_their_types_and_from_supervisors(
    rt: Runtime, client: Any
) -> None:
    desk = client.post("/api/events", json=ALARM, headers=token(client, "desk1"))
    assert desk.status_code == 403
    assert desk.json["error"]["code"] == "forbidden"
    auditor = client.post("/api/events", json=ALARM, headers=token(client, "auditor1"))
    assert auditor.status_code == 403
    users.create_user(rt, "ami", STAFF_PASSWORD, ["integration"], grants=["event:meter_connected"])
    metering_system = client.post("/api/events", json=ALARM, headers=token(client, "ami"))
    assert metering_system.status_code == 403
    assert metering_system.json["error"]["message"] == (
        "this account may not post events of type 'outage_alarm'"
    )
    scada = client.post("/api/events", json=ALARM, headers=token(client, "integration1"))
    assert scada.status_code == 201, scada.text
    supervisor = client.post(
        "/api/events", json={**ALARM, "key": "by-hand-1"}, headers=token(client, "supervisor1")
    )
    assert supervisor.status_code == 201, supervisor.text
    # Integration accounts use the API only: no pages.
    browser = client.application.test_client()
    login(browser, "integration1")
    assert browser.get("/queue").status_code == 403


def test_personal_data_is_shown_by_need(app: Any, rt: Runtime, client: Any) -> None:
    demand_id, iid = take_in(client)
    users.create_user(rt, "desk_rural", STAFF_PASSWORD, ["service_desk"])
    users.create_user(rt, "desk_urban", STAFF_PASSWORD, ["service_desk"])
    for name, area in (("desk_rural", "rural"), ("desk_urban", "urban")):
        pool.save_profile(rt, name, department="customer_service", area=area, max_load=5, skills="")

    def shown(username: str) -> tuple[Any, Any, Any]:
        body = client.get(f"/api/demands/{demand_id}", headers=token(client, username)).json
        return body["customer_name"], body["phone"], body["address"]

    full = ("Hongda Steel", "0571-8888 0000", "88 Jianshe Road")
    for who in ("desk1", "manager1", "supervisor1", "auditor1", "desk_urban"):
        assert shown(who) == full, who  # took it in; holds its link; oversee; its area
    for who in ("planner1", "meter1", "desk_rural"):
        assert shown(who) == (None, None, None), who
    withheld = client.get(f"/api/demands/{demand_id}", headers=token(client, "planner1")).json
    assert withheld["personal_data"] == "withheld"
    assert "address" not in withheld["details"]
    assert withheld["instances"][0]["links"][0]["link_name"] == "Accept application"
    # The demand's page and the list: no name, phone or address; a name search finds nothing.
    planner = app.test_client()
    login(planner, "planner1")
    page = planner.get(f"/demands/{demand_id}").text
    assert 'id="personal-withheld"' in page
    assert "Hongda" not in page and "8888" not in page and "Jianshe" not in page
    listed = planner.get("/demands").text
    assert "H**" in listed and "Hongda" not in listed
    assert "D-2026-" not in planner.get("/demands?q=Hongda").text
    assert "H**" in planner.get("/demands?q=D-2026").text
    desk = app.test_client()
    login(desk, "desk1")
    assert "Hongda Steel" in desk.get("/demands?q=Hongda").text
    # Once planning holds one of its links, planners see it.
    complete(rt, iid, "Activity_accept")
    serve_system_steps(rt)
    assert shown("planner1") == full


def test_every_helper_of_a_link_sees_it_and_no_one_else_outside_its_role(
    app: Any, rt: Runtime, client: Any
) -> None:
    survey = survey_held_by_planner1(rt, client)
    users.create_user(rt, "meter2", STAFF_PASSWORD, ["metering"])
    planner = token(client, "planner1")
    for name in ("meter1", "meter2"):
        pool.save_profile(
            rt, name, department="metering", area="urban", max_load=5, skills="design:2"
        )
        added = client.post(
            f"/api/work-items/{survey.id}/helpers", json={"username": name}, headers=planner
        )
        assert added.status_code == 200, added.text
    for username, status in (("meter1", 200), ("meter2", 200), ("desk1", 403)):
        browser = app.test_client()
        login(browser, username)
        page = browser.get(f"/work-items/{survey.id}")
        assert page.status_code == status, (username, page.status_code)
    missing = app.test_client()
    login(missing, "meter1")
    assert missing.get(f"/work-items/{survey.id + 1000}").status_code == 404
