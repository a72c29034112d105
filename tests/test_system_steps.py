"""System steps: external tasks served by workers of other systems, call activities running a
child instance, countersigns by several departments, and engine errors that become incidents.

Every test runs on SQLite and PostgreSQL with the Camunda-style files in tests/bpmn/."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ADMIN, complete, force_into_store, item_for, open_items
from sqlalchemy import select

from gridflow import catalog, external_tasks, incidents, system_tasks, work_items
from gridflow.clock import SimulatedClock
from gridflow.engine import EngineError
from gridflow.errors import ConflictError, ForbiddenError, FormError, InvalidStateError
from gridflow.external_tasks import TopicRequest, Worker
from gridflow.instances import start_instance
from gridflow.models import Instance, SystemTask, TaskEvent, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

BPMN = Path(__file__).parent / "bpmn"
FINANCE = Worker("finance_system", "finance-worker-1", frozenset({"finance_payment"}))
FINANCE_2 = Worker("finance_system", "finance-worker-2", frozenset({"finance_payment"}))
PAYMENT = [TopicRequest("finance_payment", 60_000)]
SUPERVISOR = Actor("supervisor1", frozenset({"supervisor"}))


@pytest.fixture
def steps_rt(rt: Runtime) -> Runtime:
    catalog.deploy_paths(rt, [BPMN], "test")
    # A run-time breaker the lint refuses (the gateway reads an optional field): forced into
    # the store to show what the run time does with it.
    breaker = BPMN / "breakers" / "budget_gate.bpmn"
    force_into_store(rt, "budget_gate", breaker.read_bytes(), breaker.name)
    return rt


def _steps(rt: Runtime, instance_id: int) -> list[SystemTask]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(SystemTask)
                .where(SystemTask.instance_id == instance_id)
                .order_by(SystemTask.id)
            )
        )


def _events(rt: Runtime, instance_id: int) -> list[tuple[str, str]]:
    with rt.db.read() as session:
        rows = session.execute(
            select(TaskEvent.element_id, TaskEvent.lifecycle)
            .where(TaskEvent.instance_id == instance_id)
            .order_by(TaskEvent.id)
        ).all()
    return [(row.element_id, row.lifecycle) for row in rows]


def _status(rt: Runtime, instance_id: int) -> str:
    with rt.db.read() as session:
        instance = session.get(Instance, instance_id)
        assert instance is not None
        return instance.status


def _start_payment(rt: Runtime, key: str = "P-1") -> int:
    return start_instance(rt, "payment_check", {"customer": "Li"}, business_key=key).instance_id


# --- external tasks --------------------------------------------------------------------------


def test_an_external_task_waits_for_a_worker_who_completes_it_with_its_outputs(
    steps_rt: Runtime,
) -> None:
    instance_id = _start_payment(steps_rt)
    [step] = _steps(steps_rt, instance_id)
    assert (step.kind, step.state, step.topic, step.priority) == (
        "external",
        "ready",
        "finance_payment",
        5,
    )
    assert step.inputs == {"customer": "Li"}

    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 10)
    assert (task.id, task.topic, task.worker_id, task.business_key) == (
        step.id,
        "finance_payment",
        "finance-worker-1",
        "P-1",
    )
    assert task.variables == {"customer": "Li"}
    assert task.lock_expires_at == steps_rt.clock.now().replace(microsecond=0) + timedelta(
        seconds=60
    )
    assert external_tasks.fetch_and_lock(steps_rt, FINANCE_2, PAYMENT, 10) == []

    steps_rt.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    external_tasks.complete(steps_rt, task.id, FINANCE, {"paid": True, "receipt_no": "R-9"})

    [done] = _steps(steps_rt, instance_id)
    assert (done.state, done.completed_by, done.variables) == (
        "completed",
        "finance-worker-1",
        {"paid": True, "receipt_no": "R-9"},
    )
    assert (done.waiting_s, done.handling_s) == (0.0, 30.0)
    assert _status(steps_rt, instance_id) == "completed"
    assert _events(steps_rt, instance_id) == [
        ("Task_check_payment", "ready"),
        ("Task_check_payment", "locked"),
        ("Task_check_payment", "completed"),
    ]


def test_a_system_steps_events_keep_their_step_when_a_link_ends_in_the_same_verb(
    rt: Runtime,
) -> None:
    """Completing a residential connection's acceptance writes the link's events and the
    customer archive's "ready" in one insert: each event keeps the link or step it is of."""
    from gridflow.demands import DemandInput, create_demand

    accepted = create_demand(rt, DemandInput("Zhao household", "residential", "app", "connection"))
    iid = accepted.instances[0].instance_id
    accept = item_for(rt, iid, "Activity_accept")
    work_items.complete(
        rt, accept.id, ADMIN, {"id_checked": True, "supply_scheme": "existing_line"}
    )
    [archive] = _steps(rt, iid)
    with rt.db.read() as session:
        rows = session.execute(
            select(
                TaskEvent.element_id,
                TaskEvent.lifecycle,
                TaskEvent.work_item_id,
                TaskEvent.system_task_id,
                TaskEvent.role,
            )
            .where(TaskEvent.instance_id == iid)
            .order_by(TaskEvent.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("Activity_accept", "ready", accept.id, None, "account_manager"),
        ("Activity_accept", "claimed", accept.id, None, "account_manager"),
        ("Activity_accept", "completed", accept.id, None, "account_manager"),
        ("Activity_archive_customer", "ready", None, archive.id, "integration"),
    ]


def test_a_worker_may_set_only_the_outputs_the_task_declares(steps_rt: Runtime) -> None:
    instance_id = _start_payment(steps_rt)
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    with pytest.raises(FormError) as refused:
        external_tasks.complete(steps_rt, task.id, FINANCE, {"paid": True, "approved": True})
    assert refused.value.field_errors == {
        "approved": "Task_check_payment does not declare this output "
        "(it declares: paid, receipt_no)"
    }
    [step] = _steps(steps_rt, instance_id)
    assert step.state == "locked"


def test_two_workers_fetching_at_once_never_get_the_same_task(steps_rt: Runtime) -> None:
    for n in range(3):
        _start_payment(steps_rt, f"P-{n}")
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def fetch(worker: Worker) -> None:
        try:
            barrier.wait()
            got[worker.worker_id] = [
                t.id for t in external_tasks.fetch_and_lock(steps_rt, worker, PAYMENT, 2)
            ]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(w,)) for w in (FINANCE, FINANCE_2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    first, second = got["finance-worker-1"], got["finance-worker-2"]
    assert not set(first) & set(second)
    assert len(first) + len(second) == 3


def test_an_expired_lock_returns_the_task_so_a_dead_worker_loses_nothing(
    steps_rt: Runtime,
) -> None:
    instance_id = _start_payment(steps_rt)
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    steps_rt.clock.advance(timedelta(seconds=59))  # type: ignore[attr-defined]
    assert external_tasks.fetch_and_lock(steps_rt, FINANCE_2, PAYMENT, 1) == []
    steps_rt.clock.advance(timedelta(seconds=2))  # type: ignore[attr-defined]
    [again] = external_tasks.fetch_and_lock(steps_rt, FINANCE_2, PAYMENT, 1)
    assert again.id == task.id
    with pytest.raises(ConflictError):
        external_tasks.complete(steps_rt, task.id, FINANCE, {"paid": True})
    external_tasks.complete(steps_rt, task.id, FINANCE_2, {"paid": True})
    assert _status(steps_rt, instance_id) == "completed"
    [step] = _steps(steps_rt, instance_id)
    assert step.attempts == 2


def test_failures_count_down_to_an_incident_that_a_retry_resolves(steps_rt: Runtime) -> None:
    instance_id = _start_payment(steps_rt)
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    external_tasks.failure(
        steps_rt, task.id, FINANCE, "finance system down", retries=1, retry_timeout_ms=5_000
    )
    [step] = _steps(steps_rt, instance_id)
    assert (step.state, step.retries, step.error_message) == ("ready", 1, "finance system down")
    assert external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1) == []  # not before 5 s
    steps_rt.clock.advance(timedelta(seconds=5))  # type: ignore[attr-defined]
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    assert (task.retries, task.error_message) == (1, "finance system down")
    external_tasks.failure(
        steps_rt, task.id, FINANCE, "still down", error_details="timeout after 30 s", retries=0
    )
    [step] = _steps(steps_rt, instance_id)
    assert step.state == "incident"
    [incident] = incidents.listing(steps_rt)
    assert (incident.kind, incident.instance_id, incident.element_id, incident.message) == (
        "failed_external_task",
        instance_id,
        "Task_check_payment",
        "still down",
    )
    steps_rt.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    assert external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1) == []

    retried = incidents.retry(steps_rt, incident.id, SUPERVISOR, retries=2)
    assert (retried.state, retried.resolution, retried.resolved_by) == (
        "resolved",
        "retried",
        "supervisor1",
    )
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    assert task.retries == 2
    external_tasks.complete(steps_rt, task.id, FINANCE, {"paid": True})
    assert _status(steps_rt, instance_id) == "completed"
    assert [lc for _, lc in _events(steps_rt, instance_id)] == [
        "ready",
        "locked",
        "failed",
        "locked",
        "failed",
        "incident",
        "retried",
        "locked",
        "completed",
    ]


