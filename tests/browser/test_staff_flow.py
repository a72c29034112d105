"""Staff work a high-voltage connection in a real browser: intake at the service desk, the
account manager's acceptance (then the marketing system archives the customer), planning and
design's parallel survey and scheme, the four departments' countersign, the reply; form errors,
a lost race between two planners, role rules, and the demand's timeline.

Each test takes in a demand of its own (its own customer name), so the tests share the live
server but not their data. Pages are in English (the sessions' browser locale is en-US)."""

from __future__ import annotations

import re
from collections.abc import Callable

from conftest import serve_system_steps
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from gridflow import work_items
from gridflow.demands import DemandInput, create_demand
from gridflow.models import Demand, Instance, WorkItem
from gridflow.roles import Actor

from .conftest import LiveServer

Session = Callable[..., Page]

PLANNING_LINKS = ("Site survey", "Design supply scheme")
DESK = Actor("desk1", frozenset({"service_desk"}))
MANAGER = Actor("manager1", frozenset({"account_manager"}))
COUNTERSIGN = "Countersign the supply scheme"
# Who signs for each department when a test does not sign in the browser.
SIGNERS = {
    "planning_design": Actor("planner2", frozenset({"planning_design"})),
    "dispatch_repair": Actor("dispatch1", frozenset({"dispatch_repair"})),
    "metering": Actor("meter1", frozenset({"metering"})),
    "finance": Actor("finance1", frozenset({"finance"})),
}

# --- helpers ---------------------------------------------------------------------------------


def team_rows(page: Page, customer: str) -> Locator:
    """The team queue's rows for one customer (the page is loaded afresh)."""
    page.goto("/queue?scope=team")
    expect(page.locator("#tab-team")).to_have_class(re.compile(r"\bactive\b"))
    return page.locator("#queue tr[data-work-item]").filter(has_text=customer)


def open_from_team_queue(page: Page, customer: str, link_name: str) -> None:
    row = team_rows(page, customer).filter(has=page.get_by_role("link", name=link_name, exact=True))
    expect(row).to_have_count(1)
    row.get_by_role("link", name=link_name, exact=True).click()
    expect(page.locator("#link-name")).to_have_text(link_name)


def timeline_row(page: Page, element_id: str) -> Locator:
    return page.locator(f'.timeline tr[data-link="{element_id}"]')


def expect_completed(page: Page, link_name: str) -> None:
    expect(page.locator(".alert-success")).to_contain_text(f"Completed “{link_name}”")
    expect(page).to_have_url(re.compile(r"/queue\?scope=mine$"))


def take_in_hv_demand(page: Page, customer: str) -> None:
    """The intake form, filled as the front desk does for a high-voltage business customer."""
    with page.expect_response(re.compile(r"/demands/new$")) as answer:
        page.locator("#nav-new-demand").click()
    assert answer.value.status == 200
    assert answer.value.headers["content-type"].startswith("text/html"), answer.value.headers
    form = page.locator("#demand-form")
    form.locator("[name=customer_name]").fill(customer)
    form.locator("[name=address]").fill("江宁区科学园 88 号")
    form.locator("[name=phone]").fill("025-5210 8800")
    form.locator("[name=category]").select_option("connection")
    form.locator("[name=customer_category]").select_option("business")
    form.locator("[name=channel]").select_option("counter")
    form.locator("[name=voltage]").select_option("high")
    form.locator("[name=capacity_kw]").fill("800")
    form.locator("[name=supply]").select_option("dual")
    form.locator("[name=area]").select_option("urban")
    form.locator("[name=priority]").select_option("1")
    page.locator("#create-demand").click()
    expect(page).to_have_url(re.compile(r"/demands/\d+$"))
    expect(page.locator("h1")).to_contain_text(customer)


def fill_accept(page: Page) -> None:
    page.locator("#field_id_checked_true").check()
    page.locator("#field_capacity_kw").fill("800")
    page.locator("#field_supply").select_option("dual")
    page.locator("#field_customer_importance").select_option("none")


def fill_design(page: Page, number: str = "GH-2026-017") -> None:
    page.locator("#field_scheme_document_number").fill(number)
    page.locator("#field_scheme_summary").fill("Two 10 kV feeders from Jiangning substation")


def fill_reply(page: Page) -> None:
    page.locator("#field_reply_channel").select_option("counter")
    page.locator("#field_scheme_reply_number").fill("DF-2026-044")
    page.locator("#field_customer_acknowledged_true").check()


def accept_in_browser(manager: Page, customer: str, server: LiveServer) -> None:
    """The account manager accepts; then the marketing system archives the customer."""
    open_from_team_queue(manager, customer, "Accept application")
    fill_accept(manager)
    manager.locator("#complete").click()
    expect_completed(manager, "Accept application")
    serve_system_steps(server.rt, ("marketing_archive",))


