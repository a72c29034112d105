"""Every path through every process in processes/, driven through the real engine the way the
front office drives it: a demand (or a monitoring alarm) starts the process, clerks complete its
links with their forms, the other systems' workers serve its external tasks, messages and breach
timers arrive on the simulated clock.

A demand's process and the processes it calls (meter installation) are one tree of instances;
the helpers here act on the whole tree, as the demand's timeline shows it. Each path test checks
the links that were completed (in the order the links were opened, across the tree), the system
steps the run went through, that every instance ended, that nothing is left in any queue, and
that each link's audit trail is ready → claimed → completed (plus "escalated" on a link whose
standard was breached).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import conftest
import pytest
from conftest import ADMIN, PROCESSES, open_items
from lxml import etree
from sqlalchemy import select

from gridflow import demands, external_tasks, instances, timers
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput
from gridflow.external_tasks import TopicRequest, Worker
from gridflow.models import Instance, SystemTask, TaskEvent, Wait, WorkItem
from gridflow.runtime import Runtime
from gridflow.work_items import complete as complete_item

MS = timedelta(milliseconds=1)

# The processes this file walks through; a new file in processes/ needs its paths added here.
COVERED_PROCESSES = {
    "lv_residential_connection",
    "lv_business_connection",
    "hv_connection",
    "fault_repair",
    "active_repair",
    "ev_charger_installation",
    "pv_connection",
    "energy_efficiency",
    "escalation",
    "meter_installation",
    "return_visit",
}
# The other systems' worker: every topic (as an administrator's worker may).
SYSTEMS = Worker("systems", "test-worker", None)
# The system steps of a connection that needs no payment check: the customer archived, the
# meter installation called and, inside it, the meter ordered.
ARCHIVED_AND_METERED = [
    ("Activity_archive_customer", "completed"),
    ("Activity_meter_installation", "completed"),
    ("Activity_order_meter", "completed"),
]
METERED = ARCHIVED_AND_METERED[1:]
METER_STANDARDS = {"residential": "P3D", "low_voltage": "P5D", "high_voltage": "P7D"}


# --- helpers -----------------------------------------------------------------------------------


def new_demand(rt: Runtime, category: str, *, starts: str, **fields: Any) -> int:
    """Record a demand as the front office would; it starts exactly the process `starts`."""
    values: dict[str, Any] = {
        "customer_name": "Li Wei",
        "customer_category": "residential",
        "channel": "counter",
        "address": "18 Jianguo Road, Chaoyang District",
    }
    values.update(fields)
    accepted = demands.create_demand(rt, DemandInput(category=category, **values))
    assert [started.process_id for started in accepted.instances] == [starts]
    return accepted.instances[0].instance_id


def tree(rt: Runtime, instance_id: int) -> list[int]:
    """The instance and every instance its call activities started, below it, in id order."""
    found = [instance_id]
    with rt.db.read() as session:
        frontier = [instance_id]
        while frontier:
            frontier = list(
                session.scalars(
                    select(Instance.id).where(Instance.parent_instance_id.in_(frontier))
                )
            )
            found.extend(frontier)
    return sorted(found)


def instance(rt: Runtime, instance_id: int) -> Instance:
    with rt.db.read() as session:
        row = session.get(Instance, instance_id)
        assert row is not None
        return row


def work_items(rt: Runtime, instance_id: int) -> list[WorkItem]:
    """The links of the instance and of the processes it called, in the order they opened."""
    ids = tree(rt, instance_id)
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(WorkItem).where(WorkItem.instance_id.in_(ids)).order_by(WorkItem.id)
            )
        )


def system_steps(rt: Runtime, instance_id: int) -> list[tuple[str, str]]:
    """(element id, state) of the system steps of the instance and the processes it called."""
    ids = tree(rt, instance_id)
    with rt.db.read() as session:
        rows = session.execute(
            select(SystemTask.element_id, SystemTask.state)
            .where(SystemTask.instance_id.in_(ids))
            .order_by(SystemTask.id)
        ).all()
    return [(row.element_id, row.state) for row in rows]


def open_tree_items(rt: Runtime, instance_id: int) -> list[WorkItem]:
    return [item for owner in tree(rt, instance_id) for item in open_items(rt, owner)]


def item_for(rt: Runtime, instance_id: int, element_id: str) -> WorkItem:
    """The one open link `element_id` of the instance or of a process it called."""
    items = [i for i in open_tree_items(rt, instance_id) if i.element_id == element_id]
    assert len(items) == 1, f"{element_id} open: {open_links(rt, instance_id)}"
    return items[0]


def complete(
    rt: Runtime, instance_id: int, element_id: str, form: dict[str, object] | None = None
) -> WorkItem:
    """Complete an open link of the instance or of a process it called (conftest.complete)."""
    owner = item_for(rt, instance_id, element_id).instance_id
    return conftest.complete(rt, owner, element_id, form)


def serve(rt: Runtime, instance_id: int, topic: str, variables: dict[str, object]) -> None:
    """The other system's worker fetches the one waiting task of `topic` (of this instance or a
    process it called) and completes it with `variables`."""
    [task] = external_tasks.fetch_and_lock(rt, SYSTEMS, [TopicRequest(topic, 60_000)], 10)
    assert task.instance_id in tree(rt, instance_id)
    external_tasks.complete(rt, task.id, SYSTEMS, variables)


def archive(rt: Runtime, instance_id: int) -> None:
    serve(rt, instance_id, "marketing_archive", {"archive_no": "MK-3301-000042"})


def install_meter(
    rt: Runtime, instance_id: int, meter_class: str, form: dict[str, object] | None = None
) -> None:
    """The called meter installation: the metering system answers the meter order, then metering
    installs the meter under the standard of the caller's meter class."""
    [child_id] = [i for i in tree(rt, instance_id) if instance(rt, i).status == "running"][1:]
    assert instance(rt, child_id).variables["meter_class"] == meter_class
    assert open_items(rt, child_id) == []
    serve(rt, instance_id, "meter_order", {"meter_no": "DB3-00004711", "meter_phases": 3})
    item = item_for(rt, instance_id, "Activity_install_meter")
    assert (item.instance_id, item.role, item.standard_target) == (
        child_id,
        "metering",
        METER_STANDARDS[meter_class],
    )
    values: dict[str, object] = {
        "meter_number": "DB3-00004711",
        "initial_reading": 0.0,
        "connected": True,
    }
    complete(rt, instance_id, "Activity_install_meter", {**values, **(form or {})})
    assert instance(rt, child_id).status == "completed"
    assert instance(rt, instance_id).variables["meter_no"] == "DB3-00004711"


def waits(rt: Runtime, instance_id: int) -> list[Wait]:
    with rt.db.read() as session:
        return list(
            session.scalars(select(Wait).where(Wait.instance_id == instance_id).order_by(Wait.id))
        )


