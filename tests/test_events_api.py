"""POST /api/events and GET /api/rules: an outage alarm becomes an active repair already
given to a qualified crew on shift with a vehicle, noted on the affected customers' timelines;
the same key twice acts once; bad events are refused naming the problem."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import complete, item_for, open_items, serve_system_steps, token
from sqlalchemy import func, select

from gridflow import demands, instances, linkage, pool, timers, users
from gridflow.clock import SimulatedClock
from gridflow.models import Definition, Instance, LinkageEvent, WorkItem
from gridflow.runtime import Runtime

ALARM = {
    "type": "outage_alarm",
    "key": "scada-7731",
    "payload": {"feeder": "F007", "area": "urban"},
}


def crew(rt: Runtime) -> None:
    """Two repair crews on shift now (Monday 00:00–08:00 UTC), one without the live-line skill,
    one off shift, and one vehicle."""
    for name, skills, shift in (
        ("crew1", "repair:2,live_line:1", ("00:00", "08:00")),
        ("crew2", "design:3", ("00:00", "08:00")),
        ("crew3", "repair:3", ("08:00", "16:00")),
    ):
        users.create_user(rt, name, "correct-horse-9", ["dispatch_repair"])
        pool.save_profile(
            rt, name, department="dispatch_repair", area="urban", max_load=2, skills=skills
        )
        pool.add_shift(rt, name, 0, *shift)
    pool.save_equipment(rt, "VAN-1", "vehicle", "urban")


def customer_on(rt: Runtime, name: str, feeder: str) -> str:
    accepted = demands.create_demand(
        rt,
        demands.DemandInput(
            name, "residential", "counter", "connection", feeder=feeder, area="urban"
        ),
    )
    return accepted.reference


def repairs(rt: Runtime) -> list[int]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(Instance.id)
                .join(Definition, Definition.id == Instance.definition_id)
                .where(Definition.process_id == "active_repair")
            )
        )


def test_an_outage_alarm_becomes_an_assigned_active_repair_noted_on_the_feeders_demands(
    rt: Runtime, client: Any
) -> None:
    crew(rt)
    affected = customer_on(rt, "Wang household", "F007")
    elsewhere = customer_on(rt, "Li household", "F008")
    headers = token(client, "integration1")

    first = client.post("/api/events", json=ALARM, headers=headers)
    assert first.status_code == 201, first.text
    [repair] = repairs(rt)
    [locate] = open_items(rt, repair)
    assert (locate.element_id, locate.state, locate.assignee) == (
        "Activity_locate",
        "ready",
        "crew1",
    )
    assert first.json["actions"] == [
        {
            "rule": "outage_starts_active_repair",
            "action": "start",
            "process": "active_repair",
            "instance_id": repair,
        },
        {"rule": "outage_starts_active_repair", "action": "note_demands", "demands": [affected]},
    ]
    [given] = first.json["dispatched"]
    assert (given["work_item_id"], given["assignee"], given["equipment"]) == (
        locate.id,
        "crew1",
        "VAN-1",
    )
    assert given["reasons"][0] == "skills repair 2≥1"
    # The affected customer's timeline says so; the other feeder's customer hears nothing.
    desk = token(client, "desk1")
    timeline = client.get(f"/api/demands/{_demand_id(rt, affected)}", headers=desk).json
    notes = [
        c["text"] for i in timeline["instances"] for link in i["links"] for c in link["comments"]
    ]
    assert notes == [
        "Outage alarm on feeder F007 (urban): an active repair has started; the crew is on its way."
    ]
    other = client.get(f"/api/demands/{_demand_id(rt, elsewhere)}", headers=desk).json
    assert [c for i in other["instances"] for link in i["links"] for c in link["comments"]] == []

    # The monitoring system retries: the same answer, and still one repair.
    again = client.post("/api/events", json=ALARM, headers=headers)
    assert again.status_code == 200
    assert again.json == first.json
    assert repairs(rt) == [repair]
    # The crew sees it in "My work".
    crew_headers = token_for(client, rt, "crew1")
    mine = client.get("/api/work-items?scope=mine", headers=crew_headers).json
    assert [row["id"] for row in mine["items"]] == [locate.id]


def token_for(client: Any, rt: Runtime, username: str) -> dict[str, str]:
    response = client.post(
        "/api/tokens", json={"username": username, "password": "correct-horse-9"}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def _demand_id(rt: Runtime, reference: str) -> int:
    from gridflow.models import Demand

    with rt.db.read() as session:
        found = session.scalar(select(Demand.id).where(Demand.reference == reference))
    assert found is not None
    return found


def test_an_unknown_event_type_or_a_bad_payload_is_refused_naming_the_problem(
    rt: Runtime, client: Any
) -> None:
    headers = token(client, "supervisor1")  # supervisors may post any type
    unknown = client.post(
        "/api/events", json={"type": "meter_exploded", "key": "k1", "payload": {}}, headers=headers
    )
    assert unknown.status_code == 422
    assert unknown.json["error"]["message"] == (
        "unknown event type 'meter_exploded'; known: meter_connected, outage_alarm"
    )
    bad = client.post(
        "/api/events",
        json={"type": "outage_alarm", "key": "k2", "payload": {"feeder": 7, "area": "city"}},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json["error"]["fields"] == {
        "feeder": "must be a string",
        "area": "'city' is not one of: urban, rural, remote",
    }
    no_key = client.post(
        "/api/events", json={"type": "outage_alarm", "payload": ALARM["payload"]}, headers=headers
    )
    assert no_key.status_code == 422
    assert no_key.json["error"]["message"] == "key is required: a text of 1 to 100 characters"
    internal = client.post(
        "/api/events",
        json={"type": "standard_breached", "key": "k3", "payload": {}},
        headers=headers,
    )
    assert internal.status_code == 422
    assert "raised by gridflow itself" in internal.json["error"]["message"]
    # Nothing was taken, nothing started.
    with rt.db.read() as session:
        assert session.scalar(select(func.count(LinkageEvent.id))) == 0
    assert repairs(rt) == []


def test_the_same_key_for_another_event_type_is_a_conflict(rt: Runtime, client: Any) -> None:
    headers = token(client, "integration1")
    assert client.post("/api/events", json=ALARM, headers=headers).status_code == 201
    clash = client.post(
        "/api/events",
        json={
            "type": "meter_connected",
            "key": ALARM["key"],
            "payload": {"demand": "D", "meter": "M"},
        },
        headers=headers,
    )
    assert clash.status_code == 409
    assert (
        clash.json["error"]["message"]
        == "key 'scada-7731' was already used for a outage_alarm event"
    )


def connection_waiting_for_its_meter(rt: Runtime) -> tuple[str, int]:
    """A small business's connection with every link done, waiting for `meter_connected`."""
    accepted = demands.create_demand(
        rt, demands.DemandInput("Hengda Noodle Shop", "business", "counter", "connection")
    )
    iid = accepted.instances[0].instance_id
    complete(rt, iid, "Activity_accept", {"customer_category": "small_micro", "capacity_kw": 60})
    # The systems archive the customer and order the meter; metering installs it in the called
    # meter-installation process (an instance of the same demand).
    while serve_system_steps(rt) or open_demand_items(rt, accepted.demand_id):
        for item in open_demand_items(rt, accepted.demand_id):
            complete(rt, item.instance_id, item.element_id)
    return accepted.reference, iid


