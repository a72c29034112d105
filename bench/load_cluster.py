"""The cluster mode of bench/load.py: the load on bench/cluster.py's topology (app hosts, two
`gridflow worker` processes, one PostgreSQL, nginx in front when installed), with one worker
killed (`kill -9`) mid-run while it holds work, then the invariants of the workers' work.

The workers get real work from the load. The flow is bench/flows/two_lane_timer.bpmn (the
two-lane flow, then a 3-second timer the workers fire, then a follow-up link left open), so
timers come due all the time; and every demand belongs to one customer account (a trigger in
this throwaway database sets it, as if each demand came from the portal), so each completed
link writes a text message to the outbox, which the workers deliver to an SMS gateway in this
process that counts what it receives. Worker 1 is killed once it holds timer leases.

After the clerks stop, the workers are given the lock time to finish (a lease of the dead worker
runs out, the other takes it over), and the database (and the gateway's count) must show: each
due timer fired once, none left overdue; each message delivered once, or twice where the dead
worker had sent it and not yet recorded it (at-least-once, inherent: counted); each dispatch
key run once; the dead worker's heartbeat stopped and the other's went on; no lease of the dead
worker left. Then the load's own invariants (bench/load.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

from cluster import NGINX, Cluster
from sqlalchemy import Engine, create_engine, func, select, text

from gridflow.models import (
    DispatchRound,
    Notification,
    TaskEvent,
    TimerLease,
    Wait,
    WorkerHeartbeat,
)

FLOW = "two_lane_timer"
TIMER = timedelta(seconds=3)  # the flow's Event_report_wait
FOLLOW_UP = "Activity_follow_up"
SURVEY = "Activity_survey"
CUSTOMER_PHONE = "13900139000"
# Allowed beyond a lease's end for another worker to take the work over (its round interval,
# its round's length on a loaded machine).
MARGIN = timedelta(seconds=10)


class SmsGateway:
    """An SMS gateway on 127.0.0.1 that takes every message and counts each (phone, text), and
    who sent it (each worker posts to /sms/<its name>). Armed with `trap(worker, then)`, it
    calls `then(text)` on that worker's next message, before answering it."""

    def __init__(self) -> None:
        self.received: Counter[tuple[str, str]] = Counter()
        self.senders: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._trap: tuple[str, Callable[[str], None]] | None = None
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                worker = self.path.rstrip("/").rpartition("/")[2]
                with gateway.lock:
                    gateway.received[(body["to"], body["text"])] += 1
                    gateway.senders[worker] += 1
                    trap, gateway._trap = gateway._trap, None
                    if trap is not None and trap[0] != worker:
                        gateway._trap, trap = trap, None
                if trap is not None:
                    trap[1](body["text"])  # the sender dies here, its message received
                with contextlib.suppress(OSError):
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, worker: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms/{worker}"

    def trap(self, worker: str, then: Callable[[str], None]) -> None:
        with self.lock:
            self._trap = (worker, then)

    def disarm(self) -> None:
        with self.lock:
            self._trap = None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def one_customer(url: str) -> None:
    """Every demand of this database belongs to one customer account with a mobile phone (a
    trigger sets it), so its completed links are told to the customer by text message."""
    from gridflow.customers.accounts import ensure_account
    from gridflow.runtime import Runtime

    rt = Runtime.create(url)
    customer = ensure_account(rt, CUSTOMER_PHONE, None, "en")
    rt.db.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION bench_load_customer() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN NEW.customer_id := {int(customer.id)}; RETURN NEW; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER bench_load_customer BEFORE INSERT ON demands "
                "FOR EACH ROW EXECUTE FUNCTION bench_load_customer()"
            )
        )
    engine.dispose()


@dataclass
class Kill:
    """What the killed worker held when it died."""

    pid: int = 0
    worker_id: str | None = None
    at: datetime | None = None
    # instance id → until when, the timer leases it held
    leases: dict[int, datetime] = field(default_factory=dict)
    # outbox messages `sending` at that moment (either worker's: the outbox does not say whose)
    sending: int = 0
    waited_s: float = 0.0
    how: str = "timers"
    # with --kill-on message: the text it had just sent (received) and not yet recorded sent
    message: str | None = None


