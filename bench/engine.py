"""How fast gridflow runs processes, against raw SpiffWorkflow in memory.

Runs the same flows N times in each mode, all in one run, and prints instances per second:

  (a)  raw SpiffWorkflow in memory: CamundaParser + BpmnWorkflow; every READY user task gets the
       same form data (task.data.update + task.run + do_engine_steps). Conditions and timers are
       evaluated by gridflow's SafeScriptEngine (the default engine cannot read JUEL `${...}`).
       Raw SpiffWorkflow cannot run an external task (it waits for another system's worker,
       which needs a store to lock it in): it completes each as a plain task in memory, with a
       value for each of its outputs, as if the worker had answered at once; it completes a call
       activity the same way, without running the called process.
  (a+) gridflow's Engine in memory (Engine.start / Run.complete / Run.deliver_message), no dump;
       system steps completed in memory as in (a) (Run.complete).
  (a') the same with Engine.dump() + Engine.restore() around every step (definition kept out of
       the document): the serialization cost alone.
  (b)  gridflow persisted on SQLite (a fresh temp file): start_instance, work_items.complete per
       link, instances.deliver_message; external_tasks.fetch_and_lock + complete per external
       task (a worker in this process); a call activity runs its called process as an instance
       of its own (its links and steps driven the same way). Every step is one transaction that
       restores and saves. gridflow runs SQLite in WAL with synchronous=NORMAL: a commit is
       on disk at the next checkpoint, not at once (a power cut may lose the last ones).
  (b') the same with synchronous=FULL: every commit flushed before it returns, as PostgreSQL
       does with synchronous_commit on; the ratio of (c) to it compares like with like.
  (c)  the same on PostgreSQL (a fresh database `gridflow_bench` on the --postgres server).

Flows: two_lane (two links), countersign (a link, an external task, a decision and a four-way
countersign: bench/flows/countersign.bpmn), hv_connection (the shipped high-voltage connection:
an external task, two decisions, a countersign and a call to the meter installation).

Usage:  python bench/engine.py [--instances 300] [--flows two_lane,countersign,hv_connection]
                               [--postgres URL | --no-postgres] [--profile]

A script, not a test: it prints a table per flow and exits 0.
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
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, create_engine, event, or_, select, text
from sqlalchemy.engine import make_url

from gridflow import catalog, decisions, definitions, external_tasks, instances, work_items
from gridflow.clock import SimulatedClock
from gridflow.database import Database
from gridflow.decisions import DecisionBook
from gridflow.definitions import ProcessDefinition
from gridflow.definitions.spiff import CalledProcess, ExternalTask, GridflowParser, connect_loops
from gridflow.engine import Engine, Run, SafeScriptEngine, using_clock
from gridflow.instances import OPEN
from gridflow.models import Instance, SystemTask, Wait, WorkItem
from gridflow.roles import Actor, RoleBook
from gridflow.runtime import Runtime
from gridflow.working_time import WorkingCalendar

ROOT = Path(__file__).resolve().parent.parent
FLOWS = {
    "two_lane": ROOT / "bench" / "flows" / "two_lane.bpmn",
    "countersign": ROOT / "bench" / "flows" / "countersign.bpmn",
    "hv_connection": ROOT / "processes" / "hv_connection.bpmn",
}
# What the other systems' workers answer, by output name (external tasks, all modes).
OUTPUTS: dict[str, object] = {
    "archive_no": "MK-BENCH",
    "meter_no": "DB3-BENCH",
    "meter_phases": 3,
    "paid": True,
    "receipt_no": "FI-BENCH",
}
WORKER = external_tasks.Worker("bench", "bench-worker", None)
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "gridflow_bench"
# Monday 2 March 2026, 09:00 in Beijing (as in tests/conftest.py). The clock never moves, so no
# breach timer fires and every mode walks the same main path.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ADMIN = Actor("admin", frozenset({"admin"}))
CALENDAR = WorkingCalendar()
ROLES = RoleBook.load(ROOT / "processes" / "roles.yaml")
# The decision tables business-rule tasks run in memory (modes a, a+, a').
BOOK = DecisionBook.from_paths([ROOT / "processes"])
# The demand's variables (processes/README.md, "Start variables").
VARIABLES: dict[str, object] = {
    "customer_name": "Bench Industrial Park Co.",
    "customer_category": "business",
    "channel": "counter",
    "address": "1 Benchmark Road",
    "voltage": "high",
    "capacity_kw": 800,
    "supply": "single",
    "area": "urban",
    "feeder": "F-101",
}
# Form values that steer the main path; every other required field gets a valid filler value.
FORM_OVERRIDES: dict[str, dict[str, object]] = {
    "Activity_review_design": {"design_approved": True},  # approved: no design-change loop
}


# --- the flows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    name: str
    path: Path
    definition: ProcessDefinition
    forms: Mapping[str, dict[str, object]]  # element id -> validated form values, every process
    outputs: Mapping[str, dict[str, object]]  # external task element id -> the worker's answer
    called: tuple[Path, ...] = ()  # the files of the processes its call activities start
    topics: tuple[str, ...] = ()  # of its external tasks and those of the processes it calls

    @property
    def process_id(self) -> str:
        return self.definition.process_id


def load_flow(name: str) -> Flow:
    path = FLOWS.get(name) or Path(name)
    definition = definitions.load(path, ROLES)
    called = tuple(
        path.parent / f"{step.called_element}.bpmn"
        for step in definition.steps.values()
        if step.kind == "call"
    )
    every = [definition, *(definitions.load(file, ROLES) for file in called)]
    forms = {
        element_id: link.form.validate(_fill(link, FORM_OVERRIDES.get(element_id, {})))
        for d in every
        for element_id, link in d.links.items()
    }
    external = [s for d in every for s in d.steps.values() if s.kind == "external"]
    outputs = {s.element_id: {name: OUTPUTS[name] for name in s.outputs} for s in external}
    topics = tuple(sorted({s.topic for s in external if s.topic}))
    return Flow(path.stem, path, definition, forms, outputs, called, topics)


def _step_answer(flow: Flow, element_id: str) -> dict[str, object]:
    """What a system step ends with in memory: an external task's outputs; nothing from a
    call activity (the called process is not run in memory)."""
    return flow.outputs.get(element_id, {})


def _fill(link: definitions.Link, given: Mapping[str, object]) -> dict[str, object]:
    return link.form.complete_with_examples(given)


# --- results -------------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    label: str
    instances: int
    seconds: float
    path: list[str]  # element ids of the user tasks completed (and messages), warm-up instance
    note: str = ""

    @property
    def rate(self) -> float:
        return self.instances / self.seconds if self.seconds else float("inf")


def measure(mode: str, label: str, n: int, one: Callable[[int], list[str]]) -> Result:
    """Warm up with one instance, then time n instances run one after the other."""
    path = one(-1)
    started = time.perf_counter()
    for i in range(n):
        one(i)
    return Result(mode, label, n, time.perf_counter() - started, path)


# --- (a) raw SpiffWorkflow in memory -------------------------------------------------------------


def raw_spiff(flow: Flow, n: int) -> Result:
    # gridflow's parser: CamundaParser's own business-rule task would eval its DMN cells.
    parser = GridflowParser()
    parser.add_bpmn_file(str(flow.path))
    spec = parser.get_spec(flow.process_id)
    subprocess_specs = parser.get_subprocess_specs(flow.process_id)
    # gridflow's multi-instance specs (Camunda's collection and completion condition) hear of
    # their instances ending once connected, which gridflow does when it builds a definition.
    connect_loops(spec, subprocess_specs)
    clock = SimulatedClock(START)

    def one(_: int) -> list[str]:
        path = []
        # SpiffWorkflow's timer module reads gridflow's clock context (gridflow.engine.clock_hook
        # patches it); without it a breach timer computed on the simulated clock is overdue
        # against today's real date and fires, which would take another path.
        with using_clock(clock):
            workflow = BpmnWorkflow(spec, subprocess_specs)
            workflow.script_engine = SafeScriptEngine(flow.definition, clock, CALENDAR, BOOK)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(VARIABLES)
            workflow.do_engine_steps()
            while not workflow.is_completed():
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                if ready:
                    for task in ready:
                        element = task.task_spec.bpmn_id
                        if isinstance(task.task_spec, ExternalTask | CalledProcess):
                            # No worker and no store here: a plain task completed in memory.
                            task.data.update(_step_answer(flow, element))
                        else:
                            task.data.update(flow.forms[element])
                        task.run()
                        path.append(element)
                    workflow.do_engine_steps()
                    continue
                path.append(_deliver_waiting_message(Run(flow.definition, workflow, clock)))
        return path

    return measure("a", "SpiffWorkflow in memory (SafeScriptEngine)", n, one)


def _deliver_waiting_message(run: Run) -> str:
    names = [w.name for w in run.waits() if w.kind == "message"]
    if not names:
        raise RuntimeError("stuck: no ready link and no message to wait for")
    run.deliver_message(names[0])
    return f"message:{names[0]}"


# --- (a+) and (a') gridflow's Engine in memory, with and without dump/restore --------------------


@dataclass
class Sizes:
    """Document sizes (bytes) of the warm-up instance, one per dump, and the embedded variant."""

    per_dump: list[int]
    mid_embedded: int = 0
    mid_step: str = ""


def gridflow_engine(flow: Flow, n: int, round_trip: bool, sizes: Sizes | None = None) -> Result:
    engine = Engine(SimulatedClock(START), CALENDAR, BOOK)
    definition = flow.definition

    def one(i: int) -> list[str]:
        path: list[str] = []
        dumps: list[tuple[str, str, Run]] = []
        run = engine.start(definition, VARIABLES)
        document = engine.dump(run) if round_trip else ""
        if i < 0:
            dumps.append(("start", document, run))
        while not run.completed:
            if round_trip:
                run = engine.restore(definition, document)
            ready = run.ready_links()
            steps = [step for step in run.snapshot().steps if step.state == "ready"]
            if ready:
                link = ready[0]
                run.complete(link.task_id, flow.forms[link.element_id])
                path.append(link.element_id)
            elif steps:
                run.complete(steps[0].task_id, _step_answer(flow, steps[0].element_id))
                path.append(steps[0].element_id)
            else:
                path.append(_deliver_waiting_message(run))
            if round_trip:
                document = engine.dump(run)
                if i < 0:
                    dumps.append((path[-1], document, run))
        if i < 0 and sizes is not None and dumps:
            sizes.per_dump = [len(d.encode()) for _, d, _ in dumps]
            step, _, mid_run = dumps[len(dumps) // 2]
            sizes.mid_step = step
            sizes.mid_embedded = len(engine._serializer.serialize_json(mid_run.workflow).encode())
        return path

    if round_trip:
        return measure("a'", "gridflow Engine + dump/restore per step", n, one)
    return measure("a+", "gridflow Engine in memory", n, one)


# --- (b) and (c) gridflow persisted --------------------------------------------------------------


def persisted(
    flow: Flow, n: int, url: str, mode: str, label: str, *, sqlite_full: bool = False
) -> Result:
    """(b)/(c); with `sqlite_full`, SQLite flushes the log at every commit
    (`synchronous=FULL`) as PostgreSQL does, where gridflow ships `synchronous=NORMAL`."""
    Database(url).migrate()
    rt = Runtime.create(url, clock=SimulatedClock(START), calendar=CALENDAR, roles=ROLES)
    if sqlite_full:
        # After gridflow's own connect hook (which sets NORMAL); connections made so far go.
        event.listen(rt.db.engine, "connect", _synchronous_full)
        rt.db.engine.dispose()
    try:
        files = [flow.path, *flow.called, *_tables(flow)]
        catalog.deploy_paths(rt, files, "bench")
        return measure(mode, label, n, lambda i: drive_persisted(rt, flow, i))
    finally:
        rt.db.dispose()


def _synchronous_full(dbapi_connection: Any, _record: Any) -> None:  # noqa: ANN401 - sqlite3
    dbapi_connection.execute("PRAGMA synchronous=FULL")


def _tables(flow: Flow) -> list[Path]:
    """The decision tables beside the flow and the company's (as BOOK has them in memory)."""
    return decisions.dmn_files(sorted({flow.path.parent, ROOT / "processes"}))


