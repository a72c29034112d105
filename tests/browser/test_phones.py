"""Phones. At 390 × 844 (a phone held upright) every staff page of every role, on the demo's
data, is no wider than the screen, and its folded menu opens on Sign out and the language
choice. At 1366 px an administrator's header, the longest, stays one line. A repair crew works a
fault from the field view: calls the customer, opens the address on a map, records its arrival
and the restoration of supply on the clock and completes both links; the timeline shows when.

The pages come from the permission table (`ROUTES`): every GET page route a role may open, its
path values taken from the demo (a link the role may see, a demand, an instance, a process, a
decision). Files (BPMN, DMN, CSV, XES, JSON, a customer's document) are downloads and /healthz, /readyz and /metrics answer
machines: they are not pages. Screenshots are saved in
the test's temporary folder only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from gridflow import access, demands, users, work_items
from gridflow.app.permissions import ANYONE, LINK_PASSERS, ROLES, ROUTES, SHIPPED
from gridflow.demo import run_demo
from gridflow.models import Definition, Instance, WorkItem
from gridflow.roles import Actor

from .conftest import PASSWORD, PROCESSES, LiveServer

Session = Callable[..., Page]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}
DOWNLOADS = (".bpmn", ".dmn", ".csv", ".xes", ".json", "/documents/<int:document_id>")
# Answers for machines (monitoring), not pages.
MACHINES = ("/healthz", "/readyz", "/metrics")
# An integration account opens no page; a customer signs in on the portal by a code, whose
# pages tests/browser/test_customer_portal.py checks at this width.
PEOPLE = sorted(ROLES - {"integration", "customer"})
ADMIN = Actor("admin", frozenset({"admin"}))
# Pages whose diagram or chart is drawn after the page has loaded.
DRAWN_LATER = "#audit-diagram, [data-bpmn-url], canvas, .gf-modeler, .gf-decision"
# The widest elements past the screen's right edge: what a failure names.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      wide.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}` +
                `${el.classList.length ? "." + [...el.classList].slice(0, 2).join(".") : ""}` +
                ` to ${Math.round(box.right)} px`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
          wide: wide.slice(0, 5)};
}"""


@pytest.fixture(scope="module")
def demo(live_server: LiveServer) -> dict[str, Any]:
    """The demo's demands, some done and some in flight at the server's now, and one account
    of every role; the path values its pages need."""
    rt = live_server.rt
    run_demo(
        rt.db.url,
        instances=40,
        seed=2,
        weeks=1,
        processes=PROCESSES,
        leave_open=True,
        now=live_server.clock.now(),
    )
    for role in PEOPLE:
        users.create_user(rt, f"phone_{role}", PASSWORD, [role])
    with rt.db.read() as session:
        hv = session.scalars(
            select(Definition)
            .where(Definition.process_id == "hv_connection")
            .order_by(Definition.version.desc())
        ).first()
        assert hv is not None
        instance = session.scalars(
            select(Instance)
            .where(Instance.status == "running", Instance.demand_id.is_not(None))
            .order_by(Instance.id)
        ).first()
        assert instance is not None
        open_items = list(
            session.scalars(
                select(WorkItem)
                .where(WorkItem.state.in_(("ready", "claimed")))
                .order_by(WorkItem.id)
            )
        )
        completed_hv = session.scalars(
            select(WorkItem.element_id).where(
                WorkItem.state == "completed", WorkItem.definition_id == hv.id
            )
        ).first()
    assert open_items and completed_hv is not None
    return {
        "rt": rt,
        "open_items": open_items,
        "values": {
            "demand_id": instance.demand_id,
            "instance_id": instance.id,
            "process_id": "hv_connection",
            "number": hv.version,
            "definition_id": hv.id,
            "element_id": completed_hv,
            "decision_id": "supply_voltage",
        },
    }


