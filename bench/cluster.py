"""A two-host gridflow on one PostgreSQL, on this machine: two gunicorn app hosts on two ports,
two `gridflow worker` processes, one fresh database on the local PostgreSQL server, and Debian's
nginx in front when it is installed (`deploy/nginx.conf`). It prints where each one is, then
waits for Ctrl+C (or, with --check, shows that the hosts and workers share the work, then stops).

    python bench/cluster.py [--hosts 2] [--workers 2] [--port 8100] [--demo 30] [--check]
    make cluster

Each host is what a separate machine would run (its own metrics folder); they share the
database, the secret key (a session signed in on one host is valid on the other) and the
metrics token. Logs are JSON lines in the run folder it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds a script named queue.py: keep it behind the standard library's queue.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))
SERVER = os.environ.get(
    "GRIDFLOW_CLUSTER_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
METRICS_TOKEN = "cluster-metrics-token-0001"
PYTHON = sys.executable


@dataclass
class Part:
    """One process of the cluster: what it is, where, and its process."""

    name: str
    where: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Cluster:
    """Hosts and workers on one database; `start`, `describe`, `stop`."""

    database: str = "gridflow_cluster"
    hosts: int = 2
    workers: int = 2
    port: int = 8100
    # Demo demands to simulate (with the demo accounts); None: the schema and processes only.
    demo: int | None = 0
    nginx: bool = True
    server: str = SERVER
    run_dir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="gridflow-cluster-"))
    )
    worker_interval: float = 1.0
    # Each host's gunicorn workers and threads.
    web_workers: int = 2
    web_threads: int = 4
    lock_time: float = 30.0
    # More settings for every part (e.g. an SMS gateway for the workers' outbox).
    extra_env: dict[str, str] = field(default_factory=dict)
    # More settings for worker n + 1 only (e.g. its own gateway address, to tell who sent).
    worker_env: list[dict[str, str]] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)

    @property
    def url(self) -> str:
        from sqlalchemy.engine import make_url

        return (
            make_url(self.server).set(database=self.database).render_as_string(hide_password=False)
        )

    def host_port(self, n: int) -> int:
        return self.port + 1 + n

    @property
    def entry(self) -> str:
        """Where a user goes: nginx when it runs, else the first host."""
        if any(p.name == "nginx" for p in self.parts):
            return f"http://127.0.0.1:{self.port}"
        return f"http://127.0.0.1:{self.host_port(0)}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "GRIDFLOW_DATABASE_URL": self.url,
            "GRIDFLOW_PROCESSES": str(ROOT / "processes"),
            "GRIDFLOW_SECRET_KEY": "cluster-secret-key-shared-by-the-hosts",
            "GRIDFLOW_METRICS_TOKEN": METRICS_TOKEN,
            "GRIDFLOW_LOG_FORMAT": "json",
            "GRIDFLOW_TRUSTED_PROXIES": "1" if self.nginx and NGINX else "0",
            **self.extra_env,
        }

    def start(self, prepare: Callable[[str], None] | None = None) -> None:
        """A fresh database (then `prepare(its URL)`), the hosts, the workers and nginx; back
        once every host answers /readyz. The hosts boot (imports, forks) while the schema is
        made: they touch the database only when asked, and answer /readyz 503 until then."""
        self._empty_database()
        try:
            for n in range(self.hosts):
                self._host(n)
            self._schema()
            if prepare is not None:
                prepare(self.url)
            for n in range(self.workers):
                self._worker(n)
            if self.nginx and NGINX:
                self._nginx()
            for n in range(self.hosts):
                wait_ready(f"http://127.0.0.1:{self.host_port(n)}/readyz", timeout=120)
            if any(p.name == "nginx" for p in self.parts):
                wait_ready(f"{self.entry}/readyz", timeout=120)
        except BaseException:
            self.stop()  # no part left behind
            raise

    def _empty_database(self) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()

    def _schema(self) -> None:
        if self.demo is None:  # the schema and the processes only
            from gridflow import catalog
            from gridflow.runtime import Runtime, load_roles

            rt = Runtime.create(self.url, roles=load_roles(ROOT / "processes" / "roles.yaml"))
            rt.db.migrate()
            catalog.deploy_paths(rt, [ROOT / "processes"], "cluster")
            rt.db.dispose()
            return
        # Schema, processes, the demo accounts and demands, as `make run` does.
        subprocess.run(
            [PYTHON, "-m", "gridflow.cli", "demo", "--instances", str(self.demo), "--weeks", "1",
             "--leave-open", "--accounts"],
            cwd=ROOT, env=self.env(), check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def _spawn(self, name: str, where: str, command: list[str], env: dict[str, str]) -> Part:
        log = self.run_dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        part = Part(name, where, process, log)
        self.parts.append(part)
        return part

    def _host(self, n: int) -> Part:
        port = self.host_port(n)
        metrics = self.run_dir / f"metrics-host{n + 1}"
        env = {
            **self.env(),
            "GRIDFLOW_BIND": f"127.0.0.1:{port}",
            "GRIDFLOW_WEB_WORKERS": str(self.web_workers),
            "GRIDFLOW_WEB_THREADS": str(self.web_threads),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        command = [PYTHON, "-m", "gunicorn", "-c", "python:gridflow.gunicorn_conf",
                   "gridflow.app:create_app()"]  # fmt: skip
        return self._spawn(f"host{n + 1}", f"http://127.0.0.1:{port}/", command, env)

    def _worker(self, n: int) -> Part:
        command = [PYTHON, "-m", "gridflow.cli", "worker", "--interval", str(self.worker_interval),
                   "--lock-time", str(self.lock_time)]  # fmt: skip
        env = {**self.env(), **(self.worker_env[n] if n < len(self.worker_env) else {})}
        return self._spawn(f"worker{n + 1}", "the database", command, env)

    def _nginx(self) -> Part:
        assert NGINX is not None
        prefix = self.run_dir / "nginx"
        prefix.mkdir(exist_ok=True)
        config = prefix / "nginx.conf"
        config.write_text(
            nginx_config(self.port, [self.host_port(n) for n in range(self.hosts)], prefix)
        )
        command = [NGINX, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
        return self._spawn("nginx", f"http://127.0.0.1:{self.port}/", command, self.env())

    def describe(self) -> str:
        lines = [f"database  {self.url}"]
        for part in self.parts:
            lines.append(
                f"{part.name:<9} {part.where:<28} pid {part.process.pid:<7} log {part.log}"
            )
        lines.append(
            f"open      {self.entry}/  (demo accounts desk1, manager1, supervisor1, admin1…;"
            " password gridflow-demo)"
        )
        lines.append(
            f"metrics   curl -H 'Authorization: Bearer {METRICS_TOKEN}' "
            f"http://127.0.0.1:{self.host_port(0)}/metrics"
        )
        return "\n".join(lines)

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    @property
    def host_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.host_port(n)}" for n in range(self.hosts)]

    def drop_database(self) -> None:
        """Drop the cluster's database (once every part has stopped)."""
        from sqlalchemy import create_engine, text

        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to every part (workers finish their round), then wait; their exit codes."""
        for part in self.parts:
            if part.process.poll() is None:
                os.killpg(part.process.pid, signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for part in self.parts:
            try:
                codes[part.name] = part.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(part.process.pid, signal.SIGKILL)
                codes[part.name] = None
        return codes


def nginx_config(listen: int, hosts: list[int], prefix: Path) -> str:
    """deploy/nginx.conf with this machine's ports, inside a config nginx runs as any user."""
    sample = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;\n" for port in hosts
    )
    sample = re.sub(
        r"(upstream gridflow \{\n(?:    #[^\n]*\n)*)(?:    server [^\n]*\n)+",
        lambda m: m.group(1) + servers,
        sample,
    )
    sample = sample.replace("    listen 80;", f"    listen 127.0.0.1:{listen};")
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'};\n"
        "events { worker_connections 512; }\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temp}\n{sample}\n}}\n"
    )  # fmt: skip


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not become ready")
        time.sleep(0.2)