def drive_persisted(rt: Runtime, flow: Flow, i: int) -> list[str]:
    """One instance from start to end through gridflow's verbs, as clerks, the other systems'
    workers and the customer would. The called processes' links and steps are driven too (in
    the path as `process/element`)."""
    path: list[str] = []
    started = instances.start_instance(rt, flow.process_id, VARIABLES, business_key=f"bench-{i}")
    instance_id = started.instance_id
    requests = [external_tasks.TopicRequest(topic, 60_000) for topic in flow.topics]
    called: dict[int, str] = {}  # the instances it called -> the call activity's element id
    while True:
        items, status, messages, calls = _instance_state(rt, instance_id)
        called.update(calls)
        if items:
            for item in items:
                work_items.complete(rt, item.id, ADMIN, flow.forms[item.element_id])
                path.append(_in(called, item.instance_id, item.element_id))
        elif requests and (tasks := external_tasks.fetch_and_lock(rt, WORKER, requests, 10)):
            for task in tasks:
                external_tasks.complete(rt, task.id, WORKER, flow.outputs[task.element_id])
                if task.instance_id != instance_id and task.instance_id not in called:
                    called[task.instance_id] = _call_of(rt, task.instance_id)
                path.append(_in(called, task.instance_id, task.element_id))
        elif status != "running":
            return path
        elif messages:
            instances.deliver_message(rt, instance_id, messages[0])
            path.append(f"message:{messages[0]}")
        else:
            raise RuntimeError(f"instance {instance_id} is stuck: no open link, no message wait")