def test_a_bpmn_error_takes_the_tasks_error_boundary_path(steps_rt: Runtime) -> None:
    instance_id = _start_payment(steps_rt)
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    with pytest.raises(EngineError) as uncaught:
        external_tasks.bpmn_error(steps_rt, task.id, FINANCE, "NO_SUCH_CODE")
    assert uncaught.value.element_id == "Task_check_payment"
    assert "no error boundary event on it catches error code 'NO_SUCH_CODE'" in str(uncaught.value)

    external_tasks.bpmn_error(
        steps_rt, task.id, FINANCE, "PAYMENT_REFUSED", "card declined", {"paid": False}
    )
    [step] = _steps(steps_rt, instance_id)
    assert (step.state, step.error_message) == ("error", "card declined")
    remind = item_for(steps_rt, instance_id, "Task_remind")
    assert (remind.role, remind.lane, remind.department) == (
        "account_manager",
        "Account manager",
        "customer_service",
    )
    assert _events(steps_rt, instance_id)[-2:] == [
        ("Task_check_payment", "error"),
        ("Task_remind", "ready"),
    ]


def test_a_worker_outside_its_topics_is_refused(steps_rt: Runtime) -> None:
    _start_payment(steps_rt)
    metering = Worker("metering_system", "meter-1", frozenset({"meter_order"}))
    with pytest.raises(ForbiddenError):
        external_tasks.fetch_and_lock(steps_rt, metering, PAYMENT, 1)
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    with pytest.raises(Exception) as hidden:
        external_tasks.complete(steps_rt, task.id, metering, {"paid": True})
    assert type(hidden.value).__name__ == "NotFoundError"
    with pytest.raises(InvalidStateError):
        Worker("finance_system", "bad id with spaces", None)


