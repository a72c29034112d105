"""The auditors' heatmap in a real browser: bpmn-js draws the process diagram with exactly one
overlay per link, the slowest link marked by the chosen metric, and the metric chooser
recolours it; a running instance's diagram shows where it stands."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audit_history import ACCEPT, BUILD, PROCESS, History, build
from playwright.sync_api import Page, expect

from gridflow import users

from .conftest import PASSWORD, LiveServer

Session = Callable[..., Page]


@pytest.fixture(scope="module")
def history(live_server: LiveServer) -> History:
    users.create_user(live_server.rt, "auditor1", PASSWORD, ["auditor"])
    return build(live_server.rt)


def test_heatmap_draws_one_overlay_per_link_and_marks_the_slowest(
    browser_session: Session, live_server: LiveServer, history: History
) -> None:
    page = browser_session("auditor1")
    page.locator("#nav-audit").click()
    page.goto(f"/audit/links?process={PROCESS}")
    diagram = page.locator("#audit-diagram")
    expect(diagram).to_have_attribute("data-ready", "1")
    links = live_server.rt.definition(history.definition_id).links
    overlays = diagram.locator(".gf-heat")
    expect(overlays).to_have_count(len(links))
    assert sorted(overlays.evaluate_all("els => els.map(e => e.dataset.element)")) == sorted(links)
    # By median total working time the external line (4 h 30) beats acceptance (2 h 15).
    expect(diagram).to_have_attribute("data-slowest", BUILD)
    slowest = diagram.locator(f'.gf-heat[data-element="{BUILD}"]')
    expect(slowest.locator(".gf-slowest-badge")).to_have_text("slowest")
    expect(diagram.locator(".gf-slowest-badge")).to_have_count(1)
    expect(diagram.locator(f'.gf-heat[data-element="{ACCEPT}"]')).to_contain_text("n=4")
    never_run = [e for e in links if e not in (ACCEPT, BUILD)]
    for element_id in never_run:
        expect(diagram.locator(f'.gf-heat[data-element="{element_id}"]')).to_have_text("no data")
    # Coloured by executions, acceptance (4) is the hottest.
    page.locator("#heat-metric").select_option("count")
    expect(diagram).to_have_attribute("data-slowest", ACCEPT)
    expect(overlays).to_have_count(len(links))
    # A click on a link opens its duration distribution with the standard marked.
    diagram.locator(f'.gf-heat[data-element="{ACCEPT}"]').click()
    expect(page.locator("#distribution-chart")).to_be_visible()
    expect(page.locator("#link-summary")).to_contain_text("Executions: 4")


def test_an_instance_diagram_shows_its_links_state(
    browser_session: Session, history: History
) -> None:
    page = browser_session("auditor1")
    page.goto(f"/audit/instances/{history.instances[1]}")
    diagram = page.locator("#audit-diagram")
    expect(diagram).to_have_attribute("data-ready", "1")
    expect(diagram.locator(f'g.gf-done[data-element-id="{ACCEPT}"]')).to_have_count(1)
