"""How fast the auditors' per-link figures are at a million task events, against PM4Py
computing the same per-activity medians from the exported XES log.

1. Base: the real demo (`gridflow demo`, the real engine on a simulated clock) with --base
   demands on a fresh SQLite file (the same seed on PostgreSQL). The demo makes ~150 events/s,
   far too slow for a million, so:
2. Multiply in SQL: INSERT ... SELECT copies of the base instances, work items and task events
   with ids shifted by k·(largest base id) for k = 1, 2, ... until --events task events
   exist (the copies keep their demand, definition and times; every figure depends on the
   durations, which copies keep exactly).
3. Time the per-link figures page data (`audit.link_figures` over every process version and
   link, all six measures, plus the latest breaches and breaches per person) on SQLite (index
   probes) and on PostgreSQL (percentile_cont in the same scan; --postgres URL of a server,
   where a database of its own is created and dropped); best of --repeat runs.
4. Export the SQLite log as XES (`gridflow export`'s generator), then time PM4Py reading it
   and computing the median handling time (claimed → completed) per activity with
   pm4py.get_service_time; print both and the ratio.

A script, not a test: figures are noisy on a shared machine.

    python bench/audit.py [--events 1000000] [--base 300] [--postgres URL] [--repeat 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a script named queue.py: keep this folder off the import path, or it would
# shadow the standard library's `queue` (psycopg imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import String, cast, create_engine, func, literal, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from gridflow import audit, export  # noqa: E402
from gridflow.demo import run_demo  # noqa: E402
from gridflow.models import Instance, TaskEvent, WorkItem  # noqa: E402
from gridflow.runtime import Runtime  # noqa: E402

PROCESSES = ROOT / "processes"


def multiply(url: str, target_events: int) -> int:
    """Copy rows until there are about `target_events` task events: each round copies the
    instances (with their work items and task events) up to an id that doubles the events, or
    adds what is still missing, with every id shifted past the largest one. Done in the
    database (INSERT ... SELECT), with the secondary indexes of work items and task events
    dropped meanwhile and built again once at the end."""
    engine = create_engine(url)
    tables = (Instance.__table__, WorkItem.__table__, TaskEvent.__table__)
    instances, items, events_table = tables
    indexes = [index for table in (items, events_table) for index in table.indexes]
    dropped = False
    while True:
        with engine.begin() as connection:
            largest = {
                t.name: connection.execute(select(func.max(t.c.id))).scalar_one() for t in tables
            }
            events = connection.execute(select(func.count()).select_from(TaskEvent)).scalar_one()
            missing = target_events - events
            if missing <= 0:
                break
            if not dropped:
                for index in indexes:
                    index.drop(connection)
                dropped = True
            # Instances up to this id carry about the events still missing (all, at most).
            limit = largest["instances"] * min(1.0, missing / events)
            for table in tables:
                columns = []
                for column in table.c:
                    if column.name == "id":
                        columns.append(column + largest[table.name])
                    elif column.name == "instance_id":
                        columns.append(column + largest["instances"])
                    elif column.name == "work_item_id":
                        columns.append(column + largest["work_items"])
                    elif table is items and column.name == "task_id":
                        columns.append(cast(table.c.id + largest["work_items"], String(36)))
                    elif table is instances and column.name == "document":
                        columns.append(literal(""))
                    elif table is instances and column.name == "parent_instance_id":
                        columns.append(column + largest["instances"])
                    else:
                        columns.append(column)
                owner = table.c.id if table is instances else table.c.instance_id
                connection.execute(
                    table.insert().from_select(
                        [c.name for c in table.c], select(*columns).where(owner <= limit)
                    )
                )
    if dropped:
        with engine.begin() as connection:
            for index in indexes:
                index.create(connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        total = connection.execute(select(func.count()).select_from(TaskEvent)).scalar_one()
        # Fresh statistics (and, on PostgreSQL, a visibility map for index-only scans), as a
        # database that grew over months would have.
        connection.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    engine.dispose()
    return int(total)


def page_data(rt: Runtime) -> tuple[int, float]:
    began = time.perf_counter()
    figures = audit.link_figures(rt)
    audit.breaches(rt)
    audit.breaches_by_person(rt)
    return len(figures), time.perf_counter() - began


def best(rt: Runtime, repeat: int) -> tuple[int, float, list[float]]:
    runs = [page_data(rt) for _ in range(repeat)]
    return runs[0][0], min(t for _, t in runs), [t for _, t in runs]


CHECKPOINT = 1_000_000  # the page data is timed here too when --events is larger


def build(url: str, args: argparse.Namespace, label: str) -> int:
    """The base demo, multiplied to --events; with more than a million, the page data is timed
    at a million first, so the two figures come from one database."""
    began = time.perf_counter()
    result = run_demo(
        url, instances=args.base, seed=args.seed, weeks=args.weeks, processes=PROCESSES
    )
    print(f"{label}: base demo {result.task_events} events in {time.perf_counter() - began:.0f} s")
    if args.events > CHECKPOINT:
        began = time.perf_counter()
        total = multiply(url, CHECKPOINT)
        print(f"{label}: multiplied to {total} task events in {time.perf_counter() - began:.0f} s")
        rt = Runtime.create(url)
        links, seconds, runs = best(rt, args.repeat)
        rt.db.dispose()
        print(
            f"{label}: per-link figures page data ({links} links, {total} events): "
            f"{seconds:.3f} s (runs: {', '.join(f'{t:.3f}' for t in runs)})"
        )
    began = time.perf_counter()
    total = multiply(url, args.events)
    print(f"{label}: multiplied to {total} task events in {time.perf_counter() - began:.0f} s")
    return total


def pm4py_medians(path: Path) -> tuple[dict[str, float], float, float]:
    """PM4Py reads the XES log and computes the median handling time per activity: the last
    assign before each complete of a work item is its start."""
    import pm4py

    began = time.perf_counter()
    log = pm4py.read_xes(str(path))
    read = time.perf_counter() - began
    began = time.perf_counter()
    log = log[log["lifecycle:transition"].isin(["assign", "complete"])]
    starts = (
        log[log["lifecycle:transition"] == "assign"]
        .groupby("gridflow:work_item")["time:timestamp"]
        .max()
        .rename("start_timestamp")
    )
    done = log[log["lifecycle:transition"] == "complete"].join(starts, on="gridflow:work_item")
    medians = pm4py.get_service_time(
        done,
        aggregation_measure="median",
        start_timestamp_key="start_timestamp",
        timestamp_key="time:timestamp",
    )
    return medians, read, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=300, help="demo demands before copying")
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GRIDFLOW_TEST_POSTGRES_URL"),
        help="PostgreSQL server URL (default: GRIDFLOW_TEST_POSTGRES_URL); none skips it",
    )
    parser.add_argument("--no-pm4py", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gridflow-bench-audit-"))
    sqlite_url = f"sqlite:///{folder / 'audit.db'}"
    total = build(sqlite_url, args, "sqlite")
    rt = Runtime.create(sqlite_url)
    links, sqlite_s, runs = best(rt, args.repeat)
    print(
        f"sqlite: per-link figures page data ({links} links, {total} events): {sqlite_s:.3f} s "
        f"(runs: {', '.join(f'{t:.3f}' for t in runs)})"
    )
    if args.postgres:
        server = make_url(args.postgres)
        name = f"gridflow_bench_{os.getpid()}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        pg_url = server.set(database=name).render_as_string(hide_password=False)
        try:
            pg_total = build(pg_url, args, "postgresql")
            pg_rt = Runtime.create(pg_url)
            links, pg_s, runs = best(pg_rt, args.repeat)
            pg_rt.db.dispose()
            print(
                f"postgresql: per-link figures page data ({links} links, {pg_total} events): "
                f"{pg_s:.3f} s (runs: {', '.join(f'{t:.3f}' for t in runs)})"
            )
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if args.no_pm4py:
        return
    xes = folder / "audit.xes"
    began = time.perf_counter()
    with xes.open("w", encoding="utf-8") as file:
        for chunk in export.events_xes(rt):
            file.write(chunk)
    print(f"xes export: {xes.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    figures = audit.link_figures(rt, measures=("handling",))
    ours = time.perf_counter() - began
    medians, read_s, compute_s = pm4py_medians(xes)
    pm4py_s = read_s + compute_s
    print(
        f"gridflow median handling per link (SQL): {ours:.3f} s; PM4Py: {pm4py_s:.1f} s "
        f"(read_xes {read_s:.1f} s + get_service_time {compute_s:.1f} s); "
        f"PM4Py / gridflow = {pm4py_s / ours:.0f}x; PM4Py / full page data = "
        f"{pm4py_s / sqlite_s:.0f}x"
    )
    # Link names that occur in one process only are one activity each in PM4Py: compare them.
    names: dict[str, list[Any]] = {}
    for row in figures:
        names.setdefault(row.link_name, []).append(row)
    diffs = [
        abs(medians[name] - rows[0].durations["handling_median_s"])
        for name, rows in names.items()
        if len(rows) == 1 and name in medians
    ]
    print(
        f"medians compared on {len(diffs)} activities: largest difference "
        f"{max(diffs) if diffs else float('nan'):.6f} s"
    )
    rt.db.dispose()


if __name__ == "__main__":
    main()
