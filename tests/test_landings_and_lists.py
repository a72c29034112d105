"""Each role lands on its own page; supervisors on a team overview of load, overdue links and
escalations; `/demands` is paged with a total and searched by demand number, customer or phone
(personal data by need); the timeline shows what was entered at each completed link; and the
smaller findings: a stale form says what happened, "Next:" names the next links, a
consultation names its demand, the audit's "all processes" shows every process."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from conftest import (
    STAFF_PASSWORD,
    complete,
    item_for,
    login,
    open_items,
    serve_system_steps,
)

from gridflow import consultations, demands, users
from gridflow.clock import SimulatedClock
from gridflow.roles import Actor
from gridflow.runtime import Runtime

DESK = Actor("desk1", frozenset({"service_desk"}))


def connection(rt: Runtime, n: int, phone: str = "13800138000") -> demands.Accepted:
    return demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name=f"Customer {n:03d}",
            customer_category="business",
            channel="counter",
            category="connection",
            address=f"{n} Jianshe Road",
            phone=phone,
            voltage="high",
            capacity_kw=800,
            supply="single",
        ),
        DESK,
    )


def test_each_role_lands_on_its_own_page(client: Any, rt: Runtime) -> None:
    users.create_user(rt, "designer9", STAFF_PASSWORD, ["designer"])
    for username, landing in (
        ("supervisor1", "/team"),
        ("auditor1", "/audit/links"),
        ("designer9", "/designer/"),
        ("desk1", "/queue?scope=team"),
        ("planner1", "/queue?scope=team"),
    ):
        client.post("/logout")
        signed_in = client.post("/login", data={"username": username, "password": STAFF_PASSWORD})
        assert signed_in.headers["Location"] == "/", username
        assert client.get("/").headers["Location"] == landing, username
        assert client.get(landing).status_code == 200, username


def test_the_team_overview_shows_load_overdue_links_and_escalations(
    client: Any, rt: Runtime, clock: SimulatedClock
) -> None:
    first = connection(rt, 1).instances[0].instance_id
    connection(rt, 2)
    accept = item_for(rt, first, "Activity_accept")
    from gridflow import work_items

    work_items.claim(rt, accept.id, Actor("manager1", frozenset({"account_manager"})))
    clock.advance(timedelta(days=3))  # the one-working-day acceptance is overdue for both
    login(client, "supervisor1")
    page = client.get("/team")
    assert page.status_code == 200
    text = page.text
    assert "Overdue links: 2" in text
    assert '<tr data-person="manager1" class="table-danger">' in text
    person = text.split('data-person="manager1"')[1].split("</tr>")[0]
    assert '<td class="text-end held">1</td>' in person
    assert '<td class="text-end overdue">1</td>' in person
    overdue = text.split('id="team-overdue"')[1]
    assert overdue.count("<tr data-work-item=") == 2
    assert "team queue" in overdue and "manager1" in overdue
    assert "No escalation is waiting." in text


def test_demands_are_paged_with_a_total_and_searched_by_number_name_and_phone(
    client: Any, rt: Runtime
) -> None:
    made = [connection(rt, n, phone=f"0571-8765{n:04d}") for n in range(1, 31)]
    login(client, "desk1")
    first = client.get("/demands")
    assert "1–25 of 30 demands" in first.text
    assert first.text.count("<tr data-demand=") == 25
    assert "Page 1 of 2" in first.text and 'id="next-page"' in first.text
    assert 'id="previous-page"' not in first.text
    second = client.get("/demands?page=2")
    assert "26–30 of 30 demands" in second.text
    assert second.text.count("<tr data-demand=") == 5
    assert 'id="previous-page"' in second.text and 'id="next-page"' not in second.text
    assert "Customer 001" in second.text  # newest first: the first one is last
    fifty = client.get("/demands?per_page=50")
    assert fifty.text.count("<tr data-demand=") == 30 and "Page 1 of 1" in fifty.text

    by_phone = client.get("/demands", query_string={"q": "0571 8765 0007"})
    assert "1–1 of 1 demands" in by_phone.text and "Customer 007" in by_phone.text
    by_name = client.get("/demands", query_string={"q": "customer 01"})
    assert "1–10 of 10 demands" in by_name.text
    reference = made[11].reference
    by_number = client.get("/demands", query_string={"q": reference})
    assert "1–1 of 1 demands" in by_number.text and "Customer 012" in by_number.text
    by_id = client.get("/demands", query_string={"q": str(made[11].demand_id)})
    assert f'<tr data-demand="{made[11].demand_id}">' in by_id.text

    # A metering clerk may not see these customers: not found by name or phone, and their
    # names are masked where found by number.
    metering = client.application.test_client()
    login(metering, "meter1")
    assert "No demand found." in metering.get("/demands?q=Customer+007").text
    assert "No demand found." in metering.get("/demands?q=0571-87650007").text
    masked = metering.get("/demands", query_string={"q": reference})
    assert "1–1 of 1 demands" in masked.text
    assert "Customer 012" not in masked.text and "<td>C**</td>" in masked.text


def test_the_timeline_shows_what_was_entered_at_each_completed_link(
    client: Any, rt: Runtime
) -> None:
    accepted = connection(rt, 1)
    instance_id = accepted.instances[0].instance_id
    done = complete(
        rt,
        instance_id,
        "Activity_accept",
        {"id_checked": True, "capacity_kw": 800, "supply": "dual"},
    )
    login(client, "manager1")
    page = client.get(f"/demands/{accepted.demand_id}")
    row = page.text.split('data-entered="Activity_accept"')[1].split("</tr>")[0]
    form = rt.definition(done.definition_id).links["Activity_accept"]
    labels = {f.id: f.label for f in form.form.fields}
    assert f"<strong>{labels['capacity_kw']}</strong>: 800" in row
    assert f"<strong>{labels['id_checked']}</strong>: Yes" in row
    supply = dict(form.form.field("supply").options)["dual"]  # type: ignore[union-attr]
    assert f"<strong>{labels['supply']}</strong>: {supply}" in row
    # In Chinese, the labels of the link's own version in Chinese.
    book = rt.labels(done.definition_id)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    client.post("/language", data={"locale": "zh_Hans"})
    chinese = client.get(f"/demands/{accepted.demand_id}").text
    row = chinese.split('data-entered="Activity_accept"')[1].split("</tr>")[0]
    zh_capacity = book.text("zh_Hans", "Activity_accept", "", field="capacity_kw")
    zh_dual = book.text("zh_Hans", "Activity_accept", "", field="supply", value="dual")
    assert zh_capacity and zh_capacity != labels["capacity_kw"]
    assert f"<strong>{zh_capacity}</strong>: 800" in row
    assert (
        f"<strong>{book.text('zh_Hans', 'Activity_accept', '', field='supply')}</strong>: {zh_dual}"
        in row
    )
    assert labels["capacity_kw"] not in row


def test_a_stale_form_of_ones_own_says_so_and_offers_no_complete_button(
    app: Any, rt: Runtime
) -> None:
    instance_id = connection(rt, 1).instances[0].instance_id
    accept = item_for(rt, instance_id, "Activity_accept")
    data = {
        "version": str(accept.lock_version),
        "field_id_checked": "true",
        "field_capacity_kw": "800",
        "field_supply": "single",
        "field_customer_importance": "none",
    }
    one_tab, other_tab = app.test_client(), app.test_client()
    login(one_tab, "manager1")
    login(other_tab, "manager1")
    assert one_tab.post(f"/work-items/{accept.id}/complete", data=data).status_code == 302
    again = other_tab.post(f"/work-items/{accept.id}/complete", data=data)
    assert again.status_code == 409
    assert "You already completed “Accept application”" in again.text
    assert "(in another tab or window)" in again.text
    assert "Someone else got there first" not in again.text
    assert 'id="complete"' not in again.text


def test_next_names_the_next_links_not_the_one_just_done(client: Any, rt: Runtime) -> None:
    repair = demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name="Zhou Min",
            customer_category="residential",
            channel="call_centre",
            category="repair",
            address="12 Heping Road",
            phone="13800138000",
        ),
        DESK,
    )
    instance_id = repair.instances[0].instance_id
    accept = item_for(rt, instance_id, "Activity_accept")
    form = rt.definition(accept.definition_id).links["Activity_accept"].form
    values = form.complete_with_examples({})
    data = {
        f"field_{key}": (str(value).lower() if isinstance(value, bool) else str(value))
        for key, value in values.items()
    }
    login(client, "desk1")
    done = client.post(
        f"/work-items/{accept.id}/complete",
        data={"version": str(accept.lock_version), **data},
        follow_redirects=True,
    )
    flashed = done.text.split('class="alert alert-success"')[1].split("</div>")[0]
    assert flashed.endswith(
        "Completed “Accept fault report”. Next: Dispatch repair crew (Dispatch and repair)."
    )


def test_a_consultation_names_its_link_demand_and_customer(client: Any, rt: Runtime) -> None:
    accepted = connection(rt, 1)
    instance_id = accepted.instances[0].instance_id
    accept = item_for(rt, instance_id, "Activity_accept")
    consultations.ask(
        rt,
        accept.id,
        Actor("admin", frozenset({"admin"})),
        "planning_design",
        "Is 800 kW on feeder F12 ok?",
    )
    login(client, "planner1")
    page = client.get("/consultations")
    subject = page.text.split('class="h6 consultation-subject"')[1].split("</h2>")[0]
    assert "Accept application" in subject
    assert accepted.reference in subject
    assert f'href="/demands/{accepted.demand_id}"' in subject


def test_the_audit_with_all_processes_lists_every_process(client: Any, rt: Runtime) -> None:
    lv = demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name="Zhou Min",
            customer_category="residential",
            channel="counter",
            category="connection",
            capacity_kw=8,
        ),
        DESK,
    )
    hv = connection(rt, 1)
    complete(rt, lv.instances[0].instance_id, "Activity_accept")
    complete(
        rt,
        hv.instances[0].instance_id,
        "Activity_accept",
        {"id_checked": True, "capacity_kw": 800, "supply": "single"},
    )
    login(client, "auditor1")
    everything = client.get("/audit/links?process=")
    assert 'id="all-processes"' in everything.text
    assert 'data-process="lv_residential_connection"' in everything.text
    assert 'data-process="hv_connection"' in everything.text
    one = client.get("/audit/links?process=hv_connection")
    assert 'data-process="lv_residential_connection"' not in one.text
    assert 'data-process="hv_connection"' in one.text


def test_repair_trends_are_plotted_in_minutes_not_working_days(
    client: Any, rt: Runtime, clock: SimulatedClock
) -> None:
    """A repair's cap is clock time (minutes and hours): its trend is in minutes; a connection's
    stays in working days."""
    repair = demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name="Zhou Min",
            customer_category="residential",
            channel="call_centre",
            category="repair",
            address="12 Heping Road",
            phone="13800138000",
        ),
        DESK,
    )
    instance_id = repair.instances[0].instance_id
    answers: dict[str, dict[str, object]] = {}
    for _ in range(20):
        serve_system_steps(rt)
        waiting = open_items(rt, instance_id)
        if not waiting:
            break
        clock.advance(timedelta(minutes=10))
        complete(rt, instance_id, waiting[0].element_id, answers.get(waiting[0].element_id))
    assert open_items(rt, instance_id) == []
    login(client, "auditor1")
    page = client.get("/audit/processes?process=fault_repair")
    data = json.loads(page.text.split('id="audit-data">')[1].split("</script>")[0])
    assert data["units"]["fault_repair"] == {"label": "median minutes", "axis": "minutes"}
    [point] = data["series"]["fault_repair"]
    assert 10 <= point["value"] <= 120  # minutes, not 0.11 working days
