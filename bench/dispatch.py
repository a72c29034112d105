"""Dispatch policies compared on one simulated working week: (a) first come, first served to the
first free qualified person, (b) gridflow's dispatcher (gridflow.dispatch.plan: the minimum-cost
assignment over skill, level, shift left, load, area, time left to due and time waited).

Same seed, same process, same work, same people, same vehicles; only the policy differs.

- Work: demands arrive over one week with the demo's mix (gridflow.demo.DEMAND_MIX; counter and
  app applications in working hours, repairs round the clock). Each demand's back-end links (from
  the real BPMN files in processes/, with their skills, equipment and standards) become jobs one
  after another: the next link is ready when the previous one is done.
- A person works the links they hold one at a time, in the order they were given them (holding
  up to their maximum load); a link waits in their hands until they get to it.
- Touch time per job is drawn once per job from the seed (repairs: lognormal, median a quarter
  of the link's standard, 95th percentile 70 % of it; office links: median 1 h, 95th
  percentile 4 h). A job needing a vehicle whose crew is based in another area adds 30 min of
  driving per area step. Work not finished when the person's shift ends goes on at the start of
  their next shift.
- People: 30 staff: 9 repair crews in three round-the-clock shifts (three skill levels), 18
  office staff (3 per back-end role, 08:30-17:30 Beijing, Monday to Friday), 3 supervisors who
  can dispatch; five vehicles (3 urban, 1 rural, 1 remote).
- Rounds every 5 simulated minutes when something changed (a link ready or done, a shift
  starting or ending). A link's waiting time is the time from ready to done that nobody worked
  on it: in the queue, and paused between the shifts of whoever holds it.

Printed: mean waiting time, standard breaches and load spread (coefficient of variation of the
hours each person worked) for both policies, and the ratios (b)/(a).

    python bench/dispatch.py [--demands 150] [--seed 1]
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from gridflow import definitions  # noqa: E402
from gridflow.demands import DemandInput, classify  # noqa: E402
from gridflow.demo import DEMAND_MIX, Z95  # noqa: E402
from gridflow.dispatch import Job, plan  # noqa: E402
from gridflow.pool import AREAS, EquipmentRow, Need, Person  # noqa: E402
from gridflow.roles import RoleBook  # noqa: E402
from gridflow.standards import Standard  # noqa: E402
from gridflow.working_time import WorkingCalendar  # noqa: E402

WEEK_START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in Beijing
TICK = timedelta(minutes=5)
DRIVE_PER_AREA_STEP = timedelta(minutes=30)


@dataclass
class Work:
    """One job: a back-end link of one demand."""

    id: int
    demand: int
    need: Need
    touch: timedelta
    standard: Standard
    area: str
    ready_at: datetime | None = None
    due_at: datetime | None = None
    worked: timedelta = timedelta(0)
    started_at: datetime | None = None
    done_at: datetime | None = None
    by: str | None = None


@dataclass
class Demand:
    id: int
    arrives: datetime
    area: str
    chain: list[Work] = field(default_factory=list)


def build_work(seed: int, count: int) -> list[Demand]:
    """The week's demands and their chains of back-end jobs (the same for both policies)."""
    roles = RoleBook.load(ROOT / "processes" / "roles.yaml")
    calendar = WorkingCalendar()
    processes = {
        d.process_id: d
        for d in (definitions.load(p, roles) for p in sorted((ROOT / "processes").glob("*.bpmn")))
    }
    rnd = random.Random(seed)
    weights = [w for w, _ in DEMAND_MIX]
    demands: list[Demand] = []
    job_id = 0
    for n in range(count):
        fields = dict(rnd.choices([f for _, f in DEMAND_MIX], weights)[0])
        arrives = WEEK_START + timedelta(seconds=rnd.uniform(0, 7 * 86400))
        if fields["category"] != "repair":
            arrives = calendar.add(arrives, timedelta(seconds=1), "working")
        area = rnd.choices(AREAS, [0.7, 0.25, 0.05])[0]
        demand_input = DemandInput(
            "bench",
            str(fields["customer_category"]),
            str(fields["channel"]),
            str(fields["category"]),
            voltage=str(fields.get("voltage", "low")),
        )
        process = processes[classify(demand_input)]
        demand = Demand(n, arrives, area)
        for link in process.links.values():
            if link.role.side != "back":
                continue
            repair = link.role.id == "dispatch_repair"
            if repair:
                target = link.standard.due(WEEK_START, {"area": area}, calendar) - WEEK_START
                p95 = target.total_seconds() * 0.7
            else:
                p95 = 4 * 3600.0
            median = p95 / 4 if repair else 3600.0
            sigma = math.log(p95 / median) / Z95
            touch = timedelta(seconds=median * math.exp(rnd.gauss(0.0, sigma)))
            need = Need(link.role.id, link.skills, link.equipment, area, None)
            demand.chain.append(Work(job_id, n, need, touch, link.standard, area))
            job_id += 1
        if demand.chain:
            demands.append(demand)
    return demands


