"""Business-rule tasks in running processes, on SQLite and PostgreSQL: the table decides the
path; decisions deploy and version with the processes; bindings keep running instances on the
version they bound; a decision that fails names its element; .dmn files upload through the API
and the designer; the shipped processes decide voltage, scheme and repair priority."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import STAFF_PASSWORD, complete, login, open_items, serve_system_steps, token
from dmn_samples import ROUTE_RULES, rule_process, table
from sqlalchemy import select

from gridflow import catalog, decision_catalog, instances, users
from gridflow.cli import main
from gridflow.demands import DemandInput, create_demand
from gridflow.engine import EngineError
from gridflow.errors import DefinitionError
from gridflow.models import DecisionDeployRecord, Instance
from gridflow.runtime import Runtime


def deploy_folder(rt: Runtime, folder: Path, bpmn: str, dmn: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "rule_flow.bpmn").write_text(bpmn)
    (folder / "route.dmn").write_text(dmn)
    catalog.deploy_paths(rt, [folder], "designer")


def route_of(rt: Runtime, amount: int, key: str) -> tuple[int, list[str], object]:
    started = instances.start_instance(rt, "rule_flow", {}, business_key=key)
    complete(rt, started.instance_id, "Activity_accept", {"approved": True, "amount": amount})
    with rt.db.read() as session:
        instance = session.get(Instance, started.instance_id)
        assert instance is not None
        route = instance.variables.get("route")
    links = [i.element_id for i in open_items(rt, started.instance_id)]
    return started.instance_id, links, route


def test_the_table_decides_the_path(rt: Runtime, tmp_path: Path) -> None:
    deploy_folder(rt, tmp_path / "flows", rule_process(), table(ROUTE_RULES))
    assert route_of(rt, 50, "D-1")[1:] == ([], "skip")
    assert route_of(rt, 500, "D-2")[1:] == (["Activity_survey"], "survey")
    assert route_of(rt, 5000, "D-3")[1:] == (["Activity_survey"], "survey")


def test_decisions_version_like_processes(rt: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    deploy_folder(rt, folder, rule_process(), table(ROUTE_RULES))
    runner = CliRunner()
    again = runner.invoke(main, ["deploy", str(folder), "--database", rt.db.url])
    assert again.exit_code == 0, again.output
    assert "decision route v1 unchanged" in again.output
    (folder / "route.dmn").write_text(table([(["< 10"], ['"skip"']), ([">= 10"], ['"survey"'])]))
    changed = runner.invoke(main, ["deploy", str(folder), "--database", rt.db.url])
    assert "decision route v2 deployed" in changed.output
    assert "rule_flow v1 unchanged" in changed.output
    entry = decision_catalog.entry(rt.db, "route")
    assert [v.version for v in entry.versions] == [2, 1]
    with rt.db.read() as session:
        records = session.scalars(
            select(DecisionDeployRecord).where(DecisionDeployRecord.decision_id == "route")
        ).all()
        assert [(r.version, r.created, r.actor) for r in records] == [
            (1, True, "designer"),
            (1, False, "cli"),
            (2, True, "cli"),
        ]
    # binding latest (the default): the newest table decides
    assert route_of(rt, 50, "D-4")[2] == "survey"


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        ('camunda:decisionRefBinding="version" camunda:decisionRefVersion="1"', "skip"),
        ('camunda:decisionRefBinding="deployment"', "skip"),
        ("", "survey"),  # latest
    ],
)
def test_a_redeployed_decision_leaves_instances_on_the_version_they_bound(
    rt: Runtime, tmp_path: Path, binding: str, expected: str
) -> None:
    attributes = f'camunda:resultVariable="route" camunda:mapDecisionResult="singleEntry" {binding}'
    deploy_folder(rt, tmp_path / "v1", rule_process(attributes=attributes), table(ROUTE_RULES))
    running = instances.start_instance(rt, "rule_flow", {}, business_key="D-1")
    # A stricter table is deployed while the instance waits before its business-rule task.
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "route.dmn").write_text(
        table([(["< 10"], ['"skip"']), ([">= 10"], ['"survey"'])])
    )
    catalog.deploy_paths(rt, [tmp_path / "v2"], "designer")
    complete(rt, running.instance_id, "Activity_accept", {"approved": True, "amount": 50})
    with rt.db.read() as session:
        instance = session.get(Instance, running.instance_id)
        assert instance is not None
        assert instance.variables["route"] == expected


def test_a_process_naming_an_undeployed_decision_deploys_nothing(
    rt: Runtime, tmp_path: Path
) -> None:
    (tmp_path / "rule_flow.bpmn").write_text(rule_process(decision_ref="undeployed"))
    with pytest.raises(DefinitionError) as caught:
        catalog.deploy_paths(rt, [tmp_path / "rule_flow.bpmn"], "designer")
    [problem] = caught.value.problems
    assert (problem.element_id, problem.message) == (
        "Activity_decide",
        "decision 'undeployed' is not deployed: deploy its .dmn file first (or with the "
        "process, from one folder)",
    )
    versioned = rule_process(
        attributes='camunda:resultVariable="route" camunda:mapDecisionResult="singleEntry" '
        'camunda:decisionRefBinding="version" camunda:decisionRefVersion="7"'
    )
    with pytest.raises(DefinitionError, match="decision 'route' has no version 7"):
        deploy_folder(rt, tmp_path / "flows", versioned, table(ROUTE_RULES))


def test_a_decision_that_fails_at_run_time_names_its_element(rt: Runtime, tmp_path: Path) -> None:
    needs_budget = table(ROUTE_RULES, inputs=(("Budget", "budget", "integer"),))
    deploy_folder(rt, tmp_path / "flows", rule_process(), needs_budget)
    started = instances.start_instance(rt, "rule_flow", {}, business_key="D-1")
    with pytest.raises(EngineError) as caught:
        complete(rt, started.instance_id, "Activity_accept", {"approved": True, "amount": 5})
    assert caught.value.element_id == "Activity_decide"
    assert str(caught.value) == (
        "Activity_decide: decision Route (route): input 'Budget' needs the variable 'budget', "
        "which this instance does not have"
    )
    # Nothing changed: the link is still open.
    assert [i.element_id for i in open_items(rt, started.instance_id)] == ["Activity_accept"]


# --- the shipped processes --------------------------------------------------------------------


def hv_demand(rt: Runtime, capacity: float, importance: str, supply: str) -> dict[str, object]:
    accepted = create_demand(
        rt,
        DemandInput(
            customer_name="Jiangning Hospital",
            customer_category="business",
            channel="counter",
            category="connection",
            voltage="high",
            capacity_kw=capacity,
            supply=supply,
        ),
    )
    iid = accepted.instances[0].instance_id
    complete(
        rt,
        iid,
        "Activity_accept",
        {"capacity_kw": int(capacity), "supply": supply, "customer_importance": importance},
    )
    serve_system_steps(rt)  # the customer archived, the tables decide
    with rt.db.read() as session:
        instance = session.get(Instance, iid)
        assert instance is not None
        return dict(instance.variables)


def test_the_high_voltage_connection_decides_voltage_and_scheme_by_the_tables(
    rt: Runtime,
) -> None:
    hospital = hv_demand(rt, 16000, "first", "single")
    assert (hospital["supply_voltage"], hospital["supply_sources"]) == ("kv35", "dual_source")
    factory = hv_demand(rt, 1250, "none", "single")
    assert (factory["supply_voltage"], factory["supply_sources"]) == ("kv10", "single_source")


@pytest.mark.parametrize(
    ("fault", "importance", "priority"),
    [
        ("line_down", "none", "emergency"),
        ("no_power", "second", "emergency"),
        ("no_power", "none", "normal"),
    ],
)
def test_the_fault_repair_takes_its_priority_from_the_table(
    rt: Runtime, fault: str, importance: str, priority: str
) -> None:
    accepted = create_demand(
        rt,
        DemandInput(
            customer_name="Wang Fang",
            customer_category="residential",
            channel="call_centre",
            category="repair",
        ),
    )
    iid = accepted.instances[0].instance_id
    complete(rt, iid, "Activity_accept", {"fault_type": fault, "customer_importance": importance})
    assert [i.element_id for i in open_items(rt, iid)] == ["Activity_dispatch"]
    with rt.db.read() as session:
        instance = session.get(Instance, iid)
        assert instance is not None
        assert instance.variables["priority"] == priority


# --- upload through the API and the designer ----------------------------------------------------


@pytest.fixture
def designer(app: Any, rt: Runtime) -> str:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    return "designer1"


def post(client: Any, headers: dict[str, str], xml: str, name: str) -> Any:
    return client.post(
        "/api/definitions",
        data={"file": (io.BytesIO(xml.encode()), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_a_dmn_file_uploads_through_the_api(client: Any, rt: Runtime, designer: str) -> None:
    headers = token(client, designer)
    first = post(client, headers, table(ROUTE_RULES), "route.dmn")
    assert (first.status_code, first.json) == (
        201,
        {"decisions": [{"decision_id": "route", "version": 1, "created": True}]},
    )
    again = client.post("/api/definitions", data=table(ROUTE_RULES).encode(), headers=headers)
    assert (again.status_code, again.json["decisions"][0]["version"]) == (200, 1)
    hostile = post(client, headers, table([(["__import__('os')"], ['"a"'])]), "route.dmn")
    assert hostile.status_code == 422
    assert hostile.json["problems"][0]["element_id"] == "DecisionRule_1"
    assert "__import__" in hostile.json["problems"][0]["message"]
    listed = client.get("/api/definitions", headers=headers).json["decisions"]
    assert [(d["decision_id"], [v["version"] for v in d["versions"]]) for d in listed] == [
        ("repair_priority", [1]),
        ("route", [1]),
        ("supply_scheme", [1]),
        ("supply_voltage", [1]),
    ]
    # The process that needs it now deploys through the same API (the store has the table).
    deployed = post(client, headers, rule_process(), "rule_flow.bpmn")
    assert deployed.status_code == 201, deployed.text
    staff = token(client, "desk1")
    assert post(client, staff, table(ROUTE_RULES), "route.dmn").status_code == 403


def test_a_dmn_file_uploads_on_the_designer_page(client: Any, rt: Runtime, designer: str) -> None:
    login(client, designer)
    response = client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(table(ROUTE_RULES).encode()), "route.dmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/designer/decisions/route?version=1"
    page = client.get("/designer/decisions/route?version=1")
    assert page.status_code == 200
    assert 'data-version="1"' in page.text
    assert "dmn-viewer.production.min.js" in page.text
    assert client.get("/designer/decisions/route/1.dmn").data == table(ROUTE_RULES).encode()
    assert 'data-decision="route"' in client.get("/designer/").text
    refused = client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(table([(['system("rm")'], ['"a"'])]).encode()), "route.dmn")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "the function system() is not allowed" in refused.text
    assert client.get("/designer/decisions/nothing").status_code == 404
    assert client.get("/designer/decisions/route?version=9").status_code == 404


def test_only_designers_reach_the_decision_pages(client: Any, rt: Runtime) -> None:
    login(client, "desk1")
    assert client.get("/designer/decisions/supply_voltage").status_code == 403
    assert client.get("/designer/decisions/supply_voltage/editor").status_code == 403
    assert client.post("/designer/decisions/supply_voltage/deploy", data=b"x").status_code == 403
