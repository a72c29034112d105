"""Real process models run end to end: a high-voltage connection from intake to its end, with
its voltage decided by the DMN table, its scheme countersigned by four departments (rejected
once), its customer archived, its fee checked and its meter ordered by the other systems'
workers (failing, refused, retried by a supervisor), and the shared meter-installation process
called, all on one demand timeline and in the auditors' figures; and the same meter-installation
process called by the low-voltage, PV and EV processes.

On SQLite and PostgreSQL with the shipped files in processes/."""

from __future__ import annotations

from datetime import timedelta

from conftest import ADMIN
from sqlalchemy import select
from test_processes import (
    accept_business,
    business_connection,
    complete,
    ev_charger,
    inspect_pv,
    instance,
    issue_ev,
    open_links,
    pay_ev,
    pv_connection,
    quote_ev,
    residential_connection,
    serve,
    tree,
)

from gridflow import audit, external_tasks, incidents, instances, step_figures, timeline
from gridflow.audit import EVERYTHING
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.external_tasks import TopicRequest, Worker
from gridflow.models import Definition, Instance, Wait, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime
from gridflow.work_items import claim
from gridflow.work_items import complete as complete_item

MARKETING = Worker("marketing_system", "marketing-1", frozenset({"marketing_archive"}))
METERING = Worker("metering_system", "metering-1", frozenset({"meter_order"}))
FINANCE = Worker("finance_system", "finance-1", frozenset({"finance_payment"}))
SUPERVISOR = Actor("supervisor1", frozenset({"supervisor"}))
SIGNERS = {
    "planning_design": Actor("planner1", frozenset({"planning_design"})),
    "dispatch_repair": Actor("dispatch1", frozenset({"dispatch_repair"})),
    "metering": Actor("meter1", frozenset({"metering"})),
    "finance": Actor("finance1", frozenset({"finance"})),
}
HOUR = timedelta(hours=1)


def fetch_one(rt: Runtime, worker: Worker, topic: str) -> external_tasks.LockedTask:
    [task] = external_tasks.fetch_and_lock(rt, worker, [TopicRequest(topic, 600_000)], 5)
    return task


def countersign_round(
    rt: Runtime, clock: SimulatedClock, iid: int, rejected_by: str | None = None
) -> list[WorkItem]:
    """Each department claims its signature an hour after the last, and signs an hour later."""
    signatures = [i for i in open_items_of(rt, iid) if i.element_id == "Activity_countersign"]
    for item in signatures:
        signer = SIGNERS[item.role]
        clock.advance(HOUR)
        claim(rt, item.id, signer)
        clock.advance(HOUR)
        decision = "reject" if item.role == rejected_by else "approve"
        opinion = "CT accuracy class too low" if decision == "reject" else "Agreed"
        complete_item(
            rt,
            item.id,
            signer,
            {"countersign_decision": decision, "countersign_opinion": opinion},
        )
        if decision == "reject":
            break
    return signatures


def open_items_of(rt: Runtime, iid: int) -> list[WorkItem]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(WorkItem)
                .where(WorkItem.instance_id == iid, WorkItem.state.in_(("ready", "claimed")))
                .order_by(WorkItem.id)
            )
        )


