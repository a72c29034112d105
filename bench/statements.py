"""What each verb costs the database: statements, round trips, rows and commits, per verb, on
SQLite and PostgreSQL, for the persisted modes (b) and (c) of bench/engine.py.

Drives the same instances as bench/engine.py (start_instance, work_items.complete,
deliver_message, external_tasks.fetch_and_lock / complete; a call activity's called process
runs as an instance of its own) and counts, per verb call:

  statements  SQL statements SQLAlchemy sent (before_cursor_execute; an executemany is one)
  round trips PostgreSQL: messages the server answered with ReadyForQuery (libpq's trace: every
              simple query such as BEGIN / COMMIT / SAVEPOINT, every extended-protocol Sync);
              SQLite: statements the library ran (its trace callback: BEGIN and COMMIT too)
  prepared    PostgreSQL: statements bound to a prepared (named) statement, not parsed again
  rows        rows the driver fetched (PostgreSQL: DataRow messages; SQLite: rows fetched)
  commits     COMMITs
  ms          wall milliseconds per call, from a second pass without any counting

A verb that starts a called process or hands one back to its caller is listed apart (the
element that does it in brackets). The clerk's reads between verbs (bench/engine.py's
`_instance_state`, `_call_of`) are listed as `(bench reads)`.

Usage:  python bench/statements.py [--instances 20] [--flows two_lane,hv_connection]
                                   [--postgres URL | --no-postgres] [--profile] [--profile-top 25]

--profile adds a cProfile of each timed pass (tottime and cumulative).
PostgreSQL's transactions run in psycopg's pipeline mode (see gridflow.database);
GRIDFLOW_PG_PIPELINE=0 turns it off, to compare.

A script, not a test: it prints a table per flow and database and exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a script named queue.py: keep this folder off the import path (see engine.py).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import re
import shlex
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from gridflow import catalog, external_tasks, instances, work_items
from gridflow.clock import SimulatedClock
from gridflow.database import Database
from gridflow.runtime import Runtime

_spec = importlib.util.spec_from_file_location(
    "gridflow_bench_engine", Path(__file__).resolve().parent / "engine.py"
)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench
_spec.loader.exec_module(bench)

VERBS: list[tuple[Any, str]] = [
    (instances, "start_instance"),
    (instances, "deliver_message"),
    (work_items, "complete"),
    (external_tasks, "fetch_and_lock"),
    (external_tasks, "complete"),
]
READS = "(bench reads)"
INSERT_INSTANCE = re.compile(r"^\s*INSERT INTO instances\b", re.I)
UPDATE_INSTANCE = re.compile(r"^\s*UPDATE instances\b", re.I)


@dataclass
class Tally:
    calls: int = 0
    statements: int = 0
    round_trips: int = 0
    prepared: int = 0
    rows: int = 0
    commits: int = 0
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Seconds spent in the driver per statement kind (and "COMMIT"), counted pass only.
    waits: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, other: Tally) -> None:
        self.calls += other.calls
        self.statements += other.statements
        self.round_trips += other.round_trips
        self.prepared += other.prepared
        self.rows += other.rows
        self.commits += other.commits
        self.seconds += other.seconds
        for kind, count in other.kinds.items():
            self.kinds[kind] += count
        for kind, seconds in other.waits.items():
            self.waits[kind] += seconds


class _CountingCursor(sqlite3.Cursor):
    fetched = 0

    def fetchone(self) -> Any:  # noqa: ANN401
        row = super().fetchone()
        if row is not None:
            _CountingCursor.fetched += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = super().fetchmany(size) if size is not None else super().fetchmany()
        _CountingCursor.fetched += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        rows = super().fetchall()
        _CountingCursor.fetched += len(rows)
        return rows


class _CountingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _CountingCursor) -> Any:  # noqa: ANN401
        return super().cursor(factory)


class Counter:
    """Counts what one Runtime's engine sends, between `begin()` and `end()`."""

    def __init__(self, rt: Runtime, folder: str):
        self.rt = rt
        self.folder = folder
        self.is_sqlite = rt.db.is_sqlite
        self.current = Tally()
        self.sqlite_statements = 0
        self.sqlite_commits = 0
        # PostgreSQL: one trace file per connection; (path, offset, pgconn) each.
        self.traces: list[list[Any]] = []
        engine = rt.db.engine
        engine.dispose()  # every connection from now on is a counted one
        event.listen(engine, "connect", self._on_connect)
        event.listen(engine, "before_cursor_execute", self._on_statement)
        event.listen(engine, "after_cursor_execute", self._on_statement_done)
        event.listen(engine, "commit", self._on_commit)
        self._started = 0.0
        self._kind = ""
        dialect = engine.dialect
        do_commit = dialect.do_commit

        def timed_commit(dbapi_connection: Any) -> None:  # noqa: ANN401
            started = time.perf_counter()
            do_commit(dbapi_connection)
            self.current.waits["COMMIT"] += time.perf_counter() - started

        dialect.do_commit = timed_commit  # type: ignore[method-assign]

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:  # noqa: ANN401
        if self.is_sqlite:
            dbapi_connection.set_trace_callback(self._on_sqlite)
            return
        path = Path(self.folder) / f"trace-{len(self.traces)}.log"
        path.touch()
        self.traces.append([path, 0, dbapi_connection.pgconn])
        self._trace(dbapi_connection.pgconn, path)

    @staticmethod
    def _trace(pgconn: Any, path: Path) -> None:  # noqa: ANN401
        import psycopg

        # psycopg closes the descriptor it is given when tracing stops: give it its own.
        pgconn.trace(os.open(path, os.O_WRONLY | os.O_APPEND))
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def _on_sqlite(self, statement: str) -> None:
        self.sqlite_statements += 1
        if statement.strip().upper().startswith("COMMIT"):
            self.sqlite_commits += 1

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:  # noqa: ANN401
        self.current.statements += 1
        self._kind = _kind(statement)
        self.current.kinds[self._kind] += 1
        self._started = time.perf_counter()

    def _on_statement_done(self, *_: Any) -> None:  # noqa: ANN401
        self.current.waits[self._kind] += time.perf_counter() - self._started

    def _on_commit(self, _conn: Any) -> None:  # noqa: ANN401
        pass  # counted from the trace (PostgreSQL) or the trace callback (SQLite)

    def begin(self) -> None:
        self.current = Tally(calls=1)
        self.sqlite_statements = self.sqlite_commits = 0
        _CountingCursor.fetched = 0
        self._collect()  # drop what came before

    def end(self) -> Tally:
        tally = self.current
        if self.is_sqlite:
            tally.round_trips = self.sqlite_statements
            tally.commits = self.sqlite_commits
            tally.rows = _CountingCursor.fetched
        else:
            text = self._collect()
            tally.round_trips = len(re.findall(r"^B\s+\d+\s+ReadyForQuery", text, re.M))
            tally.rows = len(re.findall(r"^B\s+\d+\s+DataRow", text, re.M))
            tally.prepared = len(re.findall(r'^F\s+\d+\s+Bind\s+"[^"]*"\s+"_pg', text, re.M))
            # A COMMIT sent as a statement (a pipelined transaction) fires no commit event.
            tally.commits = len(re.findall(r'^B\s+\d+\s+CommandComplete\s+"COMMIT"', text, re.M))
        self.current = Tally()
        return tally

    def _collect(self) -> str:
        """What every connection's trace holds since the last call (tracing stops, which
        flushes libpq's buffer, and starts again)."""
        if self.is_sqlite:
            return ""
        parts = []
        for entry in self.traces:
            path, offset, pgconn = entry
            if pgconn.status != 0:  # closed
                continue
            pgconn.untrace()
            with open(path, encoding="utf-8", errors="replace") as f:
                f.seek(offset)
                parts.append(f.read())
                entry[1] = f.tell()
            self._trace(pgconn, path)
        return "".join(parts)


