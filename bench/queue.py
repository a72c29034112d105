"""How fast staff queues answer, and how many demands per second the HTTP API carries.

1. A SQLite database with --open-items open work items (spread over the lane roles) and
   --events task events, bulk-loaded; the team-queue page and GET /api/work-items (team scope)
   are requested --requests times each through a real server; p50 and p95 are printed.
2. The two-lane flow on a fresh SQLite database, sequentially through the HTTP API: create a
   residential connection demand, list the account manager's queue, complete the acceptance,
   list the metering queue, complete the meter installation, read the demand's status.
   Printed as instances per second (target: 72/s on this 2-core machine).

The server is gunicorn (the documented production start) in a separate process, so client
and server do not share one interpreter. A script, not a test: figures are noisy here.

    python bench/queue.py [--open-items 100000] [--events 1000000] [--flow 300]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a script named queue.py: keep this folder off the import path, or it would
# shadow the standard library's `queue` for every library imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import random
import shlex
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.append(str(ROOT / "bench"))  # last, after the standard library's queue

from serving import Client, Server  # noqa: E402

from gridflow import catalog, users  # noqa: E402
from gridflow.database import Database  # noqa: E402
from gridflow.models import Definition, Demand, Instance, TaskEvent, WorkItem  # noqa: E402
from gridflow.runtime import Runtime  # noqa: E402

PASSWORD = "bench-password"
ACCOUNTS = {
    "desk": ["service_desk"],
    "manager": ["account_manager"],
    "meter": ["metering"],
    "planner": ["planning_design"],
}


def prepare(url: str) -> Runtime:
    Database(url).migrate()
    rt = Runtime.create(url)
    catalog.deploy_paths(rt, [ROOT / "processes"], "bench")
    users.PASSWORD_METHOD = "pbkdf2:sha256:10000"
    for name, roles in ACCOUNTS.items():
        users.create_user(rt, name, PASSWORD, roles)
    return rt


def tokens(client: Client) -> dict[str, str]:
    found = {}
    for name in ACCOUNTS:
        status, payload, _ = client.request(
            "POST", "/api/tokens", {"username": name, "password": PASSWORD}
        )
        assert status == 201, payload
        found[name] = json.loads(payload)["token"]
    return found


def bulk_load(rt: Runtime, open_items: int, events: int, seed: int) -> None:
    """Open work items over every lane role and task events, written straight to the tables."""
    rnd = random.Random(seed)
    engine = create_engine(rt.db.url)
    now = datetime.now(UTC)
    lane_roles = [r for r in rt.roles.roles.values() if r.owns_lanes]
    with rt.db.read() as session:
        definition_id = session.scalar(select(Definition.id).limit(1))
    per_instance = 5
    instances = max(1, open_items // per_instance + 1)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            insert(Demand),
            [
                {
                    "id": n,
                    "reference": f"B-{n:07d}",
                    "customer_name": f"Customer {n}",
                    "customer_category": "residential",
                    "channel": "app",
                    "category": "connection",
                    "address": "",
                    "phone": "",
                    "priority": rnd.randint(0, 3),
                    "details": {},
                    "created_at": now,
                    "created_by": "bench",
                }
                for n in range(1, instances + 1)
            ],
        )
        connection.execute(
            insert(Instance),
            [
                {
                    "id": n,
                    "definition_id": definition_id,
                    "demand_id": n,
                    "business_key": f"B-{n}",
                    "status": "running",
                    "started_at": now,
                    "ended_at": None,
                    "document": "{}",
                    "variables": {},
                    "lock_version": 1,
                }
                for n in range(1, instances + 1)
            ],
        )
        rows = []
        for n in range(1, open_items + 1):
            role = lane_roles[n % len(lane_roles)]
            ready = now - timedelta(minutes=rnd.randint(1, 60 * 24 * 20))
            rows.append(
                {
                    "id": n,
                    "instance_id": (n - 1) // per_instance + 1,
                    "definition_id": definition_id,
                    "task_id": f"bench-{n:012d}",
                    "element_id": f"Activity_{role.id}",
                    "link_name": f"{role.name} step",
                    "lane": role.name,
                    "role": role.id,
                    "department": role.department.id,
                    "customer_facing": False,
                    "state": "ready",
                    "assignee": None,
                    "ready_at": ready,
                    "claimed_at": None,
                    "ended_at": None,
                    "completed_by": None,
                    "due_at": ready + timedelta(days=rnd.randint(1, 20)),
                    "standard_target": "P5D",
                    "standard_basis": "working",
                    "form_data": None,
                    "waiting_s": None,
                    "handling_s": None,
                    "waiting_working_s": None,
                    "handling_working_s": None,
                    "within_standard": None,
                    "escalated": False,
                    "lock_version": 1,
                }
            )
            if len(rows) == 20_000:
                connection.execute(insert(WorkItem), rows)
                rows = []
        if rows:
            connection.execute(insert(WorkItem), rows)
        lifecycles = ["ready", "claimed", "released", "completed"]
        batch = []
        for n in range(1, events + 1):
            item = rnd.randint(1, open_items)
            role = lane_roles[item % len(lane_roles)]
            batch.append(
                {
                    "work_item_id": item,
                    "instance_id": (item - 1) // per_instance + 1,
                    "definition_id": definition_id,
                    "element_id": f"Activity_{role.id}",
                    "link_name": f"{role.name} step",
                    "lifecycle": lifecycles[n % 4],
                    "at": now - timedelta(seconds=n),
                    "actor": None,
                    "lane": role.name,
                    "role": role.id,
                    "department": role.department.id,
                    "details": None,
                }
            )
            if len(batch) == 50_000:
                connection.execute(insert(TaskEvent), batch)
                batch = []
        if batch:
            connection.execute(insert(TaskEvent), batch)
    engine.dispose()
    print(
        f"  loaded {open_items:,} open work items and {events:,} task events "
        f"in {time.perf_counter() - started:.1f} s"
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def time_queues(port: int, requests: int) -> None:
    client = Client(port)
    secrets = tokens(client)
    _, page, _ = client.request("GET", "/login")
    csrf = page.decode().split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    status, _, _ = client.request(
        "POST", "/login", form={"username": "planner", "password": PASSWORD, "csrf_token": csrf}
    )
    assert status == 302, status
    for label, path, headers in (
        ("team-queue page (planner, first page)", "/queue?scope=team", {}),
        ("team-queue page, sorted by priority", "/queue?scope=team&sort=priority", {}),
        (
            "API GET /api/work-items?scope=team",
            "/api/work-items?scope=team",
            {"Authorization": f"Bearer {secrets['planner']}"},
        ),
    ):
        samples = []
        for _ in range(requests + 2):
            began = time.perf_counter()
            status, _, _ = client.request("GET", path, headers=headers)
            samples.append(time.perf_counter() - began)
            assert status == 200, (path, status)
        p50, p95 = percentiles(samples[2:])
        print(f"  {label:<44} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms")


def run_flow(port: int, count: int) -> float:
    client = Client(port)
    secrets = tokens(client)
    demand = {
        "customer_name": "Bench household",
        "customer_category": "residential",
        "channel": "app",
        "category": "connection",
    }

    def one() -> None:
        accepted = client.json("POST", "/api/demands", secrets["desk"], demand)
        [row] = client.json("GET", "/api/work-items?scope=team", secrets["manager"])["items"]
        client.json(
            "POST",
            f"/api/work-items/{row['id']}/complete",
            secrets["manager"],
            {
                "version": row["version"],
                "data": {"id_checked": True, "supply_scheme": "existing_line"},
            },
        )
        [row] = client.json("GET", "/api/work-items?scope=team", secrets["meter"])["items"]
        client.json(
            "POST",
            f"/api/work-items/{row['id']}/complete",
            secrets["meter"],
            {
                "version": row["version"],
                "data": {"meter_number": "M-1", "connected": True, "initial_reading": 0.0},
            },
        )
        status = client.json("GET", f"/api/demands/{accepted['id']}", secrets["desk"])
        assert status["instances"][0]["status"] == "completed", status

    one()  # warm up
    began = time.perf_counter()
    for _ in range(count):
        one()
    return count / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--flow", type=int, default=300, help="instances through the API")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("command: python bench/queue.py " + shlex.join(sys.argv[1:]))
    with tempfile.TemporaryDirectory() as folder:
        print(
            f"1. queues with {args.open_items:,} open work items, {args.events:,} events "
            f"(SQLite, gunicorn x{args.workers})"
        )
        url = f"sqlite:///{Path(folder) / 'queues.db'}"
        rt = prepare(url)
        bulk_load(rt, args.open_items, args.events, args.seed)
        rt.db.dispose()
        server = Server(url, args.workers)
        try:
            time_queues(server.port, args.requests)
        finally:
            server.stop()
        print(
            f"2. two-lane flow through the HTTP API, {args.flow} instances, sequential "
            f"(fresh SQLite, gunicorn x{args.workers})"
        )
        url = f"sqlite:///{Path(folder) / 'flow.db'}"
        prepare(url).db.dispose()
        server = Server(url, args.workers)
        try:
            rate = run_flow(server.port, args.flow)
        finally:
            server.stop()
        print(f"  {rate:.1f} instances/s (6 requests each; target 72/s): {rate / 72:.2f} x target")


if __name__ == "__main__":
    main()