def test_a_high_voltage_connection_runs_from_intake_to_its_end_on_one_timeline(
    rt: Runtime, clock: SimulatedClock
) -> None:
    accepted = create_demand(
        rt,
        DemandInput(
            customer_name="Jiangning People's Hospital",
            customer_category="business",
            channel="counter",
            category="connection",
            address="168 Hushan Road",
            voltage="high",
            capacity_kw=16000,
            supply="single",
        ),
    )
    iid = accepted.instances[0].instance_id
    assert accepted.instances[0].process_id == "hv_connection"
    complete(
        rt,
        iid,
        "Activity_accept",
        {"capacity_kw": 16000, "supply": "single", "customer_importance": "first"},
    )

    # The marketing system is busy once, then archives the customer.
    task = fetch_one(rt, MARKETING, "marketing_archive")
    external_tasks.failure(rt, task.id, MARKETING, "archive service timed out", retries=2)
    clock.advance(timedelta(minutes=5))
    task = fetch_one(rt, MARKETING, "marketing_archive")
    external_tasks.complete(rt, task.id, MARKETING, {"archive_no": "MK-3201-0042"})

    # The tables decided: 16 MVA is 35 kV; a first-grade important user gets two sources.
    variables = instance(rt, iid).variables
    assert (variables["supply_voltage"], variables["supply_sources"]) == ("kv35", "dual_source")
    complete(rt, iid, "Activity_site_survey", {"supply_point": "110 kV Hushan substation"})
    complete(rt, iid, "Activity_design_scheme", {"scheme_document_number": "SS-35-0007"})

    # Four departments sign, each in a work item of its own; metering rejects the first round.
    first = countersign_round(rt, clock, iid, rejected_by="metering")
    assert [(i.role, i.department, i.lane) for i in first] == [
        ("planning_design", "planning_design", "Planning and design"),
        ("dispatch_repair", "dispatch_repair", "Dispatch and repair"),
        ("metering", "metering", "Metering"),
        ("finance", "finance", "Finance"),
    ]
    assert open_links(rt, iid) == ["Activity_revise_scheme"]
    complete(rt, iid, "Activity_revise_scheme", {"revision_summary": "CT class 0.2S"})
    countersign_round(rt, clock, iid)
    complete(rt, iid, "Activity_reply_scheme")
    complete(rt, iid, "Activity_review_design", {"design_approved": True})
    assert instances.deliver_message(rt, iid, "works_finished", {"reported_by": "customer"})
    complete(rt, iid, "Activity_intermediate_inspection")
    complete(rt, iid, "Activity_completion_inspection")

    # Two sources: the high-reliability fee is due. The bank refuses the first payment, the
    # account manager reminds the customer, and finance then finds it paid.
    task = fetch_one(rt, FINANCE, "finance_payment")
    external_tasks.bpmn_error(rt, task.id, FINANCE, "PAYMENT_REFUSED", "direct debit refused")
    complete(rt, iid, "Activity_remind_payment", {"reminded_via": "phone"})
    task = fetch_one(rt, FINANCE, "finance_payment")
    external_tasks.complete(rt, task.id, FINANCE, {"paid": True, "receipt_no": "FI-35-0099"})
    complete(rt, iid, "Activity_sign_contract")

    # The shared meter installation: the order fails into an incident; a supervisor retries it.
    [_, child_id] = tree(rt, iid)
    task = fetch_one(rt, METERING, "meter_order")
    assert task.instance_id == child_id and task.variables["meter_class"] == "high_voltage"
    external_tasks.failure(rt, task.id, METERING, "meter model not in the catalogue", retries=0)
    [incident] = incidents.listing(rt)
    assert (incident.instance_id, incident.element_id) == (child_id, "Activity_order_meter")
    clock.advance(2 * HOUR)
    incidents.retry(rt, incident.id, SUPERVISOR, retries=1)
    task = fetch_one(rt, METERING, "meter_order")
    external_tasks.complete(rt, task.id, METERING, {"meter_no": "HV-0001", "meter_phases": 3})
    install = open_items_of(rt, child_id)
    assert [(i.element_id, i.department, i.standard_target) for i in install] == [
        ("Activity_install_meter", "metering", "P7D")
    ]
    complete(rt, iid, "Activity_install_meter", {"meter_number": "HV-0001", "ct_ratio": "600/5"})
    assert [instance(rt, i).status for i in (iid, child_id)] == ["completed", "completed"]
    assert instance(rt, iid).variables["meter_no"] == "HV-0001"

    # One demand timeline: the connection and the meter installation it called.
    view = timeline.demand_timeline(rt, accepted.demand_id)
    [connection, called] = view.instances
    assert (connection.process_id, called.process_id) == ("hv_connection", "meter_installation")
    assert called.parent_instance_id == iid
    assert [s.element_id for s in connection.steps] == [
        "Activity_archive_customer",
        "Activity_check_payment",
        "Activity_check_payment",
        "Activity_meter_installation",
    ]
    assert [(s.state, s.attempts) for s in connection.steps] == [
        ("completed", 2),
        ("error", 1),
        ("completed", 1),
        ("completed", 0),
    ]
    assert connection.steps[-1].child_instance_id == child_id
    assert [(s.element_id, s.state, s.attempts) for s in called.steps] == [
        ("Activity_order_meter", "completed", 2)
    ]
    assert [link.element_id for link in called.links] == ["Activity_install_meter"]
    signatures = [link for link in connection.links if link.element_id == "Activity_countersign"]
    assert [(s.department, s.state) for s in signatures] == [
        ("planning_design", "completed"),
        ("dispatch_repair", "completed"),
        ("metering", "completed"),
        ("finance", "cancelled"),
        ("planning_design", "completed"),
        ("dispatch_repair", "completed"),
        ("metering", "completed"),
        ("finance", "completed"),
    ]
    # Each signature is timed like any link: claimed an hour after the one before, signed an
    # hour later, by the standard of its share of the scheme reply window.
    signed = [s for s in signatures if s.state == "completed"]
    assert [s.handling for s in signed] == [HOUR] * 7
    assert [s.waiting for s in signed[3:]] == [HOUR, 3 * HOUR, 5 * HOUR, 7 * HOUR]
    assert {(s.standard_target, s.met) for s in signed} == {("P3D", True)}
    assert view.as_json()["instances"][1]["parent_instance_id"] == iid  # type: ignore[index]

    # The auditors' figures: the signatures and the installation as links, the other systems'
    # work as system steps, the connection's links and procedures with the called ones.
    links = {
        (f.process_id, f.element_id): f
        for f in audit.link_figures(rt)
        if f.process_id in ("hv_connection", "meter_installation")
    }
    countersign = links[("hv_connection", "Activity_countersign")]
    assert (countersign.count, countersign.rework_instances) == (7, 1)
    assert countersign.durations["handling_median_s"] == 3600.0
    assert links[("meter_installation", "Activity_install_meter")].count == 1
    steps = {(f.process_id, f.element_id): f for f in step_figures.step_figures(rt, EVERYTHING)}
    archive = steps[("hv_connection", "Activity_archive_customer")]
    assert (archive.kind, archive.topic, archive.count, archive.failures) == (
        "external",
        "marketing_archive",
        1,
        1,
    )
    payment = steps[("hv_connection", "Activity_check_payment")]
    assert (payment.count, payment.errors) == (2, 1)
    order = steps[("meter_installation", "Activity_order_meter")]
    assert (order.count, order.failures, order.incidents) == (1, 1, 1)
    assert steps[("hv_connection", "Activity_meter_installation")].kind == "call"
    assert audit.refresh_instances(rt) == 2  # the connection and its meter installation
    [process] = [p for p in audit.process_figures(rt) if p.process_id == "hv_connection"]
    # accept, survey, design, 7 signatures, revise, reply, review, 2 inspections, reminder,
    # contract, and the installation in the called process.
    assert process.links_mean == 18.0
    # The customer took part in acceptance, the reply, the contract and the installation.
    assert process.procedures_mean == 4.0