def task_events(rt: Runtime, instance_id: int) -> list[TaskEvent]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(TaskEvent).where(TaskEvent.instance_id == instance_id).order_by(TaskEvent.id)
            )
        )


def open_links(rt: Runtime, instance_id: int) -> list[str]:
    """Open links of the instance and of the processes it called."""
    return [item.element_id for item in open_tree_items(rt, instance_id)]


def completed_links(rt: Runtime, instance_id: int) -> list[str]:
    """Element ids of the completed links, in the order they were opened (work item id), of
    the instance and the processes it called."""
    return [i.element_id for i in work_items(rt, instance_id) if i.state == "completed"]


def within_standard(rt: Runtime, instance_id: int, element_id: str) -> list[bool | None]:
    """Whether each execution of a link finished within its service standard."""
    return [i.within_standard for i in work_items(rt, instance_id) if i.element_id == element_id]


def completion_order(rt: Runtime, instance_id: int) -> list[str]:
    return [
        e.element_id
        for e in task_events(rt, instance_id)
        if e.lifecycle == "completed" and e.work_item_id is not None
    ]


def assert_finished(
    rt: Runtime,
    instance_id: int,
    links: list[str],
    *,
    escalated: tuple[str, ...] = (),
    steps: list[tuple[str, str]] | None = None,
) -> None:
    """The instance and the processes it called ended after exactly these links and system
    steps; every link went ready → claimed → completed, with one "escalated" event after
    "ready" on each link listed in `escalated`."""
    for owner in tree(rt, instance_id):
        row = instance(rt, owner)
        assert row.status == "completed"
        assert row.ended_at is not None
        assert open_items(rt, owner) == []
        assert waits(rt, owner) == []
    assert completed_links(rt, instance_id) == links
    assert system_steps(rt, instance_id) == (steps or [])
    items = work_items(rt, instance_id)
    assert [i.state for i in items] == ["completed"] * len(links)
    lifecycles: dict[int | None, list[str]] = defaultdict(list)
    for owner in tree(rt, instance_id):
        for event in task_events(rt, owner):
            lifecycles[event.work_item_id].append(event.lifecycle)
    for item in items:
        expected = ["ready", "claimed", "completed"]
        if item.element_id in escalated:
            expected = ["ready", "escalated", "claimed", "completed"]
        assert lifecycles[item.id] == expected, item.element_id
        assert item.escalated == (item.element_id in escalated), item.element_id


def test_every_process_file_has_its_paths_walked_here() -> None:
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    process_ids = {
        etree.parse(str(path)).find("bpmn:process", ns).get("id")
        for path in PROCESSES.glob("*.bpmn")
    }
    assert process_ids == COVERED_PROCESSES


# --- low-voltage residential connection --------------------------------------------------------


def residential_connection(rt: Runtime) -> int:
    return new_demand(
        rt,
        "connection",
        starts="lv_residential_connection",
        customer_category="residential",
        capacity_kw=8,
    )


def test_residential_supply_from_the_existing_line_goes_straight_to_metering(
    rt: Runtime,
) -> None:
    iid = residential_connection(rt)
    assert open_links(rt, iid) == ["Activity_accept"]
    complete(rt, iid, "Activity_accept", {"id_checked": True, "supply_scheme": "existing_line"})
    # The marketing system archives the customer before anything else moves.
    assert (open_links(rt, iid), system_steps(rt, iid)) == (
        [],
        [("Activity_archive_customer", "ready")],
    )
    archive(rt, iid)
    assert instance(rt, iid).variables["archive_no"] == "MK-3301-000042"
    install_meter(rt, iid, "residential")
    assert_finished(
        rt, iid, ["Activity_accept", "Activity_install_meter"], steps=ARCHIVED_AND_METERED
    )


def test_residential_supply_needing_external_works_builds_the_line_before_metering(
    rt: Runtime,
) -> None:
    iid = residential_connection(rt)
    complete(
        rt,
        iid,
        "Activity_accept",
        {"id_checked": True, "supply_scheme": "external_works", "remark": "new village plot"},
    )
    archive(rt, iid)
    assert open_links(rt, iid) == ["Activity_build_external_line"]
    complete(
        rt,
        iid,
        "Activity_build_external_line",
        {"works_order_number": "WO-2026-0311", "line_length_m": 120, "works_completed": True},
    )
    install_meter(rt, iid, "residential")
    assert_finished(
        rt,
        iid,
        ["Activity_accept", "Activity_build_external_line", "Activity_install_meter"],
        steps=ARCHIVED_AND_METERED,
    )


# --- low-voltage non-residential connection ----------------------------------------------------

BUSINESS_STANDARD_PATH = [
    "Activity_accept",
    "Activity_site_survey",
    "Activity_reply_scheme",
    "Activity_completion_inspection",
    "Activity_confirm_fees",
    "Activity_sign_contract",
    "Activity_install_meter",
]


def business_connection(rt: Runtime, customer_category: str, capacity_kw: float) -> int:
    return new_demand(
        rt,
        "connection",
        starts="lv_business_connection",
        customer_name="Hengda Noodle Shop",
        customer_category=customer_category,
        capacity_kw=capacity_kw,
    )


def accept_business(rt: Runtime, iid: int, customer_category: str, capacity_kw: int) -> None:
    complete(
        rt,
        iid,
        "Activity_accept",
        {"id_checked": True, "customer_category": customer_category, "capacity_kw": capacity_kw},
    )
    archive(rt, iid)


def install_business_meter(rt: Runtime, iid: int) -> None:
    install_meter(rt, iid, "low_voltage")
    # The connection ends when the metering system reports the new meter online.
    assert [(w.kind, w.name) for w in waits(rt, iid)] == [("message", "meter_connected")]
    assert instances.deliver_message(rt, iid, "meter_connected", {"meter": "DB3-00004711"})


def survey_reply_and_inspect_business(rt: Runtime, iid: int) -> None:
    assert open_links(rt, iid) == ["Activity_site_survey"]
    complete(
        rt,
        iid,
        "Activity_site_survey",
        {
            "supply_point": "Transformer area 12, pole 7",
            "scheme_summary": "380 V three-phase from the existing box",
            "meter_location": "Outside wall, east side",
        },
    )
    complete(
        rt,
        iid,
        "Activity_reply_scheme",
        {
            "reply_channel": "app",
            "scheme_reply_number": "SR-2026-0042",
            "customer_acknowledged": True,
        },
    )
    complete(
        rt,
        iid,
        "Activity_completion_inspection",
        {"inspection_report_number": "CI-2026-0108", "inspection_date": "2026-03-06"},
    )


def sign_business_contract(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_sign_contract",
        {
            "contract_number": "GD-2026-5521",
            "signing_method": "electronic",
            "contract_signed": True,
        },
    )


