"""How many two-lane instances per second the HTTP API carries with concurrent clerks, on one
or two app hosts, on SQLite and PostgreSQL; then the invariants, read from the database.

Each clerk is a thread with its own kept-alive connection to one host (clerks go round the
hosts). For --seconds it runs the two-lane flow: the desk takes in a residential connection
demand (POST /api/demands; the flow of bench/flows/two_lane.bpmn, deployed as the newest
version of the energy-efficiency service), the account manager opens the instance (GET
/api/instances/{id}) and opens and completes the acceptance, planning and design opens and
completes the site survey (GET and POST on /api/work-items/{id}): six requests per
instance. Printed per setting: instances/s, the p95 over every request and the p50/p95 of
each kind. Then, from the database: no link completed twice, no demand lost (each has its
instance, each instance its links), every instance consistent with its work items and their
task events.

Without --hosts the script starts its own gunicorn hosts (bench/serving.py): SQLite with one
host; PostgreSQL (a database of its own on --postgres) with one and two hosts; 1, 4 and 8
clients each. With --hosts (base URLs, e.g. the two of bench/cluster.py) and --database (their
database URL) it drives those hosts instead, each --clients setting in turn.

    python bench/load.py [--seconds 20] [--clients 1,4,8] [--postgres URL]
    python bench/load.py --hosts http://127.0.0.1:8001,http://127.0.0.1:8002 --database URL

A script, not a test: figures are noisy on a shared machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a script named queue.py: keep this folder off the import path, or it would
# shadow the standard library's `queue` for every library imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import contextlib
import http.client
import json
import os
import shlex
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.append(str(ROOT / "bench"))  # last, after the standard library's queue

from serving import Server  # noqa: E402

from gridflow import catalog, users  # noqa: E402
from gridflow.database import Database  # noqa: E402
from gridflow.runtime import Runtime  # noqa: E402

PASSWORD = "bench-password"
DESK, MANAGER, PLANNER = "load_desk", "load_manager", "load_planner"
ACCOUNTS = {DESK: ["service_desk"], MANAGER: ["account_manager"], PLANNER: ["planning_design"]}
# The two-lane flow (bench/flows/two_lane.bpmn: the account manager accepts, planning and
# design surveys) is deployed as the newest version of the energy-efficiency service, so a
# demand taken in through the API (category energy_efficiency) starts it.
PROCESS = "energy_efficiency"
DEMAND = {
    "customer_name": "Load household",
    "customer_category": "residential",
    "channel": "app",
    "category": PROCESS,
    "address": "1 Load Road",
    "phone": "13800138000",
}
ACCEPT = {"accept_note": "accepted"}
SURVEY = {"survey_date": "2026-03-03"}
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class Host:
    """One kept-alive HTTP connection to a host (base URL)."""

    def __init__(self, base: str, timeout: float = 60):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.timeout = timeout
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def call(
        self, method: str, path: str, token: str | None, body: object = None
    ) -> tuple[int, dict]:  # type: ignore[type-arg]
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
                if attempt == 2:
                    raise
        return response.status, json.loads(payload) if payload else {}


@dataclass
class Tally:
    """What the clerks did, shared by their threads."""

    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    instances: int = 0
    demands: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)


def tokens(base: str) -> dict[str, str]:
    # The first request of a fresh host waits for its workers to start: patience.
    host = Host(base, timeout=600)
    found = {}
    for name in ACCOUNTS:
        status, payload = host.call(
            "POST", "/api/tokens", None, {"username": name, "password": PASSWORD}
        )
        assert status == 201, payload
        found[name] = payload["token"]
    host.connection.close()
    return found


def clerk(
    base: str, secrets: dict[str, str], until: float, tally: Tally, ends: str = "completed"
) -> None:
    """Two-lane instances until `until`; the survey's completion leaves each instance `ends`
    (`running` in the cluster mode's flow, where a timer and a follow-up come after it)."""
    host = Host(base)

    def timed(label: str, method: str, path: str, who: str, body: object = None) -> dict:  # type: ignore[type-arg]
        began = time.perf_counter()
        status, payload = host.call(method, path, secrets[who], body)
        elapsed = time.perf_counter() - began
        with tally.lock:
            tally.timings[label].append(elapsed)
            if status >= 300:
                tally.errors[f"{label} {status}"] += 1
        if status >= 300:
            raise RuntimeError(f"{label}: {status} {payload}")
        return payload

    while time.perf_counter() < until:
        try:
            demand = timed("POST /api/demands", "POST", "/api/demands", DESK, DEMAND)
            with tally.lock:
                tally.demands.append(demand["id"])
            instance = demand["instances"][0]["instance_id"]
            opened = timed("GET /api/instances/{id}", "GET", f"/api/instances/{instance}", MANAGER)
            [link] = opened["next"]["open_links"]
            for who, form in ((MANAGER, ACCEPT), (PLANNER, SURVEY)):
                item = timed("GET /api/work-items/{id}", "GET", f"/api/work-items/{link}", who)
                done = timed(
                    "POST …/complete",
                    "POST",
                    f"/api/work-items/{link}/complete",
                    who,
                    {"version": item["version"], "data": form},
                )
                if who == MANAGER:
                    [link] = [n["id"] for n in done["next"]]
                elif done["instance_status"] != ends:
                    raise RuntimeError(f"demand {demand['id']} did not complete")
            with tally.lock:
                tally.instances += 1
        except RuntimeError:
            continue
    host.connection.close()


def run(bases: list[str], clients: int, seconds: float, ends: str = "completed") -> Tally:
    secrets = {base: tokens(base) for base in bases}
    tally = Tally()
    # Warm each host up with one instance, untimed.
    clerk(bases[0], secrets[bases[0]], time.perf_counter() + 0.001, Tally(), ends)
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=clerk,
            args=(bases[i % len(bases)], secrets[bases[i % len(bases)]], until, tally, ends),
        )
        for i in range(clients)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.timings["_elapsed"] = [time.perf_counter() - began]
    return tally


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(label: str, clients: int, hosts: int, tally: Tally) -> None:
    elapsed = tally.timings["_elapsed"][0]
    every = [t for key, values in tally.timings.items() if key != "_elapsed" for t in values]
    print(
        f"  {label:<11} hosts {hosts}  clients {clients}:  "
        f"{tally.instances / elapsed:7.1f} instances/s"
        f"  ({tally.instances} in {elapsed:.1f} s)  p95 per request {p(every, 0.95) * 1000:6.1f} ms"
        + (f"  errors {dict(tally.errors)}" if tally.errors else "")
    )
    for key in sorted(k for k in tally.timings if k != "_elapsed"):
        values = tally.timings[key]
        print(
            f"      {key:<28} p50 {p(values, 0.5) * 1000:6.1f} ms  "
            f"p95 {p(values, 0.95) * 1000:6.1f} ms"
        )