def test_the_same_meter_installation_process_is_called_by_four_processes(rt: Runtime) -> None:
    residential = residential_connection(rt)
    complete(rt, residential, "Activity_accept", {"supply_scheme": "existing_line"})
    serve(rt, residential, "marketing_archive", {"archive_no": "MK-1"})
    business = business_connection(rt, "small_micro", 60)
    accept_business(rt, business, "small_micro", 60)  # three zeros: straight to metering
    pv = pv_connection(rt)
    inspect_pv(rt, pv, passed=True)
    complete(rt, pv, "Activity_contract")
    ev = ev_charger(rt)
    quote_ev(rt, ev, accepted=True)
    pay_ev(rt, ev)
    issue_ev(rt, ev)  # the charger and its meter are installed at once

    callers = {
        "lv_residential_connection": (residential, "residential"),
        "lv_business_connection": (business, "low_voltage"),
        "pv_connection": (pv, "residential"),
        "ev_charger_installation": (ev, "residential"),
    }
    called: dict[str, Instance] = {}
    with rt.db.read() as session:
        for process_id, (caller_id, _) in callers.items():
            caller = session.get(Instance, caller_id)
            assert caller is not None
            [child] = session.scalars(
                select(Instance).where(Instance.parent_instance_id == caller_id)
            )
            assert (child.demand_id, child.business_key) == (caller.demand_id, caller.business_key)
            called[process_id] = child
        [definition] = {child.definition_id for child in called.values()}
        assert session.get(Definition, definition).process_id == "meter_installation"  # type: ignore[union-attr]
    for process_id, (_, meter_class) in callers.items():
        assert called[process_id].variables["meter_class"] == meter_class, process_id

    # The metering system answers the four orders; metering installs the four meters.
    tasks = external_tasks.fetch_and_lock(rt, METERING, [TopicRequest("meter_order", 60_000)], 10)
    assert sorted(t.instance_id for t in tasks) == sorted(c.id for c in called.values())
    for task in tasks:
        meter = f"DB-{task.business_key}"
        external_tasks.complete(rt, task.id, METERING, {"meter_no": meter, "meter_phases": 1})
    for process_id, child in called.items():
        [item] = open_items_of(rt, child.id)
        standard = "P5D" if callers[process_id][1] == "low_voltage" else "P3D"
        assert (item.element_id, item.standard_target) == ("Activity_install_meter", standard)
        complete_item(
            rt,
            item.id,
            ADMIN,
            {"meter_number": f"DB-{child.business_key}", "initial_reading": 0.0, "connected": True},
        )
    for process_id, (caller_id, _) in callers.items():
        assert instance(rt, called[process_id].id).status == "completed"
        assert (
            instance(rt, caller_id).variables["meter_no"] == f"DB-{called[process_id].business_key}"
        )
    # Each caller went on from where it called: the residential connection ended, the business
    # one waits for the meter to report online, PV sets up settlement, EV waits for its charger.
    assert instance(rt, residential).status == "completed"
    assert [w.name for w in instances_waits(rt, business)] == ["meter_connected"]
    assert open_links(rt, pv) == ["Activity_settlement"]
    assert open_links(rt, ev) == ["Activity_install"]


def instances_waits(rt: Runtime, iid: int) -> list[Wait]:
    with rt.db.read() as session:
        return list(session.scalars(select(Wait).where(Wait.instance_id == iid)))