def _in(called: Mapping[int, str], instance_id: int, element_id: str) -> str:
    process = called.get(instance_id)
    return f"{process}/{element_id}" if process else element_id


# The open links of an instance and of the processes it called (with the call activity's
# element id), and, when it has none, its status and the first message it waits for: one
# statement each, read outside a transaction as a clerk's queue page reads.
_OPEN_LINKS = (
    select(WorkItem.id, WorkItem.instance_id, WorkItem.element_id, SystemTask.element_id)
    .join(Instance, Instance.id == WorkItem.instance_id)
    .outerjoin(SystemTask, SystemTask.child_instance_id == Instance.id)
    .where(
        or_(
            Instance.id == bindparam("instance_id"),
            Instance.parent_instance_id == bindparam("instance_id"),
        ),
        WorkItem.state.in_(OPEN),
    )
    .order_by(WorkItem.id)
)
_CALL_OF = select(SystemTask.element_id).where(
    SystemTask.child_instance_id == bindparam("instance_id")
)


def _call_of(rt: Runtime, instance_id: int) -> str:
    with rt.db.snapshot() as connection:
        return str(connection.scalar(_CALL_OF, {"instance_id": instance_id}))


_STATUS_AND_MESSAGE = select(
    Instance.status,
    select(Wait.name)
    .where(Wait.instance_id == Instance.id, Wait.kind == "message")
    .order_by(Wait.id)
    .limit(1)
    .scalar_subquery(),
).where(Instance.id == bindparam("instance_id"))


