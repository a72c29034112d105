"""How fast the auditors' per-link figures are at 1M and 10M task events, on SQLite and
PostgreSQL, against the full scan they replace, and against PM4Py computing per-activity
medians from the exported XES log.

1. Data: the real demo (`gridflow demo`, the real engine on a simulated clock) with --base
   demands, then generated demands written as they are made (executemany in large
   transactions on SQLite, COPY on PostgreSQL; see `generate`) until each --events target.
2. Roll-ups: `link_rollups.rebuild` (what the worker's first refresh does after the upgrade),
   leaving the last hour of completions past the watermark as the live tail the page merges.
3. Page data (`audit.link_figures` over every process version and link, all six measures,
   plus the latest breaches and breaches per person), best of --repeat runs, read through the
   roll-ups; and the same figures by the full scan (`method="index"`) for comparison, and
   checked equal.
4. With --pm4py: the SQLite log exported as XES, PM4Py's median handling per activity timed.

A script, not a test: figures are noisy on a shared machine.

    python bench/audit.py [--events 1000000,10000000] [--base 300] [--postgres URL]
                          [--keep DIR] [--repeat 3] [--pm4py]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a script named queue.py: keep this folder off the import path, or it would
# shadow the standard library's `queue` (psycopg imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import JSON, Connection, create_engine, func, inspect, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from gridflow import audit, export, link_rollups, partitions  # noqa: E402
from gridflow.demo import DEMO_START, run_demo  # noqa: E402
from gridflow.models import (  # noqa: E402
    AuditInstance,
    Definition,
    Instance,
    TaskEvent,
    UTCDateTime,
    WorkItem,
)
from gridflow.runtime import Runtime  # noqa: E402

PROCESSES = ROOT / "processes"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "bench-audit"


def _has_events(url: str) -> bool:
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("task_events"):
            return False
        with engine.connect() as connection:
            return connection.execute(select(TaskEvent.id).limit(1)).first() is not None
    finally:
        engine.dispose()


# --- the generator -----------------------------------------------------------------------------

SPAN_DAYS = 365  # generated demands start over the year before the base demo
BATCH = 20_000  # rows per executemany / COPY flush
PEOPLE_PER_ROLE = 12


def _timestamp(ms: int) -> str:
    """Milliseconds since the epoch as gridflow stores a UTC time (SQLAlchemy's SQLite text
    format; PostgreSQL's COPY reads the same)."""
    moment = EPOCH + timedelta(milliseconds=ms)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond:06d}"


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return round((moment - EPOCH).total_seconds() * 1000)


@dataclass
class Template:
    """One base demand's instance with the instances its call activities started: rows as
    tuples in table column order, times as epoch milliseconds."""

    start_ms: int
    instances: list[list[Any]]
    items: list[list[Any]]
    events: list[list[Any]]
    audits: list[list[Any]]
    events_total: int


class Tables:
    """Column names, in table order, of the tables the generator writes."""

    def __init__(self) -> None:
        self.instances = [c.name for c in Instance.__table__.c]
        self.items = [c.name for c in WorkItem.__table__.c]
        self.events = [c.name for c in TaskEvent.__table__.c]
        self.audits = [c.name for c in AuditInstance.__table__.c]

    @staticmethod
    def at(columns: list[str], *names: str) -> list[int]:
        return [columns.index(n) for n in names]


# Times the generator works out itself; any other time column is shifted with its demand.
MAPPED_TIMES = {"started_at", "ended_at", "ready_at", "claimed_at", "due_at", "at"}


@dataclass
class Shape:
    """Which columns of a table hold JSON, and which hold times the generator only shifts."""

    json: list[int]
    times: list[int]
    other_times: list[int]

    @classmethod
    def of(cls, table: Any) -> Shape:  # noqa: ANN401 - a Table
        columns = list(table.c)
        times = [i for i, c in enumerate(columns) if isinstance(c.type, UTCDateTime)]
        return cls(
            json=[i for i, c in enumerate(columns) if isinstance(c.type, JSON)],
            times=times,
            other_times=[i for i in times if columns[i].name not in MAPPED_TIMES],
        )


class Shapes:
    def __init__(self, tables: Tables) -> None:
        self.instances = Shape.of(Instance.__table__)
        self.items = Shape.of(WorkItem.__table__)
        self.events = Shape.of(TaskEvent.__table__)
        self.audits = Shape.of(AuditInstance.__table__)


