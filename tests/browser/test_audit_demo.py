"""Done when: an auditor opening the demo finds the high-voltage process's slowest link from the
diagram alone. The real demo (80 demands on the real engine) fills the live server's database;
the audit menu opens on the high-voltage diagram, and its one "slowest" badge sits on the link
whose median total working time is the largest by the per-link figures."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from gridflow import audit, users
from gridflow.demo import run_demo

from .conftest import PASSWORD, PROCESSES, LiveServer

Session = Callable[..., Page]


def test_the_demo_heatmap_shows_the_slowest_high_voltage_link(
    browser_session: Session, live_server: LiveServer
) -> None:
    run_demo(live_server.rt.db.url, instances=80, seed=1, weeks=2, processes=PROCESSES)
    users.create_user(live_server.rt, "auditor1", PASSWORD, ["auditor"])
    figures = [f for f in audit.link_figures(live_server.rt) if f.process_id == "hv_connection"]
    slowest = max(figures, key=lambda f: f.durations["total_working_median_s"] or 0.0)

    page = browser_session("auditor1")
    page.locator("#nav-audit").click()
    diagram = page.locator("#audit-diagram")
    expect(diagram).to_have_attribute("data-ready", "1")
    expect(page.locator("#f-process")).to_have_value("")  # no filter: the default diagram
    expect(page.locator("#chosen-process")).to_have_text("High-voltage connection")
    badge = diagram.locator(".gf-slowest-badge")
    expect(badge).to_have_count(1)
    expect(diagram.locator(f'.gf-heat[data-element="{slowest.element_id}"]')).to_contain_text(
        "slowest"
    )
    # The system steps (the customer archive, the payment check, the called meter
    # installation) carry their own neutral badges, outside the staff's heat scale.
    archive = diagram.locator('.gf-system-step[data-element="Activity_archive_customer"]')
    expect(archive).to_contain_text("system step")
    expect(
        diagram.locator('.gf-system-step[data-element="Activity_meter_installation"]')
    ).to_contain_text("called process")
