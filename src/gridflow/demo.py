"""Demo data: demands arrive over simulated weeks and run through the real engine and store on
a simulated clock; each link waits and is handled for right-skewed (lognormal) times whose
95th percentile sits near its service standard, as real utility figures do.

The stand-in marketing, metering and finance systems (`demo_systems`) serve the external tasks:
most answer within minutes, some fail and retry, some open incidents that a supervisor retries
hours later; a demo left open at now finds the metering system down since the working day
before, its incidents still open. Links of the processes a connection calls (meter
installation) and the four departments' countersign links are worked like any other."""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import click
from sqlalchemy import func, select

from gridflow import catalog, external_tasks, incidents, instances, timers, work_items
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.demo_systems import Outage, StandInSystems
from gridflow.errors import ConflictError
from gridflow.external_tasks import TopicRequest, Worker
from gridflow.forms import Form
from gridflow.models import Incident, Instance, SystemTask, TaskEvent, Wait, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime, load_roles
from gridflow.working_time import parse_iso_duration

# Monday 7 September 2026, 09:00 Beijing: four weeks from here cross National Day.
DEMO_START = datetime(2026, 9, 7, 1, 0, tzinfo=UTC)
Z95 = 1.6449  # the standard normal's 95th percentile
STAFF_PER_ROLE = 3

# (share of demands, demand fields) — a city district's mix of customer demands.
DEMAND_MIX: list[tuple[float, dict[str, object]]] = [
    (0.30, {"category": "connection", "customer_category": "residential", "channel": "app"}),
    (0.08, {"category": "connection", "customer_category": "business", "channel": "counter"}),
    (0.10, {"category": "connection", "customer_category": "small_micro", "channel": "online"}),
    (
        0.05,
        {
            "category": "connection",
            "customer_category": "business",
            "voltage": "high",
            "channel": "counter",
        },
    ),
    (0.22, {"category": "repair", "customer_category": "residential", "channel": "call_centre"}),
    (0.10, {"category": "repair", "customer_category": "residential", "channel": "monitoring"}),
    (0.06, {"category": "ev_charger", "customer_category": "residential", "channel": "app"}),
    (0.06, {"category": "pv", "customer_category": "residential", "channel": "online"}),
    (
        0.03,
        {"category": "energy_efficiency", "customer_category": "business", "channel": "counter"},
    ),
]
# How often a form field that steers a gateway takes each value.
CHOICES: dict[str, list[tuple[object, float]]] = {
    "supply_scheme": [("existing_line", 0.8), ("external_works", 0.2)],
    "design_approved": [(True, 0.85), (False, 0.15)],
    "materials_needed": [(False, 0.7), (True, 0.3)],
    "satisfaction": [("satisfied", 0.85), ("neutral", 0.1), ("dissatisfied", 0.05)],
    "accepted": [(True, 0.8), (False, 0.2)],
    "inspection_passed": [(True, 0.85), (False, 0.15)],
    # A department rejects a high-voltage supply scheme now and then: it goes back for revision.
    "countersign_decision": [("approve", 0.9), ("reject", 0.1)],
    "fee_status": [("due", 0.7), ("none_due", 0.3)],
    # Most customers are not important power users; hospitals and the like are few.
    "customer_importance": [
        ("none", 0.88),
        ("second", 0.06),
        ("first", 0.04),
        ("temporary", 0.01),
        ("special", 0.01),
    ],
}
# Fields that confirm what the demand already says: the clerk keeps the demand's value.
CONFIRMED = frozenset({"capacity_kw", "supply"})
# Short sign-in names for the demo staff of each role: planner1, planner2, …
DEMO_NAMES = {
    "account_manager": "manager",
    "service_desk": "desk",
    "planning_design": "planner",
    "construction": "builder",
    "metering": "meter",
    "dispatch_repair": "repair",
    "finance": "finance",
    "materials": "stores",
    "supervisor": "supervisor",
    "designer": "designer",
    "auditor": "auditor",
    "admin": "admin",
    "integration": "integration",
}
DEMO_PASSWORD = "gridflow-demo"
# The account the stand-in systems act as inside the simulation.
DEMO_SYSTEMS_ACCOUNT = "integration1"
SURNAMES = "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao"


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


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    action: Callable[[], None] = field(compare=False)