def open_demand_items(rt: Runtime, demand_id: int) -> list[WorkItem]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(WorkItem)
                .join(Instance, Instance.id == WorkItem.instance_id)
                .where(Instance.demand_id == demand_id, WorkItem.state.in_(("ready", "claimed")))
                .order_by(WorkItem.id)
            )
        )


def test_a_meter_connected_event_ends_the_connection_waiting_for_it(
    rt: Runtime, client: Any
) -> None:
    reference, iid = connection_waiting_for_its_meter(rt)
    with rt.db.read() as session:
        assert session.get(Instance, iid).status == "running"  # type: ignore[union-attr]
    event = {
        "type": "meter_connected",
        "key": "ami-1",
        "payload": {"demand": reference, "meter": "3301000200001"},
    }
    response = client.post("/api/events", json=event, headers=token(client, "integration1"))
    assert response.status_code == 201, response.text
    assert response.json["actions"] == [
        {
            "rule": "meter_connected_completes_connection",
            "action": "correlate",
            "message": "meter_connected",
            "instances": [iid],
        }
    ]
    with rt.db.read() as session:
        assert session.get(Instance, iid).status == "completed"  # type: ignore[union-attr]


def supervisor_links(rt: Runtime) -> list[tuple[str, str, int]]:
    with rt.db.read() as session:
        return [
            (row.process_id, row.link_name, row.instance_id)
            for row in session.execute(
                select(Definition.process_id, WorkItem.link_name, WorkItem.instance_id)
                .join(Definition, Definition.id == WorkItem.definition_id)
                .where(WorkItem.role == "supervisor")
                .order_by(WorkItem.id)
            )
        ]


