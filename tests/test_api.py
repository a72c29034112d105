"""The JSON API: tokens, demands, queues, claim/release/complete with the right status codes,
and the same role rules as the pages."""

from __future__ import annotations

from typing import Any

from conftest import STAFF_PASSWORD, serve_system_steps, token

from gridflow.runtime import Runtime

HV_DEMAND = {
    "customer_name": "Hongda Steel",
    "customer_category": "business",
    "channel": "counter",
    "category": "connection",
    "address": "88 Jianshe Road",
    "phone": "0571-87654321",
    "voltage": "high",
    "capacity_kw": 800,
    "supply": "dual",
}
ACCEPT_HV = {"id_checked": True, "capacity_kw": 800, "supply": "dual"}


def create_hv(client: Any, desk: dict[str, str]) -> dict[str, Any]:
    response = client.post("/api/demands", json=HV_DEMAND, headers=desk)
    assert response.status_code == 201, response.text
    return dict(response.json)


def team(client: Any, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/work-items", query_string={"scope": "team", **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return list(response.json["items"])


def accept_form(client: Any, manager: dict[str, str], item_id: int) -> dict[str, Any]:
    item = client.get(f"/api/work-items/{item_id}", headers=manager).json
    values = {f["id"]: ACCEPT_HV.get(f["id"]) for f in item["form"]["fields"] if f["required"]}
    for field in item["form"]["fields"]:
        if field["required"] and values[field["id"]] is None:
            values[field["id"]] = field["options"][0]["id"] if field["options"] else "ok"
    return {"version": item["version"], "data": values}


def test_tokens_need_the_right_password(client: Any) -> None:
    wrong = client.post("/api/tokens", json={"username": "desk1", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json["error"]["code"] == "unauthorized"
    missing = client.post("/api/tokens", json={"username": "desk1"})
    assert missing.status_code == 422
    right = client.post("/api/tokens", json={"username": "desk1", "password": STAFF_PASSWORD})
    assert right.status_code == 201
    assert len(right.json["token"]) >= 40


def test_calls_without_a_valid_token_are_401(client: Any) -> None:
    assert client.get("/api/work-items").status_code == 401
    bad = client.get("/api/work-items", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == 'Bearer realm="gridflow"'


def test_openapi_document_lists_the_paths(client: Any) -> None:
    document = client.get("/api/openapi.json").json
    assert document["openapi"].startswith("3.")
    assert {
        "/api/tokens",
        "/api/demands",
        "/api/demands/{id}",
        "/api/instances/{id}",
        "/api/work-items",
        "/api/work-items/{id}",
        "/api/work-items/{id}/claim",
        "/api/work-items/{id}/release",
        "/api/work-items/{id}/complete",
    } <= set(document["paths"])


def test_a_demand_is_created_classified_and_its_first_link_is_queued(client: Any) -> None:
    desk, manager = token(client, "desk1"), token(client, "manager1")
    accepted = create_hv(client, desk)
    assert [i["process_id"] for i in accepted["instances"]] == ["hv_connection"]
    assert accepted["reference"].startswith("D-2026-")
    [row] = team(client, manager)
    assert (row["link_id"], row["customer"], row["state"], row["version"]) == (
        "Activity_accept",
        "Hongda Steel",
        "ready",
        1,
    )
    demand = client.get(f"/api/demands/{accepted['id']}", headers=desk).json
    assert demand["instances"][0]["links"][0]["link_name"] == "Accept application"


def test_one_demand_can_start_a_connection_and_a_pv_connection(client: Any) -> None:
    desk = token(client, "desk1")
    response = client.post(
        "/api/demands",
        json={
            **HV_DEMAND,
            "voltage": "low",
            "customer_category": "residential",
            "capacity_kw": 8,
            "also": ["pv"],
        },
        headers=desk,
    )
    assert response.status_code == 201
    assert [i["process_id"] for i in response.json["instances"]] == [
        "lv_residential_connection",
        "pv_connection",
    ]
    demand = client.get(f"/api/demands/{response.json['id']}", headers=desk).json
    assert [i["process_id"] for i in demand["instances"]] == [
        "lv_residential_connection",
        "pv_connection",
    ]


def test_an_invalid_demand_is_422_naming_each_field(client: Any) -> None:
    desk = token(client, "desk1")
    response = client.post(
        "/api/demands",
        json={**HV_DEMAND, "customer_name": " ", "channel": "fax", "capacity_kw": "big"},
        headers=desk,
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"capacity_kw": "must be a number of kW"}
    response = client.post(
        "/api/demands", json={**HV_DEMAND, "customer_name": " ", "channel": "fax"}, headers=desk
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "customer_name": "is required",
        "channel": "'fax' is not one of: counter, app, call_centre, online, monitoring",
    }


def test_only_the_front_desk_takes_demands(client: Any) -> None:
    planner = token(client, "planner1")
    response = client.post("/api/demands", json=HV_DEMAND, headers=planner)
    assert response.status_code == 403


def test_claim_release_complete_and_the_status_codes(client: Any, rt: Runtime) -> None:
    desk, manager = token(client, "desk1"), token(client, "manager1")
    create_hv(client, desk)
    [row] = team(client, manager)
    item_id = row["id"]
    claimed = client.post(f"/api/work-items/{item_id}/claim", json={"version": 1}, headers=manager)
    assert claimed.status_code == 200
    assert (claimed.json["state"], claimed.json["assignee"], claimed.json["version"]) == (
        "claimed",
        "manager1",
        2,
    )
    mine = client.get("/api/work-items?scope=mine", headers=manager).json
    assert [i["id"] for i in mine["items"]] == [item_id]
    assert mine["counts"] == {"mine": 1, "team": 0}
    stale = client.post(f"/api/work-items/{item_id}/release", json={"version": 1}, headers=manager)
    assert stale.status_code == 409
    released = client.post(
        f"/api/work-items/{item_id}/release", json={"version": 2}, headers=manager
    )
    assert (released.status_code, released.json["state"]) == (200, "ready")
    body = accept_form(client, manager, item_id)
    invalid = client.post(
        f"/api/work-items/{item_id}/complete",
        json={"version": body["version"], "data": {**body["data"], "supply": "triple"}},
        headers=manager,
    )
    assert invalid.status_code == 422
    assert invalid.json["error"]["fields"] == {"supply": "must be one of: single, dual"}
    done = client.post(f"/api/work-items/{item_id}/complete", json=body, headers=manager)
    assert done.status_code == 200, done.text
    assert done.json["work_item"]["state"] == "completed"
    # Next is a system step: the marketing system archives the customer; then planning works.
    assert done.json["next"] == []
    assert serve_system_steps(rt) == 1
    assert sorted(i["link_name"] for i in team(client, token(client, "planner1"))) == [
        "Design supply scheme",
        "Site survey",
    ]
    # The same request again (a client retry after a lost answer) gets the same answer.
    again = client.post(f"/api/work-items/{item_id}/complete", json=body, headers=manager)
    assert again.status_code == 200
    assert again.json["work_item"]["id"] == item_id
    # A different completion of the finished link is a conflict.
    other = client.post(
        f"/api/work-items/{item_id}/complete",
        json={"version": body["version"], "data": {**body["data"], "supply": "single"}},
        headers=manager,
    )
    assert other.status_code == 409
    assert client.get("/api/work-items/999999", headers=manager).status_code == 404


def test_two_clerks_complete_the_same_link_one_gets_409(client: Any, rt: Runtime) -> None:
    desk = token(client, "desk1")
    planner1, planner2 = token(client, "planner1"), token(client, "planner2")
    manager = token(client, "manager1")
    create_hv(client, desk)
    [accept] = team(client, manager)
    client.post(
        f"/api/work-items/{accept['id']}/complete",
        json=accept_form(client, manager, accept["id"]),
        headers=manager,
    )
    serve_system_steps(rt)
    survey = next(i for i in team(client, planner1) if i["link_id"] == "Activity_site_survey")
    item = client.get(f"/api/work-items/{survey['id']}", headers=planner1).json
    data = {
        f["id"]: (
            f["options"][0]["id"]
            if f["options"]
            else {"date": "2026-03-03", "boolean": True, "long": 1, "double": 1.0}.get(
                f["type"], "ok"
            )
        )
        for f in item["form"]["fields"]
        if f["required"]
    }
    first = client.post(
        f"/api/work-items/{survey['id']}/complete",
        json={"version": item["version"], "data": data},
        headers=planner1,
    )
    second = client.post(
        f"/api/work-items/{survey['id']}/complete",
        json={"version": item["version"], "data": data},
        headers=planner2,
    )
    assert (first.status_code, second.status_code) == (200, 409)
    assert "completed by planner1" in second.json["error"]["message"]


def test_a_metering_clerk_cannot_see_claim_or_complete_a_planning_link(
    client: Any, rt: Runtime
) -> None:
    desk, manager = token(client, "desk1"), token(client, "manager1")
    meter = token(client, "meter1")
    create_hv(client, desk)
    [accept] = team(client, manager)
    client.post(
        f"/api/work-items/{accept['id']}/complete",
        json=accept_form(client, manager, accept["id"]),
        headers=manager,
    )
    serve_system_steps(rt)
    planner_items = team(client, token(client, "planner1"))
    assert len(planner_items) == 2
    assert team(client, meter) == []
    target = planner_items[0]["id"]
    assert client.get(f"/api/work-items/{target}", headers=meter).status_code == 403
    assert client.post(f"/api/work-items/{target}/claim", json={}, headers=meter).status_code == 403
    assert (
        client.post(
            f"/api/work-items/{target}/complete", json={"version": 1, "data": {}}, headers=meter
        ).status_code
        == 403
    )


def test_an_auditor_cannot_claim_or_complete(client: Any) -> None:
    desk, manager = token(client, "desk1"), token(client, "manager1")
    auditor = token(client, "auditor1")
    create_hv(client, desk)
    [accept] = team(client, manager)
    assert (
        client.post(f"/api/work-items/{accept['id']}/claim", json={}, headers=auditor).status_code
        == 403
    )
    assert client.post("/api/demands", json=HV_DEMAND, headers=auditor).status_code == 403


def test_queue_filters_and_bad_parameters(client: Any) -> None:
    desk, manager = token(client, "desk1"), token(client, "manager1")
    create_hv(client, desk)
    client.post(
        "/api/demands",
        json={**HV_DEMAND, "voltage": "low", "customer_category": "residential", "capacity_kw": 8},
        headers=desk,
    )
    assert len(team(client, manager)) == 2
    assert [i["process_id"] for i in team(client, manager, process="hv_connection")] == [
        "hv_connection"
    ]
    assert team(client, manager, overdue="1") == []
    bad = client.get("/api/work-items", query_string={"scope": "everyone"}, headers=manager)
    assert bad.status_code == 422
    assert "scope 'everyone'" in bad.json["error"]["message"]


def test_a_retried_demand_with_the_same_idempotency_key_is_taken_in_once(client: Any) -> None:
    desk = token(client, "desk1")
    first = client.post(
        "/api/demands", json=HV_DEMAND, headers={**desk, "Idempotency-Key": "call-7781"}
    )
    again = client.post(
        "/api/demands", json=HV_DEMAND, headers={**desk, "Idempotency-Key": "call-7781"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    other = client.post(
        "/api/demands", json=HV_DEMAND, headers={**desk, "Idempotency-Key": "call-7782"}
    )
    assert other.status_code == 201
    assert other.json["id"] != first.json["id"]
    manager = token(client, "manager1")
    assert len(team(client, manager)) == 2
