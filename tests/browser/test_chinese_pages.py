"""Done when a Chinese-speaking member of staff meets no English label of the company's
processes: on the demo data, in Chromium with a zh-CN browser, the queue, a link page, a demand
timeline, the audit heatmap and the skill pool show none of the English labels of any shipped
element (process, link, lane, gateway, flow, form field, choice, standard source, role,
department, decision)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from gridflow import users
from gridflow.demo import run_demo
from gridflow.labels import read_xml
from gridflow.labels.yaml_labels import read_yaml

from .conftest import PASSWORD, PROCESSES, LiveServer

Session = Callable[..., Page]

# Every text node of the page and of the diagram's SVG, trimmed.
TEXTS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && ["SCRIPT", "STYLE"].includes(parent.tagName)) continue;
    const text = walker.currentNode.textContent.replace(/\\s+/g, " ").trim();
    if (text) found.push(text);
  }
  for (const el of document.querySelectorAll("[title]")) found.push(el.getAttribute("title"));
  return found;
}"""


def english_labels() -> set[str]:
    """The English label of every shipped element whose Chinese label differs from it."""
    labels: set[str] = set()
    for path in sorted([*PROCESSES.glob("*.bpmn"), *PROCESSES.glob("*.dmn")]):
        for label in read_xml(path.read_bytes()).labels.values():
            if label.translations.get("zh-Hans") not in (None, label.source):
                labels.add(label.source)
    for name in ("roles.yaml", "rules.yaml"):
        labels |= {item.source for item in read_yaml(PROCESSES / name) if item.zh != item.source}
    return labels


def english_on(page: Page, labels: set[str]) -> list[str]:
    """The English labels on the page: a text that is one, or holds a long one."""
    long_ones = [label for label in labels if len(label) >= 12]
    found = []
    for text in page.evaluate(TEXTS):
        if text in labels:
            found.append(text)
        found.extend(label for label in long_ones if label in text and label != text)
    return sorted(set(found))


def test_chinese_staff_meet_no_english_process_label(
    browser_session: Session, live_server: LiveServer
) -> None:
    labels = english_labels()
    assert len(labels) > 300  # the whole content of processes/, not a sample
    assert {"High-voltage connection", "Countersign the supply scheme", "Dual supply"} <= labels
    run_demo(
        live_server.rt.db.url,
        instances=40,
        seed=3,
        weeks=2,
        processes=PROCESSES,
        leave_open=True,
        accounts=True,
        now=datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
    )
    for username, role in (
        ("zh_manager", "account_manager"),
        ("zh_auditor", "auditor"),
        ("zh_supervisor", "supervisor"),
    ):
        users.create_user(live_server.rt, username, PASSWORD, [role])

    manager = browser_session("zh_manager", locale="zh-CN")
    manager.goto("/queue?scope=team")
    rows = manager.locator("#queue tbody tr[data-work-item]")
    expect(rows.first).to_be_visible()
    assert english_on(manager, labels) == []

    rows.first.locator("a").first.click()
    expect(manager.locator("#link-name")).to_be_visible()
    assert manager.locator(".timeline").count() >= 1  # the demand's timeline beside the link
    assert english_on(manager, labels) == []

    manager.goto("/demands")
    manager.locator("table a[href^='/demands/']").first.click()
    expect(manager.locator(".timeline").first).to_be_visible()
    assert english_on(manager, labels) == []

    auditor = browser_session("zh_auditor", locale="zh-CN")
    auditor.goto("/audit/links?process=hv_connection")
    diagram = auditor.locator("#audit-diagram")
    expect(diagram).to_have_attribute("data-ready", "1")
    expect(auditor.locator("#chosen-process")).to_have_text("高压新装")
    expect(diagram.locator("svg text").filter(has_text="会签供电方案").first).to_be_attached()
    assert english_on(auditor, labels) == []

    supervisor = browser_session("zh_supervisor", locale="zh-CN")
    supervisor.goto("/pool")
    expect(supervisor.locator("table").first).to_be_visible()
    assert english_on(supervisor, labels) == []
