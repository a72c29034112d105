"""The engine's short paths give what SpiffWorkflow's long ones give: the saved document, the
restored workflow, and the links, waits and variables read from a run.

Every process in processes/ is driven in memory, with a breach timer let go off where one
waits; at every step the short paths are checked against the long ones. A system step is done
in memory as its worker or called process would end it: an external task with a value for each
of its outputs, a call activity with nothing handed back (the called process is not run here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from bpmn_samples import FORM, HEADER, STANDARD
from conftest import _CALENDAR, _ROLES, MONDAY_9AM, PROCESSES, complete, item_for, open_items
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import inspect, select

from gridflow import catalog, definitions, instances, work_items
from gridflow.clock import SimulatedClock
from gridflow.decisions import DecisionBook
from gridflow.definitions import ProcessDefinition
from gridflow.definitions.spiff import CalledProcess, ExternalTask
from gridflow.demands import DemandInput, create_demand
from gridflow.engine import _STATES, Engine, LinkTask, Run, SafeScriptEngine, SystemStep, _waits
from gridflow.models import Instance, Wait, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime


def _task(id_: str, name: str) -> str:
    return (
        f'<bpmn:userTask id="{id_}" name="{name}"><bpmn:extensionElements>{FORM}'
        f"{STANDARD.format(target='PT2H')}</bpmn:extensionElements></bpmn:userTask>"
    )


# An embedded subprocess (two parallel links inside) with a breach timer on it.
SUB = (
    HEADER
    + f"""  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" processRef="with_sub" />
  </bpmn:collaboration>
  <bpmn:process id="with_sub" name="With a subprocess" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_front" name="Account manager">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_before</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Sub_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_inner_a</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_inner_b</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_after</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Event_late</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_chase</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_2</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Activity_before" />
    {_task("Activity_before", "Before")}
    <bpmn:sequenceFlow id="F2" sourceRef="Activity_before" targetRef="Sub_1" />
    <bpmn:subProcess id="Sub_1" name="Inside">
      <bpmn:startEvent id="Sub_start" />
      <bpmn:sequenceFlow id="S1" sourceRef="Sub_start" targetRef="Sub_split" />
      <bpmn:parallelGateway id="Sub_split" />
      <bpmn:sequenceFlow id="S2" sourceRef="Sub_split" targetRef="Activity_inner_a" />
      <bpmn:sequenceFlow id="S3" sourceRef="Sub_split" targetRef="Activity_inner_b" />
      {_task("Activity_inner_a", "Inner A")}
      {_task("Activity_inner_b", "Inner B")}
      <bpmn:sequenceFlow id="S4" sourceRef="Activity_inner_a" targetRef="Sub_join" />
      <bpmn:sequenceFlow id="S5" sourceRef="Activity_inner_b" targetRef="Sub_join" />
      <bpmn:parallelGateway id="Sub_join" />
      <bpmn:sequenceFlow id="S6" sourceRef="Sub_join" targetRef="Sub_end" />
      <bpmn:endEvent id="Sub_end" />
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="Event_late" name="Late" cancelActivity="false" attachedToRef="Sub_1">
      <bpmn:timerEventDefinition id="Timer_late">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="F5" sourceRef="Event_late" targetRef="Activity_chase" />
    {_task("Activity_chase", "Chase")}
    <bpmn:sequenceFlow id="F6" sourceRef="Activity_chase" targetRef="End_2" />
    <bpmn:endEvent id="End_2" />
    <bpmn:sequenceFlow id="F3" sourceRef="Sub_1" targetRef="Activity_after" />
    {_task("Activity_after", "After")}
    <bpmn:sequenceFlow id="F4" sourceRef="Activity_after" targetRef="End_1" />
    <bpmn:endEvent id="End_1" />
  </bpmn:process>
</bpmn:definitions>
"""
)

# A link with a non-interrupting and an interrupting breach timer.
TIMERS = (
    HEADER
    + f"""  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" processRef="timers" />
  </bpmn:collaboration>
  <bpmn:process id="timers" name="Timers" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_front" name="Account manager">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_remind</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_followup</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Event_remind</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Event_expire</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_2</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_3</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_work" />
{_task("Activity_work", "Work")}
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_work" targetRef="End_1" />
    <bpmn:endEvent id="End_1" />
    <bpmn:boundaryEvent id="Event_remind" name="Remind" cancelActivity="false" attachedToRef="Activity_work">
      <bpmn:timerEventDefinition id="Timer_remind">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT30M</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_remind" targetRef="Activity_remind" />
{_task("Activity_remind", "Remind")}
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_remind" targetRef="End_2" />
    <bpmn:endEvent id="End_2" />
    <bpmn:boundaryEvent id="Event_expire" name="Expire" attachedToRef="Activity_work">
      <bpmn:timerEventDefinition id="Timer_expire">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Event_expire" targetRef="Activity_followup" />
{_task("Activity_followup", "Follow up")}
    <bpmn:sequenceFlow id="Flow_6" sourceRef="Activity_followup" targetRef="End_3" />
    <bpmn:endEvent id="End_3" />
  </bpmn:process>