def walk_business_standard_path(rt: Runtime, iid: int) -> None:
    survey_reply_and_inspect_business(rt, iid)
    complete(rt, iid, "Activity_confirm_fees", {"fee_amount_cny": 0.0, "fee_status": "none_due"})
    sign_business_contract(rt, iid)
    install_business_meter(rt, iid)


@pytest.mark.parametrize("capacity_kw", [45, 160], ids=["45kw", "exactly_160kw"])
def test_small_micro_enterprise_up_to_160kw_takes_the_three_zeros_path_straight_to_metering(
    rt: Runtime, capacity_kw: int
) -> None:
    iid = business_connection(rt, "small_micro", capacity_kw)
    accept_business(rt, iid, "small_micro", capacity_kw)
    assert (open_links(rt, iid), system_steps(rt, iid)[1:]) == (
        [],
        [("Activity_meter_installation", "running"), ("Activity_order_meter", "ready")],
    )
    install_business_meter(rt, iid)
    assert_finished(
        rt, iid, ["Activity_accept", "Activity_install_meter"], steps=ARCHIVED_AND_METERED
    )
    assert instance(rt, iid).variables["three_zeros"] is True


def test_small_micro_enterprise_over_160kw_goes_through_survey_scheme_and_inspection(
    rt: Runtime,
) -> None:
    iid = business_connection(rt, "small_micro", 200)
    accept_business(rt, iid, "small_micro", 200)
    walk_business_standard_path(rt, iid)
    assert_finished(rt, iid, BUSINESS_STANDARD_PATH, steps=ARCHIVED_AND_METERED)
    assert instance(rt, iid).variables["three_zeros"] is False


def test_ordinary_business_under_160kw_still_goes_through_survey_scheme_and_inspection(
    rt: Runtime,
) -> None:
    iid = business_connection(rt, "business", 100)
    accept_business(rt, iid, "business", 100)
    walk_business_standard_path(rt, iid)
    assert_finished(rt, iid, BUSINESS_STANDARD_PATH, steps=ARCHIVED_AND_METERED)


def check_payment(rt: Runtime, iid: int, answer: str) -> None:
    """Finance's worker answers the payment check: paid, unpaid or refused by the bank."""
    [task] = external_tasks.fetch_and_lock(
        rt, SYSTEMS, [TopicRequest("finance_payment", 60_000)], 10
    )
    assert (task.instance_id, task.element_id) == (iid, "Activity_check_payment")
    if answer == "paid":
        external_tasks.complete(rt, task.id, SYSTEMS, {"paid": True, "receipt_no": "FI-2026-88"})
    elif answer == "unpaid":
        external_tasks.complete(rt, task.id, SYSTEMS, {"paid": False, "receipt_no": None})
    else:
        external_tasks.bpmn_error(
            rt, task.id, SYSTEMS, "PAYMENT_REFUSED", "the bank refused the direct debit"
        )


def remind_to_pay(rt: Runtime, iid: int) -> None:
    assert open_links(rt, iid) == ["Activity_remind_payment"]
    reminder = item_for(rt, iid, "Activity_remind_payment")
    assert (reminder.role, reminder.standard_target) == ("account_manager", "P1D")
    complete(rt, iid, "Activity_remind_payment", {"reminded_via": "phone"})
    assert open_links(rt, iid) == []


def test_business_fees_due_are_checked_with_finance_until_paid(rt: Runtime) -> None:
    iid = business_connection(rt, "business", 100)
    accept_business(rt, iid, "business", 100)
    survey_reply_and_inspect_business(rt, iid)
    complete(rt, iid, "Activity_confirm_fees", {"fee_amount_cny": 1800.0, "fee_status": "due"})
    assert open_links(rt, iid) == []
    check_payment(rt, iid, "unpaid")  # not paid yet: the account manager reminds the customer
    remind_to_pay(rt, iid)
    check_payment(rt, iid, "refused")  # the bank refused it: the BPMN error's boundary path
    remind_to_pay(rt, iid)
    check_payment(rt, iid, "paid")
    assert open_links(rt, iid) == ["Activity_sign_contract"]
    sign_business_contract(rt, iid)
    install_business_meter(rt, iid)
    path = BUSINESS_STANDARD_PATH[:5] + ["Activity_remind_payment"] * 2 + BUSINESS_STANDARD_PATH[5:]
    assert_finished(
        rt,
        iid,
        path,
        steps=[
            ("Activity_archive_customer", "completed"),
            ("Activity_check_payment", "completed"),
            ("Activity_check_payment", "error"),
            ("Activity_check_payment", "completed"),
            *METERED,
        ],
    )
    assert instance(rt, iid).variables["receipt_no"] == "FI-2026-88"


# --- high-voltage connection -------------------------------------------------------------------


def hv_connection(rt: Runtime, supply: str = "single") -> int:
    return new_demand(
        rt,
        "connection",
        starts="hv_connection",
        customer_name="Jinqiao Precision Castings Co.",
        customer_category="business",
        voltage="high",
        capacity_kw=1250,
        supply=supply,
    )


def accept_hv(rt: Runtime, iid: int, supply: str = "single") -> None:
    assert open_links(rt, iid) == ["Activity_accept"]
    complete(
        rt, iid, "Activity_accept", {"id_checked": True, "capacity_kw": 1250, "supply": supply}
    )
    archive(rt, iid)
    assert instance(rt, iid).variables["supply_voltage"] == "kv10"  # the DMN table decided
    assert open_links(rt, iid) == ["Activity_site_survey", "Activity_design_scheme"]


def survey_hv(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_site_survey",
        {"survey_date": "2026-03-03", "supply_point": "10 kV Feeder 512, ring main unit 3"},
    )


def design_hv(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_design_scheme",
        {
            "scheme_document_number": "SS-2026-0077",
            "scheme_summary": "10 kV cable from RMU 3 to the customer's 1250 kVA substation",
        },
    )


COUNTERSIGNERS = ["planning_design", "dispatch_repair", "metering", "finance"]
COUNTERSIGNED = ["Activity_countersign"] * 4


def countersign_hv(rt: Runtime, iid: int, rejected_by: str | None = None) -> None:
    """The four departments sign the scheme one after the other, each in its own work item;
    `rejected_by` rejects it, which withdraws the signatures not yet given."""
    items = open_items(rt, iid)
    assert [(i.element_id, i.role) for i in items] == [
        ("Activity_countersign", role) for role in COUNTERSIGNERS
    ]
    for item in items:
        decision = "reject" if item.role == rejected_by else "approve"
        complete_item(
            rt,
            item.id,
            ADMIN,
            {"countersign_decision": decision, "countersign_opinion": f"{item.role}: {decision}"},
        )
        if decision == "reject":
            break
    assert instance(rt, iid).variables["countersign_decision"] == (
        "reject" if rejected_by else "approve"
    )


