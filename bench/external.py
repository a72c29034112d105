"""External tasks through the REST API: how many tasks per second workers serve, and how long a
task waits from being created to being locked by a worker.

A gunicorn server (the production start) on a fresh database; a one-step process whose only
step is an external task (bench/flows/external.bpmn). For 1 and 4 workers (threads, each with
its own HTTP connection, integration token and worker id), two phases:

1. Throughput: --backlog tasks are created first; the workers fetch and lock (maxTasks 10)
   and complete each task through the API until none is left. Printed: tasks/s.
2. Latency: a producer creates tasks at --rate per second for --seconds while the workers
   long-poll (asyncResponseTimeout 5 s). Printed: p50 and p95 from a task's creation to its
   first lock, read from the store (system_tasks.created_at → first_locked_at).

A script, not a test: figures are noisy on this machine; run it when nothing else is heavy.

    python bench/external.py [--database sqlite|postgresql] [--backlog 1000] [--rate 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds a script named queue.py: keep it behind the standard library's queue.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))
sys.path.append(str(ROOT / "bench"))

from serving import Client, Server  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from gridflow import catalog, users  # noqa: E402
from gridflow.database import Database  # noqa: E402
from gridflow.instances import start_instance  # noqa: E402
from gridflow.models import SystemTask  # noqa: E402
from gridflow.runtime import Runtime  # noqa: E402

PASSWORD = "bench-password"
TOPIC = "bench_work"
FLOW = ROOT / "bench" / "flows" / "external.bpmn"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def fresh_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'external.db'}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text('DROP DATABASE IF EXISTS "gridflow_bench_external" WITH (FORCE)'))
        connection.execute(text('CREATE DATABASE "gridflow_bench_external"'))
    admin.dispose()
    return PG_SERVER.rsplit("/", 1)[0] + "/gridflow_bench_external"


def prepare(url: str, workers: int) -> Runtime:
    Database(url).migrate()
    rt = Runtime.create(url)
    catalog.deploy_paths(rt, [ROOT / "processes", FLOW], "bench")
    users.PASSWORD_METHOD = "pbkdf2:sha256:10000"
    for n in range(workers):
        users.create_user(rt, f"worker{n}", PASSWORD, ["integration"], grants=[f"topic:{TOPIC}"])
    return rt


def create(rt: Runtime, count: int, start: int) -> None:
    for n in range(start, start + count):
        start_instance(rt, "bench_external", {"n": n}, business_key=f"B-{n}")


class Worker(threading.Thread):
    """Fetch, lock and complete through the API until told to stop (or nothing is left)."""

    def __init__(self, port: int, n: int, *, drain: bool, wait_ms: int):
        super().__init__(daemon=True)
        self.client = Client(port)
        status, payload, _ = self.client.request(
            "POST", "/api/tokens", {"username": f"worker{n}", "password": PASSWORD}
        )
        assert status == 201, payload
        self.token = json.loads(payload)["token"]
        self.worker_id = f"bench-{n}"
        self.drain = drain
        self.wait_ms = wait_ms
        self.done = 0
        self.stop = threading.Event()

    def run(self) -> None:
        fetch = {
            "workerId": self.worker_id,
            "maxTasks": 10,
            "asyncResponseTimeout": self.wait_ms,
            "topics": [{"topicName": TOPIC, "lockDuration": 60000}],
        }
        while not self.stop.is_set():
            tasks = self.client.json("POST", "/api/external-task/fetchAndLock", self.token, fetch)
            if not tasks and self.drain:
                return
            for task in tasks:
                status, payload, _ = self.client.request(
                    "POST",
                    f"/api/external-task/{task['id']}/complete",
                    {"workerId": self.worker_id, "variables": {"done": {"value": True}}},
                    {"Authorization": f"Bearer {self.token}"},
                )
                assert status == 204, payload
                self.done += 1


def throughput(port: int, rt: Runtime, workers: int, backlog: int, first: int) -> float:
    create(rt, backlog, first)
    team = [Worker(port, n, drain=True, wait_ms=0) for n in range(workers)]
    began = time.perf_counter()
    for worker in team:
        worker.start()
    for worker in team:
        worker.join()
    elapsed = time.perf_counter() - began
    assert sum(w.done for w in team) == backlog, [w.done for w in team]
    return backlog / elapsed


def latency(
    port: int, rt: Runtime, workers: int, rate: float, seconds: float, first: int
) -> tuple[float, float, int]:
    team = [Worker(port, n, drain=False, wait_ms=5000) for n in range(workers)]
    for worker in team:
        worker.start()
    made = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        create(rt, 1, first + made)
        made += 1
        pause = began + made / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    deadline = time.monotonic() + 30
    while sum(w.done for w in team) < made and time.monotonic() < deadline:
        time.sleep(0.05)
    for worker in team:
        worker.stop.set()
    with rt.db.read() as session:
        rows = session.execute(
            select(SystemTask.created_at, SystemTask.first_locked_at)
            .where(SystemTask.topic == TOPIC, SystemTask.first_locked_at.is_not(None))
            .order_by(SystemTask.id)
        ).all()
    waits = sorted((locked - created).total_seconds() * 1000 for created, locked in rows[-made:])
    quantiles = statistics.quantiles(waits, n=20, method="inclusive")
    return statistics.median(waits), quantiles[18], made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--server-workers", type=int, default=2)
    args = parser.parse_args()
    print(f"external tasks through the API on {args.database}, gunicorn {args.server_workers}x4")
    print("workers  tasks/s  created→locked p50  p95  (tasks)")
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 4):
            url = fresh_database(args.database, Path(folder) / str(workers))
            (Path(folder) / str(workers)).mkdir(exist_ok=True)
            rt = prepare(url, workers)
            server = Server(url, args.server_workers, threads=4)
            try:
                per_second = throughput(server.port, rt, workers, args.backlog, 0)
                p50, p95, made = latency(
                    server.port, rt, workers, args.rate, args.seconds, args.backlog
                )
            finally:
                server.stop()
                rt.db.dispose()
            print(f"{workers:7d}  {per_second:7.1f}  {p50:17.0f} ms  {p95:4.0f} ms  ({made})")


if __name__ == "__main__":
    main()