def _second_versions(
    connection: Connection, definitions: Sequence[Any], deployed: datetime
) -> dict[int, int]:
    """Each process's diagram deployed again (a later version with the same content, as a
    rollback deploys it), unless an earlier run did: first version id → second's."""
    mine = [row for row in definitions if row["deployed_by"] == GENERATOR]
    base = [row for row in definitions if row["deployed_by"] != GENERATOR]
    if mine:
        newest = {row["process_id"]: row["id"] for row in mine}
        return {row["id"]: newest[row["process_id"]] for row in base}
    top: dict[str, int] = {}
    for row in base:
        top[row["process_id"]] = max(top.get(row["process_id"], 0), row["version"])
    second = {}
    for row in base:
        values = dict(row)
        values.pop("id")
        top[row["process_id"]] += 1
        values["version"] = top[row["process_id"]]
        values["deployed_at"] = deployed
        values["deployed_by"] = GENERATOR
        second[row["id"]] = connection.execute(
            Definition.__table__.insert().values(**values).returning(Definition.id)
        ).scalar_one()
    return second


def _templates(url: str, tables: Tables) -> list[Template]:
    """The base demo's demands (instances with their saved document; generated ones have
    none), grouped with the instances their call activities started."""
    engine = create_engine(url)
    with engine.connect() as connection:
        last = connection.execute(
            select(func.max(Instance.id)).where(Instance.document != "")
        ).scalar_one()

    def rows(table: Any, columns: list[str]) -> list[list[Any]]:  # noqa: ANN401
        shape = Shape.of(table)
        owner = table.c.id if table is Instance.__table__ else table.c.instance_id
        out = []
        with engine.connect() as connection:
            query = select(table).where(owner <= last).order_by(table.c[columns[0]])
            for row in connection.execute(query):
                values = list(row)
                for i in shape.times:
                    values[i] = _ms(values[i])
                out.append(values)
        return out

    instances = rows(Instance.__table__, tables.instances)
    items = rows(WorkItem.__table__, tables.items)
    events = rows(TaskEvent.__table__, tables.events)
    audits = rows(AuditInstance.__table__, tables.audits)
    engine.dispose()
    (i_id, i_parent, i_start) = Tables.at(
        tables.instances, "id", "parent_instance_id", "started_at"
    )
    root: dict[int, int] = {}
    for row in instances:
        root[row[i_id]] = row[i_parent] if row[i_parent] is not None else row[i_id]
    # one call deep, as the shipped processes are; follow chains anyway
    for key in list(root):
        while root[root[key]] != root[key]:
            root[key] = root[root[key]]
    groups: dict[int, Template] = {}
    for row in instances:
        if row[i_parent] is None:
            groups[row[i_id]] = Template(row[i_start], [], [], [], [], 0)
    for row in instances:
        groups[root[row[i_id]]].instances.append(row)
    (w_instance,) = Tables.at(tables.items, "instance_id")
    for row in items:
        groups[root[row[w_instance]]].items.append(row)
    (e_instance,) = Tables.at(tables.events, "instance_id")
    for row in events:
        group = groups[root[row[e_instance]]]
        group.events.append(row)
        group.events_total += 1
    (a_instance,) = Tables.at(tables.audits, "instance_id")
    for row in audits:
        groups[root[row[a_instance]]].audits.append(row)
    return [g for g in groups.values() if g.events]


