"""The modeler in a real browser: a designer removes a lane's role, saves, sees the problem
marked on the diagram, fixes it; saving the unchanged content deploys nothing and says so; a
changed standard (a number and a unit) is deployed as version 2 after a confirmation naming the
version and the running instances that stay on version 1; the save keeps every Camunda
extension element of a file Camunda Modeler wrote; new instances get the new due time while old
ones keep theirs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from gridflow import instances, users, versions
from gridflow.models import Definition, Instance, WorkItem

from .conftest import PASSWORD, LiveServer

SAMPLE = Path(__file__).resolve().parents[1] / "designer" / "meter_check.bpmn"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MARKED = re.compile(r"\bgf-problem\b")


@pytest.fixture(scope="module")
def designer(live_server: LiveServer) -> Iterator[str]:
    users.create_user(live_server.rt, "designer1", PASSWORD, ["designer"])
    yield "designer1"


def deploy_sample(live_server: LiveServer, process_id: str) -> bytes:
    """The Camunda Modeler sample under its own process id, deployed as version 1."""
    xml = SAMPLE.read_bytes().replace(b"meter_check", process_id.encode())
    deployed = versions.deploy_bpmn(live_server.rt, xml, f"{process_id}.bpmn", "test", "cli")
    assert deployed.version == 1
    return xml


def version_xml(live_server: LiveServer, process_id: str, version: int) -> bytes:
    with live_server.rt.db.read() as session:
        row = session.scalar(
            select(Definition).where(
                Definition.process_id == process_id, Definition.version == version
            )
        )
        assert row is not None, f"{process_id} v{version} is not deployed"
        return row.bpmn_xml


def camunda_parts(xml: bytes) -> dict[str, list[bytes]]:
    """Every element's Camunda extension elements and camunda:* attributes, layout-free."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    parts: dict[str, list[bytes]] = {}
    for element in root.iter(f"{{{BPMN}}}*"):
        element_id = element.get("id")
        if element_id is None:
            continue
        found = [
            f"{name}={value}".encode()
            for name, value in sorted(element.attrib.items())
            if name.startswith(f"{{{CAMUNDA}}}")
        ]
        extensions = element.find(f"{{{BPMN}}}extensionElements")
        if extensions is not None:
            found += [etree.tostring(c, method="c14n", exclusive=True) for c in extensions]
        if found:
            parts[element_id] = found
    return parts


def open_modeler(page: Any, process_id: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"/designer/{process_id}")
    page.locator("#open-modeler").click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")


def shape(page: Any, element_id: str) -> Any:
    return page.locator(f'#canvas g.djs-element[data-element-id="{element_id}"]')