def _instance_state(
    rt: Runtime, instance_id: int
) -> tuple[list[Any], str, list[str], dict[int, str]]:
    """Open links (of the instance and the processes it called), status, awaited messages and
    the instances it called that hold open links (id -> the call activity's element id)."""
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        rows = connection.execute(_OPEN_LINKS, {"instance_id": instance_id}).all()
        if rows:
            called = {row[1]: row[3] for row in rows if row[3] is not None}
            return list(rows), "running", [], called
        status, message = connection.execute(
            _STATUS_AND_MESSAGE, {"instance_id": instance_id}
        ).one()
        return [], status or "missing", [message] if message else [], {}


def sqlite_url(folder: str, flow: Flow, suffix: str = "") -> str:
    return f"sqlite:///{Path(folder) / f'bench_{flow.name}{suffix}.db'}"


def prepare_postgres(url: str) -> tuple[str | None, str]:
    """A fresh, empty database for the benchmark: (its URL, how) or (None, why not)."""
    server = make_url(url)
    try:
        admin = create_engine(
            server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": BENCH_DATABASE}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
        admin.dispose()
    except Exception as exc:  # unreachable server, no right to create databases, ...
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    bench = server.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    return bench, f"database {BENCH_DATABASE} on {server.host}:{server.port}"


def reset_postgres(url: str) -> None:
    # Everything in the schema goes (task_events' monthly partitions, tables of older versions).
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# --- report --------------------------------------------------------------------------------------


def print_table(flow: Flow, results: list[Result], sizes: Sizes, skipped: list[str]) -> None:
    steps = set(flow.outputs) | {
        s.element_id for s in flow.definition.steps.values() if s.kind == "call"
    }
    messages = sum(1 for step in results[0].path if step.startswith("message:"))
    system = sum(1 for step in results[0].path if step in steps)
    links = len(results[0].path) - messages - system
    print(
        f"\nflow {flow.name}  ({flow.path.relative_to(ROOT)}; {links} user tasks, "
        f"{system} system step(s), {messages} message(s) per instance)"
    )
    print("  path: " + " -> ".join(s.removeprefix("Activity_") for s in results[0].path))
    base = results[0].rate
    header = (
        f"  {'mode':<48} {'instances':>9} {'seconds':>9} {'instances/s':>12} "
        f"{'ratio to a':>11} {'a is x faster':>14}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for r in results:
        ratio = r.rate / base
        mode = f"({r.mode})"
        print(
            f"  {mode:<6}{r.label:<42} {r.instances:>9} {r.seconds:>9.3f} "
            f"{r.rate:>12.1f} {ratio:>11.4f} {1 / ratio:>13.1f}x"
        )
    for line in skipped:
        print(f"  {line}")
    if sizes.per_dump:
        mid = sizes.per_dump[len(sizes.per_dump) // 2]
        print(
            f"  document (a'): {mid:,} bytes mid-process (after {sizes.mid_step}); "
            f"{sizes.per_dump[0]:,} after start, {sizes.per_dump[-1]:,} at the end; "
            f"{sizes.mid_embedded:,} bytes mid-process with the definition embedded"
        )
    for r in results[1:]:
        if _top_level(r.path) != _top_level(results[0].path):
            print(f"  WARNING: ({r.mode}) took another path: {r.path}")
    called = [step for step in results[-1].path if "/" in step]
    if called:
        print(
            "  (b)/(c) also ran the called process: " + ", ".join(called) + "; (a), (a+) and "
            "(a') complete the call activity in memory without it"
        )


def _top_level(path: list[str]) -> list[str]:
    """The caller's own steps: (b) and (c) run a called process's steps (`call/element`) where
    the other modes complete the call activity itself."""
    own: list[str] = []
    for step in path:
        call, _, inside = step.partition("/")
        if not inside:
            own.append(step)
        elif call not in own:
            own.append(call)
    return sorted(own)


def profile_sqlite(flow: Flow, n: int, folder: str, top: int) -> None:
    url = f"sqlite:///{Path(folder) / f'profile_{flow.name}.db'}"
    Database(url).migrate()
    rt = Runtime.create(url, clock=SimulatedClock(START), calendar=CALENDAR, roles=ROLES)
    catalog.deploy_paths(rt, [flow.path, *flow.called, *_tables(flow)], "bench")
    drive_persisted(rt, flow, -1)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        drive_persisted(rt, flow, i)
    profiler.disable()
    rt.db.dispose()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    print(f"\ncProfile of (b) SQLite, flow {flow.name}, {n} instances (top {top} cumulative):")
    body = out.getvalue()
    print(body[body.index("   ncalls") :].rstrip())


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=300, help="instances per mode (300)")
    parser.add_argument(
        "--flows",
        default="two_lane,countersign,hv_connection",
        help="comma-separated: two_lane, countersign, hv_connection or BPMN file paths",
    )
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help=f"PostgreSQL server URL ({DEFAULT_POSTGRES}); the benchmark "
        f"creates and resets database {BENCH_DATABASE} there",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip (c)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile (b) with cProfile and print the top functions",
    )
    parser.add_argument("--profile-top", type=int, default=15, help="rows of the profile (15)")
    args = parser.parse_args(argv)
    n = args.instances

    print("command: python " + shlex.join(sys.argv))
    print(
        f"SpiffWorkflow {_version('SpiffWorkflow')}, SQLAlchemy {_version('SQLAlchemy')}, "
        f"Python {sys.version.split()[0]}; {n} instances per mode after one warm-up instance; "
        "SimulatedClock at " + START.isoformat()
    )
    print(
        "(a) uses gridflow's SafeScriptEngine for conditions and timers (the default engine "
        "cannot evaluate JUEL ${...}); every mode runs the same BPMN file."
    )

    pg_url: str | None = None
    pg_note = "skipped (--no-postgres)"
    if not args.no_postgres:
        pg_url, pg_note = prepare_postgres(args.postgres)
    print(f"(c) PostgreSQL: {pg_note}" if pg_url else f"(c) PostgreSQL skipped: {pg_note}")

    with tempfile.TemporaryDirectory(prefix="gridflow-bench-") as folder:
        for name in [f.strip() for f in args.flows.split(",") if f.strip()]:
            flow = load_flow(name)
            sizes = Sizes([])
            results = [
                raw_spiff(flow, n),
                gridflow_engine(flow, n, round_trip=False),
                gridflow_engine(flow, n, round_trip=True, sizes=sizes),
                persisted(flow, n, sqlite_url(folder, flow), "b", "gridflow on SQLite (temp file)"),
                persisted(
                    flow,
                    n,
                    sqlite_url(folder, flow, "full"),
                    "b'",
                    "the same, synchronous=FULL",
                    sqlite_full=True,
                ),
            ]
            skipped = []
            if pg_url:
                reset_postgres(pg_url)
                results.append(persisted(flow, n, pg_url, "c", "gridflow on PostgreSQL"))
            else:
                skipped.append(f"(c)  skipped: {pg_note}")
            print_table(flow, results, sizes, skipped)
            if pg_url:
                shipped, full, pg = (r.rate for r in results[3:6])
                print(
                    f"  PostgreSQL / SQLite: {pg / shipped:.2f} against SQLite as shipped "
                    f"(synchronous=NORMAL in WAL: a commit reaches the disk at the next "
                    f"checkpoint); {pg / full:.2f} against synchronous=FULL (every commit "
                    f"flushed, as PostgreSQL's with synchronous_commit on)"
                )
            if args.profile:
                profile_sqlite(flow, min(n, 100), folder, args.profile_top)
    if pg_url:
        print(round_trip_note(pg_url))
    return 0


HALT_POLL = Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns")


def round_trip_note(url: str, n: int = 500) -> str:
    """What one PostgreSQL round trip costs on this machine now (SELECT 1 on one connection,
    the median of n), and the virtual CPUs' halt polling where the guest has cpuidle-haltpoll:
    an idle vCPU that halts wakes slowly, and a round trip may wake two (docs/SCALE.md)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            times = []
            for _ in range(n):
                began = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                times.append(time.perf_counter() - began)
            connection.rollback()
    finally:
        engine.dispose()
    poll = HALT_POLL.read_text().strip() + " ns" if HALT_POLL.exists() else "not a haltpoll guest"
    return (
        f"PostgreSQL round trip (SELECT 1, median of {n}): {statistics.median(times) * 1e6:.0f} us;"
        f" the vCPUs' halt polling (cpuidle-haltpoll guest_halt_poll_ns): {poll}"
    )


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    raise SystemExit(main())
