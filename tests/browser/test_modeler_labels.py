"""The modeler edits an element's English and Chinese labels: on Chinese pages the diagram
draws the Chinese labels, the panel edits both, and the saved version keeps English names
with the Chinese ones in gridflow:label (old instances keep the old version's labels)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from gridflow import users
from gridflow.labels import read_xml

from .conftest import PASSWORD, LiveServer
from .test_modeler import version_xml

Session = Callable[..., Page]


def test_a_designer_edits_both_labels_on_a_chinese_page(
    browser_session: Session, live_server: LiveServer
) -> None:
    users.create_user(live_server.rt, "designer_zh", PASSWORD, ["designer"])
    page = browser_session("designer_zh", locale="zh-CN")
    page.goto("/designer/lv_residential_connection/modeler")
    canvas = page.locator("#canvas")
    expect(canvas).to_have_attribute("data-ready", "true")
    # the diagram is drawn in Chinese
    expect(
        canvas.locator("svg text").filter(has_text="受理申请并确认供电方案").first
    ).to_be_attached()
    expect(canvas.locator("svg text").filter(has_text="外部线路工程施工").first).to_be_attached()
    assert canvas.locator("svg text", has_text="Build external line").count() == 0

    page.evaluate(
        "() => { const m = window.gridflowModeler;"
        " m.get('selection').select(m.get('elementRegistry').get('Activity_accept')); }"
    )
    expect(page.locator("#label-en")).to_have_value("Accept application and confirm supply scheme")
    expect(page.locator("#label-zh")).to_have_value("受理申请并确认供电方案")
    page.locator("#label-zh").fill("受理居民用电申请")
    page.locator("#label-zh").dispatch_event("change")
    page.locator("#label-en").fill("Take in the household's application")
    page.locator("#label-en").dispatch_event("change")
    expect(page.locator("#field-label-zh-0")).to_have_value("身份及产权证明已核验")
    page.locator("#field-label-zh-0").fill("身份证明及房产证明已核验")
    page.locator("#field-label-zh-0").dispatch_event("change")
    expect(canvas.locator("svg text").filter(has_text="受理居民用电申请").first).to_be_attached()

    page.locator("#save").click()
    page.locator("#confirm-deploy").click()  # the deploy's confirmation
    expect(page.locator("#open-version")).to_be_visible()
    assert page.locator("#save-result").get_attribute("data-version") == "2"

    book = read_xml(version_xml(live_server, "lv_residential_connection", 2))
    accept = book.labels[
        next(
            k
            for k in book.labels
            if k.element_id == "Activity_accept" and not k.field and not k.property
        )
    ]
    assert accept.source == "Take in the household's application"
    assert accept.translations == {"zh-Hans": "受理居民用电申请"}
    assert (
        book.text("zh_Hans", "Activity_accept", "", field="id_checked")
        == "身份证明及房产证明已核验"
    )
    # the other elements keep their English names and Chinese labels
    assert book.text("en", "Activity_build_external_line", "") == "Build external line"
    assert book.text("zh_Hans", "Activity_build_external_line", "") == "外部线路工程施工"
    assert book.text("en", "Lane_account_manager", "") == "Account manager"
    old = read_xml(version_xml(live_server, "lv_residential_connection", 1))
    assert old.text("zh_Hans", "Activity_accept", "") == "受理申请并确认供电方案"