class Simulation:
    """A discrete-event simulation driving the real verbs with a simulated clock."""

    def __init__(
        self, rt: Runtime, clock: SimulatedClock, seed: int, outages: tuple[Outage, ...] = ()
    ):
        self.rt = rt
        self.clock = clock
        self.random = random.Random(seed)
        self.queue: list[_Event] = []
        self.seq = itertools.count()
        self.scheduled: set[int] = set()
        self.messaged: set[tuple[int, str]] = set()
        self.conflicts = 0
        self.finished = 0
        self.served: set[int] = set()
        self.systems = StandInSystems(seed, outages)
        self.staff = {
            role_id: [
                Actor(f"{DEMO_NAMES[role_id]}{n}", frozenset({role_id}))
                for n in range(1, STAFF_PER_ROLE + 1)
            ]
            for role_id, role in rt.roles.roles.items()
            if role.owns_lanes
        }
        self.supervisor = Actor("supervisor1", frozenset({"supervisor"}))

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, _Event(moment, next(self.seq), action))

    def run(
        self, on_progress: Callable[[], None] = lambda: None, until: datetime | None = None
    ) -> None:
        """Process events in time order; with `until`, stop there and leave the rest open."""
        while self.queue:
            if until is not None and self.queue[0].at > until:
                self._fire_timers_until(until)
                self.clock.set(max(self.clock.now(), until))
                return
            event = heapq.heappop(self.queue)
            self._fire_timers_until(event.at)
            if event.at > self.clock.now():
                self.clock.set(event.at)
            event.action()
            on_progress()
        self._fire_timers_until(None)

    def _fire_timers_until(self, until: datetime | None) -> None:
        """Fire breach timers that fall due before the next event, at their own time."""
        while True:
            due = instances.next_timer_due(self.rt)
            if due is None or (until is not None and due >= until):
                return
            moment = due + timedelta(milliseconds=1)
            if moment > self.clock.now():
                self.clock.set(moment)
            timers.fire_due_timers(self.rt)
            self._follow_up_all()

    # --- arrivals ------------------------------------------------------------------------------

    def arrivals(self, count: int, weeks: int, lead_in: timedelta = timedelta(0)) -> None:
        """`count` demands over `weeks` from `lead_in` after now; the long connections (high
        voltage, PV) over the lead-in too, so work in flight at the end is at every stage."""
        span = timedelta(weeks=weeks).total_seconds()
        start = self.clock.now()
        weights = [w for w, _ in DEMAND_MIX]
        for n in range(count):
            fields = dict(self.random.choices([f for _, f in DEMAND_MIX], weights)[0])
            if fields.get("voltage") == "high" or fields["category"] == "pv":
                offset = self.random.uniform(0, span + lead_in.total_seconds())
            else:
                offset = lead_in.total_seconds() + self.random.uniform(0, span)
            moment = start + timedelta(seconds=offset)
            if fields["category"] != "repair":
                # Counters, apps and account managers accept applications in working hours.
                moment = self.rt.calendar.add(moment, timedelta(seconds=1), "working")
            self.at(moment, self._arrive_action(n, fields))

    def _arrive_action(self, n: int, fields: dict[str, object]) -> Callable[[], None]:
        def arrive() -> None:
            demand = self._demand(n, fields)
            accepted = create_demand(self.rt, demand)
            for started in accepted.instances:
                self._follow_up(started.instance_id)

        return arrive

    def _demand(self, n: int, fields: dict[str, object]) -> DemandInput:
        rnd = self.random
        surname = rnd.choice(SURNAMES.split())
        kind = "household" if fields["customer_category"] == "residential" else "Co."
        category = str(fields["category"])
        customer_category = str(fields["customer_category"])
        # Within what intake accepts at low voltage (up to 100 kW; `intake.capacity_range`).
        capacity = {"residential": 8.0, "small_micro": 60.0, "business": 60.0}[customer_category]
        if fields.get("voltage") == "high":
            capacity = float(rnd.choice([630, 800, 1250, 2000, 16000]))
        demand = DemandInput(
            customer_name=f"{surname} {kind} #{n + 1}",
            customer_category=customer_category,
            channel=str(fields["channel"]),
            category=category,
            address=f"{rnd.randint(1, 300)} {rnd.choice(['Jianshe', 'Renmin', 'Heping'])} Road",
            phone=f"139{(n + 1) * 7919 % 100_000_000:08d}",  # a mobile number, no draw
            voltage=str(fields.get("voltage", "low")),
            capacity_kw=round(capacity * rnd.uniform(0.5, 1.5), 1),
            supply=rnd.choices(["single", "dual"], [0.8, 0.2])[0],
            area=rnd.choices(["urban", "rural", "remote"], [0.7, 0.25, 0.05])[0],
            feeder=f"F{rnd.randint(1, 40):03d}",
        )
        demand.validate(office=True)  # what a counter clerk takes in, the demo takes in
        return demand

    # --- links ---------------------------------------------------------------------------------

    def _follow_up_all(self) -> None:
        with self.rt.db.read() as session:
            ids = list(
                session.scalars(
                    select(WorkItem.instance_id)
                    .where(WorkItem.state == "ready", WorkItem.id.notin_(self.scheduled))
                    .distinct()
                )
            )
        for instance_id in ids:
            self._follow_up(instance_id)

    def _follow_up(self, instance_id: int) -> None:
        """Follow up the instance and its family: a verb on one instance can start a called
        process below it (meter installation) or, ending that, move its caller on."""
        for member in self._family(instance_id):
            self._follow_up_one(member)

    def _family(self, instance_id: int) -> list[int]:
        """The instance's topmost caller and every running instance called below it."""
        with self.rt.db.read() as session:
            root = instance_id
            while (
                parent := session.scalar(
                    select(Instance.parent_instance_id).where(Instance.id == root)
                )
            ) is not None:
                root = parent
            family = [root]
            frontier = [root]
            while frontier:
                frontier = list(
                    session.scalars(
                        select(Instance.id).where(
                            Instance.parent_instance_id.in_(frontier),
                            Instance.status == "running",
                        )
                    )
                )
                family.extend(frontier)
        return family

    def _follow_up_one(self, instance_id: int) -> None:
        """Schedule a claim and a completion for each new link of one instance, a worker's
        answer for each new external task, and customer messages."""
        with self.rt.db.read() as session:
            items = list(
                session.scalars(
                    select(WorkItem).where(
                        WorkItem.instance_id == instance_id, WorkItem.state == "ready"
                    )
                )
            )
            waits = list(
                session.scalars(
                    select(Wait).where(Wait.instance_id == instance_id, Wait.kind == "message")
                )
            )
            steps = list(
                session.scalars(
                    select(SystemTask).where(
                        SystemTask.instance_id == instance_id,
                        SystemTask.kind == "external",
                        SystemTask.state == "ready",
                    )
                )
            )
        now = self.clock.now()
        for step in steps:
            if step.id in self.served:
                continue
            self.served.add(step.id)
            # Other systems answer within minutes (a busy one within the hour).
            self.at(now + timedelta(minutes=self._draw(30.0)), self._serve_action(step.topic))
        for item in items:
            if item.id in self.scheduled:
                continue
            self.scheduled.add(item.id)
            cap = self._standard_seconds(item.standard_target, item.standard_basis)
            wait = self._draw(cap * 0.3)
            handle = self._draw(cap * 0.7)
            claim_at = self.rt.calendar.add(now, timedelta(seconds=wait), item.standard_basis)
            done_at = self.rt.calendar.add(claim_at, timedelta(seconds=handle), item.standard_basis)
            actor = self.random.choice(self.staff[item.role])
            self.at(claim_at, self._claim_action(item.id, actor))
            self.at(done_at, self._complete_action(item.id, actor))
        for wait_row in waits:
            key = (instance_id, wait_row.name)
            if key in self.messaged:
                continue
            self.messaged.add(key)
            # The customer's own works: days to weeks of calendar time; a new meter reports
            # itself online within hours.
            if wait_row.name == "meter_connected":
                delay = timedelta(hours=self._draw(24.0))
            else:
                delay = timedelta(days=self._draw(20.0))
            self.at(now + delay, self._message_action(instance_id, wait_row.name))

    def _serve_action(self, topic: str | None) -> Callable[[], None]:
        def serve() -> None:
            if topic is None:
                return
            worker = Worker(DEMO_SYSTEMS_ACCOUNT, f"{topic}-worker", None)
            for task in external_tasks.fetch_and_lock(
                self.rt, worker, [TopicRequest(topic, 5 * 60 * 1000)], 10
            ):
                self._answer(worker, task)

        return serve

    def _answer(self, worker: Worker, task: external_tasks.LockedTask) -> None:
        now = self.clock.now()
        answer = self.systems.answer(
            task.topic, task.business_key, task.variables, task.retries, now
        )
        if answer.kind == "complete":
            external_tasks.complete(self.rt, task.id, worker, answer.variables)
        elif answer.kind == "bpmn_error":
            external_tasks.bpmn_error(
                self.rt, task.id, worker, answer.error_code, answer.message, answer.variables
            )
        else:
            retries = max(answer.retries, 0)
            external_tasks.failure(
                self.rt,
                task.id,
                worker,
                answer.message,
                error_details=answer.details,
                retries=retries,
                retry_timeout_ms=answer.retry_timeout_ms,
            )
            if retries > 0:
                later = timedelta(milliseconds=answer.retry_timeout_ms, seconds=1)
                self.at(self.clock.now() + later, self._serve_action(task.topic))
            else:
                # A supervisor notices the incident within the working day and retries it; when
                # the system is down, once it is back.
                outage = self.systems.down(task.topic, now)
                retry_at = now + timedelta(hours=self._draw(6.0))
                if outage is not None:
                    retry_at = max(retry_at, outage.end + timedelta(hours=self._draw(2.0)))
                self.at(retry_at, self._retry_action(task.instance_id, task.topic))
        self._follow_up(task.instance_id)
        self._count_if_finished(task.instance_id)

    def _retry_action(self, instance_id: int, topic: str) -> Callable[[], None]:
        def retry() -> None:
            for incident in incidents.listing(self.rt):
                if incident.instance_id == instance_id and incident.kind == "failed_external_task":
                    incidents.retry(self.rt, incident.id, self.supervisor, retries=1)
            self.at(self.clock.now() + timedelta(minutes=1), self._serve_action(topic))

        return retry

    def _standard_seconds(self, target: str, basis: str) -> float:
        duration = parse_iso_duration(target)
        if basis == "working":
            return duration.working_time(self.rt.calendar.day_length).total_seconds()
        return duration.calendar_timedelta().total_seconds()

    def _draw(self, p95: float) -> float:
        """A lognormal draw whose 95th percentile is p95 and whose median is a quarter of it."""
        median = p95 / 4
        sigma = math.log(p95 / median) / Z95
        return median * math.exp(self.random.gauss(0.0, sigma))

    def _claim_action(self, item_id: int, actor: Actor) -> Callable[[], None]:
        def claim() -> None:
            try:
                work_items.claim(self.rt, item_id, actor)
            except ConflictError:
                self.conflicts += 1  # cancelled or taken meanwhile

        return claim

    def _complete_action(self, item_id: int, actor: Actor) -> Callable[[], None]:
        def complete() -> None:
            with self.rt.db.read() as session:
                item = session.get(WorkItem, item_id)
                assert item is not None
                if item.state not in ("ready", "claimed"):
                    return
                form = self.rt.definition(item.definition_id).links[item.element_id].form
                instance_id = item.instance_id
                known = dict(item.instance.variables or {})
            try:
                done = work_items.complete(self.rt, item_id, actor, self._fill(form, known))
            except ConflictError:
                self.conflicts += 1
                return
            self._follow_up(instance_id)
            self._count_if_finished(done.instance_id)

        return complete

    def _count_if_finished(self, instance_id: int) -> None:
        """Count a demand's own process ending (a called process ends inside its caller's)."""
        with self.rt.db.read() as session:
            instance = session.get(Instance, instance_id)
            if (
                instance is not None
                and instance.status == "completed"
                and instance.parent_instance_id is None
            ):
                self.finished += 1

    def _message_action(self, instance_id: int, name: str) -> Callable[[], None]:
        def deliver() -> None:
            self.messaged.discard((instance_id, name))
            if instances.deliver_message(self.rt, instance_id, name, {"reported_by": "customer"}):
                self._follow_up(instance_id)

        return deliver

    def _fill(self, form: Form, known: Mapping[str, object]) -> dict[str, object]:
        rnd = self.random
        values: dict[str, object] = {}
        for form_field in form.fields:
            if form_field.readonly:
                continue
            if form_field.id in CONFIRMED and form_field.id in known:
                value = known[form_field.id]
                if form_field.type == "long" and isinstance(value, float):
                    value = round(value)
                values[form_field.id] = value
            elif form_field.id in CHOICES:
                options = CHOICES[form_field.id]
                values[form_field.id] = rnd.choices(
                    [v for v, _ in options], [w for _, w in options]
                )[0]
            elif form_field.type == "boolean":
                values[form_field.id] = rnd.random() < 0.9
            elif form_field.type == "enum":
                values[form_field.id] = rnd.choice(form_field.option_ids())
            elif form_field.type in ("long", "double"):
                low = form_field.min if form_field.min is not None else 1
                high = form_field.max if form_field.max is not None else max(low, 1) * 100
                number = rnd.uniform(low, high)
                values[form_field.id] = (
                    int(number) if form_field.type == "long" else round(number, 2)
                )
            elif form_field.type == "date":
                values[form_field.id] = self.rt.calendar.local_date(self.clock.now()).isoformat()
            else:
                # a number, not the field's English label: the value is shown as entered,
                # in every language
                text = f"demo {rnd.randint(1000, 9999)}"
                if form_field.minlength:
                    text = text.ljust(form_field.minlength, ".")
                values[form_field.id] = text[: form_field.maxlength or 200]
        return values


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


