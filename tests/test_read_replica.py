"""GRIDFLOW_READ_DATABASE_URL: the audit figures, exports and reports read from a replica, and
nothing else does. Here the "replica" is a second URL naming the same database, so the figures
must come out the same; which engine ran each statement shows where the reads went."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from audit_history import ACCEPT, PROCESS, build
from conftest import _CALENDAR, _ROLES, PROCESSES, complete
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from gridflow import audit, catalog, export, instances, reports
from gridflow.clock import SimulatedClock
from gridflow.database import Database
from gridflow.runtime import Runtime
from gridflow.step_figures import step_figures


def _replica_url(url: str) -> str:
    """Another URL for the same database, as a streaming replica's would be another host."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = Path(parsed.database or "")
        return f"sqlite:///{database.parent}/./{database.name}"
    return parsed.update_query_dict({"application_name": "gridflow-replica"}).render_as_string(
        hide_password=False
    )


class Statements:
    """The SELECTs each engine ran since the last `clear`."""

    def __init__(self, *engines: Engine):
        self.by_engine: dict[Engine, list[str]] = {engine: [] for engine in engines}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._seen(engine))

    def _seen(self, engine: Engine) -> Callable[..., None]:
        def seen(_c: object, _cursor: object, statement: str, *_args: object) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                self.by_engine[engine].append(statement)

        return seen

    def clear(self) -> None:
        for seen in self.by_engine.values():
            seen.clear()


@pytest.fixture
def replicated(database_url: str, clock: SimulatedClock) -> Iterator[Runtime]:
    runtime = Runtime.create(
        database_url,
        clock=clock,
        calendar=_CALENDAR,
        roles=_ROLES,
        read_url=_replica_url(database_url),
    )
    catalog.deploy_paths(runtime, [PROCESSES], "test")
    yield runtime
    runtime.db.dispose()


def test_audit_export_and_report_reads_go_to_the_replica(replicated: Runtime) -> None:
    rt = replicated
    assert rt.db.replica_engine is not rt.db.engine
    build(rt)
    statements = Statements(rt.db.engine, rt.db.replica_engine)
    primary, replica = (
        statements.by_engine[rt.db.engine],
        statements.by_engine[rt.db.replica_engine],
    )

    figures = {f.element_id: f for f in audit.link_figures(rt) if f.process_id == PROCESS}
    assert figures[ACCEPT].count == 4
    breaches = audit.breaches(rt)
    people = audit.breaches_by_person(rt)
    ranking = audit.department_ranking(rt)
    steps = step_figures(rt, audit.EVERYTHING)
    events = list(export.events_csv(rt))
    links = list(export.links_csv(rt))
    counts = reports.counts(rt)
    assert primary == [], primary
    assert len(replica) >= 8
    assert counts["work_items"]["completed"] == sum(f.count for f in figures.values())
    assert "".join(events).count("\n") == 1 + sum(counts["task_events"].values())

    # The same reads without a replica give the same answers.
    plain = Runtime(Database(rt.db.url), rt.clock, rt.calendar, rt.roles)
    try:
        assert {f.element_id: f for f in audit.link_figures(plain) if f.process_id == PROCESS} == (
            figures
        )
        assert audit.breaches(plain) == breaches
        assert audit.breaches_by_person(plain) == people
        assert audit.department_ranking(plain) == ranking
        assert step_figures(plain, audit.EVERYTHING) == steps
        assert list(export.events_csv(plain)) == events
        assert list(export.links_csv(plain)) == links
    finally:
        plain.db.dispose()


def test_the_verbs_read_and_write_on_the_primary_only(replicated: Runtime) -> None:
    rt = replicated
    statements = Statements(rt.db.engine, rt.db.replica_engine)
    started = instances.start_instance(
        rt, "fault_repair", {"area": "urban", "customer_name": "Flat 3"}, business_key="R-1"
    )
    complete(rt, started.instance_id, "Activity_accept")
    assert statements.by_engine[rt.db.replica_engine] == []
    assert statements.by_engine[rt.db.engine] != []


def test_without_a_read_url_the_reads_use_the_one_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDFLOW_READ_DATABASE_URL", _replica_url(database_url))
    named = Database(database_url)  # a URL named in code never picks up the environment's replica
    try:
        assert named.replica_engine is named.engine
    finally:
        named.dispose()
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    configured = Database()
    try:
        assert configured.read_url == _replica_url(database_url)
        assert configured.replica_engine is not configured.engine
        with configured.snapshot(replica=True) as connection:
            assert connection.engine is configured.replica_engine
    finally:
        configured.dispose()
