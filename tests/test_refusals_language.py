"""A refused verb is said in the reader's language: the engine's refusals (a link completed by
another, a value a form field refuses, a variable a gateway needs that nobody set) are
catalogue texts with their values, translated on the page that shows them."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from conftest import CHINESE, ENGLISH, force_into_store, item_for, login, token
from flask.testing import FlaskClient

from gridflow.instances import start_instance
from gridflow.runtime import Runtime

BREAKER = Path(__file__).parent / "bpmn" / "breakers" / "budget_gate.bpmn"


def _budget_link(rt: Runtime) -> tuple[int, int]:
    # The gateway after the link reads the optional budget: a run-time breaker the lint
    # refuses, forced into the store to show what a clerk reads when it breaks.
    force_into_store(rt, "budget_gate", BREAKER.read_bytes(), BREAKER.name)
    started = start_instance(rt, "budget_gate", {}, business_key="B-1")
    item = item_for(rt, started.instance_id, "Task_budget")
    return started.instance_id, item.id


def _browser(app: Any, username: str) -> FlaskClient:
    browser = FlaskClient(app, app.response_class, use_cookies=True)
    login(browser, username)
    return browser


def _flash(page: str) -> str:
    return html.unescape(page)


def test_a_clerk_claiming_a_link_another_clerk_just_completed_reads_the_refusal_in_chinese(
    app: Any, rt: Runtime
) -> None:
    instance_id, item_id = _budget_link(rt)
    first, second = _browser(app, "planner1"), _browser(app, "planner2")
    # Both open the link at version 1; the first completes it.
    done = first.post(f"/work-items/{item_id}/complete", data={"version": 1, "field_budget": "500"})
    assert done.status_code == 302
    late = second.post(
        f"/work-items/{item_id}/claim", data={"version": 1}, headers=CHINESE, follow_redirects=True
    )
    assert "“Enter the budget”已由 planner1 办结" in _flash(late.text)
    assert "was already completed" not in late.text
    english = second.post(
        f"/work-items/{item_id}/claim", data={"version": 1}, headers=ENGLISH, follow_redirects=True
    )
    assert "Enter the budget was already completed by planner1" in _flash(english.text)


def test_a_clerk_reads_why_a_field_was_refused_in_chinese(app: Any, rt: Runtime) -> None:
    _instance_id, item_id = _budget_link(rt)
    planner = _browser(app, "planner1")
    page = planner.post(
        f"/work-items/{item_id}/complete",
        data={"version": 1, "field_budget": "a lot"},
        headers=CHINESE,
    )
    assert page.status_code == 422
    assert (
        '<div class="invalid-feedback d-block field-error" data-field="budget">请填写整数</div>'
        in (page.text)
    )
    english = planner.post(
        f"/work-items/{item_id}/complete",
        data={"version": 1, "field_budget": "a lot"},
        headers=ENGLISH,
    )
    assert 'data-field="budget">must be a whole number</div>' in english.text


def test_a_clerk_whose_link_leads_to_a_gateway_missing_a_value_reads_why_in_chinese(
    app: Any, rt: Runtime
) -> None:
    _instance_id, item_id = _budget_link(rt)
    planner = _browser(app, "planner1")
    page = planner.post(f"/work-items/{item_id}/complete", data={"version": 1}, headers=CHINESE)
    assert page.status_code == 422
    text = _flash(page.text)
    assert (
        "办结此环节后流程无法继续（在“Gateway_budget”处：变量 budget 未赋值（表达式 ${budget > 100}））"
        in text
    )
    assert "undefined variable" not in text
    english = _flash(
        planner.post(f"/work-items/{item_id}/complete", data={"version": 1}, headers=ENGLISH).text
    )
    assert (
        "(at “Gateway_budget”: the variable budget is not set (expression ${budget > 100})). Nothing"
        in english
    )


def test_an_integration_reads_the_refusal_in_its_requests_language_and_in_english(
    app: Any, rt: Runtime
) -> None:
    _instance_id, item_id = _budget_link(rt)
    client = app.test_client()
    first, second = token(client, "planner1"), token(client, "planner2")
    done = client.post(
        f"/api/work-items/{item_id}/complete",
        json={"version": 1, "data": {"budget": 500}},
        headers=first,
    )
    assert done.status_code == 200, done.text
    late = client.post(
        f"/api/work-items/{item_id}/complete",
        json={"version": 1, "data": {"budget": 700}},
        headers={**second, **CHINESE},
    )
    assert late.status_code == 409
    assert late.json["error"]["message"] == "Enter the budget was already completed by planner1"
    assert late.json["error"]["text"] == "“Enter the budget”已由 planner1 办结"


def test_a_clerk_whose_link_leads_to_a_gateway_with_no_way_on_reads_why_in_chinese(
    app: Any, rt: Runtime
) -> None:
    # The gateway has no default flow and no condition holds for a budget of 50.
    xml = (
        BREAKER.read_bytes()
        .replace(b' default="Flow_small"', b"")
        .replace(
            b'<bpmn:sequenceFlow id="Flow_small" sourceRef="Gateway_budget" targetRef="End_small" />',
            b'<bpmn:sequenceFlow id="Flow_small" sourceRef="Gateway_budget" targetRef="End_small">'
            b'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${budget &lt; 10}'
            b"</bpmn:conditionExpression></bpmn:sequenceFlow>",
        )
    )
    assert b"default=" not in xml and b"budget &lt; 10" in xml
    force_into_store(rt, "budget_gate", xml, BREAKER.name)
    started = start_instance(rt, "budget_gate", {}, business_key="B-2")
    item = item_for(rt, started.instance_id, "Task_budget")
    planner = _browser(app, "planner1")
    page = planner.post(
        f"/work-items/{item.id}/complete",
        data={"version": 1, "field_budget": "50"},
        headers=CHINESE,
    )
    assert page.status_code == 422
    assert "（在“Gateway_budget”处：此网关没有条件成立的出口流向）" in _flash(page.text)