# --- call activities -------------------------------------------------------------------------


def test_a_call_activity_runs_its_child_to_the_end_and_maps_variables_both_ways(
    steps_rt: Runtime,
) -> None:
    started = start_instance(
        steps_rt, "caller", {"capacity_kw": 12, "secret": "x"}, business_key="D-7"
    )
    [call] = _steps(steps_rt, started.instance_id)
    assert (call.kind, call.state) == ("call", "running")
    assert call.child_instance_id is not None
    child_id = call.child_instance_id
    with steps_rt.db.read() as session:
        child = session.get(Instance, child_id)
        assert child is not None
        assert (child.business_key, child.parent_instance_id, child.parent_task_id) == (
            "D-7",
            started.instance_id,
            call.task_id,
        )
    visit = item_for(steps_rt, child_id, "Task_visit")
    assert (visit.role, visit.department) == ("planning_design", "planning_design")
    with steps_rt.db.read() as session:
        child = session.get(Instance, child_id)
        assert child is not None
        assert child.variables == {"load_kw": 12, "fuse_a": 24}

    complete(steps_rt, child_id, "Task_visit", {"visit_notes": "transformer has room"})

    assert _status(steps_rt, child_id) == "completed"
    [call] = _steps(steps_rt, started.instance_id)
    assert (call.state, call.variables) == ("completed", {"survey_notes": "transformer has room"})
    reply = item_for(steps_rt, started.instance_id, "Task_reply")
    complete(steps_rt, started.instance_id, "Task_reply", {"replied": True})
    with steps_rt.db.read() as session:
        parent = session.get(Instance, started.instance_id)
        assert parent is not None
        assert parent.status == "completed"
        assert parent.variables["survey_notes"] == "transformer has room"
        assert "visit_notes" not in parent.variables
    assert reply.element_id == "Task_reply"