def _create_accounts(rt: Runtime, processes: Path) -> None:
    """Demo staff (DEMO_NAMES), and `integration1`, the account of the other systems (grid
    monitoring, metering, marketing, finance), granted every event type the linkage rules take
    and every external-task topic the stand-in systems serve."""
    from gridflow import linkage
    from gridflow.demo_systems import TOPICS
    from gridflow.users import create_user, list_users

    existing = {staff.username for staff in list_users(rt)}
    book = linkage.rulebook(rt.roles, processes)
    grants = sorted(f"event:{n}" for n, e in book.events.items() if not e.internal)
    grants += sorted(f"topic:{topic}" for topic in TOPICS)
    for role_id, short in DEMO_NAMES.items():
        count = STAFF_PER_ROLE if rt.roles[role_id].owns_lanes else 1
        for n in range(1, count + 1):
            if f"{short}{n}" not in existing:
                create_user(
                    rt,
                    f"{short}{n}",
                    DEMO_PASSWORD,
                    [role_id],
                    display_name=f"{rt.roles[role_id].name} {n}",
                    display_name_zh=f"{rt.roles[role_id].name_zh} {n} 号",
                    grants=grants if role_id == "integration" else (),
                )


# The skill pool (issue 6): everyone's department, area, skills and weekly shifts in UTC.
# Repair crews work round the clock in three shifts; offices work 08:30–17:30 Beijing time.
CREWS = 9  # repair1 … repair9
CREW_SKILLS = ("repair:3,live_line:2,dispatch:2", "repair:2,live_line:1", "repair:2")
OFFICE_SKILLS = {
    "account_manager": "sales:2",
    "service_desk": "sales:1",
    "planning_design": "design:3",
    "construction": "construction:3,repair:1",
    "metering": "metering:3,repair:1",
    "finance": "billing:2",
    "materials": "stores:2",
    "supervisor": "dispatch:3,repair:2",
}
VEHICLES = (("VAN-01", "urban"), ("VAN-02", "urban"), ("VAN-03", "urban"), ("TRUCK-04", "rural"),
            ("4WD-05", "remote"))  # fmt: skip