INVARIANTS = {
    "links completed twice (work items with more than one completed event)": """
        SELECT count(*) FROM (SELECT work_item_id FROM task_events WHERE lifecycle = 'completed'
        AND work_item_id IS NOT NULL GROUP BY work_item_id HAVING count(*) > 1) twice""",
    "links of one instance completed twice (same element, two completed items)": """
        SELECT count(*) FROM (SELECT instance_id, element_id FROM work_items
        WHERE state = 'completed' GROUP BY instance_id, element_id HAVING count(*) > 1) twice""",
    "demands lost (taken in, no instance)": """
        SELECT count(*) FROM demands d WHERE NOT EXISTS
        (SELECT 1 FROM instances i WHERE i.demand_id = d.id)""",
    "running instances without exactly one open link": """
        SELECT count(*) FROM instances i WHERE i.status = 'running' AND (SELECT count(*)
        FROM work_items w WHERE w.instance_id = i.id AND w.state IN ('ready', 'claimed')) <> 1""",
    "completed instances with an open link or not two completed links": """
        SELECT count(*) FROM instances i WHERE i.status = 'completed' AND (
        EXISTS (SELECT 1 FROM work_items w WHERE w.instance_id = i.id
                AND w.state IN ('ready', 'claimed'))
        OR (SELECT count(*) FROM work_items w WHERE w.instance_id = i.id
            AND w.state = 'completed') <> 2)""",
    "work items whose state disagrees with their events (completed without its event, or an "
    "event without its completion)": """
        SELECT count(*) FROM work_items w WHERE (w.state = 'completed') <> EXISTS
        (SELECT 1 FROM task_events e WHERE e.work_item_id = w.id AND e.lifecycle = 'completed')""",
    "work items without their ready event": """
        SELECT count(*) FROM work_items w WHERE NOT EXISTS
        (SELECT 1 FROM task_events e WHERE e.work_item_id = w.id AND e.lifecycle = 'ready')""",
}


def check(url: str, demands: list[int]) -> bool:
    engine = create_engine(url)
    held = True
    with engine.connect() as connection:
        known = connection.scalar(text("SELECT count(*) FROM demands"))
        print(f"  invariants on {known} demands ({len(demands)} answered to the clerks):")
        missing = 0
        if demands:
            found = set(connection.scalars(text("SELECT id FROM demands")))
            missing = len(set(demands) - found)
        print(f"    {'demands answered to a clerk and not in the database':<92} {missing}")
        held &= missing == 0
        for label, query in INVARIANTS.items():
            count = connection.scalar(text(query))
            held &= count == 0
            print(f"    {label:<92} {count}")
    engine.dispose()
    print("  invariants hold" if held else "  INVARIANTS BROKEN")
    return held