def kill_holding(
    cluster: Cluster,
    engine: Engine,
    after: float,
    kill: Kill,
    gateway: SmsGateway,
    patience: float = 20.0,
) -> None:
    """After `after` seconds, kill -9 worker1 as soon as it holds timer leases (`kill.how`
    timers) or the moment its next text message reaches the gateway (`message`: it dies
    between sending the message and recording it sent, with the rest of its delivery batch
    claimed); failing that within `patience` seconds, anyway. Then record what it held."""
    part = cluster.part("worker1")
    kill.pid = part.process.pid
    time.sleep(after)
    began = time.monotonic()
    done = threading.Event()

    def now(text: str | None = None) -> None:
        os.killpg(part.process.pid, signal.SIGKILL)
        kill.at = datetime.now(UTC)
        kill.waited_s = time.monotonic() - began
        kill.message = text
        done.set()

    with engine.connect() as connection:
        while kill.worker_id is None and time.monotonic() - began < patience:
            kill.worker_id = connection.scalar(
                select(WorkerHeartbeat.worker_id).where(WorkerHeartbeat.pid == kill.pid)
            )
            connection.rollback()
            time.sleep(0.05)
        if kill.how == "message":
            gateway.trap("worker1", now)
            done.wait(max(0.0, patience - (time.monotonic() - began)))
            gateway.disarm()
        else:
            held = select(func.count()).where(TimerLease.worker_id == kill.worker_id)
            while time.monotonic() - began < patience:
                if connection.scalar(held):
                    break
                connection.rollback()
                time.sleep(0.005)
        if not done.is_set():
            now()
        connection.rollback()
        part.process.wait()
        # What it held: a lease is dropped in the transaction that fires its timer, so every
        # lease left is a timer it claimed and did not fire.
        kill.leases = dict(
            connection.execute(
                select(TimerLease.instance_id, TimerLease.leased_until).where(
                    TimerLease.worker_id == kill.worker_id
                )
            ).all()
        )
        kill.sending = connection.scalar(
            select(func.count()).where(Notification.status == "sending")
        )


def drain(engine: Engine, timeout: float) -> float:
    """Wait (at most `timeout` s) until no timer is due or will be for the flow's wait, and no
    message is waiting; the seconds waited."""
    began = time.monotonic()
    time.sleep(TIMER.total_seconds() + 1)
    with engine.connect() as connection:
        while time.monotonic() - began < timeout:
            timers = connection.scalar(select(func.count()).where(Wait.kind == "timer"))
            messages = connection.scalar(
                select(func.count()).where(Notification.status.in_(("pending", "sending")))
            )
            connection.rollback()
            if not timers and not messages:
                break
            time.sleep(0.5)
    return time.monotonic() - began


@contextmanager
def _printer() -> Iterator[Any]:
    held = [True]

    def line(label: str, count: object, ok: bool) -> None:
        held[0] &= ok
        print(f"    {label:<92} {count}{'' if ok else '   <- BROKEN'}")

    line.held = held  # type: ignore[attr-defined]
    yield line