class Writer:
    """Rows to one database as they come: executemany in large transactions on SQLite (with
    the generator's own connection unsynchronised and unjournalled), COPY on PostgreSQL."""

    def __init__(self, url: str, tables: Tables) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        self.tables = {
            "instances": tables.instances,
            "work_items": tables.items,
            "task_events": tables.events,
            "audit_instances": tables.audits,
        }
        self.pending: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.tables}
        self.written = dict.fromkeys(self.tables, 0)
        if self.postgres:
            import psycopg

            address = make_url(url).set(drivername="postgresql")
            self.pg = psycopg.connect(address.render_as_string(hide_password=False))
        else:
            import sqlite3

            self.lite = sqlite3.connect(make_url(url).database or "", isolation_level=None)
            self.lite.execute("PRAGMA synchronous=OFF")
            self.lite.execute("PRAGMA journal_mode=OFF")
            self.lite.execute("PRAGMA cache_size=-400000")
            self.lite.execute("BEGIN")

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        rows = self.pending[table]
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush(table)

    def flush(self, table: str) -> None:
        # Rows a foreign key points at go first.
        for first in {
            "work_items": ["instances"],
            "task_events": ["instances", "work_items"],
            "audit_instances": ["instances"],
        }.get(table, []):
            self.flush(first)
        rows = self.pending[table]
        if not rows:
            return
        columns = self.tables[table]
        if self.postgres:
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with self.pg.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            self.lite.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                rows,
            )
        self.written[table] += len(rows)
        rows.clear()

    def close(self) -> None:
        for table in self.tables:
            self.flush(table)
        if self.postgres:
            self.pg.commit()
            self.pg.close()
        else:
            self.lite.execute("COMMIT")
            self.lite.close()