def call(method: str, url: str, body: object = None, token: str | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def check(cluster: Cluster) -> None:
    """What the topology shows: one event posted to both hosts at once acts once; a worker
    killed with kill -9 leaves the other going."""
    hosts = [f"http://127.0.0.1:{cluster.host_port(n)}" for n in range(cluster.hosts)]
    status, made = call(
        "POST", f"{hosts[0]}/api/tokens", {"username": "integration1", "password": "gridflow-demo"}
    )
    assert status == 201, made
    alarm = {
        "type": "outage_alarm",
        "key": f"cluster-{time.time_ns()}",
        "payload": {"feeder": "F042", "area": "urban"},
    }
    answers: list[tuple[int, dict]] = []  # type: ignore[type-arg]
    gate = threading.Barrier(len(hosts))

    def post(host: str) -> None:
        gate.wait()
        answers.append(call("POST", f"{host}/api/events", alarm, made["token"]))

    threads = [threading.Thread(target=post, args=(h,)) for h in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for code, _ in answers)
    ids = {body.get("id") for _, body in answers}
    print(
        f"one alarm posted to {len(hosts)} hosts at once: answers {codes}, "
        f"event ids {sorted(map(str, ids))}"
    )
    if cluster.workers >= 2:
        doomed = cluster.part("worker1")
        os.killpg(doomed.process.pid, signal.SIGKILL)
        print(f"killed worker1 (pid {doomed.process.pid}) with kill -9; waiting for the heartbeats")
        time.sleep(max(3 * cluster.worker_interval, 3.0) + 2)
        with urllib.request.urlopen(
            urllib.request.Request(
                f"{hosts[0]}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            ),
            timeout=30,
        ) as answer:
            text = answer.read().decode()
        for line in text.splitlines():
            if line.startswith("gridflow_workers{") or line.startswith("gridflow_backlog"):
                print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8100, help="nginx; hosts on the next ports")
    parser.add_argument("--database", default="gridflow_cluster")
    parser.add_argument("--demo", type=int, default=30, help="demo demands to simulate first")
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--check", action="store_true", help="show it works, then stop")
    args = parser.parse_args()
    cluster = Cluster(
        args.database, args.hosts, args.workers, args.port, args.demo, not args.no_nginx
    )
    if not args.no_nginx and NGINX is None:
        print(
            "nginx is not installed (apt-get install nginx-light): the hosts are reached directly"
        )
    try:
        cluster.start()
        print(cluster.describe(), flush=True)
        if args.check:
            check(cluster)
        else:
            print("Ctrl+C stops every part (the workers finish their round)", flush=True)
            stop_on = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop_on)
            signal.sigwait(stop_on)
    except KeyboardInterrupt:
        pass
    finally:
        codes = cluster.stop()
        print("stopped: " + ", ".join(f"{name} {code}" for name, code in codes.items()))


if __name__ == "__main__":
    main()