</bpmn:definitions>
"""
)

SAMPLES = {"with_sub.bpmn": SUB, "timers.bpmn": TIMERS}

START = {
    "customer_name": "Short Path Works Co.",
    "customer_category": "business",
    "channel": "counter",
    "address": "1 Reference Road",
    "voltage": "high",
    "capacity_kw": 800,
    "supply": "dual",
    "area": "rural",
    "feeder": "F-101",
    "fault_type": "no_power",
}
# What the other systems' workers answer, by output name.
OUTPUTS: dict[str, object] = {
    "archive_no": "MK-1",
    "meter_no": "DB3-1",
    "meter_phases": 3,
    "paid": True,
    "receipt_no": "FI-1",
}


def long_dump(engine: Engine, run: Run) -> str:
    """Engine.dump as it was: the whole workflow through the serializer, specs dropped."""
    serializer = engine._serializer
    serializer.registry._encoder_mode = True
    try:
        document = serializer.to_dict(run.workflow)
        document.pop("spec", None)
        document.pop("subprocess_specs", None)
        document[BpmnWorkflowSerializer.VERSION_KEY] = VERSION
        return json.dumps(document, cls=serializer._encoder_cls, separators=(",", ":"))
    finally:
        serializer.registry._encoder_mode = False


def long_restore(engine: Engine, definition: ProcessDefinition, document: str) -> BpmnWorkflow:
    """Engine.restore as it was: every task through the registry's converters."""
    data = json.loads(document)
    engine._serializer.migrate(data)
    spec, subprocess_specs = definition.spiff_specs
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    conv = engine._converter
    workflow.tasks = conv.mapping_from_dict(data["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(data["root"]))
    conv.set_default_attributes(workflow, data)
    conv.subprocesses_from_dict(data["subprocesses"], workflow)
    workflow.bpmn_events = engine._serializer.registry.restore(data.pop("bpmn_events", []))
    workflow.script_engine = SafeScriptEngine(
        definition, engine.clock, engine.calendar, engine.decisions
    )
    return workflow


def long_links(run: Run) -> list[LinkTask]:
    result = []
    for task in run.workflow.get_tasks(manual=True):
        state = _STATES.get(task.state)
        spec = task.task_spec
        if state is not None and not isinstance(spec, ExternalTask | CalledProcess):
            result.append(
                LinkTask(
                    str(task.id),
                    spec.bpmn_id,
                    spec.bpmn_name or spec.bpmn_id,
                    spec.lane,
                    state,
                    task.data,
                )
            )
    return result


def long_steps(run: Run) -> list[SystemStep]:
    result = []
    for task in run.workflow.get_tasks(manual=True):
        state = _STATES.get(task.state)
        spec = task.task_spec
        if state is not None and isinstance(spec, ExternalTask | CalledProcess):
            external = isinstance(spec, ExternalTask)
            result.append(
                SystemStep(
                    str(task.id),
                    spec.bpmn_id,
                    spec.bpmn_name or spec.bpmn_id,
                    spec.lane,
                    "external" if external else "call",
                    state,
                    task.data,
                    spec.topic if external else None,
                    spec.priority if external else 0,
                )
            )
    return result


def long_data(run: Run) -> dict[str, object]:
    if run.completed:
        return dict(run.workflow.data)
    tasks = sorted(
        run.workflow.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change
    )
    return dict(tasks[-1].data) if tasks else {}


def task_facts(workflow: BpmnWorkflow) -> list[tuple[Any, ...]]:
    return [
        (
            key,
            task.id,
            task._parent,
            task._children,
            task.state,
            task.task_spec.name,
            task.triggered,
            task.last_state_change,
            task.internal_data,
            task.data,
            task.__class__,
        )
        for key, task in workflow.tasks.items()
    ]


def check(engine: Engine, definition: ProcessDefinition, run: Run) -> Run:
    """Compare every short path with its long one on this run; return the run restored."""
    document = engine.dump(run)
    assert document == long_dump(engine, run)
    restored = engine.restore(definition, document)
    reference = long_restore(engine, definition, document)
    assert task_facts(restored.workflow) == task_facts(reference)
    assert restored.workflow.task_tree.id == reference.task_tree.id
    assert (restored.workflow.last_task and restored.workflow.last_task.id) == (
        reference.last_task and reference.last_task.id
    )
    assert restored.workflow.data == reference.data
    assert list(restored.workflow.event_manager.tasks) == list(reference.event_manager.tasks)
    assert engine.dump(restored) == document
    snapshot = run.snapshot()
    assert snapshot.links == long_links(run)
    assert snapshot.steps == long_steps(run)
    assert snapshot.waits == _waits(run.workflow.get_tasks(state=TaskState.WAITING))
    assert snapshot.data == long_data(run)
    assert snapshot.completed == run.completed
    assert run._ready_automatic() == bool(
        run.workflow.get_tasks(state=TaskState.READY, manual=False)
    )
    return restored


def drive(path: str, clock: SimulatedClock, folder: Path = PROCESSES) -> Iterator[str]:
    """Walk one process in memory, checking at every step; yields what each step did."""
    definition = definitions.load(folder / path, _ROLES)
    engine = Engine(clock, _CALENDAR, DecisionBook.from_paths([folder]))
    run = engine.start(definition, START)
    timers_fired = 0
    for _ in range(60):
        run = check(engine, definition, run)
        if run.completed:
            yield "end"
            return
        waits = run.snapshot().waits
        timers = [w for w in waits if w.kind == "timer" and w.due_at is not None]
        if timers and timers_fired < 2:
            # Let a breach timer go off once or twice: escalation links, cancelled waits.
            clock.set(
                max(clock.now(), min(w.due_at for w in timers if w.due_at)) + timedelta(seconds=1)
            )
            run.step()
            timers_fired += 1
            yield "timer"
            continue
        ready = run.ready_links()
        if ready:
            link = ready[-1] if len(ready) > 1 else ready[0]
            form = definition.links[link.element_id].form.complete_with_examples(
                {"design_approved": True}
                if "design_approved"
                in {f.id for f in definition.links[link.element_id].form.fields}
                else {}
            )
            run.complete(link.task_id, form)
            yield link.element_id
            continue
        steps = [step for step in run.snapshot().steps if step.state == "ready"]
        if steps:
            step = steps[0]
            outputs = definition.steps[step.element_id].outputs
            run.complete(step.task_id, {name: OUTPUTS[name] for name in outputs})
            yield f"{step.kind}:{step.element_id}"
            continue
        messages = [w.name for w in waits if w.kind == "message"]
        if messages:
            assert run.deliver_message(messages[0], {"from": "test"})
            yield f"message:{messages[0]}"
            continue
        pytest.fail(f"{path} is stuck")
    pytest.fail(f"{path} did not end")


@pytest.mark.parametrize("path", sorted(p.name for p in PROCESSES.glob("*.bpmn")))
def test_short_paths_match_spiffworkflow_on_every_step(path: str) -> None:
    clock = SimulatedClock(MONDAY_9AM)
    steps = list(drive(path, clock))
    assert steps[-1] == "end"
    assert len(steps) >= 2  # at least one link (the escalation has just one), then the end


@pytest.mark.parametrize("path", sorted(SAMPLES))
def test_short_paths_match_spiffworkflow_in_subprocesses_and_on_timers(
    path: str, tmp_path: Path
) -> None:
    (tmp_path / path).write_text(SAMPLES[path])
    steps = list(drive(path, SimulatedClock(MONDAY_9AM), tmp_path))
    assert steps[-1] == "end"
    assert "timer" in steps


def test_links_inside_a_subprocess_get_work_items(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "with_sub.bpmn"
    path.write_text(SUB)
    catalog.deploy_paths(rt, [path], "test")
    iid = instances.start_instance(rt, "with_sub", {}, business_key="S1").instance_id
    assert [i.element_id for i in open_items(rt, iid)] == ["Activity_before"]
    complete(rt, iid, "Activity_before")
    assert [i.element_id for i in open_items(rt, iid)] == ["Activity_inner_a", "Activity_inner_b"]
    with rt.db.read() as session:
        waits = session.scalars(select(Wait.element_id).where(Wait.instance_id == iid)).all()
    assert waits == ["Event_late"]
    complete(rt, iid, "Activity_inner_b")
    complete(rt, iid, "Activity_inner_a")
    assert [i.element_id for i in open_items(rt, iid)] == ["Activity_after"]


def _columns(item: WorkItem) -> dict[str, object]:
    return {column.key: getattr(item, column.key) for column in WorkItem.__table__.columns}


def test_verbs_hand_back_the_work_item_as_stored_and_detached(rt: Runtime) -> None:
    clerk = Actor("zhang", frozenset({"account_manager"}))
    accepted = create_demand(
        rt, DemandInput("Wang household", "residential", "counter", "connection")
    )
    iid = accepted.instances[0].instance_id
    item = item_for(rt, iid, "Activity_accept")
    claimed = work_items.claim(rt, item.id, clerk, expected_version=item.lock_version)
    assert _columns(claimed) == _columns(item_for(rt, iid, "Activity_accept"))
    assert claimed.lock_version == item.lock_version + 1
    released = work_items.release(rt, item.id, clerk)
    assert _columns(released) == _columns(item_for(rt, iid, "Activity_accept"))
    done = work_items.complete(
        rt, item.id, clerk, {"id_checked": True, "supply_scheme": "existing_line"}
    )
    with rt.db.read() as session:
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        assert _columns(done) == _columns(stored)
        instance = session.get(Instance, iid)
        assert instance is not None and instance.lock_version == 3
    state = inspect(done)
    assert state.detached and state.key == (WorkItem, (item.id,), None)
    assert not state.modified
