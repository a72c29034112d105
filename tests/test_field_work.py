"""Field work: a repair crew records its arrival and the restoration of supply on the clock,
then completes the link; a site visit records its own arrival; nothing is recorded twice or out
of order; the field view gives the crew the customer's phone and address as links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import PROCESSES, complete, item_for, login
from sqlalchemy import select

from gridflow import demands, field_work, timeline, users
from gridflow.app.field import tel_link
from gridflow.app.settings import from_environment
from gridflow.clock import SimulatedClock
from gridflow.definitions import lint_paths
from gridflow.errors import ConfigurationError, ForbiddenError
from gridflow.models import TaskEvent, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

CREW = Actor("repair1", frozenset({"dispatch_repair"}))
PLANNER = Actor("planner1", frozenset({"planning_design"}))
PHONE = "0571-8888 0000"
ADDRESS = "Building 4, Xinhua Estate, Hangzhou"


def _repair(rt: Runtime) -> int:
    """A fault report, accepted and dispatched: "Arrive on site" is the crew's."""
    accepted = demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name="Wang Fang",
            customer_category="residential",
            channel="call_centre",
            category="repair",
            address=ADDRESS,
            phone=PHONE,
        ),
    )
    [started] = accepted.instances
    assert started.process_id == "fault_repair"
    complete(rt, started.instance_id, "Activity_accept")
    complete(rt, started.instance_id, "Activity_dispatch")
    return started.instance_id


def _events(rt: Runtime, instance_id: int) -> list[tuple[str, str, str | None]]:
    with rt.db.read() as session:
        rows = session.execute(
            select(TaskEvent.element_id, TaskEvent.lifecycle, TaskEvent.actor)
            .where(TaskEvent.instance_id == instance_id, TaskEvent.actor == CREW.username)
            .order_by(TaskEvent.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_repair_crew_arrives_restores_and_completes_on_the_clock(
    rt: Runtime, clock: SimulatedClock
) -> None:
    iid = _repair(rt)
    arrive_link = item_for(rt, iid, "Activity_arrive")
    assert field_work.field_state(rt, arrive_link) == field_work.FieldState("repair", None, None)

    clock.advance(timedelta(minutes=31))
    arrived = field_work.arrive(rt, arrive_link.id, CREW)
    assert (arrived.at, arrived.actor, arrived.work_item_id) == (
        clock.now(),
        "repair1",
        arrive_link.id,
    )
    # Arriving took the ready link: the crew holds it now.
    held = item_for(rt, iid, "Activity_arrive")
    assert (held.state, held.assignee) == ("claimed", "repair1")
    # A retried request records nothing new and answers the first arrival.
    clock.advance(timedelta(minutes=2))
    assert field_work.arrive(rt, arrive_link.id, CREW) == arrived

    field_work.complete(
        rt,
        arrive_link.id,
        CREW,
        {
            "fault_location": "Meter box, 2nd floor",
            "fault_scope": "single_customer",
            "materials_needed": "false",
        },  # fmt: skip
    )
    restore_link = item_for(rt, iid, "Activity_restore")
    # The job's arrival counts on its next repair link: the crew is still on site.
    state = field_work.field_state(rt, restore_link)
    assert state is not None and state.arrived == arrived and state.restored is None

    clock.advance(timedelta(hours=1, minutes=10))
    restored = field_work.restore(rt, restore_link.id, CREW)
    assert (restored.lifecycle, restored.at) == ("restored", clock.now())
    field_work.complete(
        rt,
        restore_link.id,
        CREW,
        {"fault_cause": "equipment_failure", "action_taken": "Replaced the service fuse"},
    )

    assert _events(rt, iid) == [
        ("Activity_arrive", "claimed", "repair1"),
        ("Activity_arrive", "arrived", "repair1"),
        ("Activity_arrive", "completed", "repair1"),
        ("Activity_restore", "claimed", "repair1"),
        ("Activity_restore", "restored", "repair1"),
        ("Activity_restore", "completed", "repair1"),
    ]
    view = timeline.instance_timeline(rt, iid)
    marks = {
        link.element_id: [(m.lifecycle, m.at) for m in link.field_marks] for link in view.links
    }
    assert marks["Activity_arrive"] == [("arrived", arrived.at)]
    assert marks["Activity_restore"] == [("restored", restored.at)]
    assert marks["Activity_accept"] == []


def test_restoring_or_completing_before_arriving_is_refused_and_changes_nothing(
    rt: Runtime,
) -> None:
    iid = _repair(rt)
    link = item_for(rt, iid, "Activity_arrive")
    with pytest.raises(field_work.FieldWorkError) as refused:
        field_work.restore(rt, link.id, CREW)
    assert refused.value.reason == "arrive_first"
    with pytest.raises(field_work.FieldWorkError) as refused:
        field_work.complete(rt, link.id, CREW, {"fault_location": "x"})
    assert refused.value.reason == "arrive_first"
    # Nothing changed: not even the claim the restoration would have made.
    still = item_for(rt, iid, "Activity_arrive")
    assert (still.state, still.assignee, still.lock_version) == ("ready", None, link.lock_version)
    assert _events(rt, iid) == []


def test_only_the_links_role_records_field_work_and_only_on_field_links(rt: Runtime) -> None:
    iid = _repair(rt)
    link = item_for(rt, iid, "Activity_arrive")
    with pytest.raises(ForbiddenError):
        field_work.arrive(rt, link.id, PLANNER)
    accepted = demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name="Li Wei",
            customer_category="residential",
            channel="counter",
            category="repair",
            address=ADDRESS,
            phone=PHONE,
        ),
    )
    desk_link = item_for(rt, accepted.instances[0].instance_id, "Activity_accept")
    with pytest.raises(field_work.FieldWorkError) as refused:
        field_work.arrive(rt, desk_link.id, Actor("desk1", frozenset({"service_desk"})))
    assert refused.value.reason == "not_field"