def invariants(
    url: str, kill: Kill, gateway: SmsGateway, lock_time: timedelta, codes: dict[str, Any]
) -> bool:
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.connect() as c, _printer() as line:
        # --- timers
        surveyed = dict(
            c.execute(
                select(TaskEvent.instance_id, TaskEvent.at).where(
                    TaskEvent.element_id == SURVEY, TaskEvent.lifecycle == "completed"
                )
            ).all()
        )
        fired: dict[int, list[datetime]] = {}
        for instance_id, at in c.execute(
            select(TaskEvent.instance_id, TaskEvent.at).where(
                TaskEvent.element_id == FOLLOW_UP, TaskEvent.lifecycle == "ready"
            )
        ):
            fired.setdefault(instance_id, []).append(at)
        waiting = dict(
            c.execute(select(Wait.instance_id, Wait.due_at).where(Wait.kind == "timer")).all()
        )
        print(f"  timers: {len(surveyed)} surveyed instances, each with a {TIMER.seconds}-s timer")
        line("timers fired twice (follow-up link made twice)", _twice(fired), _twice(fired) == 0)
        lost = [i for i in surveyed if i not in fired and i not in waiting]
        line("timers lost (surveyed, no follow-up, no timer waiting)", len(lost), not lost)
        late = [i for i, due in waiting.items() if due < now - lock_time - MARGIN]
        line(
            f"timers overdue by more than the lock time + {MARGIN.seconds} s, not fired",
            len(late),
            not late,
        )
        lateness = [
            (fired[i][0] - (at + TIMER)).total_seconds() for i, at in surveyed.items() if i in fired
        ]
        if lateness:
            print(
                f"    fired after due: p50 {statistics.median(lateness):.2f} s  "
                f"p95 {_p95(lateness):.2f} s  max {max(lateness):.2f} s"
            )
        # --- the dead worker's leases
        said = (
            "the moment its text message reached the gateway"
            if kill.message
            else f"holding {len(kill.leases)} timer lease(s)"
        )
        print(
            f"  worker1 killed (kill -9, pid {kill.pid}) {kill.waited_s:.2f} s after asked, "
            f"{said}; {kill.sending} outbox message(s) were `sending` then (either worker's)"
        )
        if kill.leases:
            ends = [kill.leases[i] for i in kill.leases]
            taken = [
                (fired[i][0] - kill.leases[i]).total_seconds() for i in kill.leases if i in fired
            ]
            early = [t for t in taken if t < 0]
            line(
                "its leased timers fired before its lease ran out (by anyone)",
                len(early),
                not early,
            )
            slow = [t for t in taken if t > MARGIN.total_seconds()]
            line(
                f"its leased timers not fired within {MARGIN.seconds} s after the lease",
                len(kill.leases) - len(taken) + len(slow),
                len(taken) == len(kill.leases) and not slow,
            )
            if taken:
                print(
                    f"    its leases ran out {min(ends):%H:%M:%S.%f}"[:-3]
                    + f"; the other worker fired them {min(taken):.2f}–{max(taken):.2f} s later"
                )
        left = c.scalar(select(func.count()).where(TimerLease.worker_id == kill.worker_id))
        line("leases still held by the dead worker", left, left == 0)
        stale = c.scalar(select(func.count()).where(TimerLease.leased_until < now))
        line("leases past their time (anyone's)", stale, stale == 0)
        # --- heartbeats
        beats = {b.worker_id: b for b in c.execute(select(WorkerHeartbeat)).all()}
        dead = beats.get(kill.worker_id or "")
        others = [b for w, b in beats.items() if w != kill.worker_id]
        assert kill.at is not None
        stopped = dead is not None and dead.beat_at <= kill.at + timedelta(seconds=1)
        line(
            "dead worker's heartbeat went on after the kill (0: it stopped)",
            0 if stopped else 1,
            stopped,
        )
        lease_end = max(kill.leases.values(), default=kill.at)
        went_on = [b for b in others if b.beat_at > lease_end + timedelta(seconds=1)]
        line(
            "other workers that went on beating after the dead one's leases ran out (must be 1)",
            len(went_on),
            len(went_on) == 1,
        )
        unstopped = [b for b in others if b.state != "stopped"]
        line("other workers whose last beat is not `stopped` (SIGTERM at the end)", len(unstopped),
             not unstopped)  # fmt: skip
        for b in sorted(beats.values(), key=lambda b: b.started_at):
            mark = "killed" if b.worker_id == kill.worker_id else "survivor"
            print(
                f"    {mark:<8} pid {b.pid:<7} state {b.state:<8} rounds {b.rounds:<5} "
                f"last beat {(b.beat_at - kill.at).total_seconds():+.1f} s from the kill"
            )
        # --- outbox
        rows = c.execute(
            select(Notification.status, Notification.attempts, Notification.recipient,
                   Notification.body)
        ).all()  # fmt: skip
        received = dict(gateway.received)
        print(
            f"  outbox: {len(rows)} message(s); the gateway received "
            f"{sum(received.values())} text(s) ("
            + ", ".join(f"{n} from {w}" for w, n in sorted(gateway.senders.items()))
            + ")"
        )
        undelivered = [r for r in rows if r.status != "sent"]
        line("messages not delivered (pending, sending, failed, held)", len(undelivered),
             not undelivered)  # fmt: skip
        # With this gateway nothing fails: a second try is a claim taken over after its lease,
        # that is one the dead worker held.
        retaken = [r for r in rows if r.attempts >= 2]
        print(f"    {'messages the dead worker held (claimed again after its lease)':<92} "
              f"{len(retaken)}")  # fmt: skip
        if kill.message is not None:
            trapped = [r for r in rows if r.body == kill.message]
            line(
                "the message it died sending: not delivered again by the other worker",
                sum(1 for r in trapped if received.get((r.recipient, r.body), 0) < 2),
                len(trapped) == 1 and received.get((trapped[0].recipient, kill.message)) == 2,
            )
        once = sum(1 for r in rows if received.get((r.recipient, r.body)) == 1)
        print(f"    {'messages delivered exactly once':<92} {once}")
        twice = [r for r in rows if 2 <= received.get((r.recipient, r.body), 0) <= r.attempts]
        again = "delivered twice (the dead worker sent it, died before recording it: at-least-once)"
        print(f"    {again:<92} {len(twice)}")
        never = [r for r in rows if r.status == "sent" and not received.get((r.recipient, r.body))]
        line("messages recorded sent that the gateway never received", len(never), not never)
        more = [r for r in rows if received.get((r.recipient, r.body), 0) > max(r.attempts, 1)]
        line("messages received more often than tried", len(more), not more)
        known = {(r.recipient, r.body) for r in rows}
        strays = sum(n for key, n in received.items() if key not in known)
        line("texts received that are in no outbox row", strays, strays == 0)
        # --- dispatch rounds
        keys = c.execute(select(DispatchRound.key, func.count()).group_by(DispatchRound.key)).all()
        repeated = [k for k, n in keys if n > 1]
        print(f"  dispatch: {len(keys)} round key(s) run")
        line("dispatch round keys run more than once", len(repeated), not repeated)
        # --- processes
        print("  exit codes: " + ", ".join(f"{name} {code}" for name, code in codes.items()))
        survivors = {n: v for n, v in codes.items() if n != "worker1"}
        clean = all(v == 0 for v in survivors.values()) and codes.get("worker1") == -signal.SIGKILL
        line("parts that did not stop cleanly on SIGTERM (worker1: -9, killed)", 0 if clean else 1,
             clean)  # fmt: skip
        held = bool(line.held[0])  # type: ignore[attr-defined]
    engine.dispose()
    print("  cluster invariants hold" if held else "  CLUSTER INVARIANTS BROKEN")
    return held