def test_a_late_arrival_gives_the_supervisor_one_link_not_two(
    rt: Runtime, clock: SimulatedClock
) -> None:
    """The repair processes escalate a late arrival themselves (a boundary timer to the
    supervisor's link); the breach rule sees that link and raises no second one."""
    started = instances.start_instance(
        rt, "active_repair", {"feeder": "F001", "area": "urban"}, business_key="A-1"
    )
    complete(rt, started.instance_id, "Activity_locate")
    complete(rt, started.instance_id, "Activity_dispatch")
    clock.advance(timedelta(minutes=46))
    assert timers.fire_due_timers(rt) == 1
    book = linkage.rulebook(rt.roles)
    assert linkage.feed_breaches(rt, book) == 1
    assert linkage.feed_breaches(rt, book) == 0  # each breach once
    assert supervisor_links(rt) == [("active_repair", "Escalate late arrival", started.instance_id)]
    escalation = item_for(rt, started.instance_id, "Activity_escalate")
    with rt.db.read() as session:
        outcome = session.scalars(select(LinkageEvent.outcome)).one()
    assert outcome["actions"] == [
        {
            "rule": "repair_arrival_breached",
            "action": "escalate",
            "role": "supervisor",
            "escalated_in_process": escalation.id,
        }
    ]


def test_a_breach_the_process_did_not_escalate_raises_a_supervisor_link(rt: Runtime) -> None:
    """A breach reported for an arrival the process has not escalated itself (no boundary timer
    has fired) gets the rule's escalation link, on the same demand's timeline."""
    started = instances.start_instance(
        rt, "active_repair", {"feeder": "F001", "area": "urban"}, business_key="A-1"
    )
    complete(rt, started.instance_id, "Activity_locate")
    complete(rt, started.instance_id, "Activity_dispatch")
    arrive = item_for(rt, started.instance_id, "Activity_arrive")
    payload = {
        "process": "active_repair",
        "link": "Activity_arrive",
        "link_name": "Arrive on site",
        "instance_id": started.instance_id,
        "work_item_id": arrive.id,
    }
    book = linkage.rulebook(rt.roles)
    linkage.receive(
        rt, book, "standard_breached", "breach:test", payload, source="system", internal=True
    )
    links = supervisor_links(rt)
    assert [(process, name) for process, name, _ in links] == [("escalation", "Handle escalation")]
    with rt.db.read() as session:
        variables = session.get(Instance, links[0][2]).variables  # type: ignore[union-attr]
    assert variables["subject"] == "Repair crew late on site: Arrive on site"
    assert variables["instance_id"] == started.instance_id


def test_an_event_taken_but_not_finished_is_finished_by_its_retry(
    rt: Runtime, client: Any, monkeypatch: Any
) -> None:
    """A crash after the event's own transaction (before its message reached the waiting
    connection) leaves an unfinished event; the retry with the same key delivers it once."""
    reference, iid = connection_waiting_for_its_meter(rt)
    event = {
        "type": "meter_connected",
        "key": "ami-crash",
        "payload": {"demand": reference, "meter": "3301000200001"},
    }
    headers = token(client, "integration1")

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("power cut")

    monkeypatch.setattr(linkage, "_deliver", crash)
    with pytest.raises(RuntimeError, match="power cut"):  # the test client re-raises it
        client.post("/api/events", json=event, headers=headers)
    with rt.db.read() as session:
        assert session.get(Instance, iid).status == "running"  # type: ignore[union-attr]
        assert session.scalars(select(LinkageEvent.outcome)).one()["unfinished"] is True
    monkeypatch.undo()
    retried = client.post("/api/events", json=event, headers=headers)
    assert retried.status_code == 201, retried.text  # the first whole answer
    assert retried.json["actions"] == [
        {
            "rule": "meter_connected_completes_connection",
            "action": "correlate",
            "message": "meter_connected",
            "instances": [iid],
        }
    ]
    again = client.post("/api/events", json=event, headers=headers)
    assert (again.status_code, again.json) == (200, retried.json)
    with rt.db.read() as session:
        assert session.get(Instance, iid).status == "completed"  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(LinkageEvent)) == 1