def reply_hv_scheme(rt: Runtime, iid: int) -> WorkItem:
    return complete(
        rt,
        iid,
        "Activity_reply_scheme",
        {
            "reply_channel": "counter",
            "scheme_reply_number": "SR-2026-0090",
            "customer_acknowledged": True,
        },
    )


def review_hv_design(rt: Runtime, iid: int, approved: bool, letter: str) -> None:
    form: dict[str, object] = {"design_approved": approved, "review_letter_number": letter}
    if not approved:
        form["review_comments"] = "Protection settings missing for the incoming breaker"
    complete(rt, iid, "Activity_review_design", form)


def finish_hv_works(rt: Runtime, iid: int, fee_due: bool = False) -> None:
    """From the works-finished wait to the connection (with the high-reliability fee checked
    and paid when it is due)."""
    assert open_links(rt, iid) == []
    assert instances.deliver_message(rt, iid, "works_finished", {"reported_by": "customer"})
    assert open_links(rt, iid) == ["Activity_intermediate_inspection"]
    complete(
        rt,
        iid,
        "Activity_intermediate_inspection",
        {
            "intermediate_report_number": "II-2026-0015",
            "intermediate_inspection_date": "2026-03-10",
        },
    )
    complete(
        rt,
        iid,
        "Activity_completion_inspection",
        {
            "completion_report_number": "CI-2026-0201",
            "completion_inspection_date": "2026-03-17",
            "test_reports_complete": True,
        },
    )
    if fee_due:
        assert open_links(rt, iid) == []
        check_payment(rt, iid, "paid")
    complete(
        rt,
        iid,
        "Activity_sign_contract",
        {
            "contract_number": "GD-HV-2026-0009",
            "signing_method": "paper",
            "dispatch_agreement_signed": True,
        },
    )
    install_meter(rt, iid, "high_voltage", {"ct_ratio": "100/5"})


HV_PAID = [
    ("Activity_archive_customer", "completed"),
    ("Activity_check_payment", "completed"),
    *METERED,
]
HV_AFTER_REVIEW = [
    "Activity_intermediate_inspection",
    "Activity_completion_inspection",
    "Activity_sign_contract",
    "Activity_install_meter",
]


def test_high_voltage_with_design_approved_first_time_survey_finished_before_scheme_design(
    rt: Runtime,
) -> None:
    iid = hv_connection(rt)
    accept_hv(rt, iid)
    survey_hv(rt, iid)
    assert open_links(rt, iid) == ["Activity_design_scheme"]
    design_hv(rt, iid)
    countersign_hv(rt, iid)
    reply_hv_scheme(rt, iid)
    review_hv_design(rt, iid, approved=True, letter="DR-2026-0031")
    finish_hv_works(rt, iid)
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_site_survey",
            "Activity_design_scheme",
            *COUNTERSIGNED,
            "Activity_reply_scheme",
            "Activity_review_design",
            *HV_AFTER_REVIEW,
        ],
        steps=ARCHIVED_AND_METERED,
    )
    assert completion_order(rt, iid)[1:3] == ["Activity_site_survey", "Activity_design_scheme"]


def test_high_voltage_design_rejected_once_is_changed_and_reviewed_again_scheme_designed_first(
    rt: Runtime,
) -> None:
    iid = hv_connection(rt, supply="dual")
    accept_hv(rt, iid, supply="dual")
    design_hv(rt, iid)
    assert open_links(rt, iid) == ["Activity_site_survey"]
    survey_hv(rt, iid)
    countersign_hv(rt, iid)
    reply_hv_scheme(rt, iid)
    review_hv_design(rt, iid, approved=False, letter="DR-2026-0032")
    assert open_links(rt, iid) == ["Activity_request_design_changes"]
    complete(
        rt,
        iid,
        "Activity_request_design_changes",
        {
            "changes_summary": "Add protection settings for the incoming breaker",
            "notified_via": "app",
            "revised_design_received": True,
        },
    )
    assert open_links(rt, iid) == ["Activity_review_design"]
    review_hv_design(rt, iid, approved=True, letter="DR-2026-0033")
    # Dual supply: two sources by the supply-scheme table, so the high-reliability fee is due.
    assert instance(rt, iid).variables["supply_sources"] == "dual_source"
    finish_hv_works(rt, iid, fee_due=True)
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_site_survey",
            "Activity_design_scheme",
            *COUNTERSIGNED,
            "Activity_reply_scheme",
            "Activity_review_design",
            "Activity_request_design_changes",
            "Activity_review_design",
            *HV_AFTER_REVIEW,
        ],
        steps=HV_PAID,
    )
    assert completion_order(rt, iid)[1:3] == ["Activity_design_scheme", "Activity_site_survey"]


def test_high_voltage_waits_for_the_customers_works_finished_message_after_design_review(
    rt: Runtime,
) -> None:
    iid = hv_connection(rt)
    accept_hv(rt, iid)
    survey_hv(rt, iid)
    design_hv(rt, iid)
    countersign_hv(rt, iid)
    reply_hv_scheme(rt, iid)
    # Too early: the instance is not waiting for the works yet.
    assert open_links(rt, iid) == ["Activity_review_design"]
    assert (
        instances.deliver_message(rt, iid, "works_finished", {"reported_by": "customer"}) is False
    )
    assert open_links(rt, iid) == ["Activity_review_design"]
    review_hv_design(rt, iid, approved=True, letter="DR-2026-0034")

    assert open_items(rt, iid) == []
    assert instance(rt, iid).status == "running"
    assert [(w.kind, w.name, w.element_id) for w in waits(rt, iid)] == [
        ("message", "works_finished", "Event_works_finished")
    ]

    # A message it does not wait for is refused and changes nothing.
    before = instance(rt, iid)
    events_before = len(task_events(rt, iid))
    assert instances.deliver_message(rt, iid, "outage_alarm", {"feeder": "F512"}) is False
    after = instance(rt, iid)
    assert (after.document, after.lock_version, after.status) == (
        before.document,
        before.lock_version,
        before.status,
    )
    assert [(w.kind, w.name) for w in waits(rt, iid)] == [("message", "works_finished")]
    assert open_items(rt, iid) == []
    assert len(task_events(rt, iid)) == events_before

    finish_hv_works(rt, iid)
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_site_survey",
            "Activity_design_scheme",
            *COUNTERSIGNED,
            "Activity_reply_scheme",
            "Activity_review_design",
            *HV_AFTER_REVIEW,
        ],
        steps=ARCHIVED_AND_METERED,
    )