def test_a_site_visit_records_its_own_arrival_and_restores_nothing(rt: Runtime) -> None:
    accepted = demands.create_demand(
        rt,
        demands.DemandInput(
            customer_name="Zhou Min",
            customer_category="residential",
            channel="online",
            category="ev_charger",
            address=ADDRESS,
            phone=PHONE,
        ),
    )
    [started] = accepted.instances
    assert started.process_id == "ev_charger_installation"
    complete(rt, started.instance_id, "Activity_accept")
    survey = item_for(rt, started.instance_id, "Activity_survey")
    planner = Actor("planner1", frozenset({"planning_design"}))
    state = field_work.field_state(rt, survey)
    assert state == field_work.FieldState("visit", None, None) and not state.restores
    arrived = field_work.arrive(rt, survey.id, planner)
    with pytest.raises(field_work.FieldWorkError) as refused:
        field_work.restore(rt, survey.id, planner)
    assert refused.value.reason == "visit"
    state = field_work.field_state(rt, item_for(rt, started.instance_id, "Activity_survey"))
    assert state is not None and state.arrived == arrived


def test_lint_names_the_link_with_an_unknown_field_work_kind(tmp_path: Any, roles: Any) -> None:
    text = (PROCESSES / "meter_installation.bpmn").read_text(encoding="utf-8")
    assert text.count('name="field_work" value="visit"') == 1
    broken = tmp_path / "meter_installation.bpmn"
    broken.write_text(
        text.replace('name="field_work" value="visit"', 'name="field_work" value="drive"')
    )
    problems = [str(p) for found in lint_paths([broken], roles).values() for p in found]
    assert len(problems) == 1
    assert "[Activity_install_meter] field_work 'drive' is not one of repair, visit" in problems[0]


def test_a_phone_number_becomes_a_tel_link() -> None:
    assert tel_link("0571-8888 0000") == "tel:057188880000"
    assert tel_link("+86 138 0013 8000") == "tel:+8613800138000"
    assert tel_link("ask at the gate") is None