def test_rules_are_listed(client: Any) -> None:
    response = client.get("/api/rules", headers=token(client, "auditor1"))
    assert response.status_code == 200
    assert [r["id"] for r in response.json["rules"]] == [
        "outage_starts_active_repair",
        "repair_arrival_breached",
        "meter_connected_completes_connection",
        "low_rating_return_visit",
    ]
    assert response.json["events"]["outage_alarm"]["payload"]["area"] == {
        "type": "string",
        "required": True,
        "enum": ["urban", "rural", "remote"],
    }
    # each named in both languages (processes/rules.yaml, docs/translations.md)
    assert response.json["events"]["outage_alarm"]["name"] == {
        "en": "Outage alarm",
        "zh": "停电告警",
    }
    assert response.json["rules"][0]["name"] == {
        "en": "An outage alarm starts an active repair",
        "zh": "停电告警触发主动抢修",
    }


def test_in_the_demo_an_outage_alarm_becomes_a_repair_already_with_a_crew_and_a_vehicle(
    tmp_path: Any,
) -> None:
    """The demo as `make run` builds it (work in flight up to now, accounts, the skill pool),
    the worker's round as `gridflow serve` runs it, then grid monitoring posts an alarm."""
    from datetime import UTC, datetime

    from conftest import _CALENDAR, _ROLES, PROCESSES, EnglishClient

    from gridflow.app import create_app
    from gridflow.cli import work_round
    from gridflow.demo import DEMO_PASSWORD, run_demo
    from gridflow.models import Demand

    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(
        url, instances=40, seed=3, weeks=1, processes=PROCESSES, leave_open=True, accounts=True
    )
    rt = Runtime.create(url, calendar=_CALENDAR, roles=_ROLES)  # the real clock, as served
    work_round(rt)
    with rt.db.read() as session:
        open_demands = session.execute(
            select(Demand.id, Demand.reference, Demand.details)
            .join(Instance, Instance.demand_id == Demand.id)
            .where(Instance.status == "running")
        ).all()
    demand_id, reference, details = open_demands[0]
    feeder = details["feeder"]
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False}, runtime=rt)
    app.test_client_class = EnglishClient
    client = app.test_client()
    got = client.post("/api/tokens", json={"username": "integration1", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {got.json['token']}"}
    alarm = {
        "type": "outage_alarm",
        "key": "demo-1",
        "payload": {"feeder": feeder, "area": "urban"},
    }

    response = client.post("/api/events", json=alarm, headers=headers)
    assert response.status_code == 201, response.text
    repair = response.json["actions"][0]["instance_id"]
    assert reference in response.json["actions"][1]["demands"]
    [given] = response.json["dispatched"]
    [locate] = open_items(rt, repair)
    assert (given["work_item_id"], given["assignee"]) == (locate.id, locate.assignee)
    crew = pool.person(rt, given["assignee"])
    assert crew is not None and crew.skills.get("repair", 0) >= 1
    assert crew.shift_left(datetime.now(UTC)) is not None  # on shift now
    assert given["equipment"] is not None and given["equipment"].startswith(("VAN", "TRUCK", "4WD"))
    got = client.post("/api/tokens", json={"username": "desk1", "password": DEMO_PASSWORD})
    timeline = client.get(
        f"/api/demands/{demand_id}", headers={"Authorization": f"Bearer {got.json['token']}"}
    ).json
    notes = [
        c["text"] for i in timeline["instances"] for link in i["links"] for c in link["comments"]
    ]
    assert any(f"Outage alarm on feeder {feeder}" in note for note in notes)
    rt.db.dispose()


def test_a_breach_whose_link_is_done_is_not_escalated(rt: Runtime, clock: SimulatedClock) -> None:
    started = instances.start_instance(
        rt, "active_repair", {"feeder": "F001", "area": "urban"}, business_key="A-1"
    )
    complete(rt, started.instance_id, "Activity_locate")
    complete(rt, started.instance_id, "Activity_dispatch")
    clock.advance(timedelta(minutes=46))
    timers.fire_due_timers(rt)
    complete(rt, started.instance_id, "Activity_arrive")  # the crew arrived meanwhile
    assert linkage.feed_breaches(rt, linkage.rulebook(rt.roles)) == 0