def test_high_voltage_scheme_rejected_in_the_countersign_is_revised_and_signed_again(
    rt: Runtime,
) -> None:
    iid = hv_connection(rt)
    accept_hv(rt, iid)
    survey_hv(rt, iid)
    design_hv(rt, iid)
    countersign_hv(rt, iid, rejected_by="metering")
    assert open_links(rt, iid) == ["Activity_revise_scheme"]
    signatures = [i for i in work_items(rt, iid) if i.element_id == "Activity_countersign"]
    assert [(i.role, i.state) for i in signatures] == [
        ("planning_design", "completed"),
        ("dispatch_repair", "completed"),
        ("metering", "completed"),
        ("finance", "cancelled"),
    ]
    revise = item_for(rt, iid, "Activity_revise_scheme")
    assert (revise.role, revise.standard_target) == ("planning_design", "P3D")
    complete(
        rt,
        iid,
        "Activity_revise_scheme",
        {"scheme_document_number": "SS-2026-0077-R1", "revision_summary": "CT class 0.2S"},
    )
    countersign_hv(rt, iid)
    reply_hv_scheme(rt, iid)
    review_hv_design(rt, iid, approved=True, letter="DR-2026-0036")
    finish_hv_works(rt, iid)
    items = work_items(rt, iid)
    assert [i.element_id for i in items if i.state == "completed"] == [
        "Activity_accept",
        "Activity_site_survey",
        "Activity_design_scheme",
        *COUNTERSIGNED[:3],
        "Activity_revise_scheme",
        *COUNTERSIGNED,
        "Activity_reply_scheme",
        "Activity_review_design",
        *HV_AFTER_REVIEW,
    ]
    assert [i.element_id for i in items if i.state == "cancelled"] == ["Activity_countersign"]
    assert system_steps(rt, iid) == ARCHIVED_AND_METERED
    assert all(instance(rt, i).status == "completed" for i in tree(rt, iid))


def test_high_voltage_scheme_reply_past_its_standard_is_escalated_to_the_supervisor(
    rt: Runtime, clock: SimulatedClock
) -> None:
    iid = hv_connection(rt)
    accept_hv(rt, iid)
    survey_hv(rt, iid)
    design_hv(rt, iid)
    countersign_hv(rt, iid)
    reply = item_for(rt, iid, "Activity_reply_scheme")
    assert [(w.kind, w.element_id, w.due_at) for w in waits(rt, iid)] == [
        ("timer", "Event_scheme_reply_overdue", reply.due_at)
    ]

    clock.set(reply.due_at - MS)
    assert timers.fire_due_timers(rt) == 0
    assert open_links(rt, iid) == ["Activity_reply_scheme"]
    assert not item_for(rt, iid, "Activity_reply_scheme").escalated

    clock.set(reply.due_at + timedelta(minutes=1))
    assert timers.fire_due_timers(rt) == 1
    assert open_links(rt, iid) == ["Activity_reply_scheme", "Activity_escalate_scheme_reply"]
    escalation = item_for(rt, iid, "Activity_escalate_scheme_reply")
    assert (escalation.lane, escalation.role) == ("Supervisor", "supervisor")
    assert escalation.ready_at == clock.now()
    breached = item_for(rt, iid, "Activity_reply_scheme")
    assert breached.escalated is True
    escalated_events = [e for e in task_events(rt, iid) if e.lifecycle == "escalated"]
    assert [(e.work_item_id, e.element_id) for e in escalated_events] == [
        (breached.id, "Activity_reply_scheme")
    ]
    # The timer fired once; firing again finds nothing.
    assert timers.fire_due_timers(rt) == 0

    complete(
        rt,
        iid,
        "Activity_escalate_scheme_reply",
        {
            "escalation_action": "urged",
            "delay_cause": "workload",
            "escalation_note": "Account manager urged; scheme handed over today",
        },
    )
    replied = reply_hv_scheme(rt, iid)
    assert replied.within_standard is False
    assert open_links(rt, iid) == ["Activity_review_design"]
    review_hv_design(rt, iid, approved=True, letter="DR-2026-0035")
    finish_hv_works(rt, iid)
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_site_survey",
            "Activity_design_scheme",
            *COUNTERSIGNED,
            "Activity_reply_scheme",
            "Activity_escalate_scheme_reply",
            "Activity_review_design",
            *HV_AFTER_REVIEW,
        ],
        escalated=("Activity_reply_scheme",),
        steps=ARCHIVED_AND_METERED,
    )
    assert within_standard(rt, iid, "Activity_reply_scheme") == [False]


# --- fault repair (customer report) ------------------------------------------------------------

ARRIVAL_STANDARD = {
    "urban": timedelta(minutes=45),
    "rural": timedelta(minutes=90),
    "remote": timedelta(hours=2),
}


def fault_report(rt: Runtime, area: str = "urban") -> int:
    return new_demand(
        rt,
        "repair",
        starts="fault_repair",
        customer_name="Wang Fang",
        channel="call_centre",
        address="Building 4, Xinhua Residential Estate",
        area=area,
    )


def accept_and_dispatch(rt: Runtime, iid: int) -> None:
    assert open_links(rt, iid) == ["Activity_accept"]
    complete(
        rt,
        iid,
        "Activity_accept",
        {
            "fault_type": "no_power",
            "description": "Whole flat dark",
            "callback_phone": "13800138000",
        },
    )
    complete(
        rt,
        iid,
        "Activity_dispatch",
        {
            "crew": "Crew 3, Dongcheng station",
            "crew_leader": "Zhao Gang",
            "crew_phone": "13911112222",
        },
    )
    assert open_links(rt, iid) == ["Activity_arrive"]


def arrive(rt: Runtime, iid: int, materials_needed: bool) -> None:
    complete(
        rt,
        iid,
        "Activity_arrive",
        {
            "fault_location": "Meter box, unit 2",
            "fault_scope": "single_customer",
            "materials_needed": materials_needed,
        },
    )


def restore(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_restore",
        {"fault_cause": "equipment_failure", "action_taken": "Replaced the burnt service fuse"},
    )


def return_visit(rt: Runtime, iid: int, satisfaction: str) -> None:
    complete(
        rt,
        iid,
        "Activity_return_visit",
        {"satisfaction": satisfaction, "supply_normal": True},
    )


def test_fault_fixed_without_spare_materials_and_customer_satisfied(rt: Runtime) -> None:
    iid = fault_report(rt)
    accept_and_dispatch(rt, iid)
    arrive(rt, iid, materials_needed=False)
    assert open_links(rt, iid) == ["Activity_restore"]
    restore(rt, iid)
    return_visit(rt, iid, "satisfied")
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_dispatch",
            "Activity_arrive",
            "Activity_restore",
            "Activity_return_visit",
        ],
    )