def _link_for(demo: dict[str, Any], role: str, rule: str) -> int | None:
    """An open link this role may open on this route (a field link for the field view)."""
    actor = Actor(f"phone_{role}", frozenset({role}))
    route = ROUTES[f"GET {rule}"]
    allows = access.may_pass_link if route.who is LINK_PASSERS else access.may_view_link
    rt = demo["rt"]
    fits = [item for item in demo["open_items"] if allows(actor, item)]
    if rule.endswith("/field"):
        fits.sort(
            key=lambda item: (
                rt.definition(item.definition_id).links[item.element_id].field_work is None
            )
        )
    return fits[0].id if fits else None


def _pages(demo: dict[str, Any], role: str) -> Iterator[str]:
    """Every page this role may open, as a path."""
    for key, route in sorted(ROUTES.items()):
        method, rule = key.split(" ", 1)
        if method != "GET" or rule.startswith("/api/") or route.who is ANYONE:
            continue
        if rule.endswith(DOWNLOADS) or rule in MACHINES or role not in SHIPPED[route.who]:
            continue
        values = dict(demo["values"])
        if "<int:item_id>" in rule:
            item_id = _link_for(demo, role, rule)
            if item_id is None:
                continue  # no link of this role in flight: no such page for it now
            values["item_id"] = item_id
        path = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m, v=values: str(v[m.group(1)]), rule)
        yield path + ("?to=1" if rule.endswith("/rollback") else "")