def test_the_map_link_template_is_checked_at_start() -> None:
    assert from_environment({})["MAP_URL"] == "geo:0,0?q={address}"
    own = "https://uri.amap.com/search?keyword={address}"
    assert from_environment({"GRIDFLOW_MAP_URL": own})["MAP_URL"] == own
    for bad in ("javascript:alert(1)//{address}", "https://maps.example/", "geo:{address}{x}"):
        with pytest.raises(ConfigurationError):
            from_environment({"GRIDFLOW_MAP_URL": bad})


def test_the_field_view_calls_the_customer_opens_the_map_and_walks_the_steps(
    app: Any, rt: Runtime, clock: SimulatedClock
) -> None:
    users.create_user(rt, "repair1", "correct-horse-9", ["dispatch_repair"])
    app.config["MAP_URL"] = "https://maps.example/?q={address}"
    client = app.test_client()
    login(client, "repair1")
    iid = _repair(rt)
    link = item_for(rt, iid, "Activity_arrive")
    page = client.get(f"/work-items/{link.id}/field")
    assert page.status_code == 200
    assert 'href="tel:057188880000"' in page.text
    assert (
        'href="https://maps.example/?q=Building%204%2C%20Xinhua%20Estate%2C%20Hangzhou"'
        in page.text
    )
    assert 'id="arrive"' in page.text and 'id="field-form"' not in page.text

    clock.advance(timedelta(minutes=20))
    answer = client.post(f"/work-items/{link.id}/arrive")
    assert answer.status_code == 302 and answer.location.endswith(f"/work-items/{link.id}/field")
    page = client.get(f"/work-items/{link.id}/field")
    assert 'id="arrived-at"' in page.text and 'id="field-form"' in page.text
    assert 'id="restore"' in page.text  # a repair: supply can be restored right away

    version = str(item_for(rt, iid, "Activity_arrive").lock_version)
    bad = client.post(f"/work-items/{link.id}/field/complete", data={"version": version})
    assert bad.status_code == 422 and 'data-field="fault_location"' in bad.text
    done = client.post(
        f"/work-items/{link.id}/field/complete",
        data={
            "version": version,
            "field_fault_location": "Meter box",
            "field_fault_scope": "single_customer",
            "field_materials_needed": "false",
        },
    )
    assert done.status_code == 302, done.text
    assert item_for(rt, iid, "Activity_restore").element_id == "Activity_restore"

    # A desk link has no field view: its own page instead.
    with rt.db.read() as session:
        dispatch = session.scalars(
            select(WorkItem.id).where(
                WorkItem.instance_id == iid, WorkItem.element_id == "Activity_dispatch"
            )
        ).one()
    desk = client.get(f"/work-items/{dispatch}/field")
    assert desk.status_code == 302 and desk.location.endswith(f"/work-items/{dispatch}")
    # The timeline of the demand shows the arrival.
    demand_page = client.get(f"/work-items/{item_for(rt, iid, 'Activity_restore').id}")
    assert 'data-mark="arrived"' in demand_page.text


def test_the_field_view_speaks_the_readers_language(app: Any, rt: Runtime) -> None:
    users.create_user(rt, "repair1", "correct-horse-9", ["dispatch_repair"])
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(client, "repair1")
    iid = _repair(rt)
    link = item_for(rt, iid, "Activity_arrive")
    client.post(f"/work-items/{link.id}/arrive")
    page = client.get(f"/work-items/{link.id}/field")
    assert '<h1 class="h4 mb-1" id="link-name">到达现场</h1>' in page.text
    assert "已查明故障位置" in page.text and ">整条馈线</option>" in page.text
    assert "我已到达现场" not in page.text  # arrived: the button is gone
    assert "已恢复供电" in page.text and "拨打 0571-8888 0000" in page.text
    assert "Arrive on site" not in page.text and "Fault location found" not in page.text
