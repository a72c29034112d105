"""The discrete-event simulation: demands arrive, links are claimed and completed after
lognormal waiting and handling times, the stand-in systems answer external tasks, a
supervisor retries incidents and customers report their own works done."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from gridflow import external_tasks, incidents, instances, timers, work_items
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.demo.staff import DEMO_NAMES, DEMO_SYSTEMS_ACCOUNT, STAFF_PER_ROLE
from gridflow.demo.workload import CHOICES, CONFIRMED, DEMAND_MIX, SURNAMES
from gridflow.demo_systems import Outage, StandInSystems
from gridflow.errors import ConflictError
from gridflow.external_tasks import TopicRequest, Worker
from gridflow.forms import Form
from gridflow.models import Instance, SystemTask, Wait, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime
from gridflow.working_time import parse_iso_duration

Z95 = 1.6449  # the standard normal's 95th percentile


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