def select_task(page: Any, element_id: str) -> None:
    """Click a task until the side panel shows its standard: a click that lands while bpmn-js
    is still redrawing after a save selects nothing, so it is tried again (at most 3 times)."""
    from playwright.sync_api import expect

    for attempt in range(3):
        shape(page, element_id).click()
        try:
            expect(page.locator("#standard-amount")).to_be_visible(timeout=3000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def select_lane(page: Any, element_id: str) -> None:
    lane = shape(page, element_id)
    box = lane.bounding_box()
    # A lane is selected by its name band on the left (its middle belongs to the tasks in it).
    page.mouse.click(box["x"] + 8, box["y"] + box["height"] / 2)


def confirm_deploy(
    page: Any, live_server: LiveServer, process_id: str, version: int, running: int
) -> None:
    """The confirmation step: it names the new version and the running instances that stay."""
    from playwright.sync_api import expect

    expect(page.locator("#confirm-text")).to_have_text(
        f"Deploy this as version {version}? New demands will start on it; {running} running "
        "instance(s) stay on the version they run."
    )
    assert versions.process(live_server.rt, process_id).latest.version == version - 1
    page.locator("#confirm-deploy").click()


def test_a_lane_without_a_role_is_marked_then_fixed_and_deployed_as_version_2(
    browser_session: Callable[..., Any], live_server: LiveServer, designer: str
) -> None:
    from playwright.sync_api import expect

    original = deploy_sample(live_server, "meter_lanes")
    before = instances.start_instance(live_server.rt, "meter_lanes", {}, business_key="BEFORE")
    page = browser_session(designer)
    open_modeler(page, "meter_lanes")

    select_lane(page, "Lane_metering")
    role = page.locator("#lane-role")
    expect(role).to_have_value("Metering")
    role.select_option("")
    page.locator("#save").click()
    expect(page.locator("#save-result")).to_have_text("Not deployed: fix the marked elements.")
    problem = page.locator('#problems li[data-element="Lane_metering"]')
    expect(problem).to_contain_text("Lane_metering: lane has no name: name it after the role")
    expect(shape(page, "Lane_metering")).to_have_class(MARKED)
    expect(page.locator("#canvas g.gf-problem")).to_have_count(1)
    expect(page.locator("#canvas .gf-problem-badge")).to_have_count(1)
    assert version_xml(live_server, "meter_lanes", 1) == original
    with pytest.raises(AssertionError):
        version_xml(live_server, "meter_lanes", 2)

    select_lane(page, "Lane_metering")
    page.locator("#lane-role").select_option("Metering")
    page.locator("#save").click()
    # The role back, the content is version 1's again (in bpmn-js's own writing): nothing new.
    expect(page.locator("#save-result")).to_have_text(
        "Unchanged: nothing deployed. This content (the diagram layout aside) is version 1."
    )
    expect(page.locator("#problems li")).to_have_count(0)
    # Labels without their Chinese do not stop a deploy: listed apart, outlined, not badged.
    expect(page.locator('#warnings li[data-element="Lane_metering"]')).to_have_count(1)
    expect(page.locator("#canvas g.gf-warning").first).to_be_visible()
    expect(page.locator("#canvas .gf-problem-badge")).to_have_count(0)
    expect(shape(page, "Lane_metering")).not_to_have_class(MARKED)
    expect(page.locator("#canvas .gf-problem-badge")).to_have_count(0)
    with pytest.raises(AssertionError):
        version_xml(live_server, "meter_lanes", 2)

    select_task(page, "Activity_check")
    expect(page.locator("#standard-amount")).to_have_value("3")
    expect(page.locator("#standard-unit")).to_have_value("working_days")
    page.locator("#standard-amount").fill("2")
    page.locator("#standard-amount").press("Tab")
    page.locator("#save").click()
    confirm_deploy(page, live_server, "meter_lanes", 2, 1)
    expect(page.locator("#save-result")).to_contain_text("Deployed version 2.")

    saved = version_xml(live_server, "meter_lanes", 2)
    # The browser's save keeps every Camunda extension element and attribute of the file.
    changed = original.replace(
        b'name="standard_target" value="P3D"', b'name="standard_target" value="P2D"'
    )
    assert camunda_parts(saved) == camunda_parts(changed)
    assert set(camunda_parts(original)) >= {"Activity_record", "Activity_check", "meter_lanes"}
    # Nor does it change anything else of the process: the standard is the one difference.
    rt = live_server.rt
    ids = {d.version: d.definition_id for d in versions.process(rt, "meter_lanes").versions}
    difference = versions.diff(rt.definition(ids[1]), rt.definition(ids[2]))
    assert [(c.element_id, c.aspects) for c in difference.changed] == [
        ("Activity_check", ("standard",))
    ]
    assert (difference.added, difference.removed) == ([], [])
    after = instances.start_instance(live_server.rt, "meter_lanes", {}, business_key="AFTER")
    assert (before.version, after.version) == (1, 2)
    with live_server.rt.db.read() as session:
        instance = session.get(Instance, before.instance_id)
        assert instance is not None and instance.definition.version == 1

    page.locator("#open-version").click()
    expect(page.locator("#versions tr[data-version='2'] td.running")).to_have_text("1")
    expect(page.locator("#versions tr[data-version='1'] td.running")).to_have_text("1")
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")


def test_a_new_standard_set_in_the_browser_gives_new_instances_the_new_due_time(
    browser_session: Callable[..., Any], live_server: LiveServer, designer: str
) -> None:
    from playwright.sync_api import expect

    deploy_sample(live_server, "meter_standard")
    old = instances.start_instance(live_server.rt, "meter_standard", {}, business_key="OLD")
    page = browser_session(designer)
    open_modeler(page, "meter_standard")
    select_task(page, "Activity_record")
    amount = page.locator("#standard-amount")
    expect(amount).to_have_value("4")
    expect(page.locator("#standard-unit")).to_have_value("hours")
    amount.fill("2")
    amount.press("Tab")
    page.locator("#save").click()
    confirm_deploy(page, live_server, "meter_standard", 2, 1)
    expect(page.locator("#save-result")).to_contain_text("Deployed version 2.")
    page.locator("#open-version").click()
    expect(page.locator('#links tr[data-element="Activity_record"] td.standard')).to_have_text(
        "2 hours"
    )
    # The diff of the two versions is drawn: the changed link is marked on both diagrams.
    page.goto("/designer/meter_standard/diff?a=1&b=2")
    expect(page.locator('#changes tr.changed[data-element="Activity_record"]')).to_contain_text(
        "standard"
    )
    expect(page.locator("#changes tbody tr")).to_have_count(1)
    for diagram in ("#diagram-old", "#diagram-new"):
        expect(page.locator(diagram)).to_have_attribute("data-ready", "true")
        marked = page.locator(f'{diagram} g.djs-element[data-element-id="Activity_record"]')
        expect(marked).to_have_class(re.compile(r"\bgf-changed\b"))
    new = instances.start_instance(live_server.rt, "meter_standard", {}, business_key="NEW")
    with live_server.rt.db.read() as session:
        due = dict(
            session.execute(
                select(WorkItem.instance_id, WorkItem.due_at).where(
                    WorkItem.instance_id.in_([old.instance_id, new.instance_id])
                )
            ).all()
        )
    # Started Monday 09:00 in Beijing: 4 working hours end 14:30 (after lunch), 2 end 11:00.
    assert due == {
        old.instance_id: datetime(2026, 3, 2, 6, 30, tzinfo=UTC),
        new.instance_id: datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
    }


def test_form_fields_are_added_in_the_side_panel_without_touching_xml(
    browser_session: Callable[..., Any], live_server: LiveServer, designer: str
) -> None:
    from playwright.sync_api import expect

    deploy_sample(live_server, "meter_form")
    page = browser_session(designer)
    open_modeler(page, "meter_form")
    select_task(page, "Activity_call_back")
    expect(page.locator("#panel .form-field")).to_have_count(1)
    page.locator("#add-field").click()
    expect(page.locator("#panel .form-field")).to_have_count(2)
    page.locator("#field-id-1").fill("call_outcome")
    page.locator("#field-id-1").press("Tab")
    page.locator("#field-label-1").fill("Outcome of the call")
    page.locator("#field-label-1").press("Tab")
    page.locator("#field-type-1").select_option("enum")
    page.locator("#field-choices-1").fill(
        "reached = Customer reached\nvoicemail = Left a voicemail"
    )
    page.locator("#field-choices-1").press("Tab")
    page.locator("#field-required-1").check()
    page.locator("#save").click()
    page.locator("#confirm-deploy").click()
    expect(page.locator("#save-result")).to_contain_text("Deployed version 2.")

    rt = live_server.rt
    latest = versions.process(rt, "meter_form").latest
    form = rt.definition(latest.definition_id).links["Activity_call_back"].form
    assert [(f.id, f.label, f.type, f.required, f.options) for f in form.fields] == [
        ("customer_satisfied", "Customer satisfied", "boolean", True, ()),
        (
            "call_outcome",
            "Outcome of the call",
            "enum",
            True,
            (("reached", "Customer reached"), ("voicemail", "Left a voicemail")),
        ),
    ]
