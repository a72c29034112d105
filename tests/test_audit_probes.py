"""Percentiles inside a roll-up bucket (gridflow.link_rollups.Prober): on PostgreSQL the probes
of a page go to the server a process version at a time, many in one statement, and give
exactly the full scan's figures; on SQLite each is its own statement, as exact. The history is the demo's,
with links of chosen values added: one with hundreds of executions spread over few buckets
(probes from either end), one whose percentile ranks fall on the first and the last value of
their buckets and inside runs of equal values, one with a single execution."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from test_audit_rollups import PROCESSES, _completed, assert_same_figures

from gridflow import audit, link_rollups
from gridflow.audit import AuditFilter
from gridflow.clock import SimulatedClock
from gridflow.demo import run_demo
from gridflow.link_rollups import INNER, Prober, bucket_of
from gridflow.models import WorkItem
from gridflow.runtime import Runtime, load_roles

POINTS = [k for _, k in audit.PERCENTILES]
# Per measure of the designed link, its 101 values as runs of (bucket from a base, how many,
# equal ones among them): the ranks PostgreSQL interpolates at (50, 90, 95) fall on the first
# value of a bucket, the last of one, and inside a run of equal values reached from the low
# end (handling) or from the high end (waiting); SQLite's (50/51, 90/91, 95/96) likewise.
LAYOUTS: dict[str, list[tuple[int, int, range]]] = {
    "handling_s": [(0, 50, range(0)), (2, 10, range(0)), (4, 31, range(0)), (6, 10, range(1, 7))],
    "waiting_s": [(0, 50, range(0)), (2, 41, range(0)), (4, 7, range(2, 7)), (6, 3, range(0))],
}
SCALES = {"total_s": 4.0, "handling_working_s": 0.5, "waiting_working_s": 0.25}


def _designed(column: str) -> list[float]:
    """101 ascending values laid out in buckets as LAYOUTS says, well inside each bucket's
    bounds (a bucket spans 2.2 %)."""
    base = bucket_of(1000.0)
    values: list[float] = []
    for offset, count, equal in LAYOUTS[column]:
        low = INNER[base + offset - 1]
        for j in range(count):
            values.append(low * (1.0005 + 0.0004 * (equal.start if j in equal else j)))
    assert len(values) == 101 and values == sorted(values)
    assert [bucket_of(v) for v in values] == sorted(bucket_of(v) for v in values)
    return values


def _add(
    rt: Runtime, template: dict[str, Any], ends: list[datetime], rows: list[dict[str, float]]
) -> None:
    """Completed executions of the template's link with these values, alternately below the
    watermark and in the live tail (the first ends of the history and the last)."""
    with rt.db.transaction() as connection:
        connection.execute(
            insert(WorkItem),
            [
                {
                    **template,
                    **values,
                    "task_id": str(uuid.uuid4()),
                    "ended_at": ends[0] if i % 2 else ends[-1],
                }
                for i, values in enumerate(rows)
            ],
        )


@pytest.fixture
def history(database_url: str) -> Iterator[tuple[Runtime, dict[str, tuple[int, str]]]]:
    """The demo's history, rolled up to its middle, with the three designed links."""
    run_demo(database_url, instances=10, seed=7, weeks=1, processes=PROCESSES)
    roles = load_roles(PROCESSES / "roles.yaml")
    ends = _completed(Runtime.create(database_url, roles=roles))
    rt = Runtime.create(
        database_url, clock=SimulatedClock(ends[-1] + timedelta(hours=1)), roles=roles
    )
    columns = [c for c in WorkItem.__table__.columns if c.name not in ("id", "task_id")]
    with rt.db.snapshot() as connection:
        busiest = (
            select(WorkItem.definition_id, WorkItem.element_id)
            .where(WorkItem.state == "completed")
            .group_by(WorkItem.definition_id, WorkItem.element_id)
            .order_by(func.count().desc(), WorkItem.definition_id, WorkItem.element_id)
        )
        links = [tuple(row) for row in connection.execute(busiest).all()[:10]]
        templates = []
        for definition_id, element_id in links:
            row = connection.execute(
                select(*columns)
                .where(
                    WorkItem.state == "completed",
                    WorkItem.definition_id == definition_id,
                    WorkItem.element_id == element_id,
                )
                .limit(1)
            ).one()
            templates.append(dict(row._mapping))
    designed, single, spread = links[0], links[1], links[2:]
    # The designed and the single links hold only what is added here (their runs in the
    # demo are kept, as cancelled: other rows refer to them).
    with rt.db.transaction() as connection:
        for definition_id, element_id in (designed, single):
            connection.execute(
                update(WorkItem)
                .where(WorkItem.definition_id == definition_id, WorkItem.element_id == element_id)
                .values(state="cancelled")
            )
    values = {column: _designed(column) for column in LAYOUTS}
    values.update({c: [v * s for v in values["handling_s"]] for c, s in SCALES.items()})
    _add(rt, templates[0], ends, [{c: v[i] for c, v in values.items()} for i in range(101)])
    _add(rt, templates[1], ends, [dict.fromkeys(link_rollups.MEASURES.values(), 4321.5)])
    # Hundreds of executions per link, about 40 to a bucket (waiting: values in threes).
    for m, template in enumerate(templates[2:]):
        _add(
            rt,
            template,
            ends,
            [
                {
                    column: (1000.0 + 0.5 * (i - i % 3 if n == 0 else i)) * (1 + n + m / 7)
                    for n, column in enumerate(link_rollups.MEASURES.values())
                }
                for i in range(300)
            ],
        )
    assert link_rollups.refresh(rt, ends[len(ends) // 2]) > 0
    yield rt, {"designed": designed, "single": single, "spread": spread[0]}
    rt.db.dispose()


def test_probes_give_the_full_scans_figures(
    history: tuple[Runtime, dict[str, tuple[int, str]]],
) -> None:
    rt, links = history
    figures = {(f.definition_id, f.element_id): f for f in audit.link_figures(rt, method="index")}
    assert figures[links["single"]].count == 1
    assert figures[links["designed"]].count == 101
    everything = assert_same_figures(rt)
    assert everything > 10
    # The filters the roll-ups answer: a supervisor's departments, a process, a version.
    designed = figures[links["designed"]]
    department = rt.definition(designed.definition_id).links[designed.element_id].department
    assert assert_same_figures(rt, AuditFilter(departments=frozenset({department}))) < everything
    assert assert_same_figures(rt, AuditFilter(process_id=designed.process_id)) < everything
    assert_same_figures(rt, AuditFilter(process_id=designed.process_id, version=designed.version))


def test_the_designed_ranks_fall_where_meant(
    history: tuple[Runtime, dict[str, tuple[int, str]]],
) -> None:
    """The designed link's percentile ranks are at bucket ends (read from the buckets) and
    inside runs of equal values (probed from the low end for handling, the high end for
    waiting), on both databases' ranks."""
    rt, links = history
    with rt.db.snapshot() as connection:
        link_rollups.begin_snapshot(connection)
        data = link_rollups.merged(connection)
    assert data is not None
    key = links["designed"]
    for measure, descending in (("handling", False), ("waiting", True)):
        histogram = data.histograms[(*key, measure)]
        for postgres in (True, False):
            plan = link_rollups._plan(histogram.n, POINTS, postgres)
            ranks = [r for first, second, _ in plan for r in (first, second)]
            found, probes = link_rollups._locate(histogram, ranks)
            assert {50, 90} <= set(found)  # the first of a bucket, the last of one
            assert [probe.descending for probe in probes if 95 in probe.ranks] == [descending]


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent to PostgreSQL from here on, through SQLAlchemy or not."""
    import psycopg

    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return sent


def _probers(monkeypatch: pytest.MonkeyPatch, *, batched: bool) -> list[Prober]:
    """The probers the pages make from here on, batched (with the page's histograms) or not."""
    made: list[Prober] = []

    class Recorded(Prober):
        def __init__(self, connection: Any, histograms: Any = None) -> None:  # noqa: ANN401
            super().__init__(connection, histograms if batched else None)
            made.append(self)

    monkeypatch.setattr(link_rollups, "Prober", Recorded)
    return made


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_page_sends_its_probes_a_process_version_at_a_time(
    history: tuple[Runtime, dict[str, tuple[int, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, links = history
    with rt.db.snapshot() as connection:
        link_rollups.begin_snapshot(connection)
        data = link_rollups.merged(connection)
        assert data is not None
        single, batched = (
            link_rollups.Prober(connection),
            link_rollups.Prober(connection, data.histograms),
        )
        for (definition_id, element_id, measure), histogram in sorted(data.histograms.items()):
            key = (definition_id, element_id)
            assert link_rollups.percentiles(
                batched, key, measure, histogram, POINTS
            ) == link_rollups.percentiles(single, key, measure, histogram, POINTS)
        single.close()
        batched.close()
    versions = len({definition_id for definition_id, _, _ in data.histograms})
    assert single.probes == single.probed > 100
    assert batched.probed == single.probed and batched.walked == single.walked
    # The first link on its own (the measures the page wants are not known yet), then one
    # statement per process version, with dozens of probes in each.
    assert batched.probes <= 1 + versions < batched.probed / 4

    audit.link_figures(rt, method="index")  # the diagrams parsed, as a server has them
    sent = _statements(monkeypatch)
    audit.link_figures(rt, method="rollup")
    # The roll-ups, the tail, the versions, and the probes' few statements: one a probe before.
    assert len(sent) <= 40 < batched.probed, sent
    assert sum("unnest" in statement for statement in sent) == batched.probes

    # A page filtered to a process probes only its links, in a statement or two.
    process = AuditFilter(process_id=rt.definition(links["designed"][0]).process_id)
    one_by_one = _probers(monkeypatch, batched=False)
    audit.link_figures(rt, process, method="rollup")
    together = _probers(monkeypatch, batched=True)
    audit.link_figures(rt, process, method="rollup")
    assert together[0].probed == one_by_one[0].probed == one_by_one[0].probes
    assert together[0].probes <= 2 < together[0].probed