def generate(url: str, target_events: int, args: argparse.Namespace, label: str) -> int:
    """The base demo (the real engine), then generated demands until about `target_events`
    task events exist, written as they are generated: each a base demand's instances, work
    items, task events and end-to-end row, started at a random moment of the year before the
    base (months, and the processes' second versions for the later half), every waiting and
    handling time stretched by random factors (the demand's own pace times each link's), the
    people drawn from a dozen per role, within-standard and within-cap worked out again from
    the stretched times. Secondary indexes of work items and task events are dropped first
    and built once at the end (timed apart)."""
    began = time.perf_counter()
    if not _has_events(url):
        result = run_demo(
            url, instances=args.base, seed=args.seed, weeks=args.weeks, processes=PROCESSES
        )
        rt = Runtime.create(url)
        audit.refresh_instances(rt)
        rt.db.dispose()
        print(
            f"{label}: base demo {result.task_events} events in {time.perf_counter() - began:.0f} s"
        )
    began = time.perf_counter()
    tables = Tables()
    templates = _templates(url, tables)
    engine = create_engine(url)
    with engine.connect() as connection:
        base_events = connection.execute(select(func.count()).select_from(TaskEvent)).scalar_one()
    if base_events >= target_events:
        engine.dispose()
        print(f"{label}: {base_events} task events already")
        return int(base_events)
    with engine.begin() as connection:
        definitions = connection.execute(select(Definition.__table__)).mappings().all()
        largest = {
            t.name: connection.execute(select(func.max(t.c.id))).scalar_one() or 0
            for t in (Instance.__table__, WorkItem.__table__, TaskEvent.__table__)
        }
        # The year before the base demo's first demand (the base instances keep their document).
        span_end = min(
            connection.execute(
                select(func.min(Instance.started_at)).where(Instance.document != "")
            ).scalar_one(),
            DEMO_START,
        )
        span_start = span_end - timedelta(days=SPAN_DAYS)
        # Second versions (the same diagrams deployed again mid-year, as a rollback deploys
        # them): demands of the later half run on them.
        midpoint = span_start + timedelta(days=SPAN_DAYS / 2)
        second = _second_versions(connection, definitions, midpoint)
        partitions.ensure(connection, span_end, behind=SPAN_DAYS // 28 + 2)
        indexes = [i for t in (WorkItem.__table__, TaskEvent.__table__) for i in t.indexes]
        for index in indexes:
            index.drop(connection)
    engine.dispose()
    per_template = sum(t.events_total for t in templates) / len(templates)
    count = max(0, round((target_events - base_events) / per_template))
    rng = random.Random(args.seed)
    start_ms, end_ms, mid_ms = _ms(span_start), _ms(span_end), _ms(midpoint)
    assert start_ms is not None and end_ms is not None and mid_ms is not None
    starts = sorted(rng.randrange(start_ms, end_ms) for _ in range(count))
    roles: dict[str, list[str]] = {}
    ic, wc, ec, ac = tables.instances, tables.items, tables.events, tables.audits
    I_ID, I_DEF, I_KEY, I_START, I_END, I_DOC, I_PARENT = Tables.at(
        ic,
        "id",
        "definition_id",
        "business_key",
        "started_at",
        "ended_at",
        "document",
        "parent_instance_id",
    )
    (
        W_ID,
        W_INST,
        W_DEF,
        W_TASK,
        W_ROLE,
        W_ASSIGNEE,
        W_READY,
        W_CLAIMED,
        W_ENDED,
        W_BY,
        W_DUE,
        W_WAIT,
        W_HANDLE,
        W_WWAIT,
        W_WHANDLE,
        W_TOTAL,
        W_WTOTAL,
        W_WITHIN,
    ) = Tables.at(
        wc,
        "id",
        "instance_id",
        "definition_id",
        "task_id",
        "role",
        "assignee",
        "ready_at",
        "claimed_at",
        "ended_at",
        "completed_by",
        "due_at",
        "waiting_s",
        "handling_s",
        "waiting_working_s",
        "handling_working_s",
        "total_s",
        "total_working_s",
        "within_standard",
    )
    E_ID, E_ITEM, E_STEP, E_INST, E_DEF, E_AT, E_ACTOR, E_DETAILS = Tables.at(
        ec,
        "id",
        "work_item_id",
        "system_task_id",
        "instance_id",
        "definition_id",
        "at",
        "actor",
        "details",
    )
    A_INST, A_DEF, A_START, A_END, A_WEEK, A_MONTH, A_CAL, A_WORK, A_TARGET, A_BASIS, A_WITHIN = (
        Tables.at(
            ac,
            "instance_id",
            "definition_id",
            "started_at",
            "ended_at",
            "ended_week",
            "ended_month",
            "calendar_s",
            "working_s",
            "cap_target",
            "cap_basis",
            "within_cap",
        )
    )
    shapes = Shapes(tables)
    postgres = url.startswith("postgresql")
    for template in templates:
        for item in template.items:
            people = roles.setdefault(
                item[W_ROLE], [f"{item[W_ROLE]}.{k:02d}" for k in range(PEOPLE_PER_ROLE)]
            )
            for person in (item[W_BY], item[W_ASSIGNEE]):
                if person and person not in people:
                    people.append(person)
    rt = Runtime.create(url)
    cap_seconds: dict[tuple[str, str], float] = {}

    def text_of(value: Any) -> Any:  # noqa: ANN401
        return json.dumps(value) if value is not None else None

    writer = Writer(url, tables)
    next_instance, next_item, next_event = (
        largest["instances"],
        largest["work_items"],
        largest["task_events"],
    )
    lognormal = rng.lognormvariate
    for start in starts:
        template = rng.choice(templates)
        pace = lognormal(0.0, 0.25)
        late_half = start >= mid_ms
        shift = start - template.start_ms
        instance_ids: dict[int, int] = {}
        for row in template.instances:
            next_instance += 1
            instance_ids[row[I_ID]] = next_instance
        item_map: dict[int, tuple[int, int, int, float, float, str | None, int | None]] = {}
        ends: dict[int, int] = {}
        item_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        for row in template.items:
            next_item += 1
            new = list(row)
            new[W_ID] = next_item
            new[W_INST] = instance_ids[row[W_INST]]
            new[W_DEF] = second[row[W_DEF]] if late_half else row[W_DEF]
            new[W_TASK] = f"gen-{next_item}"
            ready = template.start_ms + round((row[W_READY] - template.start_ms) * pace) + shift
            new[W_READY] = ready
            new[W_DUE] = ready + (row[W_DUE] - row[W_READY])
            f_wait = pace * lognormal(0.0, 0.35)
            f_handle = pace * lognormal(0.0, 0.35)
            person = rng.choice(roles[row[W_ROLE]]) if row[W_BY] or row[W_ASSIGNEE] else None
            if row[W_BY]:
                new[W_BY] = person
            if row[W_ASSIGNEE]:
                new[W_ASSIGNEE] = person
            claimed = ended = None
            if row[W_CLAIMED] is not None:
                claimed = ready + round((row[W_CLAIMED] - row[W_READY]) * f_wait)
            if row[W_ENDED] is not None:
                base = claimed if claimed is not None else ready
                since = row[W_CLAIMED] if row[W_CLAIMED] is not None else row[W_READY]
                ended = base + round((row[W_ENDED] - since) * f_handle)
                ends[new[W_INST]] = max(ends.get(new[W_INST], ended), ended)
            if row[W_WAIT] is not None and claimed is not None and ended is not None:
                waiting = (claimed - ready) / 1000
                handling = (ended - claimed) / 1000
                ww = round(row[W_WWAIT] * f_wait, 3)
                wh = round(row[W_WHANDLE] * f_handle, 3)
                new[W_WAIT], new[W_HANDLE] = waiting, handling
                new[W_WWAIT], new[W_WHANDLE] = ww, wh
                new[W_TOTAL], new[W_WTOTAL] = (ended - ready) / 1000, ww + wh
                new[W_WITHIN] = ended <= new[W_DUE]
            for i in (W_READY, W_DUE):
                new[i] = _timestamp(new[i])
            new[W_CLAIMED] = _timestamp(claimed) if claimed is not None else None
            new[W_ENDED] = _timestamp(ended) if ended is not None else None
            for i in shapes.items.json:
                new[i] = text_of(new[i])
            for i in shapes.items.other_times:
                new[i] = _timestamp(new[i] + shift) if new[i] is not None else None
            item_map[row[W_ID]] = (
                next_item,
                ready,
                claimed if claimed is not None else ready,
                f_wait,
                f_handle,
                person,
                row[W_CLAIMED],
            )
            item_rows.append(tuple(new))
        template_items = {row[W_ID]: row for row in template.items}
        for row in template.events:
            next_event += 1
            new = list(row)
            new[E_ID] = next_event
            new[E_INST] = instance_ids[row[E_INST]]
            new[E_DEF] = second[row[E_DEF]] if late_half else row[E_DEF]
            new[E_STEP] = None
            at = row[E_AT]
            if row[E_ITEM] is not None and row[E_ITEM] in item_map:
                item_id, ready, claimed, f_wait, f_handle, person, old_claimed = item_map[
                    row[E_ITEM]
                ]
                old = template_items[row[E_ITEM]]
                new[E_ITEM] = item_id
                if old_claimed is None or at <= old_claimed:
                    moment = ready + round((at - old[W_READY]) * f_wait)
                else:
                    moment = claimed + round((at - old_claimed) * f_handle)
                if row[E_ACTOR] and row[E_ACTOR] in (old[W_BY], old[W_ASSIGNEE]):
                    new[E_ACTOR] = person
            else:
                new[E_ITEM] = None
                moment = template.start_ms + round((at - template.start_ms) * pace) + shift
            new[E_AT] = _timestamp(moment)
            for i in shapes.events.json:
                new[i] = text_of(new[i])
            for i in shapes.events.other_times:
                new[i] = _timestamp(new[i] + shift) if new[i] is not None else None
            event_rows.append(tuple(new))
        for row in template.instances:
            new = list(row)
            new[I_ID] = instance_ids[row[I_ID]]
            new[I_DEF] = second[row[I_DEF]] if late_half else row[I_DEF]
            new[I_KEY] = f"{row[I_KEY]}-g{new[I_ID]}"
            new[I_DOC] = ""
            if row[I_PARENT] is not None:
                new[I_PARENT] = instance_ids[row[I_PARENT]]
            began_at = template.start_ms + round((row[I_START] - template.start_ms) * pace) + shift
            new[I_START] = _timestamp(began_at)
            if row[I_END] is not None:
                finished = max(ends.get(new[I_ID], began_at), began_at)
                new[I_END] = _timestamp(finished)
            for i in shapes.instances.json:
                new[i] = text_of(new[i])
            for i in shapes.instances.other_times:
                new[i] = _timestamp(new[i] + shift) if new[i] is not None else None
            writer.add("instances", tuple(new))
        for item_row in item_rows:
            writer.add("work_items", item_row)
        for event_row in event_rows:
            writer.add("task_events", event_row)
        for row in template.audits:
            new = list(row)
            new[A_INST] = instance_ids[row[A_INST]]
            new[A_DEF] = second[row[A_DEF]] if late_half else row[A_DEF]
            started = template.start_ms + round((row[A_START] - template.start_ms) * pace) + shift
            finished = max(ends.get(new[A_INST], started), started)
            new[A_START], new[A_END] = _timestamp(started), _timestamp(finished)
            local = rt.calendar.local_date(EPOCH + timedelta(milliseconds=finished))
            new[A_WEEK] = (local - timedelta(days=local.weekday())).isoformat()
            new[A_MONTH] = local.strftime("%Y-%m")
            new[A_CAL] = (finished - started) / 1000
            new[A_WORK] = round(row[A_WORK] * pace, 3)
            if row[A_TARGET] is not None:
                key = (row[A_TARGET], row[A_BASIS])
                if key not in cap_seconds:
                    cap_seconds[key] = audit.standard_seconds(rt, *key)
                measured = new[A_WORK] if row[A_BASIS] == "working" else new[A_CAL]
                new[A_WITHIN] = measured <= cap_seconds[key]
            for i in shapes.audits.other_times:
                new[i] = _timestamp(new[i] + shift) if new[i] is not None else None
            writer.add("audit_instances", tuple(new))
    writer.close()
    rt.db.dispose()
    written = time.perf_counter() - began
    began = time.perf_counter()
    engine = create_engine(url)
    with engine.begin() as connection:
        for index in indexes:
            index.create(connection)
        if postgres:
            for table in ("instances", "work_items", "task_events"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        total = connection.execute(select(func.count()).select_from(TaskEvent)).scalar_one()
        connection.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
    engine.dispose()
    print(
        f"{label}: generated {writer.written['task_events']} events, "
        f"{writer.written['work_items']} work items, {writer.written['instances']} instances "
        f"in {written:.0f} s; indexes and statistics in {time.perf_counter() - began:.0f} s "
        f"({total} task events in all)"
    )
    return int(total)


# --- timing ------------------------------------------------------------------------------------


def page_data(rt: Runtime, method: str) -> tuple[list[audit.LinkFigures], float]:
    """The auditors' default page's data: every link's figures, the latest breaches, breaches
    per person."""
    began = time.perf_counter()
    figures = audit.link_figures(rt, method=method)
    audit.breaches(rt)
    audit.breaches_by_person(rt, method="scan" if method == "index" else "auto")
    return figures, time.perf_counter() - began


def best(rt: Runtime, method: str, repeat: int) -> tuple[list[audit.LinkFigures], float, str]:
    audit.link_figures(rt, measures=("handling",))  # the diagrams parsed, as a server has them
    runs = [page_data(rt, method) for _ in range(repeat)]
    return runs[0][0], min(t for _, t in runs), ", ".join(f"{t:.3f}" for _, t in runs)


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def differences(a: list[audit.LinkFigures], b: list[audit.LinkFigures]) -> int:
    """Figures that differ between two computations (means to 1e-9 relative: a float sum
    rounds differently in another order; everything else exactly)."""
    wrong = 0
    if len(a) != len(b):
        return abs(len(a) - len(b)) + 1
    for x, y in zip(a, b, strict=True):
        left, right = x.as_json(), y.as_json()
        for key, value in left.items():
            other = right[key]
            if key.endswith("_mean_s") and value is not None and other is not None:
                wrong += abs(value - other) > 1e-9 * max(abs(value), 1.0)
            else:
                wrong += value != other
    return wrong


def probe_profile(rt: Runtime) -> str:
    """Where the roll-up page's time goes: reading the roll-ups with the tail, then the
    percentiles (probes inside buckets: the only part that grows with the history)."""
    with rt.db.snapshot() as connection:
        link_rollups.begin_snapshot(connection)
        began = time.perf_counter()
        data = link_rollups.merged(connection)
        assert data is not None
        read = time.perf_counter() - began
        prober = link_rollups.Prober(connection, data.histograms)
        began = time.perf_counter()
        for (definition_id, element_id, measure), histogram in data.histograms.items():
            if histogram.n:
                link_rollups.percentiles(
                    prober, (definition_id, element_id), measure, histogram, [50, 90, 95]
                )
        probing = time.perf_counter() - began
        prober.close()
    buckets = sum(len(h.ids) for h in data.histograms.values())
    return (
        f"roll-ups and tail read in {read:.3f} s ({len(data.histograms)} histograms, "
        f"{buckets} buckets); percentiles in {probing:.3f} s ({prober.probed} probes in "
        f"{prober.probes} statements, stepping over {prober.walked} index entries)"
    )


def measure(url: str, label: str, target: int, args: argparse.Namespace) -> float:
    """Roll-ups rebuilt (the last hour left as the tail), page data through them and by the
    full scan; returns the page-data time through the roll-ups."""
    rt = Runtime.create(url)
    with rt.db.snapshot() as connection:
        last = connection.execute(
            select(func.max(WorkItem.ended_at)).where(WorkItem.state == "completed")
        ).scalar_one()
        events = connection.execute(select(func.count()).select_from(TaskEvent)).scalar_one()
    # A worker folds in every minute what ended up to LAG (15 min) before: an hour of tail is
    # four times what a page meets.
    watermark = last - timedelta(hours=1)
    began = time.perf_counter()
    folded = link_rollups.rebuild(rt, watermark)
    print(
        f"{label} {events} events: roll-ups built from {folded} completed links in "
        f"{time.perf_counter() - began:.1f} s ({load()})"
    )
    with rt.db.snapshot() as connection:
        tail = connection.execute(
            select(func.count()).where(
                WorkItem.state == "completed", WorkItem.ended_at >= watermark
            )
        ).scalar_one()
    figures, seconds, runs = best(rt, "rollup", args.repeat)
    print(
        f"{label} {events} events: page data through roll-ups ({len(figures)} links, tail of "
        f"{tail} completed links): {seconds:.3f} s (runs: {runs}; {load()})"
    )
    print(f"{label} {events} events: {probe_profile(rt)} ({load()})")
    if not args.no_full_scan:
        scanned, full, runs = best(rt, "index", 1)
        print(
            f"{label} {events} events: page data by full scan: {full:.3f} s "
            f"(runs: {runs}; {load()}); figures differing: {differences(figures, scanned)}"
        )
    began = time.perf_counter()
    folded = link_rollups.refresh(rt, last + timedelta(milliseconds=1))
    print(
        f"{label} {events} events: incremental refresh of the last hour ({folded} links) in "
        f"{time.perf_counter() - began:.2f} s ({load()})"
    )
    rt.db.dispose()
    return seconds


def run(url: str, label: str, targets: list[int], args: argparse.Namespace) -> None:
    timings: dict[int, float] = {}
    for target in targets:
        began = time.perf_counter()
        generate(url, target, args, label)
        print(f"{label}: data for {target} events in {time.perf_counter() - began:.0f} s")
        if not args.generate_only:
            timings[target] = measure(url, label, target, args)
    if len(timings) > 1:
        small, large = min(timings), max(timings)
        print(
            f"{label}: page data {timings[small]:.3f} s at {small} events, {timings[large]:.3f} s "
            f"at {large}: cost x{timings[large] / timings[small]:.2f} for data "
            f"x{large / small:.0f}"
        )


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


def compare_pm4py(url: str, folder: Path) -> None:
    rt = Runtime.create(url)
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
        f"gridflow median handling per link: {ours:.3f} s; PM4Py: {pm4py_s:.1f} s "
        f"(read_xes {read_s:.1f} s + get_service_time {compute_s:.1f} s); "
        f"PM4Py / gridflow = {pm4py_s / ours:.0f}x"
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="1000000", help="targets, comma-separated")
    parser.add_argument("--base", type=int, default=300, help="demo demands to learn from")
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GRIDFLOW_TEST_POSTGRES_URL"),
        help="PostgreSQL server URL (default: GRIDFLOW_TEST_POSTGRES_URL); none skips it",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the SQLite file here and the PostgreSQL database (named after the folder); "
        "a later run with the same --keep goes on from what is there",
    )
    parser.add_argument("--generate-only", action="store_true", help="only build the data")
    parser.add_argument("--no-full-scan", action="store_true", help="skip the full-scan timing")
    parser.add_argument("--pm4py", action="store_true", help="compare with PM4Py (SQLite)")
    args = parser.parse_args()
    targets = sorted(int(t) for t in args.events.split(","))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gridflow-bench-audit-"))
    folder.mkdir(parents=True, exist_ok=True)
    sqlite_url = f"sqlite:///{folder / 'audit.db'}"
    if not args.no_sqlite:
        run(sqlite_url, "sqlite", targets, args)
    if args.postgres:
        server = make_url(args.postgres)
        name = f"audit10m_{folder.name}" if args.keep else f"gridflow_bench_{os.getpid()}"
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)[:60]
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            there = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not there:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        pg_url = server.set(database=name).render_as_string(hide_password=False)
        try:
            run(pg_url, "postgresql", targets, args)
        finally:
            if not args.keep:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if args.pm4py and not args.no_sqlite:
        compare_pm4py(sqlite_url, folder)
    if not args.keep:
        shutil.rmtree(folder)  # gigabytes at 10M


if __name__ == "__main__":
    main()