def test_fault_needing_spare_materials_waits_for_the_store_and_neutral_customer_is_closed(
    rt: Runtime,
) -> None:
    iid = fault_report(rt, area="rural")
    accept_and_dispatch(rt, iid)
    arrive(rt, iid, materials_needed=True)
    assert open_links(rt, iid) == ["Activity_issue_materials"]
    assert item_for(rt, iid, "Activity_issue_materials").role == "materials"
    complete(
        rt,
        iid,
        "Activity_issue_materials",
        {
            "materials_list": "1x 63 A service fuse, 2 m 16 mm2 cable",
            "issue_slip_no": "MS-2026-0456",
            "received_by": "Zhao Gang",
        },
    )
    restore(rt, iid)
    return_visit(rt, iid, "neutral")
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_dispatch",
            "Activity_arrive",
            "Activity_issue_materials",
            "Activity_restore",
            "Activity_return_visit",
        ],
    )


def test_dissatisfied_customer_at_the_return_visit_goes_to_the_supervisor(rt: Runtime) -> None:
    iid = fault_report(rt)
    accept_and_dispatch(rt, iid)
    arrive(rt, iid, materials_needed=False)
    restore(rt, iid)
    return_visit(rt, iid, "dissatisfied")
    assert open_links(rt, iid) == ["Activity_handle_dissatisfaction"]
    handling = item_for(rt, iid, "Activity_handle_dissatisfaction")
    assert (handling.lane, handling.role) == ("Supervisor", "supervisor")
    complete(
        rt,
        iid,
        "Activity_handle_dissatisfaction",
        {
            "dissatisfaction_reason": "slow_restoration",
            "resolution": "Apologised; crew briefed on restoration times",
            "customer_accepts_resolution": True,
        },
    )
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_dispatch",
            "Activity_arrive",
            "Activity_restore",
            "Activity_return_visit",
            "Activity_handle_dissatisfaction",
        ],
    )


def report_fault_and_dispatch_crew(rt: Runtime, clock: SimulatedClock, area: str) -> int:
    """A line-down report, the crew dispatched 7 minutes later: arrival is now awaited."""
    iid = fault_report(rt, area=area)
    complete(rt, iid, "Activity_accept", {"fault_type": "line_down"})
    clock.advance(timedelta(minutes=7))
    complete(
        rt,
        iid,
        "Activity_dispatch",
        {
            "crew": "Crew 1",
            "crew_leader": "Sun Qiang",
            "crew_phone": "13700001111",
        },
    )
    assert open_links(rt, iid) == ["Activity_arrive"]
    return iid


@pytest.mark.parametrize("area", ["urban", "rural", "remote"])
def test_repair_crew_must_arrive_within_45_min_urban_90_min_rural_2_h_remote(
    rt: Runtime, clock: SimulatedClock, area: str
) -> None:
    iid = report_fault_and_dispatch_crew(rt, clock, area)
    arrival = item_for(rt, iid, "Activity_arrive")
    assert arrival.ready_at == clock.now()
    assert arrival.due_at - arrival.ready_at == ARRIVAL_STANDARD[area]
    assert [(w.kind, w.element_id, w.due_at) for w in waits(rt, iid)] == [
        ("timer", "Event_arrival_overdue", arrival.due_at)
    ]

    clock.set(arrival.due_at - MS)
    assert timers.fire_due_timers(rt) == 0
    assert open_links(rt, iid) == ["Activity_arrive"]
    assert item_for(rt, iid, "Activity_arrive").escalated is False

    arrive(rt, iid, materials_needed=False)
    assert within_standard(rt, iid, "Activity_arrive") == [True]
    restore(rt, iid)
    return_visit(rt, iid, "satisfied")
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_dispatch",
            "Activity_arrive",
            "Activity_restore",
            "Activity_return_visit",
        ],
    )


@pytest.mark.parametrize("area", ["urban", "rural", "remote"])
def test_repair_crew_not_on_site_when_the_area_standard_runs_out_is_escalated_to_the_supervisor(
    rt: Runtime, clock: SimulatedClock, area: str
) -> None:
    iid = report_fault_and_dispatch_crew(rt, clock, area)
    arrival = item_for(rt, iid, "Activity_arrive")
    assert arrival.due_at - arrival.ready_at == ARRIVAL_STANDARD[area]

    # Arriving at the due time is still within the standard; one moment later it is breached.
    clock.set(arrival.due_at + MS)
    assert timers.fire_due_timers(rt) == 1
    assert open_links(rt, iid) == ["Activity_arrive", "Activity_escalate"]
    escalation = item_for(rt, iid, "Activity_escalate")
    assert (escalation.lane, escalation.role) == ("Supervisor", "supervisor")
    assert escalation.ready_at == arrival.due_at + MS
    assert item_for(rt, iid, "Activity_arrive").escalated is True

    complete(
        rt,
        iid,
        "Activity_escalate",
        {
            "escalation_action": "dispatch_backup_crew",
            "delay_reason": "Crew held up at another fault",
            "new_eta_minutes": 20,
        },
    )
    clock.advance(timedelta(minutes=15))
    arrive(rt, iid, materials_needed=False)
    assert within_standard(rt, iid, "Activity_arrive") == [False]
    restore(rt, iid)
    return_visit(rt, iid, "satisfied")
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_dispatch",
            "Activity_arrive",
            "Activity_escalate",
            "Activity_restore",
            "Activity_return_visit",
        ],
        escalated=("Activity_arrive",),
    )


# --- active repair (grid monitoring alarm) -----------------------------------------------------

ACTIVE_REPAIR_PATH = [
    "Activity_locate",
    "Activity_dispatch",
    "Activity_arrive",
    "Activity_restore",
    "Activity_notify",
]


def locate_and_dispatch(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_locate",
        {
            "fault_location": "Feeder 231, cable section 4-5",
            "fault_type": "cable_fault",
            "customers_affected": 340,
            "section_isolated": True,
        },
    )
    complete(
        rt,
        iid,
        "Activity_dispatch",
        {
            "crew": "Crew 2, Xicheng station",
            "crew_leader": "Liu Yang",
            "crew_phone": "13622223333",
            "priority": "emergency",
        },
    )


def arrive_restore_notify(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_arrive",
        {
            "site_findings": "Cable joint failed",
            "hazard_present": False,
            "estimated_repair_minutes": 120,
        },
    )
    complete(
        rt,
        iid,
        "Activity_restore",
        {
            "fault_cause": "equipment_failure",
            "action_taken": "Joint replaced, section re-energised",
            "customers_restored": 340,
            "follow_up_needed": False,
        },
    )
    complete(
        rt,
        iid,
        "Activity_notify",
        {
            "notification_channel": "sms",
            "customers_notified": 340,
            "notice_text": "Supply on Feeder 231 has been restored. Thank you for your patience.",
        },
    )