def countersign_through_engine(server: LiveServer, customer: str, *roles: str) -> None:
    """The departments `roles` approve the customer's supply scheme (through the engine)."""
    with server.rt.db.read() as session:
        rows = session.execute(
            select(WorkItem.id, WorkItem.role)
            .join(Instance, Instance.id == WorkItem.instance_id)
            .join(Demand, Demand.id == Instance.demand_id)
            .where(
                Demand.customer_name == customer,
                WorkItem.element_id == "Activity_countersign",
                WorkItem.state.in_(("ready", "claimed")),
            )
            .order_by(WorkItem.id)
        ).all()
    for item_id, role in rows:
        if role in roles:
            signature = {"countersign_decision": "approve", "countersign_opinion": "Agreed"}
            work_items.complete(server.rt, item_id, SIGNERS[role], signature)


def take_in_through_engine(server: LiveServer, customer: str) -> int:
    """The same high-voltage demand, taken in by desk1 through the engine (not the browser).
    Returns the demand id."""
    accepted = create_demand(
        server.rt,
        DemandInput(
            customer_name=customer,
            customer_category="business",
            channel="counter",
            category="connection",
            address="江宁区科学园 88 号",
            voltage="high",
            capacity_kw=800,
            supply="dual",
        ),
        DESK,
    )
    return accepted.demand_id


def open_items(server: LiveServer, demand_id: int) -> dict[str, int]:
    """The demand's open links: element id → work item id."""
    with server.rt.db.read() as session:
        rows = session.execute(
            select(WorkItem.element_id, WorkItem.id)
            .join(Instance, Instance.id == WorkItem.instance_id)
            .where(Instance.demand_id == demand_id, WorkItem.state.in_(("ready", "claimed")))
        ).all()
    return {element: item for element, item in rows}


def demand_at_planning(server: LiveServer, customer: str) -> dict[str, int]:
    """A high-voltage demand taken in and accepted through the engine: survey and scheme design
    wait in planning and design's queue. Element id → work item id."""
    demand_id = take_in_through_engine(server, customer)
    work_items.complete(
        server.rt,
        open_items(server, demand_id)["Activity_accept"],
        MANAGER,
        {"id_checked": True, "capacity_kw": 800, "supply": "dual", "customer_importance": "none"},
    )
    serve_system_steps(server.rt, ("marketing_archive",))
    items = open_items(server, demand_id)
    assert set(items) == {"Activity_site_survey", "Activity_design_scheme"}
    return items


# --- tests -----------------------------------------------------------------------------------


