"""Decision tables in a real browser: a designer finds a shipped table in the catalog and sees
it drawn by dmn-js; edits a cell so that two rules overlap, sees the lint's problem, fixes it
and deploys version 2, which the next instances run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from gridflow import decision_catalog, users
from gridflow.decisions import evaluate, map_result, parse_dmn

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def designer(live_server: LiveServer) -> Iterator[str]:
    users.create_user(live_server.rt, "designer1", PASSWORD, ["designer"])
    yield "designer1"


def test_a_designer_opens_a_shipped_table(browser_session, designer: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_session(designer)
    page.goto("/designer/")
    row = page.locator("#decisions tr[data-decision='supply_voltage']")
    expect(row).to_contain_text("Supply voltage")
    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("Supply voltage")
    table = page.locator("#table")
    expect(table).to_have_attribute("data-ready", "true")
    expect(table.locator(".tjs-table")).to_be_visible()
    # The hit policy, an input header, a rule's cells and its output, as the file has them.
    expect(table).to_contain_text("Unique")
    expect(table).to_contain_text("Customer category")
    cell = table.locator("[data-element-id='UnaryTests_kv35_3']")
    expect(cell).to_have_text("]10000..40000]")
    expect(table.locator("[data-element-id='LiteralExpression_kv35_1']")).to_have_text('"kv35"')
    expect(page.locator("#versions tr[data-version='1']")).to_be_visible()


def edit_cell(page, element_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    cell = page.locator(f"#table [data-element-id='{element_id}'] [contenteditable]")
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.locator("h1").click()  # leave the cell


def test_a_designer_edits_a_cell_and_deploys_a_new_version(  # type: ignore[no-untyped-def]
    browser_session, live_server: LiveServer, designer: str
) -> None:
    from playwright.sync_api import expect

    page = browser_session(designer)
    page.goto("/designer/decisions/supply_voltage/editor")
    expect(page.locator("#table")).to_have_attribute("data-ready", "true")

    # 35 kV up to 50 MVA now overlaps the 110 kV row: the lint refuses, nothing is deployed.
    edit_cell(page, "UnaryTests_kv35_3", "]10000..50000]")
    page.locator("#save").click()
    expect(page.locator("#save-result")).to_contain_text("Not deployed")
    problem = page.locator("#problems li[data-element='DecisionRule_kv110']")
    expect(problem).to_contain_text(
        "rule DecisionRule_kv35 (row 9) and rule DecisionRule_kv110 (row 10) can both match"
    )
    assert [
        v.version for v in decision_catalog.entry(live_server.rt.db, "supply_voltage").versions
    ] == [1]

    # The 110 kV row starts above 50 MVA: clean, deployed as version 2.
    edit_cell(page, "UnaryTests_kv110_3", "]50000..100000]")
    page.locator("#save").click()
    expect(page.locator("#save-result")).to_contain_text("Deployed version 2.")
    expect(page.locator("#problems li")).to_have_count(0)

    entry = decision_catalog.entry(live_server.rt.db, "supply_voltage")
    assert [v.version for v in entry.versions] == [2, 1]
    _, xml = decision_catalog.dmn_of(live_server.rt.db, entry.latest.row_id)
    decision = parse_dmn(xml, "supply_voltage.dmn").decisions["supply_voltage"]
    big = {"customer_category": "business", "area": "urban", "capacity_kw": 45000}
    assert map_result(decision, evaluate(decision, big), "singleEntry") == "kv35"
    # The saved file is still a DMN 1.3 file with the rule ids the designer saw.
    root = etree.fromstring(xml)
    assert root.tag == "{https://www.omg.org/spec/DMN/20191111/MODEL/}definitions"
    page.locator("#open-version").click()
    expect(page.locator("h1")).to_contain_text("version 2")