def _twice(fired: dict[int, list[datetime]]) -> int:
    return sum(1 for times in fired.values() if len(times) > 1)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(cluster: Cluster) -> dict[str, float]:
    """CPU seconds used so far (Linux /proc) by each part's processes (its session), by the
    PostgreSQL backends of its database, by this script, and by the whole machine (busy)."""
    parts = {part.process.pid: part.name for part in cluster.parts}
    used: dict[str, float] = dict.fromkeys([*parts.values(), "postgres", "this script"], 0.0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # fields[0] is the state (field 3 of stat): the session is field 6, utime/stime 14/15.
        seconds = (int(fields[11]) + int(fields[12])) / TICK
        session = int(fields[3])
        if session in parts:
            used[parts[session]] += seconds
        elif command.startswith("postgres:") and f" {cluster.database} " in command:
            used["postgres"] += seconds
    used["this script"] = time.process_time()
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    # user, nice, system, irq, softirq, steal (guest time is inside user already)
    used["machine"] = sum(ticks[n] for n in (0, 1, 2, 5, 6, 7)) / TICK
    used["wall"] = time.monotonic()
    return used


def cpu_report(before: dict[str, float], after: dict[str, float]) -> None:
    spent = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    machine = spent.pop("machine")
    seconds = spent.pop("wall")
    ours = sum(max(v, 0.0) for v in spent.values())
    cores = os.cpu_count() or 1
    print(
        f"  CPU over the {seconds:.1f} s of the run (tokens, warm-up, clerks; {cores} cores: "
        f"{cores * seconds:.0f} "
        f"core-seconds): the machine was busy {machine:.0f}, of which "
        + ", ".join(f"{name} {max(v, 0.0):.1f}" for name, v in spent.items())
        + f"; other work on the machine {max(machine - ours, 0.0):.0f}"
    )
    print("    (a killed worker's seconds are lost with it; a backend that closed took its own)")


@dataclass
class Outcome:
    held: bool = False
    kill: Kill = field(default_factory=Kill)
    instances: int = 0
    messages: int = 0


def run_cluster(load: ModuleType, args: Any) -> Outcome:  # noqa: ANN401 - argparse's namespace
    """`python bench/load.py --cluster`: start, load, kill, drain, check, stop."""
    lock_time = timedelta(seconds=args.lock_time)
    gateway = SmsGateway()
    cluster = Cluster(
        database=args.cluster_database,
        hosts=args.cluster_hosts,
        workers=2,
        port=args.port,
        demo=None,
        nginx=not args.no_nginx,
        server=args.postgres,
        worker_interval=args.worker_interval,
        lock_time=args.lock_time,
        worker_env=[{"GRIDFLOW_SMS_URL": gateway.url(f"worker{n + 1}")} for n in range(2)],
        web_workers=args.workers,
        web_threads=args.threads,
    )
    clients = max(int(n) for n in args.clients.split(",") if n.strip())
    outcome = Outcome()
    kill = outcome.kill
    kill.how = args.kill_on
    codes: dict[str, Any] = {}
    engine: Engine | None = None
    try:

        def prepare(url: str) -> None:
            load.prepare(url, FLOW)
            one_customer(url)

        began = time.monotonic()
        cluster.start(prepare)
        print(cluster.describe(), flush=True)
        print(f"started in {time.monotonic() - began:.1f} s", flush=True)
        if not args.no_nginx and NGINX is None:
            print("nginx is not installed (apt-get install nginx-light): clerks go to the hosts")
        bases = ([cluster.entry] if cluster.entry not in cluster.host_urls else []) + [
            *cluster.host_urls
        ]
        print(f"clerks: {clients}, going round {', '.join(bases)}", flush=True)
        engine = create_engine(cluster.url)
        killer = threading.Thread(
            target=kill_holding,
            args=(cluster, engine, args.kill_worker, kill, gateway),
            daemon=True,
        )
        killer.start()
        before = cpu_seconds(cluster)
        tally = load.run(bases, clients, args.seconds, ends="running")
        after = cpu_seconds(cluster)
        killer.join()
        load.report("PostgreSQL", clients, cluster.hosts, tally)
        cpu_report(before, after)
        waited = drain(engine, lock_time.total_seconds() + 60)
        print(f"  after the clerks stopped, the workers finished in {waited:.1f} s", flush=True)
        stopping = time.monotonic()
        codes = cluster.stop()
        print(f"  stopped every part in {time.monotonic() - stopping:.1f} s", flush=True)
        outcome.instances = tally.instances
        outcome.messages = sum(gateway.received.values())
        outcome.held = invariants(cluster.url, kill, gateway, lock_time, codes)
        outcome.held &= load.check(cluster.url, tally.demands)
    finally:
        if engine is not None:
            engine.dispose()
        if not codes:
            cluster.stop()
        gateway.stop()
        if args.keep:
            print(f"kept: {cluster.url}; logs in {cluster.run_dir}")
        else:
            cluster.drop_database()
    return outcome
