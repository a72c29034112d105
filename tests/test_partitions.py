"""The task-event table partitioned by month on PostgreSQL (migration 0016): each event lands
in its month's partition, stray months get theirs, and an existing database with events is
upgraded with every row, id and reference kept."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from conftest import _CALENDAR, _ROLES, MONDAY_9AM, PROCESSES, complete
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from gridflow import catalog, instances, partitions
from gridflow.clock import SimulatedClock
from gridflow.database import Database, alembic_config
from gridflow.runtime import Runtime

REPAIR = {"area": "urban", "customer_name": "Flat 3"}


def _events(rt: Runtime) -> list[int]:
    with rt.db.snapshot() as connection:
        return list(connection.scalars(text("SELECT id FROM task_events ORDER BY id")))


def _placed(rt: Runtime) -> dict[int, str]:
    with rt.db.snapshot() as connection:
        return partitions.placed(connection, _events(rt))


def test_events_land_in_their_months_partition(postgres_database: str) -> None:
    clock = SimulatedClock(MONDAY_9AM)  # 2 March 2026
    rt = Runtime.create(postgres_database, clock=clock, calendar=_CALENDAR, roles=_ROLES)
    try:
        with rt.db.transaction() as connection:
            connection.execute(text("TRUNCATE task_events, linkage_events"))
        catalog.deploy_paths(rt, [PROCESSES], "test")
        partitions.ensure_ahead(rt)  # the months around 2 March 2026
        with rt.db.snapshot() as connection:
            have = partitions.existing(connection)
        assert {"task_events_y2026m02", "task_events_y2026m03", "task_events_y2026m05"} <= have
        march = instances.start_instance(rt, "fault_repair", REPAIR, business_key="R-MARCH")
        complete(rt, march.instance_id, "Activity_accept")
        march_events = set(_events(rt))
        clock.advance(timedelta(days=31))  # 2 April
        complete(rt, march.instance_id, "Activity_dispatch")
        april_events = set(_events(rt)) - march_events
        placed = _placed(rt)
        assert {placed[i] for i in march_events} == {"task_events_y2026m03"}
        assert {placed[i] for i in april_events} == {"task_events_y2026m04"}

        # Five years on, no partition yet: the default one takes the events, and the next
        # round gives the month its partition, with the rows (and their ids) moved in.
        clock.advance(timedelta(days=5 * 365))
        later = instances.start_instance(rt, "fault_repair", REPAIR, business_key="R-LATER")
        stray = set(_events(rt)) - march_events - april_events
        assert stray and {_placed(rt)[i] for i in stray} == {"task_events_default"}
        made = partitions.ensure_ahead(rt)
        month = partitions.partition_name(partitions.month_start(clock.now()))
        assert month in made
        assert {_placed(rt)[i] for i in stray} == {month}
        complete(rt, later.instance_id, "Activity_accept")
        assert {_placed(rt)[i] for i in set(_events(rt)) - march_events - april_events} == {month}
        with rt.db.snapshot() as connection:
            assert connection.scalar(text("SELECT count(*) FROM task_events_default")) == 0
    finally:
        rt.db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server_url = os.environ.get("GRIDFLOW_TEST_POSTGRES_URL")
    if not server_url:
        pytest.skip("GRIDFLOW_TEST_POSTGRES_URL is not set")
    server = make_url(server_url)
    name = f"gridflow_test_upgrade_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _upgrade(url: str, revision: str) -> None:
    db = Database(url)
    with db.engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    db.dispose()


def test_the_migration_upgrades_a_database_with_events(old_database: str) -> None:
    url = old_database
    _upgrade(url, "0015")
    clock = SimulatedClock(MONDAY_9AM)
    rt = Runtime.create(url, clock=clock, calendar=_CALENDAR, roles=_ROLES)
    try:
        catalog.deploy_paths(rt, [PROCESSES], "test")
        first = instances.start_instance(rt, "fault_repair", REPAIR, business_key="R-1")
        complete(rt, first.instance_id, "Activity_accept")
        clock.advance(timedelta(days=40))  # April
        complete(rt, first.instance_id, "Activity_dispatch")
        before = _rows(rt)
        assert len({row[2][:7] for row in before}) == 2  # March and April
        with rt.db.transaction() as connection:
            connection.execute(
                text(
                    "INSERT INTO linkage_events (key, type, payload, source, received_at, "
                    "outcome, task_event_id) VALUES ('breach-1', 'standard_breached', '{}', "
                    "'engine', :at, '{}', :event)"
                ),
                {
                    "at": datetime(2026, 4, 11, tzinfo=UTC).replace(tzinfo=None),
                    "event": before[0][0],
                },
            )
    finally:
        rt.db.dispose()

    Database(url).migrate()

    rt = Runtime.create(url, clock=clock, calendar=_CALENDAR, roles=_ROLES)
    try:
        assert _rows(rt) == before
        with rt.db.snapshot() as connection:
            assert (
                connection.scalar(text("SELECT task_event_id FROM linkage_events"))
                == (before[0][0])
            )
        complete(rt, first.instance_id, "Activity_arrive")
        after = _rows(rt)
        assert after[: len(before)] == before
        assert min(row[0] for row in after[len(before) :]) > max(row[0] for row in before)
        if rt.db.is_sqlite:
            return
        placed = _placed(rt)
        assert {placed[row[0]] for row in before if row[2].startswith("2026-03")} == {
            "task_events_y2026m03"
        }
        assert {placed[row[0]] for row in after if row[2].startswith("2026-04")} == {
            "task_events_y2026m04"
        }
        with rt.db.snapshot() as connection:
            assert (
                connection.scalar(
                    text("SELECT relkind FROM pg_class WHERE relname = 'task_events'")
                )
                == "p"
            )
        # The partitions keep the foreign keys: an event of no work item is refused.
        with pytest.raises(IntegrityError), rt.db.transaction() as connection:
            connection.execute(
                text(
                    "INSERT INTO task_events (work_item_id, instance_id, definition_id, "
                    "element_id, link_name, lifecycle, at, lane, role, department) "
                    "SELECT 999999, instance_id, definition_id, element_id, link_name, "
                    "lifecycle, at, lane, role, department FROM task_events LIMIT 1"
                )
            )
    finally:
        rt.db.dispose()


def _rows(rt: Runtime) -> list[tuple[int, str, str]]:
    with rt.db.snapshot() as connection:
        return [
            (row[0], row[1], str(row[2]))
            for row in connection.execute(
                text("SELECT id, lifecycle, at FROM task_events ORDER BY id")
            )
        ]