def prepare(url: str, flow_name: str = "two_lane") -> None:
    Database(url).migrate()
    rt = Runtime.create(url)
    catalog.deploy_paths(rt, [ROOT / "processes"], "bench")
    flow = (ROOT / "bench" / "flows" / f"{flow_name}.bpmn").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{PROCESS}.bpmn"
        path.write_text(flow.replace(f'"{flow_name}"', f'"{PROCESS}"'), encoding="utf-8")
        catalog.deploy_paths(rt, [path], "bench")
    users.PASSWORD_METHOD = "pbkdf2:sha256:10000"
    for name, roles in ACCOUNTS.items():
        # An account already there (a cluster's database used again) stays as it is.
        with contextlib.suppress(Exception):
            users.create_user(rt, name, PASSWORD, roles)
    rt.db.dispose()


def fresh_postgres(server_url: str, name: str = "gridflow_bench_load") -> str:
    """A fresh database `name` on the server (dropped first if it is there)."""
    server = make_url(server_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def own_hosts(args: argparse.Namespace, clients: list[int]) -> bool:
    held = True
    settings: list[tuple[str, str, int]] = []
    folder = tempfile.mkdtemp(prefix="gridflow-load-")
    wanted = set(args.settings.split(","))
    if "sqlite" in wanted:
        settings.append(("SQLite", "", 1))
    if not args.no_postgres:
        settings += [("PostgreSQL", "", n) for n in (1, 2) if f"postgresql{n}" in wanted]
    for label, url, hosts in settings:
        for n in clients:
            if label == "PostgreSQL":
                url = fresh_postgres(args.postgres)
            else:
                url = f"sqlite:///{Path(folder) / f'load_{n}.db'}"
            prepare(url)
            servers = [Server(url, args.workers, args.threads) for _ in range(hosts)]
            try:
                bases = [f"http://127.0.0.1:{server.port}" for server in servers]
                tally = run(bases, n, args.seconds)
            finally:
                for server in servers:
                    _stop(server)
            report(label, n, hosts, tally)
            held &= check(url, tally.demands)
    return held


def _stop(server: Server) -> None:
    """Stop a host; a loaded machine may need more than gunicorn's graceful shutdown."""
    server.process.terminate()
    try:
        server.process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def cluster_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "cluster mode (bench/load_cluster.py)",
        "--cluster starts bench/cluster.py's topology on --postgres (app hosts, two workers, nginx "
        "when installed), runs the clerks (the largest --clients) through all of them with a "
        "flow that gives the workers timers and text messages, kill -9s worker 1 while it holds "
        "timer leases, then checks the workers' invariants too.",
    )
    group.add_argument("--cluster", action="store_true", help="run on the two-host topology")
    group.add_argument("--cluster-hosts", type=int, default=2, help="app hosts (2)")
    group.add_argument(
        "--kill-worker",
        type=float,
        default=8.0,
        metavar="AFTER_SECONDS",
        help="kill -9 worker 1 this long into the run, once it holds timer leases (8)",
    )
    group.add_argument(
        "--kill-on",
        choices=("timers", "message"),
        default="timers",
        help="kill worker 1 while it holds timer leases (timers), or the moment a text message "
        "it sends reaches the gateway, before it records it sent (message)",
    )
    group.add_argument("--lock-time", type=float, default=10.0, help="workers' lock time (10 s)")
    group.add_argument("--worker-interval", type=float, default=1.0, help="between rounds (1 s)")
    group.add_argument("--port", type=int, default=8320, help="nginx; hosts on the next (8320)")
    group.add_argument("--cluster-database", default="cluster_load", help="made afresh, dropped")
    group.add_argument("--no-nginx", action="store_true", help="clerks go to the hosts only")
    group.add_argument("--keep", action="store_true", help="keep the database afterwards")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per setting (20)")
    parser.add_argument("--clients", default="1,4,8", help="concurrent clerks, comma-separated")
    parser.add_argument("--hosts", help="base URLs of running hosts, comma-separated")
    parser.add_argument("--database", help="their database URL (with --hosts)")
    parser.add_argument(
        "--postgres", default=os.environ.get("GRIDFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--settings",
        default="sqlite,postgresql1,postgresql2",
        help="which of sqlite (one host), postgresql1, postgresql2 (hosts) to run",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per host (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (4)")
    cluster_options(parser)
    args = parser.parse_args()
    if args.cluster:
        print("command: python bench/load.py " + shlex.join(sys.argv[1:]))
        import load_cluster

        return 0 if load_cluster.run_cluster(sys.modules[__name__], args).held else 1
    clients = [int(n) for n in args.clients.split(",") if n.strip()]
    print("command: python bench/load.py " + shlex.join(sys.argv[1:]))
    print(
        "two-lane flow through the HTTP API, 6 requests per instance, "
        f"{args.seconds:.0f} s per setting"
    )
    if args.hosts:
        if not args.database:
            parser.error("--hosts needs --database (to prepare the accounts and check invariants)")
        prepare(args.database)
        bases = [base.strip().rstrip("/") for base in args.hosts.split(",") if base.strip()]
        held = True
        for n in clients:
            tally = run(bases, n, args.seconds)
            report("given", n, len(bases), tally)
        held &= check(args.database, [])
    else:
        held = own_hosts(args, clients)
    return 0 if held else 1


if __name__ == "__main__":
    raise SystemExit(main())
