"""Shared fixtures: a runtime on a fresh SQLite file and on PostgreSQL, a simulated clock,
the company's real processes deployed, and small helpers to drive links."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from gridflow import catalog, external_tasks, work_items
from gridflow.clock import SimulatedClock
from gridflow.database import Database
from gridflow.definitions import content_hash
from gridflow.models import Base, Definition, Notification, WorkItem
from gridflow.roles import Actor, RoleBook
from gridflow.runtime import Runtime
from gridflow.working_time import WorkingCalendar

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
PG_URL = os.environ.get("GRIDFLOW_TEST_POSTGRES_URL")
# Monday 2 March 2026, 09:00 in Beijing: the start of a working day.
MONDAY_9AM = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ADMIN = Actor("admin", frozenset({"admin"}))
CHINESE = {"Accept-Language": "zh-CN"}
ENGLISH = {"Accept-Language": "en"}

_CALENDAR = WorkingCalendar()
_ROLES = RoleBook.load(PROCESSES / "roles.yaml")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") and not PG_URL:
        raise pytest.UsageError("CI must run the PostgreSQL tests: set GRIDFLOW_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def roles() -> RoleBook:
    return _ROLES


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return _CALENDAR


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test session's own (so parallel runs never meet),
    migrated from scratch, dropped at the end."""
    if not PG_URL:
        pytest.skip("GRIDFLOW_TEST_POSTGRES_URL is not set")
    server = make_url(PG_URL)
    name = f"gridflow_test_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    Database(url).migrate()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database: a SQLite file, then the PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gridflow.db'}"
        Database(url).migrate()
        yield url
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate(url)
        yield url


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(MONDAY_9AM)


@pytest.fixture
def rt(database_url: str, clock: SimulatedClock) -> Iterator[Runtime]:
    """A runtime with every process in processes/ deployed."""
    runtime = Runtime.create(database_url, clock=clock, calendar=_CALENDAR, roles=_ROLES)
    catalog.deploy_paths(runtime, [PROCESSES], "test")
    yield runtime
    runtime.db.dispose()


def force_into_store(
    rt: Runtime, process_id: str, xml: bytes, file_name: str = "forced.bpmn"
) -> int:
    """Insert a file as the newest version of a process straight into the store, past the lint
    (as no deploy would): how a test shows what the run time does with a file the lint refuses."""
    with rt.db.write() as session:
        latest = session.scalar(
            select(func.max(Definition.version)).where(Definition.process_id == process_id)
        )
        row = Definition(
            process_id=process_id,
            version=(latest or 0) + 1,
            name=process_id,
            category=None,
            content_hash=content_hash(xml),
            file_name=file_name,
            bpmn_xml=xml,
            deployed_at=rt.clock.now(),
            deployed_by="test",
        )
        session.add(row)
        session.flush()
        return row.id


def open_items(rt: Runtime, instance_id: int) -> list[WorkItem]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(WorkItem)
                .where(
                    WorkItem.instance_id == instance_id, WorkItem.state.in_(("ready", "claimed"))
                )
                .order_by(WorkItem.id)
            )
        )


def item_for(rt: Runtime, instance_id: int, element_id: str) -> WorkItem:
    items = [i for i in open_items(rt, instance_id) if i.element_id == element_id]
    assert len(items) == 1, (
        f"{element_id} open: {[i.element_id for i in open_items(rt, instance_id)]}"
    )
    return items[0]


def complete(
    rt: Runtime,
    instance_id: int,
    element_id: str,
    form: Mapping[str, object] | None = None,
    actor: Actor = ADMIN,
) -> WorkItem:
    """Complete an open link, filling every required field not given with a valid value."""
    item = item_for(rt, instance_id, element_id)
    link = rt.definition(item.definition_id).links[element_id]
    values = link.form.complete_with_examples(form or {})
    return work_items.complete(rt, item.id, actor, values)


# What the other systems' workers answer in tests: every output the external tasks of the
# shipped processes declare (the archive number, the meter ordered, the payment checked).
SYSTEM_ANSWERS: dict[str, dict[str, object]] = {
    "marketing_archive": {"archive_no": "MK-TEST-0001"},
    "meter_order": {"meter_no": "DB3-TEST-0001", "meter_phases": 3},
    "finance_payment": {"paid": True, "receipt_no": "FI-TEST-0001"},
}
SYSTEMS_WORKER = external_tasks.Worker("systems", "test-systems", None)


def serve_system_steps(rt: Runtime, topics: tuple[str, ...] = tuple(SYSTEM_ANSWERS)) -> int:
    """The other systems answer every external task waiting for them, as their workers would
    (including tasks the answers lead to); returns how many they completed."""
    requests = [external_tasks.TopicRequest(topic, 60_000) for topic in topics]
    served = 0
    while tasks := external_tasks.fetch_and_lock(rt, SYSTEMS_WORKER, requests, 100):
        for task in tasks:
            external_tasks.complete(rt, task.id, SYSTEMS_WORKER, SYSTEM_ANSWERS[task.topic])
            served += 1
    return served


STAFF_PASSWORD = "correct-horse-9"
STAFF = {
    "desk1": ["service_desk"],
    "manager1": ["account_manager"],
    "planner1": ["planning_design"],
    "planner2": ["planning_design"],
    "meter1": ["metering"],
    "auditor1": ["auditor"],
    "supervisor1": ["supervisor"],
    "integration1": ["integration"],
}
# The grid monitoring and metering systems' account posts their two event types.
GRANTS = {"integration1": ["event:outage_alarm", "event:meter_connected"]}


class EnglishClient(FlaskClient):
    """A browser that asks for English pages (tests assert English texts)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def app(rt: Runtime):  # type: ignore[no-untyped-def]
    """The web application on the test runtime, with staff accounts."""
    from gridflow import users
    from gridflow.app import create_app

    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # a fast hash: these are test accounts
    for username, role_ids in STAFF.items():
        users.create_user(rt, username, STAFF_PASSWORD, role_ids, grants=GRANTS.get(username, ()))
    application = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False}, runtime=rt
    )
    application.test_client_class = EnglishClient
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 302, response.text


def token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post("/api/tokens", json={"username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def post_in_both_languages(
    client: FlaskClient, path: str, data: Mapping[str, object], *, follow: bool = True
) -> tuple[Any, Any]:
    """The same form posted by a reader of Chinese, then by a reader of English (the pages it
    leads to, redirects followed when `follow`): how a test shows a refusal in each language."""
    chinese, english = (
        client.post(path, data=dict(data), headers=headers, follow_redirects=follow)
        for headers in (CHINESE, ENGLISH)
    )
    return chinese, english


def sign_in_customer(client: FlaskClient, rt: Runtime, phone: str) -> None:
    """A customer signs in to the portal with the one-time code the outbox holds for them (as
    the text message brings it)."""
    asked = client.post("/portal/code", data={"phone": phone})
    assert asked.status_code == 302, asked.text
    with rt.db.read() as session:
        body = session.scalars(
            select(Notification.body)
            .where(Notification.kind == "sign_in_code")
            .order_by(Notification.id.desc())
        ).first()
    code = re.search(r"\b(\d{6})\b", body or "")
    assert code is not None, body
    signed = client.post("/portal/sign-in", data={"phone": phone, "code": code.group(1)})
    assert signed.status_code == 302, signed.text
