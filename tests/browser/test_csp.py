"""Under the Content-Security-Policy (no inline scripts) the pages still work in Chromium: the
auditors' heatmap and both charts draw, the modeler opens, the language chooser switches the
language; and Chromium reports no violation of the policy on any of them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audit_history import ACCEPT, PROCESS, History, build
from playwright.sync_api import ConsoleMessage, Page, expect

from gridflow import users
from gridflow.app.headers import CONTENT_SECURITY_POLICY

from .conftest import PASSWORD, LiveServer

Session = Callable[..., Page]


@pytest.fixture(scope="module")
def history(live_server: LiveServer) -> History:
    users.create_user(live_server.rt, "auditor1", PASSWORD, ["auditor"])
    users.create_user(live_server.rt, "designer1", PASSWORD, ["designer"])
    return build(live_server.rt)


def watch(page: Page) -> list[str]:
    """Every policy violation Chromium reports on this page from now on."""
    violations: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", seen)
    return violations


def test_heatmap_and_charts_draw_under_the_policy(
    browser_session: Session, history: History
) -> None:
    page = browser_session("auditor1")
    violations = watch(page)
    answer = page.goto(f"/audit/links?process={PROCESS}")
    assert answer is not None
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    diagram = page.locator("#audit-diagram")
    expect(diagram).to_have_attribute("data-ready", "1")
    expect(diagram.locator(f'.gf-heat[data-element="{ACCEPT}"]')).to_contain_text("n=4")
    page.goto(f"/audit/links/{history.definition_id}/{ACCEPT}")
    expect(page.locator("#distribution-chart")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('distribution-chart')")
    page.goto("/audit/processes")
    expect(page.locator("#trend-chart")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart')")
    assert violations == []


def test_the_modeler_opens_under_the_policy(browser_session: Session, history: History) -> None:
    page = browser_session("designer1")
    violations = watch(page)
    page.goto(f"/designer/{PROCESS}/modeler")
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    expect(page.locator("#canvas .djs-element").first).to_be_attached()
    assert violations == []


def test_the_language_chooser_works_without_an_inline_handler(
    browser_session: Session, history: History
) -> None:
    page = browser_session("auditor1")
    violations = watch(page)
    page.goto("/audit/processes")
    page.locator("select[name=locale]").select_option("zh_Hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # The new page's scripts bind the chooser when it has loaded: a choice made before that
    # would change nothing.
    page.wait_for_load_state("load")
    page.locator("select[name=locale]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert violations == []