def test_high_voltage_demand_from_intake_to_scheme_reply(
    browser_session: Session, live_server: LiveServer
) -> None:
    customer = "金陵精密制造有限公司"

    # The service desk takes the demand in; its page shows acceptance waiting.
    desk = browser_session("desk1")
    take_in_hv_demand(desk, customer)
    expect(desk.locator("h1")).to_contain_text(customer)
    accept_row = timeline_row(desk, "Activity_accept")
    expect(accept_row).to_have_attribute("data-state", "ready")
    expect(accept_row.locator("td").first).to_have_text("Accept application")
    expect(accept_row.locator("td").nth(2)).to_have_text("waiting")
    expect(desk.locator(".timeline tr[data-link]")).to_have_count(1)

    # The account manager accepts it from the team queue.
    manager = browser_session("manager1")
    accept_in_browser(manager, customer, live_server)

    # Planning and design sees both parallel links, and only those, for this customer.
    planner = browser_session("planner1")
    rows = team_rows(planner, customer)
    expect(rows).to_have_count(2)
    assert sorted(rows.locator("td:nth-child(3)").all_inner_texts()) == sorted(PLANNING_LINKS)

    # Claim the survey, submit it once without the supply point: only that field is marked,
    # and nothing was completed.
    open_from_team_queue(planner, customer, "Site survey")
    planner.locator("#claim").click()
    expect(planner.locator(".alert-success")).to_contain_text("You hold “Site survey” now.")
    expect(planner.locator("#item-state")).to_have_text("held by planner1")
    survey_row = timeline_row(planner, "Activity_site_survey")
    expect(survey_row).to_have_attribute("data-state", "claimed")

    planner.locator("#field_survey_date").fill("2026-03-03")
    with planner.expect_response(re.compile(r"/complete$")) as answer:
        planner.locator("#complete").click()
    assert answer.value.status == 422
    expect(planner.locator(".alert-danger")).to_have_text("Please correct the marked fields.")
    errors = planner.locator(".field-error")
    expect(errors).to_have_count(1)
    expect(errors).to_have_attribute("data-field", "supply_point")
    expect(planner.locator("#field_supply_point")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(planner.locator("#field_survey_date")).to_have_value("2026-03-03")
    expect(survey_row).to_have_attribute("data-state", "claimed")
    expect(timeline_row(planner, "Activity_design_scheme")).to_have_attribute("data-state", "ready")
    expect(planner.locator(".timeline tr[data-link][data-state=completed]")).to_have_count(1)
    # Between acceptance and planning, the marketing system archived the customer.
    archived = planner.locator('.timeline tr[data-step="Activity_archive_customer"]')
    expect(archived).to_have_attribute("data-state", "completed")

    planner.locator("#field_supply_point").fill("江宁变 10 kV 科园线")
    planner.locator("#field_survey_notes").fill("Cable route along the east fence is clear")
    planner.locator("#complete").click()
    expect_completed(planner, "Site survey")

    # The scheme design, completed straight from the team queue.
    open_from_team_queue(planner, customer, "Design supply scheme")
    fill_design(planner)
    planner.locator("#complete").click()
    expect_completed(planner, "Design supply scheme")
    expect(planner.locator(".alert-success")).to_contain_text(
        f"Next: {COUNTERSIGN} (Planning and design), {COUNTERSIGN} (Dispatch and repair), "
        f"{COUNTERSIGN} (Metering), {COUNTERSIGN} (Finance)."
    )

    # Four departments countersign the scheme, each in a link of its own: planning and design
    # signs here, the other three elsewhere.
    rows = team_rows(planner, customer)
    expect(rows).to_have_count(1)
    open_from_team_queue(planner, customer, COUNTERSIGN)
    planner.locator("#field_countersign_decision").select_option("approve")
    planner.locator("#field_countersign_opinion").fill("Agreed: the feeders have room")
    planner.locator("#complete").click()
    expect_completed(planner, COUNTERSIGN)
    expect(team_rows(planner, customer)).to_have_count(0)
    countersign_through_engine(live_server, customer, "dispatch_repair", "metering", "finance")

    # Back to the account manager: the reply waits in the team queue.
    rows = team_rows(manager, customer)
    expect(rows).to_have_count(1)
    expect(rows.locator("td:nth-child(3)")).to_have_text("Reply supply scheme")


def lose_the_race(browser_session: Session, server: LiveServer, customer: str) -> Page:
    """planner1 and planner2 open the scheme design before anyone claims it; planner1
    completes it; planner2 then types into the stale page and submits. planner2's page."""
    items = demand_at_planning(server, customer)
    first = browser_session("planner1")
    second = browser_session("planner2")

    open_from_team_queue(first, customer, "Design supply scheme")
    second.goto(f"/work-items/{items['Activity_design_scheme']}")
    expect(second.locator("#link-name")).to_have_text("Design supply scheme")
    expect(second.locator("#complete")).to_be_visible()

    fill_design(first, number="GH-2026-101")
    first.locator("#complete").click()
    expect_completed(first, "Design supply scheme")

    fill_design(second, number="GH-2026-202")
    with second.expect_response(re.compile(r"/complete$")) as answer:
        second.locator("#complete").click()
    assert answer.value.status == 409
    expect(second.locator(".alert-warning")).to_be_visible()
    return second


def test_second_planner_on_a_stale_page_gets_the_conflict_message(
    browser_session: Session, live_server: LiveServer
) -> None:
    second = lose_the_race(browser_session, live_server, "秦淮数据中心有限公司")
    conflict = second.locator(".alert-warning")
    expect(conflict).to_contain_text("planner1 completed “Design supply scheme” at ")
    expect(conflict).to_contain_text("before you. Nothing you entered was saved")
    expect(second.locator("#complete")).to_have_count(0)
    expect(second.locator(".alert-success")).to_have_count(0)
    # planner1's completion stands; planner2's did not happen.
    expect(second.locator("#item-state")).to_have_text("completed by planner1")
    row = timeline_row(second, "Activity_design_scheme")
    expect(row).to_have_attribute("data-state", "completed")
    expect(row.locator(".holder")).to_have_text("planner1")


def test_stale_page_conflict_keeps_what_the_second_planner_typed(
    browser_session: Session, live_server: LiveServer
) -> None:
    second = lose_the_race(browser_session, live_server, "秦淮数据中心二期")
    expect(second.locator(".alert-warning")).to_contain_text("it is shown below")
    expect(second.locator("#typed-not-saved")).to_be_visible()
    form = second.locator("#link-form")
    expect(form.locator("#field_scheme_document_number")).to_have_value("GH-2026-202")
    expect(form.locator("#field_scheme_summary")).to_have_value(
        "Two 10 kV feeders from Jiangning substation"
    )


def test_metering_neither_sees_nor_opens_planning_links(
    browser_session: Session, live_server: LiveServer
) -> None:
    customer = "栖霞冷链物流有限公司"
    items = demand_at_planning(live_server, customer)

    # The planners do see them (so the empty metering queue below means something).
    planner = browser_session("planner1")
    expect(team_rows(planner, customer)).to_have_count(2)

    meter = browser_session("meter1")
    expect(team_rows(meter, customer)).to_have_count(0)
    for link_name in PLANNING_LINKS:
        expect(meter.locator("#queue").get_by_role("link", name=link_name)).to_have_count(0)
        # Nor does the queue's link filter name them.
        expect(meter.locator("select[name=link] option", has_text=link_name)).to_have_count(0)

    for element_id in ("Activity_site_survey", "Activity_design_scheme"):
        response = meter.goto(f"/work-items/{items[element_id]}")
        assert response is not None and response.status == 403
        expect(meter.locator("#error")).to_contain_text("Not allowed.")
        expect(meter.locator("#error")).to_contain_text("This link belongs to another role.")
        expect(meter.locator("#link-form")).to_have_count(0)
        expect(meter.locator("#claim")).to_have_count(0)


def test_timeline_lists_every_link_with_holder_and_state(
    browser_session: Session, live_server: LiveServer
) -> None:
    customer = "浦口轨道交通车辆段"
    demand_url = f"/demands/{take_in_through_engine(live_server, customer)}"

    manager = browser_session("manager1")
    accept_in_browser(manager, customer, live_server)

    planner1 = browser_session("planner1")
    open_from_team_queue(planner1, customer, "Site survey")
    planner1.locator("#claim").click()
    expect(planner1.locator("#item-state")).to_have_text("held by planner1")
    planner1.locator("#field_survey_date").fill("2026-03-03")
    planner1.locator("#field_supply_point").fill("浦口变 10 kV 车辆段线")
    planner1.locator("#complete").click()
    expect_completed(planner1, "Site survey")

    planner2 = browser_session("planner2")
    open_from_team_queue(planner2, customer, "Design supply scheme")
    fill_design(planner2)
    planner2.locator("#complete").click()
    expect_completed(planner2, "Design supply scheme")
    countersign_through_engine(live_server, customer, *SIGNERS)

    open_from_team_queue(manager, customer, "Reply supply scheme")
    fill_reply(manager)
    manager.locator("#complete").click()
    expect_completed(manager, "Reply supply scheme")

    # planner1 takes the customer's design review in hand.
    open_from_team_queue(planner1, customer, "Review customer design")
    planner1.locator("#claim").click()
    expect(planner1.locator("#item-state")).to_have_text("held by planner1")

    desk = browser_session("desk1")
    desk.goto(demand_url)
    expected = [
        ("Activity_accept", "Accept application", "Account manager", "done", "manager1"),
        ("Activity_site_survey", "Site survey", "Planning and design", "done", "planner1"),
        (
            "Activity_design_scheme",
            "Design supply scheme",
            "Planning and design",
            "done",
            "planner2",
        ),
        ("Activity_reply_scheme", "Reply supply scheme", "Account manager", "done", "manager1"),
        (
            "Activity_review_design",
            "Review customer design",
            "Planning and design",
            "in hand",
            "planner1",
        ),
    ]
    signatures = [
        ("Planning and design", "planner2"),
        ("Dispatch and repair", "dispatch1"),
        ("Metering", "meter1"),
        ("Finance", "finance1"),
    ]
    rows = desk.locator(".timeline tr[data-link]")
    expect(rows).to_have_count(len(expected) + len(signatures))
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.link)")) == sorted(
        [element for element, *_ in expected] + ["Activity_countersign"] * len(signatures)
    )
    # One countersign link per department, each done by its own people.
    countersigned = timeline_row(desk, "Activity_countersign")
    for n, (lane, holder) in enumerate(signatures):
        cells = countersigned.nth(n).locator("td")
        expect(cells.nth(0)).to_have_text(COUNTERSIGN)
        expect(cells.nth(1)).to_have_text(lane)
        expect(cells.nth(2)).to_have_text("done")
        expect(countersigned.nth(n).locator(".holder")).to_have_text(holder)
    for element_id, name, lane, state, holder in expected:
        row = timeline_row(desk, element_id)
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(name)
        expect(cells.nth(1)).to_have_text(lane)
        expect(cells.nth(2)).to_have_text(state)
        expect(row.locator(".holder")).to_have_text(holder)
        expect(row).to_have_attribute(
            "data-state", "claimed" if state == "in hand" else "completed"
        )
    expect(desk.locator(".instance .next")).to_contain_text("Review customer design")
