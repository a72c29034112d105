"""Staff pages through HTTP: sign-in, role rules, intake, forms with field errors, conflicts,
comments, consultations and CSRF protection."""

from __future__ import annotations

import re
from typing import Any

from conftest import STAFF_PASSWORD, login, serve_system_steps
from sqlalchemy import select

from gridflow.models import TaskEvent, WorkItem
from gridflow.runtime import Runtime

HV_FORM = {
    "customer_name": "Hongda Steel",
    "address": "88 Jianshe Road",
    "phone": "0571-88886666",
    "category": "connection",
    "customer_category": "business",
    "channel": "counter",
    "voltage": "high",
    "capacity_kw": "800",
    "supply": "dual",
    "area": "urban",
    "priority": "2",
}


def items(rt: Runtime, element_id: str) -> list[WorkItem]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(WorkItem).where(WorkItem.element_id == element_id).order_by(WorkItem.id)
            )
        )


def intake(app: Any) -> int:
    desk = app.test_client()
    login(desk, "desk1")
    response = desk.post("/demands/new", data=HV_FORM)
    assert response.status_code == 302, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def accept(app: Any, rt: Runtime) -> None:
    manager = app.test_client()
    login(manager, "manager1")
    [item] = items(rt, "Activity_accept")
    response = manager.post(
        f"/work-items/{item.id}/complete",
        data={
            "version": item.lock_version,
            "field_id_checked": "true",
            "field_capacity_kw": "800",
            "field_supply": "dual",
            "field_customer_importance": "none",
        },
    )
    assert response.status_code == 302, response.text
    serve_system_steps(rt)  # the marketing system archives the customer


def test_sign_in_refuses_a_wrong_password_and_keeps_next_local(client: Any) -> None:
    wrong = client.post("/login", data={"username": "desk1", "password": "guess"})
    assert wrong.status_code == 401
    assert "Wrong user name or password." in wrong.text
    assert client.get("/queue").status_code == 302
    right = client.post(
        "/login?next=https://evil.example/steal",
        data={"username": "desk1", "password": STAFF_PASSWORD},
    )
    assert right.headers["Location"] == "/"


def test_intake_starts_the_process_and_shows_the_timeline(app: Any, rt: Runtime) -> None:
    demand_id = intake(app)
    desk = app.test_client()
    login(desk, "desk1")
    page = desk.get(f"/demands/{demand_id}")
    assert page.status_code == 200
    assert "Hongda Steel" in page.text
    assert re.search(r'data-link="Activity_accept" data-state="ready"', page.text)
    [item] = items(rt, "Activity_accept")
    assert (item.role, item.state) == ("account_manager", "ready")


def test_intake_with_bad_values_names_the_fields_and_creates_nothing(app: Any, rt: Runtime) -> None:
    desk = app.test_client()
    login(desk, "desk1")
    response = desk.post("/demands/new", data={**HV_FORM, "capacity_kw": "lots"})
    assert response.status_code == 422
    assert 'data-field="capacity_kw">must be a number of kW' in response.text
    assert 'value="Hongda Steel"' in response.text
    assert items(rt, "Activity_accept") == []


def test_only_front_desk_roles_take_in_demands(app: Any) -> None:
    planner = app.test_client()
    login(planner, "planner1")
    assert planner.get("/demands/new").status_code == 403
    assert planner.post("/demands/new", data=HV_FORM).status_code == 403


def test_a_metering_clerk_cannot_see_claim_or_complete_a_planning_link(
    app: Any, rt: Runtime
) -> None:
    intake(app)
    accept(app, rt)
    [survey] = items(rt, "Activity_site_survey")
    meter = app.test_client()
    login(meter, "meter1")
    queue = meter.get("/queue?scope=team")
    assert "Site survey" not in queue.text
    assert meter.get(f"/work-items/{survey.id}").status_code == 403
    assert (
        meter.post(
            f"/work-items/{survey.id}/claim", data={"version": survey.lock_version}
        ).status_code
        == 403
    )
    assert (
        meter.post(
            f"/work-items/{survey.id}/complete", data={"version": survey.lock_version}
        ).status_code
        == 403
    )
    planner = app.test_client()
    login(planner, "planner1")
    queue = planner.get("/queue?scope=team")
    assert "Site survey" in queue.text and "Design supply scheme" in queue.text


