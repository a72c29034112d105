"""The refusals of the designer, incident, consultation and comment pages are said in the
reader's language: catalogue texts with their values, translated on the page (and in the API's
`error.text`) that shows them, English for an English reader."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHINESE,
    ENGLISH,
    STAFF_PASSWORD,
    complete,
    force_into_store,
    item_for,
    login,
    post_in_both_languages,
    token,
)
from flask.testing import FlaskClient
from sqlalchemy import select

from gridflow import incidents, users, versions
from gridflow.instances import start_instance
from gridflow.models import Consultation
from gridflow.runtime import Runtime

BREAKER = Path(__file__).parent / "bpmn" / "breakers" / "budget_gate.bpmn"
METER_CHECK = Path(__file__).parent / "designer" / "meter_check.bpmn"


def _browser(app: Any, username: str) -> FlaskClient:
    browser = FlaskClient(app, app.response_class, use_cookies=True)
    login(browser, username)
    return browser


def _budget_link(rt: Runtime) -> tuple[int, int]:
    """A planner's link whose gateway reads a budget nobody set (see test_refusals_language)."""
    force_into_store(rt, "budget_gate", BREAKER.read_bytes(), BREAKER.name)
    started = start_instance(rt, "budget_gate", {}, business_key="B-1")
    return started.instance_id, item_for(rt, started.instance_id, "Task_budget").id


def _text(page: Any) -> str:
    return html.unescape(page.text)


@pytest.fixture
def designer(app: Any, rt: Runtime) -> FlaskClient:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    return _browser(app, "designer1")


# --- designer ----------------------------------------------------------------------------------


def test_a_designer_asking_for_a_process_or_version_that_is_not_deployed_reads_why(
    designer: FlaskClient,
) -> None:
    missing = designer.get("/designer/no_such_process", headers=CHINESE)
    assert missing.status_code == 404
    assert "流程 'no_such_process' 尚未部署" in _text(missing)
    english = designer.get("/designer/no_such_process", headers=ENGLISH)
    assert "process 'no_such_process' is not deployed" in _text(english)
    version = designer.get("/designer/lv_residential_connection?version=9", headers=CHINESE)
    assert version.status_code == 404
    assert "流程 'lv_residential_connection' 没有版本 9" in _text(version)
    assert "has no version" not in version.text
    decision = designer.get("/designer/decisions/no_such_table", headers=CHINESE)
    assert decision.status_code == 404
    assert "决策 'no_such_table' 尚未部署" in _text(decision)
    english = designer.get("/designer/decisions/no_such_table", headers=ENGLISH)
    assert "decision 'no_such_table' is not deployed" in _text(english)


def test_a_designer_moving_instances_to_the_version_they_are_on_reads_why(
    designer: FlaskClient,
) -> None:
    path = "/designer/lv_residential_connection/migrate?from=1&to=1"
    page = designer.post(path, data={"instance": "1"}, headers=CHINESE)
    assert page.status_code == 200
    assert '<div class="alert alert-danger" role="alert">请选择两个不同的版本</div>' in page.text
    english = designer.post(path, data={"instance": "1"}, headers=ENGLISH)
    assert 'role="alert">choose two different versions</div>' in english.text


def test_a_designer_reads_why_an_instance_cannot_move_in_chinese(
    app: Any, rt: Runtime, designer: FlaskClient
) -> None:
    xml = METER_CHECK.read_bytes()
    versions.deploy_bpmn(rt, xml, "meter_check.bpmn", "designer1", "upload")
    started = start_instance(rt, "meter_check", {}, business_key="A").instance_id
    complete(rt, started, "Activity_record")  # now at the on-site check
    renamed = xml.replace(b"Activity_check", b"Activity_inspect")
    versions.deploy_bpmn(rt, renamed, "meter_check.bpmn", "designer1", "upload")
    path = "/designer/meter_check/migrate?from=1&to=2"
    page = designer.get(path, headers=CHINESE)
    assert "否: 在办环节 'Activity_check' 在版本 2 中不存在" in _text(page)
    moved = designer.post(path, data={"instance": str(started)}, headers=CHINESE)
    assert f"实例 {started}: 在办环节 'Activity_check' 在版本 2 中不存在" in _text(moved)
    english = designer.get(path, headers=ENGLISH)
    assert "no: open link 'Activity_check' does not exist in version 2" in _text(english)


# --- incidents ---------------------------------------------------------------------------------


def _incident(app: Any, rt: Runtime) -> int:
    """An engine error's incident: the planner completes the link without the budget."""
    _instance_id, item_id = _budget_link(rt)
    stuck = _browser(app, "planner1").post(f"/work-items/{item_id}/complete", data={"version": 1})
    assert stuck.status_code == 422
    [incident] = incidents.listing(rt)
    return incident.id