@pytest.fixture(scope="module")
def chromium(playwright_driver: Any) -> Iterator[Any]:
    """One Chromium for the module's phones: each person signs in in a context of their own."""
    from .conftest import CHROMIUM, CHROMIUM_ARGS

    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def phone(chromium: Any, live_server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """A factory: phone("crew7") is a 390 × 844 page signed in as crew7 (English pages)."""
    from .conftest import NAVIGATION_TIMEOUT_MS, TIMEOUT_MS

    contexts: list[Any] = []

    def open_phone(username: str) -> Page:
        context = chromium.new_context(
            base_url=live_server.url,
            viewport=PHONE,
            locale="en-US",
            timezone_id="Asia/Shanghai",
            is_mobile=False,
        )
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        page = context.new_page()
        page.goto("/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(PASSWORD)
        page.locator("form:has(#password) button[type=submit]").click()
        expect(page.locator("#whoami")).to_have_text(username)
        return page

    yield open_phone
    for context in contexts:
        context.close()


def _assert_fits(page: Page, where: str) -> None:
    measured = page.evaluate(OVERFLOW)
    assert measured["scroll"] <= measured["inner"], (
        f"{where}: {measured['scroll']} px wide on a {measured['inner']} px screen; "
        f"past the edge: {measured['wide']}"
    )


def _open_menu(page: Page, where: str) -> None:
    """Open the folded menu: Sign out and the language choice are there, and visible."""
    toggle = page.locator("#nav-toggle")
    expect(toggle, where).to_be_visible()
    expect(page.locator("#sign-out"), where).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#sign-out"), where).to_be_visible()
    expect(page.locator("#language"), where).to_be_visible()
    _assert_fits(page, f"{where} (menu open)")


def test_every_staff_page_fits_a_phone_with_sign_out_and_language_in_its_menu(
    phone: Callable[[str], Page],
    demo: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    shots = tmp_path_factory.mktemp("phone-screenshots")
    opened: dict[str, set[str]] = {}
    for role in PEOPLE:
        page = phone(f"phone_{role}")
        for path in _pages(demo, role):
            where = f"{role} {path}"
            answer = page.goto(path)
            assert answer is not None and answer.status == 200, (
                f"{where}: {answer and answer.status}"
            )
            if page.locator(DRAWN_LATER).count():
                page.wait_for_load_state("networkidle")  # diagrams and charts fetch, then draw
            _assert_fits(page, where)
            _open_menu(page, where)
            if role == "admin" and path in ("/queue", "/audit/processes"):
                page.screenshot(path=str(shots / f"phone{path.replace('/', '-')}.png"))
            rule = re.sub(r"\d+", "N", path.split("?")[0])
            opened.setdefault(rule, set()).add(role)
        page.context.close()
    # Every page route of the table was opened by at least one role.
    page_rules = {
        re.sub(r"<[^>]+>", "N", key.split(" ", 1)[1])
        for key, route in ROUTES.items()
        if key.startswith("GET /")
        and not key.startswith("GET /api/")
        and route.who is not ANYONE
        and not key.endswith(DOWNLOADS)
        and key.split(" ", 1)[1] not in MACHINES
        and not key.startswith("GET /portal/")  # the customers' pages: test_customer_portal.py
    }
    missing = {rule for rule in page_rules if not any(_same(rule, seen) for seen in opened)}
    assert not missing, f"pages no role opened: {sorted(missing)}"
    assert len(opened) >= len(page_rules)
    assert sorted(p.name for p in shots.iterdir()) == [
        "phone-audit-processes.png",
        "phone-queue.png",
    ]


def _same(rule: str, path: str) -> bool:
    pattern = re.escape(rule).replace("N", "[^/]+")
    return re.fullmatch(pattern, path) is not None


def test_an_administrators_header_is_one_line_at_1366_px_in_both_languages(
    browser_session: Session, demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser_session("phone_admin")
    page.set_viewport_size(DESK)
    shots = tmp_path_factory.mktemp("desk-screenshots")
    for language in ("en", "zh_Hans"):
        with page.expect_navigation():
            page.locator("#language").select_option(language)
        expect(page.locator("#nav-toggle")).to_be_hidden()
        tops = page.evaluate(
            """() => [...document.querySelectorAll(
                 '.gf-nav .navbar-brand, .gf-nav .navbar-nav > .nav-item, #language, #whoami, #sign-out')]
               .map((el) => { const box = el.getBoundingClientRect(); return box.top + box.height / 2; })"""
        )
        assert len(tops) == 12  # brand, 8 menus, language, name, Sign out
        assert max(tops) - min(tops) <= 4, f"{language}: the header wraps ({tops})"
        _assert_fits(page, f"admin at 1366 px, {language}")
        # Supervision and administration open under Manage, and close on a click elsewhere.
        expect(page.locator("#nav-pool")).to_be_hidden()
        page.locator("#nav-manage").click()
        for menu in ("#nav-team-overview", "#nav-pool", "#nav-dispatch", "#nav-incidents"):
            expect(page.locator(menu)).to_be_visible()
        expect(page.locator("#nav-sign-ins")).to_be_visible()
        page.screenshot(path=str(shots / f"header-1366-{language}.png"))
        page.locator("main").click(position={"x": 5, "y": 5})
        expect(page.locator("#nav-pool")).to_be_hidden()


def _repair_link(live_server: LiveServer) -> tuple[int, str, str]:
    """A fault report taken in and dispatched: "Arrive on site" waits for the repair crews."""
    rt = live_server.rt
    accepted = demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name="Wang Fang",
            customer_category="residential",
            channel="call_centre",
            category="repair",
            address="Building 4, Xinhua Estate, Hangzhou",
            phone="138 0013 8000",
        ),
        Actor("desk1", frozenset({"service_desk"})),
    )
    instance_id = accepted.instances[0].instance_id
    for element_id in ("Activity_accept", "Activity_dispatch"):
        item = _open(live_server, instance_id, element_id)
        link = rt.definition(item.definition_id).links[element_id]
        work_items.complete(rt, item.id, ADMIN, link.form.complete_with_examples({}))
    demand = accepted.demand_id
    return instance_id, f"/demands/{demand}", accepted.instances[0].process_id


def _open(live_server: LiveServer, instance_id: int, element_id: str) -> WorkItem:
    with live_server.rt.db.read() as session:
        item = session.scalars(
            select(WorkItem).where(
                WorkItem.instance_id == instance_id,
                WorkItem.element_id == element_id,
                WorkItem.state.in_(("ready", "claimed")),
            )
        ).one()
    return item


def test_a_repair_crew_works_a_fault_from_the_field_view_on_a_phone(
    phone: Callable[[str], Page],
    live_server: LiveServer,
    demo: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    shots: Path = tmp_path_factory.mktemp("field-screenshots")
    users.create_user(live_server.rt, "crew7", PASSWORD, ["dispatch_repair"])
    instance_id, demand_page, process_id = _repair_link(live_server)
    assert process_id == "fault_repair"
    arrive_link = _open(live_server, instance_id, "Activity_arrive")
    clock = live_server.clock
    to_local = live_server.rt.calendar.to_local

    page = phone("crew7")
    page.goto(f"/work-items/{arrive_link.id}")
    page.locator("#open-field-view").click()
    expect(page).to_have_url(re.compile(rf"/work-items/{arrive_link.id}/field$"))
    expect(page.locator("#call-customer")).to_have_attribute("href", "tel:13800138000")
    expect(page.locator("#open-map")).to_have_attribute(
        "href", "geo:0,0?q=Building%204%2C%20Xinhua%20Estate%2C%20Hangzhou"
    )
    expect(page.locator("#field-form")).to_have_count(0)  # not before the arrival
    _assert_fits(page, "field view")
    page.screenshot(path=str(shots / "field-view-before-arrival.png"), full_page=True)

    clock.advance(timedelta(minutes=27))
    arrived_at = to_local(clock.now()).strftime("%Y-%m-%d %H:%M")
    page.locator("#arrive").click()
    expect(page.locator("#arrived-at")).to_have_text(arrived_at)
    page.locator("#field_fault_location").fill("Meter box, 2nd floor")
    page.locator("#field_fault_scope").select_option("single_customer")
    page.locator("label[for=field_materials_needed_false]").click()
    _assert_fits(page, "field view, arrived")
    page.locator("#complete").click()
    expect(page.locator(".alert-success")).to_contain_text("Arrive on site")

    restore_link = _open(live_server, instance_id, "Activity_restore")
    page.goto(f"/work-items/{restore_link.id}/field")
    # The crew's arrival holds for the whole repair: no second arrival is asked for.
    expect(page.locator("#arrived-at")).to_contain_text(arrived_at)
    expect(page.locator("#arrive")).to_have_count(0)
    clock.advance(timedelta(hours=1, minutes=40))
    restored_at = to_local(clock.now()).strftime("%Y-%m-%d %H:%M")
    page.locator("#restore").click()
    expect(page.locator("#restored-at")).to_have_text(restored_at)
    page.locator("#field_fault_cause").select_option("equipment_failure")
    page.locator("#field_action_taken").fill("Replaced the service fuse")
    page.screenshot(path=str(shots / "field-view-restored.png"), full_page=True)
    page.locator("#complete").click()
    expect(page.locator(".alert-success")).to_contain_text("Restore supply")

    # The demand's timeline shows the arrival and the restoration, when and by whom.
    page.goto(demand_page)
    expect(page.locator('tr.field-mark[data-mark="arrived"]')).to_contain_text(
        f"Arrived on site · {arrived_at} · crew7"
    )
    expect(page.locator('tr.field-mark[data-mark="restored"]')).to_contain_text(
        f"Supply restored · {restored_at} · crew7"
    )
    _assert_fits(page, "demand timeline")
    with live_server.rt.db.read() as session:
        states = dict(
            session.execute(
                select(WorkItem.element_id, WorkItem.completed_by).where(
                    WorkItem.instance_id == instance_id, WorkItem.state == "completed"
                )
            ).all()
        )
    assert states["Activity_arrive"] == "crew7" and states["Activity_restore"] == "crew7"
