"""What one API request costs inside the application, without HTTP or gunicorn: the six
requests of bench/load.py's two-lane instance (POST /api/demands, GET /api/instances/{id},
then GET and POST …/complete on each of the two links) through Flask's test client, in this
process, on SQLite (a fresh temporary file) and PostgreSQL (a database of its own).

Per route it prints the wall time (p50, mean) and the CPU time this process spent (mean: on
SQLite that is all of it; on PostgreSQL the server's own work is in a process of its own), then
the time to a whole instance. With --profile, the top cumulative costs of each route under
cProfile (a separate profile per route, over every request of the run).

    python bench/requests.py [--instances 200] [--settings sqlite,postgresql]
                             [--postgres URL] [--profile] [--top 25]

A script, not a test: figures are noisy on a shared machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a script named queue.py: keep this folder off the import path, or it would
# shadow the standard library's `queue` for every library imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import cProfile
import io
import json
import os
import pstats
import shlex
import tempfile
import time
from collections import defaultdict
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.append(str(ROOT / "bench"))  # last, after the standard library's queue

os.environ.setdefault("GRIDFLOW_PROCESSES", str(ROOT / "processes"))
os.environ.setdefault("GRIDFLOW_SECRET_KEY", "bench")

from load import (  # noqa: E402
    ACCEPT,
    ACCOUNTS,
    DEFAULT_POSTGRES,
    DEMAND,
    DESK,
    MANAGER,
    PASSWORD,
    PLANNER,
    SURVEY,
    fresh_postgres,
    prepare,
)
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from gridflow.app import create_app  # noqa: E402
from gridflow.runtime import Runtime  # noqa: E402

ROUTES = (
    "POST /api/demands",
    "GET /api/instances/{id}",
    "GET /api/work-items/{id}",
    "POST /api/work-items/{id}/complete",
)


class Meter:
    """Wall and CPU time of every request, by route; a profile per route when asked."""

    def __init__(self, profile: bool):
        self.wall: dict[str, list[float]] = defaultdict(list)
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.profiles = {route: cProfile.Profile() for route in ROUTES} if profile else {}
        self.on = True

    def call(
        self, client: Any, route: str, method: str, path: str, token: str, body: object = None
    ) -> dict:  # type: ignore[type-arg]  # noqa: ANN401, E501
        headers = {"Authorization": f"Bearer {token}"}
        profile = self.profiles.get(route) if self.on else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        response = client.open(path, method=method, json=body, headers=headers)
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if response.status_code >= 300:
            raise SystemExit(f"{method} {path} -> {response.status_code}: {response.data[:300]!r}")
        if self.on:
            self.wall[route].append(wall)
            self.cpu[route].append(cpu)
        return json.loads(response.data)  # type: ignore[no-any-return]


def one_instance(client: Any, secrets: dict[str, str], meter: Meter) -> None:
    """The six requests of bench/load.py's clerk, in its order."""
    demand = meter.call(client, ROUTES[0], "POST", "/api/demands", secrets[DESK], DEMAND)
    instance = demand["instances"][0]["instance_id"]
    opened = meter.call(client, ROUTES[1], "GET", f"/api/instances/{instance}", secrets[MANAGER])
    [link] = opened["next"]["open_links"]
    for who, form in ((MANAGER, ACCEPT), (PLANNER, SURVEY)):
        item = meter.call(client, ROUTES[2], "GET", f"/api/work-items/{link}", secrets[who])
        done = meter.call(
            client,
            ROUTES[3],
            "POST",
            f"/api/work-items/{link}/complete",
            secrets[who],
            {"version": item["version"], "data": form},
        )
        if who == MANAGER:
            [link] = [n["id"] for n in done["next"]]
        elif done["instance_status"] != "completed":
            raise SystemExit(f"demand {demand['id']} did not complete")


def measure(label: str, url: str, instances: int, profile: bool, top: int) -> None:
    prepare(url)
    rt = Runtime.create(url)
    app = create_app(runtime=rt)
    client = app.test_client()
    secrets = {}
    for name in ACCOUNTS:
        answer = client.post("/api/tokens", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 201, answer.data
        secrets[name] = answer.get_json()["token"]
    meter = Meter(profile)
    meter.on = False
    for _ in range(10):  # warm up: definitions parsed, statements compiled, pools filled
        one_instance(client, secrets, meter)
    meter.on = True
    began = time.perf_counter()
    for _ in range(instances):
        one_instance(client, secrets, meter)
    elapsed = time.perf_counter() - began
    print(f"{label}: {instances} instances in {elapsed:.2f} s, {instances / elapsed:.1f} inst/s")
    print(f"  {'route':<36} {'p50 ms':>7} {'mean ms':>8} {'CPU ms':>7}")
    whole_cpu = 0.0
    for route in ROUTES:
        wall, cpu = sorted(meter.wall[route]), meter.cpu[route]
        per = len(wall) / instances
        whole_cpu += sum(cpu) / instances
        name = route + (f" ×{per:.0f}" if per > 1 else "")
        print(
            f"  {name:<36} {wall[len(wall) // 2] * 1000:7.2f}"
            f" {sum(wall) / len(wall) * 1000:8.2f} {sum(cpu) / len(cpu) * 1000:7.2f}"
        )
    print(
        f"  {'a whole instance (6 requests)':<36} {'':>7} {elapsed / instances * 1000:8.2f}"
        f" {whole_cpu * 1000:7.2f}"
    )
    for route, prof in meter.profiles.items():
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        print(f"\n--- {label}: {route}, cumulative ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])
    rt.db.dispose()


def drop_postgres(url: str) -> None:
    server = make_url(url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{server.database}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--settings", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres", default=os.environ.get("GRIDFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--database-name", default="gridflow_bench_requests")
    parser.add_argument("--profile", action="store_true", help="cProfile each route")
    parser.add_argument("--top", type=int, default=25, help="lines per profile (25)")
    args = parser.parse_args()
    print("command: python bench/requests.py " + shlex.join(sys.argv[1:]))
    wanted = args.settings.split(",")
    with tempfile.TemporaryDirectory(prefix="gridflow-requests-") as folder:
        if "sqlite" in wanted:
            url = f"sqlite:///{Path(folder) / 'requests.db'}"
            measure("SQLite", url, args.instances, args.profile, args.top)
        if "postgresql" in wanted:
            url = fresh_postgres(args.postgres, args.database_name)
            try:
                measure("PostgreSQL", url, args.instances, args.profile, args.top)
            finally:
                drop_postgres(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