def test_a_supervisor_retrying_an_incident_already_resolved_reads_why_in_chinese(
    app: Any, rt: Runtime
) -> None:
    incident_id = _incident(app, rt)
    supervisor = _browser(app, "supervisor1")
    first = supervisor.post(f"/incidents/{incident_id}/retry", follow_redirects=True)
    assert first.status_code == 200
    again = supervisor.post(
        f"/incidents/{incident_id}/retry", headers=CHINESE, follow_redirects=True
    )
    assert f'role="alert">异常事件 {incident_id} 已处理</div>' in again.text
    english = supervisor.post(
        f"/incidents/{incident_id}/retry", headers=ENGLISH, follow_redirects=True
    )
    assert f'role="alert">incident {incident_id} is already resolved</div>' in english.text


def test_an_integration_retrying_a_resolved_incident_reads_why_in_its_language(
    app: Any, rt: Runtime
) -> None:
    incident_id = _incident(app, rt)
    client = app.test_client()
    headers = token(client, "supervisor1")
    assert client.post(f"/api/incidents/{incident_id}/retry", headers=headers).status_code == 200
    again = client.post(f"/api/incidents/{incident_id}/retry", headers={**headers, **CHINESE})
    assert again.status_code == 409
    assert again.json["error"]["message"] == f"incident {incident_id} is already resolved"
    assert again.json["error"]["text"] == f"异常事件 {incident_id} 已处理"
    english = client.post(f"/api/incidents/{incident_id}/retry", headers={**headers, **ENGLISH})
    assert english.json["error"]["text"] == f"incident {incident_id} is already resolved"


# --- a refused form on an instance's or a link's page, in each language ----------------------

REFUSED_FORMS = {
    "a supervisor cancelling an instance without a reason": (
        "supervisor1",
        "/instances/{instance}/cancel",
        {"reason": " "},
        "请说明撤销该实例的原因",
        "say why the instance is cancelled",
    ),
    "a clerk consulting a role that cannot be consulted": (
        "planner1",
        "/work-items/{item}/consult",
        {"role": "auditor", "question": "Is the budget approved?"},
        "&#39;auditor&#39; 不是可以咨询的岗位",
        "&#39;auditor&#39; is not a role that can be consulted",
    ),
    "a clerk sending an empty comment": (
        "planner1",
        "/work-items/{item}/comment",
        {"body": "  "},
        "备注不能为空",
        "a comment needs some text",
    ),
    "a clerk sending an over-long comment": (
        "planner1",
        "/work-items/{item}/comment",
        {"body": "x" * 4001},
        "备注最多 4000 个字符",
        "a comment is at most 4000 characters",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_FORMS))
def test_a_refused_form_says_why_in_the_readers_language(app: Any, rt: Runtime, case: str) -> None:
    username, path, data, chinese, english = REFUSED_FORMS[case]
    instance_id, item_id = _budget_link(rt)
    person = _browser(app, username)
    page, english_page = post_in_both_languages(
        person, path.format(instance=instance_id, item=item_id), data
    )
    assert f'role="alert">{chinese}</div>' in page.text
    assert f'role="alert">{english}</div>' in english_page.text


# --- consultations -----------------------------------------------------------------------------


def test_a_specialist_answering_a_question_already_answered_reads_who_answered(
    app: Any, rt: Runtime
) -> None:
    _instance_id, item_id = _budget_link(rt)
    asked = _browser(app, "planner1").post(
        f"/work-items/{item_id}/consult",
        data={"role": "metering", "question": "Is a meter in stock?"},
    )
    assert asked.status_code == 302
    with rt.db.read() as session:
        consultation_id = session.scalars(select(Consultation.id)).one()
    meter = _browser(app, "meter1")
    path = f"/consultations/{consultation_id}/answer"
    assert meter.post(path, data={"answer": "Yes, two"}).status_code == 302
    again, english = post_in_both_languages(meter, path, {"answer": "Yes"})
    assert 'role="alert">已由 meter1 答复</div>' in again.text
    assert 'role="alert">already answered by meter1</div>' in english.text


# --- a question for another role -------------------------------------------------------------


def test_a_clerk_answering_a_question_for_another_role_reads_the_role_in_chinese(
    app: Any, rt: Runtime
) -> None:
    _instance_id, item_id = _budget_link(rt)
    planner = _browser(app, "planner1")
    planner.post(
        f"/work-items/{item_id}/consult",
        data={"role": "metering", "question": "Is a meter in stock?"},
    )
    with rt.db.read() as session:
        consultation_id = session.scalars(select(Consultation.id)).one()
    path = f"/consultations/{consultation_id}/answer"
    page, english = post_in_both_languages(planner, path, {"answer": "Yes"})
    assert 'role="alert">此咨询应由 计量装表 岗位答复</div>' in page.text
    assert 'role="alert">this question is for role &#39;metering&#39;</div>' in english.text