def seed_pool(rt: Runtime, now: datetime) -> None:
    """Profiles for the demo accounts (and six more repair crew), five vehicles, an owner for
    every demand and its feeder kept, one account manager on leave this week."""
    from gridflow import pool
    from gridflow.models import Demand
    from gridflow.users import create_user, list_users

    existing = {staff.username for staff in list_users(rt)}
    areas = ("urban", "urban", "rural")
    for n in range(1, CREWS + 1):
        name = f"repair{n}"
        if name not in existing:
            create_user(
                rt,
                name,
                DEMO_PASSWORD,
                ["dispatch_repair"],
                display_name=f"Crew {n}",
                display_name_zh=f"抢修班 {n} 组",
            )
        pool.save_profile(
            rt,
            name,
            department="dispatch_repair",
            area="remote" if n == CREWS else areas[n % 3],
            max_load=2,
            skills=CREW_SKILLS[(n - 1) // 3],
        )
        start = ("00:00", "08:00", "16:00")[(n - 1) % 3]
        end = ("08:00", "16:00", "00:00")[(n - 1) % 3]
        for weekday in range(7):
            pool.add_shift(rt, name, weekday, start, end)
    for role_id, skills in OFFICE_SKILLS.items():
        department = rt.roles[role_id].department.id
        for n in range(1, STAFF_PER_ROLE + 1):
            name = f"{DEMO_NAMES[role_id]}{n}"
            pool.save_profile(
                rt, name, department=department, area=areas[n % 3], max_load=5, skills=skills
            )
            for weekday in range(5):
                pool.add_shift(rt, name, weekday, "00:30", "09:30")
    pool.add_leave(rt, "manager3", now - timedelta(days=1), now + timedelta(days=6), "annual leave")
    for code, area in VEHICLES:
        pool.save_equipment(rt, code, "vehicle", area)
    managers = [f"{DEMO_NAMES['account_manager']}{n}" for n in range(1, STAFF_PER_ROLE + 1)]
    with rt.db.write() as session:
        for demand in session.scalars(select(Demand).order_by(Demand.id)):
            demand.owner = managers[demand.id % len(managers)]


def demo_accounts_text() -> str:
    names = ", ".join(f"{short}1" for short in DEMO_NAMES.values())
    return (
        f"demo accounts: {names} (and …2, …3 per lane role; repair crews repair1 … "
        f"repair{CREWS}); password: {DEMO_PASSWORD}"
    )
