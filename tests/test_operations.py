"""What operators and load balancers see: /healthz, /readyz (failing when the database is away
or a migration is pending), /metrics (its figures and who may read it), request ids carried
from the request into the task events, and JSON logs."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from conftest import _CALENDAR, _ROLES, STAFF_PASSWORD, open_items, token
from prometheus_client.parser import text_string_to_metric_families

from gridflow import demands, instances, logs, users
from gridflow.app import create_app
from gridflow.clock import SimulatedClock
from gridflow.database import alembic_config
from gridflow.models import TaskEvent
from gridflow.roles import Actor
from gridflow.runtime import Runtime
from gridflow.worker import Worker

DESK = Actor("desk1", frozenset({"service_desk"}))
METRICS_TOKEN = "scrape-token-0123456789"


def newest(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


@pytest.fixture
def admin(app: Any, rt: Runtime, client: Any) -> dict[str, str]:
    users.create_user(rt, "admin1", STAFF_PASSWORD, ["admin"])
    return token(client, "admin1")


def scrape(
    client: Any, headers: dict[str, str]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of /metrics: (name, sorted labels) → value."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_healthz_answers_without_the_database_and_readyz_names_the_migration(
    app: Any, client: Any, rt: Runtime
) -> None:
    alive = client.get("/healthz")
    assert (alive.status_code, alive.json) == (200, {"status": "ok"})
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json) == (
        200,
        {"status": "ready", "migration": newest(rt.db.url)},
    )
    # Load balancers ask without signing in; the answer is JSON like the API's.
    assert client.get("/readyz", headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_readyz_fails_while_a_migration_is_pending(app: Any, client: Any, rt: Runtime) -> None:
    head = newest(rt.db.url)
    script = ScriptDirectory.from_config(alembic_config(rt.db.url))
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    config = alembic_config(rt.db.url)
    command.downgrade(config, previous)
    try:
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert behind.json == {
            "status": "not ready",
            "reason": f"the schema is at migration {previous}, not {head} (run gridflow init-db)",
            "migration": previous,
            "newest": head,
        }
    finally:
        rt.db.migrate()
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_when_the_database_does_not_answer(
    database_url: str, clock: SimulatedClock, tmp_path: Any
) -> None:
    away = (
        f"sqlite:///{tmp_path / 'no-such-folder' / 'gridflow.db'}"
        if database_url.startswith("sqlite")
        else "postgresql+psycopg://postgres@127.0.0.1:1/gridflow"  # nothing listens on port 1
    )
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "t"},
        runtime=Runtime.create(away, clock=clock, calendar=_CALENDAR, roles=_ROLES),
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json["status"] == "not ready"
    assert down.json["reason"].startswith("the database does not answer: ")
    assert down.json["newest"] == newest(away)


def test_metrics_are_for_administrators_and_the_metrics_token(
    app: Any, client: Any, admin: dict[str, str]
) -> None:
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers=token(client, "supervisor1")).status_code == 403
    assert client.get("/metrics", headers=admin).status_code == 200
    # Prometheus sends the configured token; anything else is an unknown token.
    scraper = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert client.get("/metrics", headers=scraper).status_code == 401
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    assert client.get("/metrics", headers=scraper).status_code == 200
    wrong = {"Authorization": f"Bearer {METRICS_TOKEN}x"}
    assert client.get("/metrics", headers=wrong).status_code == 401
    # The token reads the metrics and nothing else.
    assert client.get("/api/work-items", headers=scraper).status_code == 401


def test_metrics_show_the_verb_latency_after_a_complete_and_the_stores_figures(
    app: Any, client: Any, rt: Runtime, clock: SimulatedClock, admin: dict[str, str]
) -> None:
    route = (("method", "POST"), ("route", "/api/work-items/<int:item_id>/complete"))
    before = scrape(client, admin)
    accepted = demands.create_demand(
        rt, demands.DemandInput("Zhao household", "residential", "app", "connection"), DESK
    )
    instance_id = accepted.instances[0].instance_id
    [accept] = open_items(rt, instance_id)
    headers = token(client, "manager1")
    claimed = client.post(
        f"/api/work-items/{accept.id}/claim", json={"version": accept.lock_version}, headers=headers
    )
    assert claimed.status_code == 200, claimed.text
    link = rt.definition(accept.definition_id).links[accept.element_id]
    done = client.post(
        f"/api/work-items/{accept.id}/complete",
        json={"version": claimed.json["version"], "data": link.form.complete_with_examples({})},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    after = scrape(client, admin)

    def grew(name: str, labels: tuple[tuple[str, str], ...]) -> float:
        key = (name, tuple(sorted(labels)))
        return after[key] - before.get(key, 0.0)

    assert grew("gridflow_http_request_duration_seconds_count", route) == 1
    assert grew("gridflow_http_request_duration_seconds_bucket", (*route, ("le", "+Inf"))) == 1
    assert grew("gridflow_http_responses_total", (*route, ("status", "200"))) == 1
    # The store's figures, as the database says them now.
    open_now = Counter((item.role, item.state) for item in open_items(rt, instance_id))
    assert {
        (dict(labels)["role"], dict(labels)["state"]): value
        for (name, labels), value in after.items()
        if name == "gridflow_open_links"
    } == {key: float(count) for key, count in open_now.items()}
    assert after[("gridflow_database_up", ())] == 1.0
    assert after[("gridflow_backlog_items", (("queue", "timers"),))] == 0.0
    assert after[("gridflow_workers", (("condition", "alive"),))] == 0.0


def test_metrics_show_overdue_links_timer_lag_and_worker_heartbeats(
    app: Any, client: Any, rt: Runtime, clock: SimulatedClock, admin: dict[str, str]
) -> None:
    from conftest import complete as complete_link

    started = instances.start_instance(
        rt, "fault_repair", {"area": "urban", "customer_name": "Flat 3"}, business_key="R-1"
    )
    complete_link(rt, started.instance_id, "Activity_accept")
    complete_link(rt, started.instance_id, "Activity_dispatch")
    [arrive] = open_items(rt, started.instance_id)
    assert arrive.due_at == clock.now() + timedelta(minutes=45)
    clock.advance(timedelta(minutes=50))  # the 45-minute arrival timer is 5 minutes late
    figures = scrape(client, admin)
    assert figures[("gridflow_overdue_links", (("role", arrive.role),))] == 1.0
    assert figures[("gridflow_backlog_items", (("queue", "timers"),))] == 1.0
    assert figures[("gridflow_backlog_lag_seconds", (("queue", "timers"),))] == 300.0
    Worker(rt, worker_id="w-7", interval=5).run(once=True)
    figures = scrape(client, admin)
    assert figures[("gridflow_backlog_items", (("queue", "timers"),))] == 0.0
    assert figures[("gridflow_backlog_lag_seconds", (("queue", "timers"),))] == 0.0
    beat = (("host", figures_host(figures)), ("state", "stopped"), ("worker", "w-7"))
    assert figures[("gridflow_worker_heartbeat_timestamp_seconds", beat)] == clock.now().timestamp()
    assert figures[("gridflow_worker_heartbeat_age_seconds", beat)] == 0.0
    assert figures[("gridflow_workers", (("condition", "stopped"),))] == 1.0


def figures_host(figures: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> str:
    [host] = {
        dict(labels)["host"]
        for name, labels in figures
        if name == "gridflow_worker_heartbeat_timestamp_seconds"
    }
    return host


def test_a_request_id_is_echoed_and_written_into_the_task_events(
    app: Any, client: Any, rt: Runtime
) -> None:
    made = client.get("/healthz")
    assert len(made.headers["X-Request-Id"]) == 32  # a new one
    assert (
        client.get("/healthz", headers={"X-Request-Id": "lb-7f3a:1"}).headers["X-Request-Id"]
        == "lb-7f3a:1"
    )
    hostile = client.get("/healthz", headers={"X-Request-Id": 'a b"<script>'})
    assert hostile.headers["X-Request-Id"] != 'a b"<script>'
    assert len(hostile.headers["X-Request-Id"]) == 32
    accepted = demands.create_demand(
        rt, demands.DemandInput("Qian household", "residential", "app", "connection"), DESK
    )
    [accept] = open_items(rt, accepted.instances[0].instance_id)
    claimed = client.post(
        f"/api/work-items/{accept.id}/claim",
        json={"version": accept.lock_version},
        headers={**token(client, "manager1"), "X-Request-Id": "req-claim-1"},
    )
    assert claimed.status_code == 200 and claimed.headers["X-Request-Id"] == "req-claim-1"
    with rt.db.read() as session:
        events = [
            (e.lifecycle, e.details)
            for e in session.query(TaskEvent)
            .filter_by(work_item_id=accept.id)
            .order_by(TaskEvent.id)
        ]
    # Work done outside a request (the demand taken in above) carries no request's id.
    assert events == [("ready", None), ("claimed", {"request_id": "req-claim-1"})]


@pytest.fixture
def json_logs() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_carry_the_request_id(
    app: Any, client: Any, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert logs.configure({"GRIDFLOW_LOG_FORMAT": "json"})
    client.get("/healthz", headers={"X-Request-Id": "trace-42"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    [request_line] = [line for line in lines if line["logger"] == "gridflow.request"]
    assert {k: v for k, v in request_line.items() if k not in ("time", "duration_ms")} == {
        "level": "INFO",
        "logger": "gridflow.request",
        "message": "GET /healthz 200",
        "request_id": "trace-42",
        "method": "GET",
        "path": "/healthz",
        "route": "/healthz",
        "status": 200,
        "remote_addr": "127.0.0.1",
    }
    assert not logs.configure({"GRIDFLOW_LOG_FORMAT": "text"})
    with pytest.raises(Exception, match="GRIDFLOW_LOG_FORMAT='xml': json or text"):
        logs.configure({"GRIDFLOW_LOG_FORMAT": "xml"})


def test_the_shipped_grafana_dashboard_reads_metrics_that_exist(
    app: Any, client: Any, rt: Runtime, admin: dict[str, str]
) -> None:
    import re

    from conftest import ROOT

    Worker(rt, worker_id="w-1").run(once=True)
    client.get("/healthz")
    answer = client.get("/metrics", headers=admin)
    families = {family.name for family in text_string_to_metric_families(answer.text)}
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    used = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"gridflow_\w+", target["expr"])
    }
    assert len(used) == 11
    assert sorted(used - families) == []
