"""On PostgreSQL, gridflow's connections describe a result's columns once per set of columns
(gridflow.pg_cursor), and SQLAlchemy reads rows, row counts and returned ids through them as
through psycopg's own cursor."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import open_items
from sqlalchemy import bindparam, select

from gridflow import work_items
from gridflow.demands import DemandInput, create_demand
from gridflow.models import WorkItem
from gridflow.pg_cursor import ColumnInfo, PlainDescriptionCursor
from gridflow.roles import Actor
from gridflow.runtime import Runtime

READ_ITEM = select(WorkItem.__table__).where(WorkItem.id == bindparam("id"))


# PostgreSQL's cursor: the `rt` fixture on the PostgreSQL database only.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def pg(rt: Runtime) -> Runtime:
    assert not rt.db.is_sqlite
    return rt


def _acceptance(rt: Runtime) -> WorkItem:
    """A residential connection's first link, open."""
    accepted = create_demand(
        rt, DemandInput("Wang household", "residential", "counter", "connection")
    )
    [link] = open_items(rt, accepted.instances[0].instance_id)
    return link


def test_a_work_item_read_twice_is_described_once_and_reads_the_same(pg: Runtime) -> None:
    link = _acceptance(pg)
    with pg.db.snapshot() as connection:
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        assert isinstance(cursor, PlainDescriptionCursor)
        first = connection.execute(READ_ITEM, {"id": link.id}).one()
        second = connection.execute(READ_ITEM, {"id": link.id}).one()
        raw = driver.cursor()
        raw.execute("SELECT id, element_id FROM work_items WHERE id = %s", [link.id])
        described = raw.description
        assert raw.description is described
        raw.execute("SELECT id, element_id FROM work_items WHERE id = %s", [link.id])
        again = raw.description
    assert first == second
    assert (first.id, first.state, first.element_id) == (link.id, "ready", link.element_id)
    # DB-API 2.0's seven fields, by position and by name; the same tuple for the same columns.
    assert again is described
    assert [tuple(c) for c in described] == [
        ("id", 20, None, None, None, None, None),  # bigint
        ("element_id", 1043, None, None, None, None, None),  # varchar
    ]
    assert [c.name for c in described] == ["id", "element_id"]
    assert all(isinstance(c, ColumnInfo) for c in described)


def test_a_statement_without_rows_has_no_description_and_its_count_is_right(pg: Runtime) -> None:
    link = _acceptance(pg)
    with pg.db.snapshot() as connection:
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        cursor.execute("UPDATE work_items SET escalated = escalated WHERE id = %s", [link.id])
        assert (cursor.description, cursor.rowcount) == (None, 1)
        cursor.execute("SELECT 1 WHERE false")
        assert [c.name for c in cursor.description] == ["?column?"]
        assert cursor.fetchall() == []
        # A column named in Chinese reads the same whatever the connection's encoding.
        for encoding in ("UTF8", "GBK", "UTF8"):
            cursor.execute(f"SET client_encoding TO '{encoding}'")
            cursor.execute('SELECT 1 AS "供电所"')
            assert [c.name for c in cursor.description] == ["供电所"]
    # The verbs read and write through it: the link completes with what was entered.
    accept = {"id_checked": True, "supply_scheme": "existing_line"}
    done = work_items.complete(pg, link.id, Actor("zhang", frozenset({"account_manager"})), accept)
    assert done.state == "completed"
    with pg.db.snapshot() as connection:
        row = connection.execute(READ_ITEM, {"id": link.id}).one()
    assert (row.state, row.completed_by, row.form_data) == ("completed", "zhang", accept)