def test_cancelling_the_caller_cancels_the_child(steps_rt: Runtime) -> None:
    started = start_instance(steps_rt, "caller", {"capacity_kw": 12}, business_key="D-8")
    [call] = _steps(steps_rt, started.instance_id)
    child_id = call.child_instance_id
    assert child_id is not None
    visit = item_for(steps_rt, child_id, "Task_visit")
    with pytest.raises(InvalidStateError):
        system_tasks.cancel(steps_rt, child_id, SUPERVISOR, "duplicate")
    system_tasks.cancel(steps_rt, started.instance_id, SUPERVISOR, "customer withdrew")
    assert (_status(steps_rt, started.instance_id), _status(steps_rt, child_id)) == (
        "cancelled",
        "cancelled",
    )
    assert open_items(steps_rt, child_id) == []
    [call] = _steps(steps_rt, started.instance_id)
    assert call.state == "cancelled"
    with pytest.raises(Exception) as gone:
        work_items.complete(steps_rt, visit.id, ADMIN, {"visit_notes": "late"})
    assert type(gone.value).__name__ in ("InvalidStateError", "ConflictError")
    assert _events(steps_rt, child_id)[-1] == ("Task_visit", "cancelled")


# --- countersign ----------------------------------------------------------------------------

SIGNERS = ["planning_design", "dispatch_repair", "metering", "finance"]


def test_a_countersign_completes_when_all_four_departments_approve(steps_rt: Runtime) -> None:
    clock = steps_rt.clock
    assert isinstance(clock, SimulatedClock)
    started = start_instance(steps_rt, "countersign", {"signers": SIGNERS}, business_key="HV-1")
    items = open_items(steps_rt, started.instance_id)
    assert [(i.element_id, i.role, i.department, i.lane) for i in items] == [
        ("Task_sign", "planning_design", "planning_design", "Planning and design"),
        ("Task_sign", "dispatch_repair", "dispatch_repair", "Dispatch and repair"),
        ("Task_sign", "metering", "metering", "Metering"),
        ("Task_sign", "finance", "finance", "Finance"),
    ]
    for minutes, item in zip((10, 20, 30, 40), items, strict=True):
        clock.advance(timedelta(minutes=10))
        signer = Actor(f"{item.role}1", frozenset({item.role}))
        work_items.complete(steps_rt, item.id, signer, {"decision": "approve", "opinion": "ok"})
        assert minutes > 0
    assert _status(steps_rt, started.instance_id) == "completed"
    with steps_rt.db.read() as session:
        done = list(
            session.scalars(
                select(WorkItem)
                .where(WorkItem.instance_id == started.instance_id)
                .order_by(WorkItem.id)
            )
        )
        instance = session.get(Instance, started.instance_id)
        assert instance is not None
        assert instance.variables["decision"] == "approve"
        assert "nrOfInstances" not in instance.variables
    assert [(i.state, i.completed_by, i.handling_s) for i in done] == [
        ("completed", "planning_design1", 0.0),
        ("completed", "dispatch_repair1", 0.0),
        ("completed", "metering1", 0.0),
        ("completed", "finance1", 0.0),
    ]
    assert [i.waiting_s for i in done] == [600.0, 1200.0, 1800.0, 2400.0]