def _kind(statement: str) -> str:
    words = statement.split(None, 4)
    head = words[0].upper() if words else "?"
    if head == "SELECT":
        match = re.search(r"\bFROM\s+(\w+)", statement, re.I)
        return f"SELECT {match.group(1) if match else '?'}"
    if head in ("INSERT", "DELETE") and len(words) > 2:
        return f"{head} {words[2]}"
    if head == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1]}"
    return head


@contextmanager
def wrapped(on_call: Callable[[str, Callable[[], Any]], Any]) -> Iterator[None]:
    """Route every verb bench/engine.py drives (and its own reads) through `on_call`."""
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: str) -> None:  # noqa: ANN401
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def call(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            return on_call(label, lambda: original(*args, **kwargs))

        setattr(owner, name, call)

    for module, name in VERBS:
        wrap(module, name, f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
    wrap(bench, "_instance_state", READS)
    wrap(bench, "_call_of", READS)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def runtime(url: str, folder: str) -> Runtime:
    options: dict[str, Any] = {}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "factory": _CountingConnection}
    db = Database(url, **options)
    db.migrate()
    return Runtime(
        db=db, clock=SimulatedClock(bench.START), calendar=bench.CALENDAR, roles=bench.ROLES
    )


def prepare(flow: Any, url: str, folder: str) -> Runtime:  # noqa: ANN401
    rt = runtime(url, folder)
    catalog.deploy_paths(rt, [flow.path, *flow.called, *bench._tables(flow)], "bench")
    return rt


def count(flow: Any, url: str, n: int, folder: str) -> dict[str, Tally]:  # noqa: ANN401
    """Statements, round trips, rows and commits per verb over n instances (after a warm-up)."""
    rt = prepare(flow, url, folder)
    counter = Counter(rt, folder)
    tallies: dict[str, Tally] = defaultdict(Tally)
    depth = 0

    def on_call(label: str, call: Callable[[], Any]) -> Any:  # noqa: ANN401
        nonlocal depth
        if depth:
            return call()
        depth += 1
        counter.begin()
        try:
            return call()
        finally:
            depth -= 1
            tally = counter.end()
            tallies[_label(label, tally)].add(tally)

    try:
        bench.drive_persisted(rt, flow, -1)  # warm-up: connections, caches, prepared statements
        with wrapped(on_call):
            for i in range(n):
                bench.drive_persisted(rt, flow, i)
    finally:
        rt.db.dispose()
    return tallies


def _label(label: str, tally: Tally) -> str:
    if label == READS:
        return label
    started = sum(c for k, c in tally.kinds.items() if k == "INSERT instances")
    updated = sum(c for k, c in tally.kinds.items() if k == "UPDATE instances")
    if label != "instances.start_instance" and started:
        return f"{label} + starts a called process"
    if updated > 1:
        return f"{label} + returns to the caller"
    return label


def timed(
    flow: Any,  # noqa: ANN401
    url: str,
    n: int,
    folder: str,
    profile: cProfile.Profile | None = None,
) -> tuple[dict[str, Tally], float]:
    """Milliseconds per verb over n instances, nothing counted; and the whole run's seconds."""
    rt = prepare(flow, url, folder)
    tallies: dict[str, Tally] = defaultdict(Tally)
    depth = 0

    def on_call(label: str, call: Callable[[], Any]) -> Any:  # noqa: ANN401
        nonlocal depth
        if depth:
            return call()
        depth += 1
        started = time.perf_counter()
        try:
            return call()
        finally:
            depth -= 1
            tallies[label].calls += 1
            tallies[label].seconds += time.perf_counter() - started

    try:
        bench.drive_persisted(rt, flow, -1)
        with wrapped(on_call):
            if profile is not None:
                profile.enable()
            started = time.perf_counter()
            for i in range(n):
                bench.drive_persisted(rt, flow, i)
            total = time.perf_counter() - started
            if profile is not None:
                profile.disable()
    finally:
        rt.db.dispose()
    return tallies, total


def print_counts(title: str, tallies: dict[str, Tally], times: dict[str, Tally], n: int) -> None:
    print(f"\n  {title}  (per call; {n} instances after a warm-up)")
    header = (
        f"    {'verb':<56} {'calls':>6} {'stmts':>6} {'trips':>6} {'prep':>5} "
        f"{'rows':>6} {'commit':>6} {'ms':>7}"
    )
    print(header)
    print("    " + "-" * (len(header) - 4))
    total = Tally()
    for label in sorted(tallies, key=lambda k: (k == READS, k)):
        t = tallies[label]
        total.add(t)
        base = label.split(" + ")[0]
        ms = times[base].seconds / times[base].calls * 1000 if times.get(base) else 0.0
        print(
            f"    {label:<56} {t.calls:>6} {t.statements / t.calls:>6.1f} "
            f"{t.round_trips / t.calls:>6.1f} {t.prepared / t.calls:>5.1f} "
            f"{t.rows / t.calls:>6.1f} {t.commits / t.calls:>6.1f} {ms:>7.2f}"
        )
        print(
            "      "
            + ", ".join(
                f"{k} {c / t.calls:.1f}" for k, c in sorted(t.kinds.items(), key=lambda kv: -kv[1])
            )
        )
    print(
        f"    {'per instance':<56} {'':>6} {total.statements / n:>6.1f} "
        f"{total.round_trips / n:>6.1f} {total.prepared / n:>5.1f} {total.rows / n:>6.1f} "
        f"{total.commits / n:>6.1f}"
    )
    kinds: dict[str, int] = defaultdict(int)
    for t in tallies.values():
        for kind, c in t.kinds.items():
            kinds[kind] += c
    waits: dict[str, float] = defaultdict(float)
    for t in tallies.values():
        for kind, seconds in t.waits.items():
            waits[kind] += seconds
    print(
        "    statements per instance (count, ms in the driver per instance): "
        + ", ".join(
            f"{k} {kinds.get(k, 0) / n:.1f} {waits[k] / n * 1000:.2f}"
            for k in sorted(waits, key=lambda k: -waits[k])
        )
        + f"; all {sum(waits.values()) / n * 1000:.2f} ms"
    )


def print_times(title: str, times: dict[str, Tally], total: float, n: int) -> None:
    spent = sum(t.seconds for t in times.values())
    print(
        f"  {title}: {n / total:.1f} instances/s; ms per instance {total / n * 1000:.2f} "
        f"(verbs and reads {spent / n * 1000:.2f}): "
        + ", ".join(
            f"{label} {t.seconds / n * 1000:.2f}"
            for label, t in sorted(times.items(), key=lambda kv: -kv[1].seconds)
        )
    )


def print_profile(title: str, profile: cProfile.Profile, top: int) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        body = out.getvalue()
        print(f"\n  cProfile of the timed {title} pass, by {order} (top {top}):")
        print(body[body.index("   ncalls") :].rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=20, help="instances per pass (20)")
    parser.add_argument("--flows", default="two_lane,hv_connection")
    parser.add_argument("--postgres", default=bench.DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed passes")
    parser.add_argument("--profile-top", type=int, default=25)
    args = parser.parse_args(argv)
    n = args.instances
    print("command: python " + shlex.join(sys.argv))
    pg_url = None
    if not args.no_postgres:
        pg_url, note = bench.prepare_postgres(args.postgres)
        print(f"PostgreSQL: {note}")
    with tempfile.TemporaryDirectory(prefix="gridflow-statements-") as folder:
        for name in [f.strip() for f in args.flows.split(",") if f.strip()]:
            flow = bench.load_flow(name)
            print(f"\nflow {flow.name}")
            databases = [("SQLite", lambda tag: f"sqlite:///{Path(folder) / f'{tag}.db'}")]
            if pg_url:
                databases.append(("PostgreSQL", lambda _tag: pg_url))
            rates = {}
            for title, url_of in databases:
                if title == "PostgreSQL":
                    bench.reset_postgres(pg_url)
                tallies = count(flow, url_of(f"count_{flow.name}"), n, folder)
                if title == "PostgreSQL":
                    bench.reset_postgres(pg_url)
                profile = cProfile.Profile() if args.profile else None
                times, total = timed(flow, url_of(f"time_{flow.name}"), n, folder, profile)
                rates[title] = n / total
                print_counts(title, tallies, times, n)
                print_times(title, times, total, n)
                if profile is not None:
                    print_profile(title, profile, args.profile_top)
            if len(rates) == 2:
                print(f"\n  PostgreSQL / SQLite: {rates['PostgreSQL'] / rates['SQLite']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