def test_a_form_with_a_missing_field_shows_the_error_and_keeps_what_was_typed(
    app: Any, rt: Runtime
) -> None:
    intake(app)
    accept(app, rt)
    [survey] = items(rt, "Activity_site_survey")
    planner = app.test_client()
    login(planner, "planner1")
    claimed = planner.post(f"/work-items/{survey.id}/claim", data={"version": 1})
    assert claimed.status_code == 302
    page = planner.get(f"/work-items/{survey.id}")
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    link = rt.definition(survey.definition_id).links["Activity_site_survey"]
    required = [f for f in link.form.fields if f.required]
    given = {
        f"field_{f.id}": str(f.example()).lower() if f.type == "boolean" else str(f.example())
        for f in required[1:]
    }
    response = planner.post(f"/work-items/{survey.id}/complete", data={"version": version, **given})
    assert response.status_code == 422
    errors = re.findall(
        r'class="invalid-feedback d-block field-error" data-field="(\w+)"', response.text
    )
    assert errors == [required[0].id]
    [still] = items(rt, "Activity_site_survey")
    assert (still.state, still.assignee) == ("claimed", "planner1")
    given[f"field_{required[0].id}"] = (
        str(required[0].example()).lower()
        if (required[0].type == "boolean")
        else str(required[0].example())
    )
    done = planner.post(f"/work-items/{survey.id}/complete", data={"version": version, **given})
    assert done.status_code == 302
    [finished] = items(rt, "Activity_site_survey")
    assert (finished.state, finished.completed_by) == ("completed", "planner1")


def test_a_stale_page_gets_the_conflict_message_and_keeps_the_typed_values(
    app: Any, rt: Runtime
) -> None:
    intake(app)
    accept(app, rt)
    [scheme] = items(rt, "Activity_design_scheme")
    link = rt.definition(scheme.definition_id).links["Activity_design_scheme"]
    data = {
        f"field_{f.id}": (str(f.example()).lower() if f.type == "boolean" else str(f.example()))
        for f in link.form.fields
        if f.required
    }
    first, second = app.test_client(), app.test_client()
    login(first, "planner1")
    login(second, "planner2")
    assert (
        first.post(f"/work-items/{scheme.id}/complete", data={"version": 1, **data}).status_code
        == 302
    )
    typed = {**data, "field_scheme_summary": "Planner two's careful notes"}
    late = second.post(f"/work-items/{scheme.id}/complete", data={"version": 1, **typed})
    assert late.status_code == 409
    assert "planner1 completed “Design supply scheme” at 2026-03-02" in late.text
    assert "before you. Nothing you entered was saved; it is shown below." in late.text
    assert "Planner two&#39;s careful notes" in late.text
    assert 'id="complete"' not in late.text


def test_comments_and_consultations_reach_the_timeline_and_the_specialists(
    app: Any, rt: Runtime
) -> None:
    demand_id = intake(app)
    [item] = items(rt, "Activity_accept")
    manager = app.test_client()
    login(manager, "manager1")
    manager.post(f"/work-items/{item.id}/comment", data={"body": "Customer prefers mornings"})
    manager.post(
        f"/work-items/{item.id}/consult",
        data={"role": "planning_design", "question": "Is 800 kW on feeder F12 ok?"},
    )
    planner = app.test_client()
    login(planner, "planner1")
    asked = planner.get("/consultations")
    assert "Is 800 kW on feeder F12 ok?" in asked.text
    consultation_id = re.search(r"/consultations/(\d+)/answer", asked.text).group(1)  # type: ignore[union-attr]
    planner.post(f"/consultations/{consultation_id}/answer", data={"answer": "Yes, 1.2 MVA free"})
    timeline = planner.get(f"/demands/{demand_id}").text
    assert "Customer prefers mornings" in timeline
    assert "Yes, 1.2 MVA free" in timeline
    [still] = items(rt, "Activity_accept")
    assert still.state == "ready"  # consulting does not move the link
    with rt.db.read() as session:
        lifecycles = list(
            session.scalars(
                select(TaskEvent.lifecycle)
                .where(TaskEvent.work_item_id == item.id)
                .order_by(TaskEvent.id)
            )
        )
    assert lifecycles == ["ready", "help_requested"]


def test_forms_without_a_csrf_token_are_refused(rt: Runtime) -> None:
    from gridflow.app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, runtime=rt)
    client = app.test_client()
    response = client.post("/login", data={"username": "desk1", "password": STAFF_PASSWORD})
    assert response.status_code == 400


def test_the_same_intake_form_sent_twice_takes_the_demand_in_once(app: Any, rt: Runtime) -> None:
    desk = app.test_client()
    login(desk, "desk1")
    form = desk.get("/demands/new").text
    key = re.search(r'name="request_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    first = desk.post("/demands/new", data={**HV_FORM, "request_key": key})
    second = desk.post("/demands/new", data={**HV_FORM, "request_key": key})
    assert first.headers["Location"] == second.headers["Location"]
    assert len(items(rt, "Activity_accept")) == 1
