"""Files written in Camunda Modeler's exact style, as another team would bring them: candidate
groups instead of lanes, a start form, an external task, a decision table and a call activity.
They deploy unchanged, byte for byte, and run to their end."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gridflow import users
from gridflow.instances import start_instance
from gridflow.models import Definition, Instance
from gridflow.runtime import Runtime

CAMUNDA = Path(__file__).parent / "camunda"
PASSWORD = "correct-horse-9"


@pytest.fixture
def api(app, rt: Runtime) -> FlaskClient:  # type: ignore[no-untyped-def]
    users.create_user(rt, "designer1", PASSWORD, ["designer"])
    users.create_user(rt, "admin1", PASSWORD, ["admin"])
    return app.test_client()  # type: ignore[no-any-return]


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}  # type: ignore[index]


def _deploy(client: FlaskClient, headers: dict[str, str], name: str) -> dict[str, object]:
    text = (CAMUNDA / name).read_bytes()
    response = client.post(
        "/api/definitions",
        data={"file": (io.BytesIO(text), name)},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.text
    return response.json  # type: ignore[no-any-return]


def _complete(
    client: FlaskClient,
    headers: dict[str, str],
    instance_id: int,
    link: str,
    data: dict[str, object],
) -> None:
    view = client.get(f"/api/instances/{instance_id}", headers=headers).json
    [item] = [x for x in view["links"] if x["link_id"] == link and x["state"] == "ready"]  # type: ignore[index]
    done = client.post(
        f"/api/work-items/{item['work_item_id']}/complete",
        json={"version": item["version"], "data": data},
        headers=headers,
    )
    assert done.status_code == 200, done.text


def test_a_camunda_modeler_file_deploys_byte_for_byte_and_runs_to_its_end(
    api: FlaskClient, rt: Runtime
) -> None:
    designer = _token(api, "designer1")
    decisions = _deploy(api, designer, "approval_level.dmn")
    assert [d["decision_id"] for d in decisions["decisions"]] == ["approval_level"]  # type: ignore[index]
    _deploy(api, designer, "camunda_site_visit.bpmn")
    deployed = _deploy(api, designer, "camunda_connection.bpmn")
    assert (deployed["process_id"], deployed["version"]) == ("camunda_connection", 1)
    with rt.db.read() as session:
        stored = session.scalar(
            select(Definition.bpmn_xml).where(Definition.process_id == "camunda_connection")
        )
    assert stored == (CAMUNDA / "camunda_connection.bpmn").read_bytes()

    started = start_instance(
        rt,
        "camunda_connection",
        {"customer_name": "Sun Wei", "capacity_kw": 250},
        business_key="CAM-1",
    )
    admin = _token(api, "admin1")
    _complete(api, admin, started.instance_id, "Activity_accept", {"documents_ok": True})

    # The decision said "engineer" (250 kW > 100); the CRM registration waits for a worker.
    worker = {
        "workerId": "crm-1",
        "maxTasks": 1,
        "topics": [{"topicName": "crm_register", "lockDuration": 30000}],
    }
    [task] = api.post("/api/external-task/fetchAndLock", json=worker, headers=admin).json  # type: ignore[misc]
    assert task["variables"]["approval_level"]["value"] == "engineer"
    done = api.post(
        f"/api/external-task/{task['id']}/complete",
        json={"workerId": "crm-1", "variables": {"crm_id": {"value": "CRM-88", "type": "String"}}},
        headers=admin,
    )
    assert done.status_code == 204, done.text

    view = api.get(f"/api/instances/{started.instance_id}", headers=admin).json
    [call] = [s for s in view["system_steps"] if s["kind"] == "call"]  # type: ignore[index]
    child_id = call["child_instance_id"]
    _complete(api, admin, child_id, "Activity_visit", {"visit_notes": "room in the substation"})
    _complete(api, admin, started.instance_id, "Activity_confirm", {"scheme_confirmed": True})

    with rt.db.read() as session:
        instance = session.get(Instance, started.instance_id)
        child = session.get(Instance, child_id)
        assert instance is not None and child is not None
        assert (instance.status, child.status) == ("completed", "completed")
        assert {k: instance.variables[k] for k in ("approval_level", "crm_id", "visit_notes")} == {
            "approval_level": "engineer",
            "crm_id": "CRM-88",
            "visit_notes": "room in the substation",
        }
    links = api.get(f"/api/instances/{started.instance_id}", headers=admin).json["links"]  # type: ignore[index]
    assert [(x["link_id"], x["role"]) for x in links] == [
        ("Activity_accept", "account_manager"),
        ("Activity_confirm", "planning_design"),
    ]


def test_the_camunda_files_lint_clean_as_a_folder(roles) -> None:  # type: ignore[no-untyped-def]
    from gridflow import definitions

    assert {str(p.name): v for p, v in definitions.lint_paths([CAMUNDA], roles).items()} == {
        "approval_level.dmn": [],
        "camunda_connection.bpmn": [],
        "camunda_site_visit.bpmn": [],
    }