def test_outage_alarm_from_grid_monitoring_starts_active_repair_at_locating_the_fault(
    rt: Runtime,
) -> None:
    iid = new_demand(
        rt,
        "repair",
        starts="active_repair",
        customer_name="Grid monitoring",
        customer_category="business",
        channel="monitoring",
        address="Feeder 231 service area",
        area="urban",
        feeder="10kV Feeder 231",
    )
    assert open_links(rt, iid) == ["Activity_locate"]
    assert item_for(rt, iid, "Activity_locate").role == "dispatch_repair"
    assert [w.kind for w in waits(rt, iid)] == []
    locate_and_dispatch(rt, iid)
    arrive_restore_notify(rt, iid)
    assert_finished(rt, iid, ACTIVE_REPAIR_PATH)
    variables = instance(rt, iid).variables
    assert (variables["feeder"], variables["area"]) == ("10kV Feeder 231", "urban")


def test_outage_alarm_with_late_crew_arrival_is_escalated_to_the_supervisor(
    rt: Runtime, clock: SimulatedClock
) -> None:
    started = instances.start_instance(
        rt,
        "active_repair",
        {"feeder": "10kV Feeder 88", "area": "remote"},
        business_key="ALARM-2026-000017",
    )
    iid = started.instance_id
    assert open_links(rt, iid) == ["Activity_locate"]
    locate_and_dispatch(rt, iid)
    arrival = item_for(rt, iid, "Activity_arrive")
    assert arrival.due_at - arrival.ready_at == timedelta(hours=2)
    clock.set(arrival.due_at + MS)
    assert timers.fire_due_timers(rt) == 1
    assert open_links(rt, iid) == ["Activity_arrive", "Activity_escalate"]
    complete(
        rt,
        iid,
        "Activity_escalate",
        {"escalation_action": "inform_customers", "delay_reason": "Mountain road blocked"},
    )
    arrive_restore_notify(rt, iid)
    assert_finished(
        rt,
        iid,
        [
            "Activity_locate",
            "Activity_dispatch",
            "Activity_arrive",
            "Activity_escalate",
            "Activity_restore",
            "Activity_notify",
        ],
        escalated=("Activity_arrive",),
    )


# --- EV charger installation -------------------------------------------------------------------


def ev_charger(rt: Runtime) -> int:
    iid = new_demand(
        rt, "ev_charger", starts="ev_charger_installation", channel="app", capacity_kw=7
    )
    complete(
        rt,
        iid,
        "Activity_accept",
        {
            "charger_type": "ac_7kw",
            "parking_space": "Underground car park B2, space 117",
            "owner_consent": True,
            "contact_phone": "13566667777",
        },
    )
    complete(
        rt,
        iid,
        "Activity_survey",
        {"cable_route_m": 35, "meter_box_capacity_ok": True, "capacity_increase_needed": False},
    )
    return iid


def quote_ev(rt: Runtime, iid: int, accepted: bool) -> None:
    form: dict[str, object] = {"price": 2980.0, "accepted": accepted}
    if accepted:
        form["contract_no"] = "EV-2026-0310"
    complete(rt, iid, "Activity_quote", form)


def pay_ev(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_payment",
        {"amount_received": 2980.0, "payment_method": "app", "receipt_no": "RC-2026-7781"},
    )


def issue_ev(rt: Runtime, iid: int) -> None:
    complete(
        rt,
        iid,
        "Activity_issue",
        {
            "charger_serial": "CHG7K-2026-004512",
            "materials_list": "35 m 3x6 mm2 cable, type A RCD, wall bracket",
            "issue_slip_no": "MS-2026-0512",
        },
    )


def install_test_and_visit_ev(rt: Runtime, iid: int) -> None:
    # The charger and its meter are installed at once: the meter installation is called.
    assert open_links(rt, iid) == ["Activity_install"]
    assert system_steps(rt, iid) == [
        ("Activity_meter_installation", "running"),
        ("Activity_order_meter", "ready"),
    ]
    complete(
        rt,
        iid,
        "Activity_install",
        {
            "installed_on": "2026-03-05",
            "cable_length_m": 35,
            "protection_device": "rcd_type_a_dc6ma",
        },
    )
    assert open_links(rt, iid) == []
    install_meter(rt, iid, "residential")
    complete(
        rt, iid, "Activity_test", {"insulation_test_passed": True, "charging_test_passed": True}
    )
    complete(
        rt, iid, "Activity_return_visit", {"satisfaction": "satisfied", "charger_working": True}
    )


EV_INSTALLED = [
    "Activity_accept",
    "Activity_survey",
    "Activity_quote",
    "Activity_payment",
    "Activity_issue",
    "Activity_install",
    "Activity_install_meter",
    "Activity_test",
    "Activity_return_visit",
]


def test_ev_charger_quote_declined_closes_the_request(rt: Runtime) -> None:
    iid = ev_charger(rt)
    quote_ev(rt, iid, accepted=False)
    assert_finished(rt, iid, ["Activity_accept", "Activity_survey", "Activity_quote"])


def test_ev_charger_paid_before_the_charger_is_issued_is_installed_after_both(
    rt: Runtime,
) -> None:
    iid = ev_charger(rt)
    quote_ev(rt, iid, accepted=True)
    assert open_links(rt, iid) == ["Activity_payment", "Activity_issue"]
    pay_ev(rt, iid)
    assert open_links(rt, iid) == ["Activity_issue"]
    issue_ev(rt, iid)
    install_test_and_visit_ev(rt, iid)
    assert_finished(rt, iid, EV_INSTALLED, steps=METERED)
    assert completion_order(rt, iid)[3:5] == ["Activity_payment", "Activity_issue"]


def test_ev_charger_issued_before_payment_is_installed_after_both(rt: Runtime) -> None:
    iid = ev_charger(rt)
    quote_ev(rt, iid, accepted=True)
    issue_ev(rt, iid)
    assert open_links(rt, iid) == ["Activity_payment"]
    pay_ev(rt, iid)
    install_test_and_visit_ev(rt, iid)
    assert_finished(rt, iid, EV_INSTALLED, steps=METERED)
    assert completion_order(rt, iid)[3:5] == ["Activity_issue", "Activity_payment"]


# --- distributed PV connection -----------------------------------------------------------------


def pv_connection(rt: Runtime) -> int:
    iid = new_demand(
        rt, "pv", starts="pv_connection", capacity_kw=12, address="Zhangjia Village 23"
    )
    complete(
        rt,
        iid,
        "Activity_accept",
        {
            "capacity_kw": 12.0,
            "grid_mode": "self_use_surplus",
            "documents_complete": True,
            "installer": "Sunrise Solar Ltd",
        },
    )
    complete(
        rt,
        iid,
        "Activity_design",
        {
            "connection_point": "Transformer area 7, pole 12",
            "metering_scheme": "bidirectional",
            "reinforcement_needed": False,
            "scheme_no": "PV-AS-2026-0058",
        },
    )
    complete(rt, iid, "Activity_reply_scheme", {"reply_channel": "app", "scheme_confirmed": True})
    assert open_links(rt, iid) == []
    assert [(w.kind, w.name) for w in waits(rt, iid)] == [("message", "works_finished")]
    assert instances.deliver_message(rt, iid, "works_finished", {"installer": "Sunrise Solar Ltd"})
    assert open_links(rt, iid) == ["Activity_inspect"]
    return iid


