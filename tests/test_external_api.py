"""The external-task API in Camunda 7's shape, driven over HTTP as a worker would."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gridflow import catalog, users
from gridflow.instances import start_instance
from gridflow.runtime import Runtime

BPMN = Path(__file__).parent / "bpmn"
PASSWORD = "correct-horse-9"
FETCH = {
    "workerId": "finance-1",
    "maxTasks": 5,
    "topics": [{"topicName": "finance_payment", "lockDuration": 60000}],
}


@pytest.fixture
def api(app, rt: Runtime) -> FlaskClient:  # type: ignore[no-untyped-def]
    catalog.deploy_paths(rt, [BPMN], "test")
    users.create_user(rt, "admin1", PASSWORD, ["admin"])  # supervisor1 comes with `app`
    return app.test_client()  # type: ignore[no-any-return]


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}  # type: ignore[index]


def test_a_worker_fetches_locks_and_completes_a_task_with_typed_variables(
    api: FlaskClient, rt: Runtime
) -> None:
    started = start_instance(
        rt, "payment_check", {"customer": "Li", "amount": 12.5}, business_key="P-9"
    )
    admin = _token(api, "admin1")
    fetched = api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin)
    assert fetched.status_code == 200, fetched.text
    [task] = fetched.json  # type: ignore[misc]
    assert {
        k: task[k] for k in ("topicName", "workerId", "activityId", "businessKey", "retries")
    } == {
        "topicName": "finance_payment",
        "workerId": "finance-1",
        "activityId": "Task_check_payment",
        "businessKey": "P-9",
        "retries": None,
    }
    assert task["processInstanceId"] == str(started.instance_id)
    assert task["variables"] == {
        "customer": {"value": "Li", "type": "String", "valueInfo": {}},
        "amount": {"value": 12.5, "type": "Double", "valueInfo": {}},
    }
    again = api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin)
    assert again.json == []

    done = api.post(
        f"/api/external-task/{task['id']}/complete",
        json={"workerId": "finance-1", "variables": {"paid": {"value": True, "type": "Boolean"}}},
        headers=admin,
    )
    assert done.status_code == 204, done.text
    instance = api.get(f"/api/instances/{started.instance_id}", headers=admin)
    assert instance.json["status"] == "completed"  # type: ignore[index]


def test_bad_worker_requests_are_refused_with_the_field_named(
    api: FlaskClient, rt: Runtime
) -> None:
    start_instance(rt, "payment_check", {}, business_key="P-10")
    admin = _token(api, "admin1")
    cases = [
        ({**FETCH, "maxTasks": 0}, "maxTasks"),
        ({**FETCH, "topics": []}, "topics"),
        ({**FETCH, "topics": [{"topicName": "finance_payment"}]}, "topics[0].lockDuration"),
        ({k: v for k, v in FETCH.items() if k != "workerId"}, "workerId"),
        ({**FETCH, "asyncResponseTimeout": 10**9}, "asyncResponseTimeout"),
    ]
    for payload, field in cases:
        response = api.post("/api/external-task/fetchAndLock", json=payload, headers=admin)
        assert response.status_code == 422, (field, response.text)
        assert field in response.json["error"]["fields"], response.json  # type: ignore[index]
    [task] = api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin).json  # type: ignore[misc]
    wrong_type = api.post(
        f"/api/external-task/{task['id']}/complete",
        json={"workerId": "finance-1", "variables": {"paid": {"value": "yes", "type": "Boolean"}}},
        headers=admin,
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json["error"]["fields"] == {  # type: ignore[index]
        "variables.paid": "a Boolean value cannot be 'yes'"
    }
    other_worker = api.post(
        f"/api/external-task/{task['id']}/complete",
        json={"workerId": "finance-2", "variables": {}},
        headers=admin,
    )
    assert other_worker.status_code == 409
    missing = api.post(
        "/api/external-task/999999/complete", json={"workerId": "finance-1"}, headers=admin
    )
    assert missing.status_code == 404


def test_failures_reach_an_incident_that_a_supervisor_retries_over_the_api(
    api: FlaskClient, rt: Runtime
) -> None:
    start_instance(rt, "payment_check", {}, business_key="P-11")
    admin, supervisor = _token(api, "admin1"), _token(api, "supervisor1")
    [task] = api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin).json  # type: ignore[misc]
    failed = api.post(
        f"/api/external-task/{task['id']}/failure",
        json={"workerId": "finance-1", "errorMessage": "ledger locked", "retries": 0},
        headers=admin,
    )
    assert failed.status_code == 204, failed.text
    [incident] = api.get("/api/incidents", headers=supervisor).json  # type: ignore[misc]
    assert (incident["kind"], incident["message"], incident["external_task_id"]) == (
        "failed_external_task",
        "ledger locked",
        int(task["id"]),
    )
    assert api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin).json == []
    retried = api.post(
        f"/api/incidents/{incident['id']}/retry", json={"retries": 2}, headers=supervisor
    )
    assert retried.status_code == 200, retried.text
    assert retried.json["state"] == "resolved"  # type: ignore[index]
    [again] = api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin).json  # type: ignore[misc]
    assert (again["id"], again["retries"], again["errorMessage"]) == (
        task["id"],
        2,
        "ledger locked",
    )


def test_a_bpmn_error_over_the_api_takes_the_boundary_path(api: FlaskClient, rt: Runtime) -> None:
    started = start_instance(rt, "payment_check", {}, business_key="P-12")
    admin = _token(api, "admin1")
    [task] = api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin).json  # type: ignore[misc]
    uncaught = api.post(
        f"/api/external-task/{task['id']}/bpmnError",
        json={"workerId": "finance-1", "errorCode": "OTHER"},
        headers=admin,
    )
    assert uncaught.status_code == 422
    assert "Task_check_payment" in uncaught.json["error"]["message"]  # type: ignore[index]
    caught = api.post(
        f"/api/external-task/{task['id']}/bpmnError",
        json={"workerId": "finance-1", "errorCode": "PAYMENT_REFUSED", "errorMessage": "declined"},
        headers=admin,
    )
    assert caught.status_code == 204, caught.text
    view = api.get(f"/api/instances/{started.instance_id}", headers=admin).json
    assert [link["link_id"] for link in view["links"]] == ["Task_remind"]  # type: ignore[index]
    assert [s["state"] for s in view["system_steps"]] == ["error"]  # type: ignore[index]


def test_only_supervisors_see_incidents_and_cancel_instances(api: FlaskClient, rt: Runtime) -> None:
    started = start_instance(rt, "caller", {"capacity_kw": 5}, business_key="C-1")
    clerk = _token(api, "planner1")
    supervisor = _token(api, "supervisor1")
    assert api.get("/api/incidents", headers=clerk).status_code == 403
    refused = api.post(
        f"/api/instances/{started.instance_id}/cancel", json={"reason": "x"}, headers=clerk
    )
    assert refused.status_code == 403
    no_reason = api.post(
        f"/api/instances/{started.instance_id}/cancel", json={}, headers=supervisor
    )
    assert no_reason.status_code == 422
    cancelled = api.post(
        f"/api/instances/{started.instance_id}/cancel",
        json={"reason": "customer withdrew"},
        headers=supervisor,
    )
    assert cancelled.status_code == 204, cancelled.text
    twice = api.post(
        f"/api/instances/{started.instance_id}/cancel",
        json={"reason": "customer withdrew"},
        headers=supervisor,
    )
    assert twice.status_code == 409


def test_a_supervisor_sees_an_incident_on_the_page_and_retries_it(
    api: FlaskClient, rt: Runtime
) -> None:
    start_instance(rt, "payment_check", {}, business_key="P-13")
    admin = _token(api, "admin1")
    [task] = api.post("/api/external-task/fetchAndLock", json=FETCH, headers=admin).json  # type: ignore[misc]
    api.post(
        f"/api/external-task/{task['id']}/failure",
        json={"workerId": "finance-1", "errorMessage": "ledger locked", "retries": 0},
        headers=admin,
    )
    login = api.post("/login", data={"username": "planner1", "password": PASSWORD})
    assert login.status_code == 302
    assert api.get("/incidents").status_code == 403
    api.post("/logout")
    api.post("/login", data={"username": "supervisor1", "password": PASSWORD})
    page = api.get("/incidents")
    assert page.status_code == 200
    assert "ledger locked" in page.text
    assert (
        'id="nav-incidents"' in page.text and '<span class="badge bg-danger">1</span>' in page.text
    )
    incident_id = int(page.text.split('data-incident="')[1].split('"')[0])
    retried = api.post(f"/incidents/{incident_id}/retry")
    assert retried.status_code == 302
    after = api.get("/incidents")
    assert "No open incidents." in after.text
