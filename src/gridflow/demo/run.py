"""One demo run: create the schema, deploy the processes, simulate and count what was made
(DemoResult); a demo left open at now finds the metering system down (metering_outage)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import click
from sqlalchemy import func, select

from gridflow import catalog
from gridflow.clock import SimulatedClock
from gridflow.demo.simulation import Simulation
from gridflow.demo.staff import _create_accounts, seed_pool
from gridflow.demo.workload import DEMO_START
from gridflow.demo_systems import Outage
from gridflow.models import Incident, Instance, SystemTask, TaskEvent, WorkItem
from gridflow.runtime import Runtime, load_roles


@dataclass
class DemoResult:
    demands: int
    instances_by_status: dict[str, int]
    links_completed: int
    task_events: int
    simulated_from: datetime
    simulated_to: datetime
    wall_seconds: float
    conflicts: int = 0
    system_steps_by_state: dict[str, int] = field(default_factory=dict)
    incidents_by_state: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        def listed(counts: Mapping[str, int]) -> str:
            return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"

        return (
            f"demo: {self.demands} demands, instances: {listed(self.instances_by_status)}; "
            f"{self.links_completed} links completed, {self.task_events} task events; "
            f"system steps: {listed(self.system_steps_by_state)}; "
            f"incidents: {listed(self.incidents_by_state)}; simulated "
            f"{self.simulated_from:%Y-%m-%d} → {self.simulated_to:%Y-%m-%d} (UTC) "
            f"in {self.wall_seconds:.1f} s"
        )


def run_demo(
    url: str | None,
    *,
    instances: int,
    seed: int,
    weeks: int,
    processes: Path,
    progress: bool = False,
    start: datetime = DEMO_START,
    leave_open: bool = False,
    accounts: bool = False,
    now: datetime | None = None,
) -> DemoResult:
    """Create the schema, deploy the processes and simulate `instances` demands to their end.

    With `leave_open`, demands arrive over the weeks before now and the simulation stops at
    now, leaving the work in flight open in the queues; a high-voltage or PV connection takes
    longer than a few weeks, so those arrive over as many weeks again before (LEAD_IN), and
    some are far along by now. With `accounts`, demo staff accounts (see DEMO_NAMES, password
    DEMO_PASSWORD) are created to sign in with. `now` (the wall clock by default) is where a
    demo left open stops.
    """
    began = time.perf_counter()
    until = None
    lead_in = timedelta(0)
    if leave_open:
        until = now or datetime.now(UTC)
        lead_in = timedelta(weeks=weeks)
        start = _monday_morning(until - timedelta(weeks=weeks)) - lead_in
    clock = SimulatedClock(start)
    rt = Runtime.create(url, clock=clock, roles=load_roles(processes / "roles.yaml"))
    rt.db.migrate()
    catalog.deploy_paths(rt, [processes], "demo")
    outages: tuple[Outage, ...] = ()
    if until is not None:
        outages = (metering_outage(rt, until),)
    simulation = Simulation(rt, clock, seed, outages)
    simulation.arrivals(instances, weeks, lead_in)
    if accounts:
        _create_accounts(rt, processes)
    if progress:
        with click.progressbar(length=instances, label="demands finished") as bar:
            simulation.run(lambda: bar.update(simulation.finished - bar.pos), until)
    else:
        simulation.run(until=until)
    if accounts:
        seed_pool(rt, clock.now())
    with rt.db.read() as session:
        by_status = dict(
            session.execute(select(Instance.status, func.count()).group_by(Instance.status)).all()
        )
        links = session.scalar(select(func.count()).where(WorkItem.state == "completed")) or 0
        events = session.scalar(select(func.count(TaskEvent.id))) or 0
        steps = dict(
            session.execute(select(SystemTask.state, func.count()).group_by(SystemTask.state)).all()
        )
        incident_states = dict(
            session.execute(select(Incident.state, func.count()).group_by(Incident.state)).all()
        )
    rt.db.dispose()
    return DemoResult(
        demands=instances,
        instances_by_status={k: int(v) for k, v in by_status.items()},
        links_completed=int(links),
        task_events=int(events),
        simulated_from=start,
        simulated_to=clock.now(),
        wall_seconds=time.perf_counter() - began,
        conflicts=simulation.conflicts,
        system_steps_by_state={k: int(v) for k, v in steps.items()},
        incidents_by_state={k: int(v) for k, v in incident_states.items()},
    )


def metering_outage(rt: Runtime, until: datetime) -> Outage:
    """The metering system's order interface, down since 09:00 of the working day before the
    last one begun by `until` and still down then: a demo left open at now shows the meter
    orders of those days as open incidents, waiting for the system to come back."""
    local = rt.calendar.to_local(until)
    day = local.date()
    begun: list[datetime] = []
    while len(begun) < 2:
        morning = datetime(day.year, day.month, day.day, 9, tzinfo=local.tzinfo)
        if rt.calendar.is_working_day(day) and morning < local:
            begun.append(morning)
        day -= timedelta(days=1)
    since = begun[-1]
    return Outage(
        "meter_order",
        since.astimezone(UTC),
        until + timedelta(days=2),
        f"metering system: meter order interface down since {since:%Y-%m-%d %H:%M} "
        "(the vendor is working on it)",
    )


def _monday_morning(moment: datetime) -> datetime:
    """09:00 Beijing time on the Monday of the week of `moment`."""
    beijing = timezone(timedelta(hours=8))
    local = moment.astimezone(beijing)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime(monday.year, monday.month, monday.day, 9, tzinfo=beijing).astimezone(UTC)
