"""Instances waiting for signals and timers: the worker and the signal verb reach the right ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bpmn_samples import FORM, HEADER, STANDARD
from click.testing import CliRunner
from conftest import _CALENDAR, _ROLES, MONDAY_9AM, PROCESSES, complete, open_items

from gridflow import catalog, instances
from gridflow.cli import main
from gridflow.clock import SimulatedClock
from gridflow.database import Database
from gridflow.runtime import Runtime

SIGNAL_PROCESS = (
    HEADER
    + f"""  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" processRef="restoration" />
  </bpmn:collaboration>
  <bpmn:signal id="Signal_restored" name="grid_restored" />
  <bpmn:process id="restoration" name="Wait for restoration" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_desk" name="Service desk">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Event_restored</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_notify</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_restored" />
    <bpmn:intermediateCatchEvent id="Event_restored" name="Grid restored">
      <bpmn:signalEventDefinition signalRef="Signal_restored" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_restored" targetRef="Activity_notify" />
    <bpmn:userTask id="Activity_notify" name="Notify customers">
      <bpmn:extensionElements>{FORM}{STANDARD.format(target="PT2H")}
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_notify" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
)


def test_a_signal_reaches_every_instance_waiting_for_it_and_no_other(
    rt: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "restoration.bpmn"
    path.write_text(SIGNAL_PROCESS)
    catalog.deploy_paths(rt, [path], "designer")
    waiting = [
        instances.start_instance(rt, "restoration", {"feeder": f"F{n}"}, business_key=f"F{n}")
        for n in (1, 2)
    ]
    assert all(open_items(rt, s.instance_id) == [] for s in waiting)
    assert instances.send_signal(rt, "feeder_tripped") == 0
    assert instances.send_signal(rt, "grid_restored") == 2
    assert [[i.element_id for i in open_items(rt, s.instance_id)] for s in waiting] == [
        ["Activity_notify"],
        ["Activity_notify"],
    ]
    # Nobody waits any more: a second signal reaches no one.
    assert instances.send_signal(rt, "grid_restored") == 0


def test_worker_once_fires_due_breach_timers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    Database(url).migrate()
    clock = SimulatedClock(MONDAY_9AM)
    rt = Runtime.create(url, clock=clock, calendar=_CALENDAR, roles=_ROLES)
    catalog.deploy_paths(rt, [PROCESSES], "test")
    started = instances.start_instance(
        rt, "fault_repair", {"area": "urban", "customer_name": "Flat 3"}, business_key="R-1"
    )
    complete(rt, started.instance_id, "Activity_accept")
    complete(rt, started.instance_id, "Activity_dispatch")
    due = instances.next_timer_due(rt)
    assert due == MONDAY_9AM + timedelta(minutes=45)
    # The worker runs on the real clock, long after this simulated Monday: the timer is due.
    runner = CliRunner(env={"GRIDFLOW_PROCESSES": str(PROCESSES)})
    result = runner.invoke(main, ["worker", "--once", "--database", url])
    assert result.exit_code == 0, result.output
    # The two completed links are folded into the auditors' roll-ups in the same round.
    assert result.stdout == (
        "fired timers on 1 instance(s)\nfed 1 breached standard(s) to the linkage rules\n"
        "folded 2 completed link(s) into the audit roll-ups\n"
    )
    assert sorted(i.element_id for i in open_items(rt, started.instance_id)) == [
        "Activity_arrive",
        "Activity_escalate",
    ]
    rt.db.dispose()