def test_a_countersign_ends_early_when_one_department_rejects(steps_rt: Runtime) -> None:
    started = start_instance(steps_rt, "countersign", {"signers": SIGNERS}, business_key="HV-2")
    items = open_items(steps_rt, started.instance_id)
    work_items.complete(steps_rt, items[0].id, ADMIN, {"decision": "approve"})
    work_items.complete(steps_rt, items[2].id, ADMIN, {"decision": "reject", "opinion": "no meter"})
    assert _status(steps_rt, started.instance_id) == "completed"
    with steps_rt.db.read() as session:
        states = {
            i.role: i.state
            for i in session.scalars(
                select(WorkItem).where(WorkItem.instance_id == started.instance_id)
            )
        }
        instance = session.get(Instance, started.instance_id)
        assert instance is not None
        assert instance.variables["decision"] == "reject"
    assert states == {
        "planning_design": "completed",
        "dispatch_repair": "cancelled",
        "metering": "completed",
        "finance": "cancelled",
    }


def test_a_countersign_over_something_that_is_not_a_role_is_an_error_naming_the_task(
    steps_rt: Runtime,
) -> None:
    with pytest.raises(EngineError) as failed:
        start_instance(
            steps_rt,
            "countersign",
            {"signers": ["planning_design", "janitor"]},
            business_key="HV-3",
        )
    assert failed.value.element_id == "Task_sign"
    assert "candidate group variable 'signer' holds 'janitor', not a role that does work" in str(
        failed.value
    )
    with steps_rt.db.read() as session:
        assert session.scalar(select(Instance.id).where(Instance.business_key == "HV-3")) is None


# --- engine errors ---------------------------------------------------------------------------


def test_an_engine_error_inside_a_verb_changes_nothing_and_opens_an_incident(
    steps_rt: Runtime,
) -> None:
    started = start_instance(steps_rt, "budget_gate", {}, business_key="B-1")
    item = item_for(steps_rt, started.instance_id, "Task_budget")
    # The budget is optional on the form, but the gateway after it reads it.
    for _ in range(2):
        with pytest.raises(EngineError) as failed:
            work_items.complete(steps_rt, item.id, ADMIN, {})
        assert failed.value.element_id == "Gateway_budget"
        assert "undefined variable 'budget'" in str(failed.value)
    assert item_for(steps_rt, started.instance_id, "Task_budget").state == "ready"
    assert _events(steps_rt, started.instance_id) == [("Task_budget", "ready")]
    [incident] = incidents.listing(steps_rt)
    assert (incident.kind, incident.instance_id, incident.element_id, incident.occurrences) == (
        "engine_error",
        started.instance_id,
        "Gateway_budget",
        2,
    )
    assert failed.value.incident_id == incident.id
    work_items.complete(steps_rt, item.id, ADMIN, {"budget": 500})
    assert _status(steps_rt, started.instance_id) == "completed"


# --- timelines and figures ------------------------------------------------------------------