def inspect_pv(rt: Runtime, iid: int, passed: bool) -> None:
    form: dict[str, object] = {
        "inspection_report_no": "PVI-2026-0101",
        "anti_islanding_passed": passed,
        "inspection_passed": passed,
    }
    if not passed:
        form["defects"] = "Inverter anti-islanding protection not enabled"
    complete(rt, iid, "Activity_inspect", form)


def contract_meter_and_settle_pv(rt: Runtime, iid: int) -> None:
    assert open_links(rt, iid) == ["Activity_contract"]
    complete(
        rt,
        iid,
        "Activity_contract",
        {
            "contract_no": "PPA-2026-0233",
            "settlement_account": "6222 0212 3456 7890",
            "signed_on": "2026-03-09",
        },
    )
    install_meter(rt, iid, "residential", {"export_reading": 0.0})
    complete(
        rt,
        iid,
        "Activity_settlement",
        {
            "settlement_cycle": "monthly",
            "feed_in_tariff_code": "FIT-ZJ-2026",
            "subsidy_eligible": False,
        },
    )


PV_AFTER_INSPECTION = ["Activity_contract", "Activity_install_meter", "Activity_settlement"]
PV_BEFORE_INSPECTION = ["Activity_accept", "Activity_design", "Activity_reply_scheme"]


def test_pv_installation_passing_inspection_first_time_is_connected_and_settled(
    rt: Runtime,
) -> None:
    iid = pv_connection(rt)
    inspect_pv(rt, iid, passed=True)
    contract_meter_and_settle_pv(rt, iid)
    assert_finished(
        rt, iid, [*PV_BEFORE_INSPECTION, "Activity_inspect", *PV_AFTER_INSPECTION], steps=METERED
    )


def test_pv_installation_failing_inspection_is_rectified_and_inspected_again(rt: Runtime) -> None:
    iid = pv_connection(rt)
    inspect_pv(rt, iid, passed=False)
    assert open_links(rt, iid) == ["Activity_rectification"]
    complete(
        rt,
        iid,
        "Activity_rectification",
        {
            "rectification_items": "Enable anti-islanding protection on the inverter",
            "notified_via": "phone",
            "reinspection_date": "2026-03-12",
        },
    )
    assert open_links(rt, iid) == ["Activity_inspect"]
    inspect_pv(rt, iid, passed=True)
    contract_meter_and_settle_pv(rt, iid)
    assert_finished(
        rt,
        iid,
        [
            *PV_BEFORE_INSPECTION,
            "Activity_inspect",
            "Activity_rectification",
            "Activity_inspect",
            *PV_AFTER_INSPECTION,
        ],
        steps=METERED,
    )


# --- energy-efficiency service package ---------------------------------------------------------


def energy_efficiency(rt: Runtime) -> int:
    iid = new_demand(
        rt,
        "energy_efficiency",
        starts="energy_efficiency",
        customer_name="Huamei Textile Factory",
        customer_category="business",
        capacity_kw=630,
    )
    complete(
        rt,
        iid,
        "Activity_accept",
        {
            "site_type": "factory",
            "main_concern": "power_factor",
            "annual_consumption_mwh": 2400.0,
            "contact_phone": "057188886666",
        },
    )
    complete(
        rt,
        iid,
        "Activity_audit",
        {
            "audit_report_no": "EA-2026-0019",
            "baseline_kwh_month": 200000.0,
            "estimated_savings_pct": 8.5,
            "recommended_measures": "Capacitor bank 200 kvar; VFDs on the two main fans",
        },
    )
    return iid


def test_energy_efficiency_package_declined_after_the_audit_closes_the_request(
    rt: Runtime,
) -> None:
    iid = energy_efficiency(rt)
    complete(
        rt, iid, "Activity_propose", {"package": "standard", "price": 68000.0, "accepted": False}
    )
    assert_finished(rt, iid, ["Activity_accept", "Activity_audit", "Activity_propose"])


def test_energy_efficiency_package_accepted_is_implemented_verified_and_followed_up(
    rt: Runtime,
) -> None:
    iid = energy_efficiency(rt)
    complete(
        rt, iid, "Activity_propose", {"package": "premium", "price": 98000.0, "accepted": True}
    )
    assert open_links(rt, iid) == ["Activity_implement"]
    complete(
        rt,
        iid,
        "Activity_implement",
        {
            "measures_done": "Capacitor bank and two VFDs installed",
            "completed_on": "2026-03-20",
            "commissioning_passed": True,
        },
    )
    complete(
        rt,
        iid,
        "Activity_verify",
        {
            "measured_kwh_month": 183000.0,
            "verified_savings_pct": 8.5,
            "verification_report_no": "EV-2026-0007",
        },
    )
    complete(
        rt,
        iid,
        "Activity_return_visit",
        {"satisfaction": "satisfied", "savings_confirmed": True},
    )
    assert_finished(
        rt,
        iid,
        [
            "Activity_accept",
            "Activity_audit",
            "Activity_propose",
            "Activity_implement",
            "Activity_verify",
            "Activity_return_visit",
        ],
    )


# --- escalation (raised by a linkage rule) -------------------------------------------------------


def test_an_escalation_is_one_supervisor_link_within_30_minutes(rt: Runtime) -> None:
    started = instances.start_instance(
        rt, "escalation", {"subject": "Repair crew late on site"}, business_key="E-1"
    )
    iid = started.instance_id
    assert open_links(rt, iid) == ["Activity_handle_escalation"]
    item = item_for(rt, iid, "Activity_handle_escalation")
    assert (item.role, item.due_at - item.ready_at) == ("supervisor", timedelta(minutes=30))
    complete(rt, iid, "Activity_handle_escalation", {"escalation_action": "dispatch_backup_crew"})
    assert_finished(rt, iid, ["Activity_handle_escalation"])


# --- return visit after a low rating (raised by a linkage rule) ----------------------------------


def test_a_return_visit_is_one_account_manager_link_within_a_working_day(rt: Runtime) -> None:
    started = instances.start_instance(
        rt, "return_visit", {"rated_stars": 1, "rated_demand": "D-2026-000001"}, business_key="R-1"
    )
    iid = started.instance_id
    assert open_links(rt, iid) == ["Activity_return_visit"]
    item = item_for(rt, iid, "Activity_return_visit")
    # Monday 09:00 + 1 working day (7 h): Monday 17:30.
    assert (item.role, item.customer_facing) == ("account_manager", True)
    assert item.due_at - item.ready_at == timedelta(hours=8, minutes=30)
    complete(rt, iid, "Activity_return_visit", {"visit_outcome": "resolved"})
    assert_finished(rt, iid, ["Activity_return_visit"])