def build_people() -> tuple[list[Person], list[EquipmentRow]]:
    people: list[Person] = []
    crew_skills = (
        {"repair": 3, "live_line": 2, "dispatch": 2},
        {"repair": 2, "live_line": 1},
        {"repair": 2},
    )
    crew_areas = ("urban", "rural", "urban", "urban", "rural", "urban", "urban", "rural", "remote")
    for n in range(9):
        start = (0, 8 * 60, 16 * 60)[n % 3]
        people.append(
            Person(
                f"crew{n + 1}",
                f"crew{n + 1}",
                frozenset({"dispatch_repair"}),
                "dispatch_repair",
                crew_areas[n],
                2,
                crew_skills[n // 3],
                tuple((day, start, 8 * 60) for day in range(7)),
                (),
            )
        )
    office = {
        "planning_design": {"design": 3},
        "construction": {"construction": 3, "repair": 1},
        "metering": {"metering": 3, "repair": 1},
        "finance": {"billing": 2},
        "materials": {"stores": 2},
        "supervisor": {"dispatch": 3, "repair": 2},
    }
    for role, skills in office.items():
        for n in range(3):
            levels = {k: max(1, v - n) for k, v in skills.items()}  # mixed levels
            people.append(
                Person(
                    f"{role}{n + 1}",
                    f"{role}{n + 1}",
                    frozenset({role}),
                    role,
                    ("urban", "urban", "rural")[n],
                    4,
                    levels,
                    tuple((day, 30, 9 * 60) for day in range(5)),
                    (),
                )
            )
    vehicles = [
        EquipmentRow(i, code, "vehicle", area, True, None)
        for i, (code, area) in enumerate(
            (
                ("VAN-1", "urban"),
                ("VAN-2", "urban"),
                ("VAN-3", "urban"),
                ("TRK-4", "rural"),
                ("4WD-5", "remote"),
            )  # fmt: skip
        )
    ]
    return people, vehicles


def first_free(
    jobs: list[Job], people: list[Person], now: datetime, vehicles: list[EquipmentRow]
) -> list[tuple[int, str, str | None]]:
    """Policy (a): in order of arrival, the first person on the roster who is qualified (the
    link's skills at their levels, or its role when it states none), on shift now and under
    their maximum load, with the first free vehicle when the link needs one."""
    loads = {p.username: p.load for p in people}
    free = [v for v in vehicles if v.held_by is None]
    given: list[tuple[int, str, str | None]] = []
    for job in jobs:
        if "vehicle" in job.need.equipment and not free:
            continue
        for person in people:
            if loads[person.username] >= person.max_load or person.shift_left(now) is None:
                continue
            if job.need.skills:
                if any(person.skills.get(s, 0) < level for s, level in job.need.skills):
                    continue
            elif job.need.role not in person.roles:
                continue
            vehicle = free.pop(0).code if "vehicle" in job.need.equipment else None
            loads[person.username] += 1
            given.append((job.id, person.username, vehicle))
            break
    return given


def gridflow_policy(
    jobs: list[Job], people: list[Person], now: datetime, vehicles: list[EquipmentRow]
) -> list[tuple[int, str, str | None]]:
    """Policy (b): gridflow's dispatcher."""
    return [(c.job_id, c.username, c.equipment) for c in plan(jobs, people, now, vehicles).choices]


def _shift_boundary(moment: datetime) -> bool:
    """Shifts start or end on the hour or half hour: a round runs then even with no event."""
    return moment.minute in (0, 30) and moment.second == 0


def finish_time(person: Person, start: datetime, touch: timedelta) -> datetime:
    """When the work is done, working only in the person's shifts."""
    moment, remaining = start, touch
    for _ in range(100):
        left = person.shift_left(moment)
        if left is None:
            moment += timedelta(minutes=15)  # waits for the next shift
            continue
        if left >= remaining:
            return moment + remaining
        remaining -= left
        moment += left
    return moment + remaining


@dataclass
class Outcome:
    mean_wait_min: float
    breaches: int
    jobs: int
    spread: float
    seconds: float


def simulate(policy_name: str, seed: int, demands_count: int) -> Outcome:
    began = time.perf_counter()
    demands = build_work(seed, demands_count)
    roster, vehicles = build_people()
    calendar = WorkingCalendar()
    by_id: dict[int, Work] = {}
    people = {p.username: p for p in roster}
    loads = {p.username: 0 for p in roster}
    busy = {p.username: 0.0 for p in roster}
    held: dict[str, int] = {}  # vehicle code -> job id
    free_at: dict[str, datetime] = {}  # when each person finishes the links they hold
    events: list[tuple[datetime, int, str, int]] = []  # (at, seq, kind, job id)
    seq = 0
    for demand in demands:
        first = demand.chain[0]
        heapq.heappush(events, (demand.arrives, seq, "ready", first.id))
        seq += 1
        for work in demand.chain:
            by_id[work.id] = work
    next_in_chain = {
        work.id: demand.chain[i + 1].id if i + 1 < len(demand.chain) else None
        for demand in demands
        for i, work in enumerate(demand.chain)
    }
    waiting: list[int] = []
    now = WEEK_START
    end = WEEK_START + timedelta(days=14)  # a second week drains the first one's work
    policy = first_free if policy_name == "first_free" else gridflow_policy
    changed = False
    while now < end and (events or waiting or any(loads.values())):
        while events and events[0][0] <= now:
            changed = True
            at, _, kind, job_id = heapq.heappop(events)
            work = by_id[job_id]
            if kind == "ready":
                # Each link's own standard from the moment it is ready, on its basis.
                work.ready_at = at
                work.due_at = work.standard.due(at, {"area": work.area}, calendar)
                work.need = replace(work.need, due_at=work.due_at)
                waiting.append(job_id)
            else:  # done
                assert work.by is not None
                loads[work.by] -= 1
                for code in [c for c, j in held.items() if j == job_id]:
                    del held[code]
                following = next_in_chain[job_id]
                if following is not None:
                    heapq.heappush(events, (at, seq, "ready", following))
                    seq += 1
        changed = changed or _shift_boundary(now)
        if waiting and changed:
            changed = False
            staff = [replace(p, load=loads[p.username]) for p in roster]
            kit = [replace(v, held_by=held.get(v.code)) for v in vehicles]
            jobs = [
                Job(j, 1, by_id[j].need, ready_at=by_id[j].ready_at)
                for j in sorted(waiting, key=_arrival(by_id))
            ]
            for job_id, username, vehicle in policy(jobs, staff, now, kit):
                work = by_id[job_id]
                person = people[username]
                travel = timedelta(0)
                if "vehicle" in work.need.equipment and work.need.area in AREAS:
                    steps = abs(AREAS.index(person.area) - AREAS.index(work.need.area))
                    travel = DRIVE_PER_AREA_STEP * steps
                # One thing at a time: a person works their links in the order given.
                begin = max(now, free_at.get(username, now))
                work.by, work.started_at, work.worked = username, begin, work.touch + travel
                work.done_at = finish_time(person, begin, work.touch + travel)
                free_at[username] = work.done_at
                busy[username] += (work.touch + travel).total_seconds() / 3600
                loads[username] += 1
                if vehicle:
                    for code in vehicle.split(", "):
                        held[code] = job_id
                waiting.remove(job_id)
                heapq.heappush(events, (work.done_at, seq, "done", job_id))
                seq += 1
        now += TICK
    # Waiting: the time from ready to done that nobody worked on the link (in the queue, and
    # paused between the shifts of the person who holds it).
    waits = [
        ((w.done_at - w.ready_at) - w.worked).total_seconds() / 60
        for w in by_id.values()
        if w.ready_at is not None and w.done_at is not None
    ]
    breaches = sum(
        1
        for w in by_id.values()
        if w.due_at is not None and (w.done_at is None or w.done_at > w.due_at)
    )
    hours = [busy[p.username] for p in roster]
    mean_hours = statistics.fmean(hours)
    return Outcome(
        statistics.fmean(waits) if waits else 0.0,
        breaches,
        len(by_id),
        statistics.pstdev(hours) / mean_hours if mean_hours else 0.0,
        time.perf_counter() - began,
    )


def _arrival(by_id: dict[int, Work]):  # type: ignore[no-untyped-def]
    return lambda job_id: (by_id[job_id].ready_at, job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--demands", type=int, default=150, help="demands in the week (make run's demo has 150)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    first = simulate("first_free", args.seed, args.demands)
    ours = simulate("gridflow", args.seed, args.demands)
    print(f"one simulated week: {args.demands} demands, {first.jobs} back-end jobs, 30 staff, "
          f"5 vehicles, seed {args.seed}")  # fmt: skip
    print(f"{'':34}{'(a) first free':>16}{'(b) gridflow':>16}{'(b)/(a)':>10}")
    rows = (
        ("mean waiting time (min)", first.mean_wait_min, ours.mean_wait_min),
        ("standard breaches", first.breaches, ours.breaches),
        ("load spread (CV of hours worked)", first.spread, ours.spread),
    )
    for name, a, b in rows:
        ratio = b / a if a else float("nan")
        print(f"{name:34}{a:>16.2f}{b:>16.2f}{ratio:>10.2f}")
    less = 1 - (ours.mean_wait_min / first.mean_wait_min) if first.mean_wait_min else 0.0
    print(
        f"gridflow waits {less:.0%} less than first-free and breaches "
        f"{first.breaches - ours.breaches} fewer standards "
        f"(simulation took {first.seconds:.1f} s and {ours.seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