def test_system_steps_are_on_the_timeline_and_in_their_own_audit_figures(
    steps_rt: Runtime,
) -> None:
    from gridflow import step_figures, timeline
    from gridflow.audit import EVERYTHING

    clock = steps_rt.clock
    assert isinstance(clock, SimulatedClock)
    for n, (wait_s, work_s) in enumerate([(60, 30), (120, 10), (600, 50)]):
        _start_payment(steps_rt, f"F-{n}")
        clock.advance(timedelta(seconds=wait_s))
        [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
        if n == 0:
            external_tasks.failure(steps_rt, task.id, FINANCE, "busy", retries=3)
            [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
        clock.advance(timedelta(seconds=work_s))
        external_tasks.complete(steps_rt, task.id, FINANCE, {"paid": True})
    open_id = _start_payment(steps_rt, "F-open")

    [figures] = [
        f
        for f in step_figures.step_figures(steps_rt, EVERYTHING)
        if f.element_id == "Task_check_payment"
    ]
    assert (figures.kind, figures.topic, figures.count, figures.failures, figures.open) == (
        "external",
        "finance_payment",
        3,
        1,
        1,
    )
    assert figures.durations["waiting_median_s"] == 120.0
    assert figures.durations["waiting_max_s"] == 600.0
    assert figures.durations["handling_median_s"] == 30.0
    assert figures.durations["handling_p95_s"] == pytest.approx(30 + 0.9 * 20)

    view = timeline.instance_timeline(steps_rt, open_id).as_json()
    [step] = view["system_steps"]  # type: ignore[misc]
    assert (step["step_name"], step["state"], step["topic"]) == (
        "Check payment with finance",
        "ready",
        "finance_payment",
    )
    assert view["links"] == []
    assert view["next"]["open_system_steps"] == [step["system_task_id"]]  # type: ignore[index]


def test_the_event_log_shows_a_workers_lock_as_the_start_of_a_system_step(
    steps_rt: Runtime,
) -> None:
    from gridflow import export

    instance_id = _start_payment(steps_rt)
    [task] = external_tasks.fetch_and_lock(steps_rt, FINANCE, PAYMENT, 1)
    external_tasks.complete(steps_rt, task.id, FINANCE, {"paid": False})
    xes = "".join(export.events_xes(steps_rt))
    trace = xes[xes.index(f'<string key="concept:name" value="{instance_id}"/>') :]
    events = trace.split("<event>")[1:4]
    assert ['value="schedule"' in events[0], 'value="start"' in events[1]] == [True, True]
    assert 'key="org:resource" value="finance_system"' in events[1]
    assert 'key="org:group" value="system"' in events[1]


# --- event-based gateways, signal and escalation boundaries, embedded subprocesses ---------


def test_an_event_based_gateway_takes_the_message_that_comes_first_and_drops_the_timer(
    steps_rt: Runtime,
) -> None:
    from gridflow.instances import deliver_message
    from gridflow.models import Wait

    started = start_instance(steps_rt, "event_paths", {"capacity_kw": 50}, business_key="E-1")
    with steps_rt.db.read() as session:
        waits = sorted(
            (w.kind, w.name)
            for w in session.scalars(select(Wait).where(Wait.instance_id == started.instance_id))
        )
    assert [w[0] for w in waits] == ["message", "timer"]
    assert deliver_message(steps_rt, started.instance_id, "documents_received", {"pages": 3})
    measure = item_for(steps_rt, started.instance_id, "Task_measure")
    # Inside the survey subprocess, the link belongs to the subprocess's lane.
    assert (measure.lane, measure.role) == ("Planning and design", "planning_design")
    with steps_rt.db.read() as session:
        assert (
            session.scalars(select(Wait).where(Wait.instance_id == started.instance_id)).all() == []
        )
    complete(steps_rt, started.instance_id, "Task_measure", {"measured_kw": 40})
    assert _status(steps_rt, started.instance_id) == "completed"


def test_an_escalation_thrown_inside_a_subprocess_takes_its_boundary_path(
    steps_rt: Runtime,
) -> None:
    from gridflow.instances import deliver_message

    started = start_instance(steps_rt, "event_paths", {"capacity_kw": 500}, business_key="E-2")
    deliver_message(steps_rt, started.instance_id, "documents_received")
    complete(steps_rt, started.instance_id, "Task_measure", {"measured_kw": 400})
    review = item_for(steps_rt, started.instance_id, "Task_big_review")
    assert review.role == "planning_design"
    complete(steps_rt, started.instance_id, "Task_big_review", {"reviewed": True})
    assert _status(steps_rt, started.instance_id) == "completed"


def test_the_deadline_timer_wins_when_no_message_comes_and_a_signal_interrupts_the_link(
    steps_rt: Runtime,
) -> None:
    from gridflow.instances import send_signal
    from gridflow.timers import fire_due_timers

    clock = steps_rt.clock
    assert isinstance(clock, SimulatedClock)
    started = start_instance(steps_rt, "event_paths", {"capacity_kw": 50}, business_key="E-3")
    clock.advance(timedelta(days=3, seconds=1))
    assert fire_due_timers(steps_rt) == 1
    chase = item_for(steps_rt, started.instance_id, "Task_chase")
    assert chase.role == "account_manager"
    assert send_signal(steps_rt, "storm_warning") == 1
    assert [i.element_id for i in open_items(steps_rt, started.instance_id)] == ["Task_reschedule"]
    assert sorted(_events(steps_rt, started.instance_id)[-2:]) == [
        ("Task_chase", "cancelled"),
        ("Task_reschedule", "ready"),
    ]


def test_another_vendors_extensions_under_the_camunda_prefix_are_refused_by_name(
    roles,  # type: ignore[no-untyped-def]
) -> None:
    from gridflow import definitions

    text = (BPMN / "payment_check.bpmn").read_text()
    activiti = text.replace(
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
        'xmlns:camunda="http://activiti.org/bpmn"',
    )
    problems = definitions.lint(activiti.encode(), "activiti.bpmn", roles)
    assert problems[0].message.startswith(
        "the camunda prefix is bound to 'http://activiti.org/bpmn' (Activiti)"
    )
    flowable = text.replace(
        '<bpmn:userTask id="Task_remind" name="Remind the customer to pay" camunda:candidateGroups="account_manager">',
        '<bpmn:userTask id="Task_remind" name="Remind the customer to pay" flowable:candidateGroups="account_manager" xmlns:flowable="http://flowable.org/bpmn">',
    )
    messages = [
        (p.element_id, p.message) for p in definitions.lint(flowable.encode(), "f.bpmn", roles)
    ]
    assert any(
        element == "Task_remind" and "Flowable extension 'candidateGroups' is not read" in message
        for element, message in messages
    ), messages


def test_a_call_activity_that_does_not_pass_what_the_called_process_reads_is_a_lint_problem(
    roles,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from gridflow import definitions

    (tmp_path / "site_visit.bpmn").write_bytes((BPMN / "site_visit.bpmn").read_bytes())
    caller = (BPMN / "caller.bpmn").read_text()
    (tmp_path / "caller.bpmn").write_text(
        caller.replace(
            '<camunda:out source="visit_notes" target="survey_notes" />',
            '<camunda:out source="visit_photo" target="survey_photo" />',
        )
    )
    lines = caller.splitlines()
    line = next(n for n, text in enumerate(lines, 1) if 'id="Call_visit"' in text)
    problems = definitions.lint_paths([tmp_path], roles)[tmp_path / "caller.bpmn"]
    assert [(p.line, p.element_id, p.message) for p in problems] == [
        (
            line,
            "Call_visit",
            "camunda:out takes visit_photo from 'site_visit', which never sets it (no form "
            "field, external-task output, decision result or start variable of that name)",
        )
    ]


def test_a_caller_that_leaves_out_a_start_variable_of_the_called_process_is_refused(
    roles,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from gridflow import definitions
    from gridflow.errors import DefinitionError

    processes = Path(__file__).parent.parent / "processes"
    (tmp_path / "meter_installation.bpmn").write_bytes(
        (processes / "meter_installation.bpmn").read_bytes()
    )
    text = (processes / "lv_residential_connection.bpmn").read_text()
    (tmp_path / "lv_residential_connection.bpmn").write_text(
        text.replace(
            '<camunda:in sourceExpression="${\'residential\'}" target="meter_class" />', ""
        )
    )
    [problem] = definitions.lint_paths([tmp_path], roles)[
        tmp_path / "lv_residential_connection.bpmn"
    ]
    assert problem.message == (
        "calls 'meter_installation', which reads meter_class at its start: pass them with "
        'camunda:in (or variables="all")'
    )
    with pytest.raises(DefinitionError):
        catalog.deploy_paths(Runtime.create("sqlite://", roles=roles), [tmp_path], "designer")
