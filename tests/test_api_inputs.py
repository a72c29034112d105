"""The API validates before it acts: each input that once made a server error now gets its
documented 4xx, every /api/ error is JSON (unknown paths and methods too), concurrent deploys
and duplicate events answer 201 once and 200 (or 409) after, and every answer carries the
security headers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import PROCESSES, login, open_items, token
from sqlalchemy import func, select

from gridflow import demands
from gridflow.app.headers import CONTENT_SECURITY_POLICY
from gridflow.models import Definition, LinkageEvent
from gridflow.roles import Actor
from gridflow.runtime import Runtime

HUGE = str(2**63)
DESK = Actor("desk1", frozenset({"service_desk"}))


def a_link(rt: Runtime) -> int:
    accepted = demands.create_demand(
        rt, demands.DemandInput("Zhao household", "residential", "app", "connection"), DESK
    )
    return open_items(rt, accepted.instances[0].instance_id)[0].id


def test_a_body_that_is_not_an_object_is_422(rt: Runtime, client: Any) -> None:
    manager = token(client, "manager1")
    item = a_link(rt)
    for path, body in (
        (f"/api/work-items/{item}/claim", [1]),
        (f"/api/work-items/{item}/release", "release"),
        (f"/api/work-items/{item}/complete", 7),
        (f"/api/work-items/{item}/hand-over", None),
        (f"/api/work-items/{item}/helpers", ["x"]),
        ("/api/tokens", [{"username": "desk1"}]),
    ):
        answer = client.post(path, json=body, headers=manager)
        assert answer.status_code == 422, (path, answer.status_code, answer.text)
        assert answer.json["error"]["message"] == "the request body must be a JSON object"
    supervisor = token(client, "supervisor1")
    for path in ("/api/events", "/api/dispatch/rounds"):
        answer = client.post(path, json=[], headers=supervisor)
        assert answer.status_code == 422, (path, answer.text)
    not_json = client.post(
        f"/api/work-items/{item}/claim",
        data="{not json",
        content_type="application/json",
        headers=manager,
    )
    assert not_json.status_code == 422
    typed = client.post(
        f"/api/work-items/{item}/hand-over", json={"to": 5, "version": "1"}, headers=manager
    )
    assert typed.status_code == 422
    nul = client.post(
        "/api/demands",
        json={"customer_name": "Zhao\x00", "customer_category": "residential"},
        headers=token(client, "desk1"),
    )
    assert (nul.status_code, nul.json["error"]["message"]) == (
        422,
        "text must not contain NUL characters",
    )
    infinite = client.post(
        f"/api/work-items/{item}/complete",
        data='{"version": 1, "data": {"x": Infinity}}',
        content_type="application/json",
        headers=manager,
    )
    assert infinite.status_code == 422


def test_ids_pages_and_versions_out_of_range_are_404_or_422(rt: Runtime, client: Any) -> None:
    desk = token(client, "desk1")
    for path in (
        f"/api/work-items/{HUGE}",
        f"/api/work-items/{2**63 - 1}",
        f"/api/demands/{HUGE}0",
        f"/api/instances/{HUGE}",
        "/api/work-items/null",
        "/api/work-items/-1",
    ):
        answer = client.get(path, headers=desk)
        assert answer.status_code == 404, (path, answer.status_code)
        assert answer.json["error"]["code"] == "not_found"
    claim = client.post(f"/api/work-items/{HUGE}/claim", json={}, headers=desk)
    assert claim.status_code == 404 and claim.is_json
    for query in (f"page={HUGE}", "page=0", "per_page=201", "page=１", "overdue=maybe"):
        answer = client.get(f"/api/work-items?{query}", headers=desk)
        assert answer.status_code == 422, (query, answer.text)
    auditor = token(client, "auditor1")
    for query in (
        f"version={HUGE}",
        "version=99999999999999999999",
        "version=²",
        "since=0001-01-01",
        "until=9999-12-31",
        "since=2026-02-30",
        "person=x%00y",
    ):
        answer = client.get(f"/api/audit/links?{query}", headers=auditor)
        assert answer.status_code == 422, (query, answer.text)
    assert client.get("/api/audit/links?until=2999-12-31", headers=auditor).status_code == 200


def test_streamed_exports_check_their_filters_before_the_first_byte(app: Any, client: Any) -> None:
    login(client, "auditor1")
    for export in ("events.csv", "events.xes", "links.csv"):
        answer = client.get(f"/audit/export/{export}?since=0001-01-01")
        assert answer.status_code == 400, export
        assert answer.mimetype == "text/html"
        assert "since: 0001-01-01 is not between 1970-01-01 and 2999-12-31" in answer.text
        whole = client.get(f"/audit/export/{export}?until=2999-12-31")
        assert whole.status_code == 200 and whole.data


def test_a_line_break_in_the_sign_in_next_goes_home(client: Any) -> None:
    from conftest import STAFF_PASSWORD

    credentials = {"username": "desk1", "password": STAFF_PASSWORD}
    for target in ("/queue%0d%0aSet-Cookie:%20x=1", "/\\evil.example", "//evil.example/"):
        answer = client.post(f"/login?next={target}", data=credentials)
        assert answer.status_code == 302, target
        assert answer.headers["Location"] == "/", target
        assert "x=1" not in answer.headers.get("Set-Cookie", "")
    assert client.post("/login?next=/demands", data=credentials).headers["Location"] == "/demands"


def test_every_api_error_is_json_including_unknown_paths_and_methods(client: Any) -> None:
    desk = token(client, "desk1")
    for method, path, status in (
        ("GET", "/api/nothing-here", 404),
        ("GET", "/api/work-items/1/nothing", 404),
        ("DELETE", "/api/work-items", 405),
        ("PUT", "/api/tokens", 405),
        ("GET", "/api/tokens", 405),
    ):
        answer = client.open(path, method=method, headers=desk)
        assert answer.status_code == status, (method, path)
        assert answer.is_json, (method, path, answer.text[:100])
        assert answer.json["error"]["code"] in ("not_found", "method_not_allowed")
    too_big = client.post(
        "/api/demands", data=b"x" * (8 * 1024 * 1024 + 1), content_type="application/json",
        headers=desk,
    )  # fmt: skip
    assert too_big.status_code == 413 and too_big.is_json
    # Pages keep their HTML error page.
    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_the_openapi_document_names_every_status(client: Any) -> None:
    document = client.get("/api/openapi.json").json
    paths = document["paths"]
    for path in (
        "/api/work-items/{id}/claim",
        "/api/work-items/{id}/release",
        "/api/work-items/{id}/hand-over",
        "/api/work-items/{id}/helpers",
    ):
        assert {"401", "403", "404", "409", "413", "414", "422"} <= set(
            paths[path]["post"]["responses"]
        ), path
    assert {"201", "401", "422", "429"} <= set(paths["/api/tokens"]["post"]["responses"])
    assert set(paths["/api/tokens/current"]["delete"]["responses"]) >= {"204", "401"}
    assert "409" in paths["/api/definitions"]["post"]["responses"]


def run_together(count: int, call: Callable[[int], Any]) -> list[Any]:
    """`count` calls at once, each in its own thread, started together."""
    start = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def run(n: int) -> None:
        start.wait()
        answers[n] = call(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_concurrent_duplicate_events_answer_201_once_then_200_with_the_same_answer(
    app: Any, client: Any, rt: Runtime
) -> None:
    headers = token(client, "integration1")
    alarm = {"type": "outage_alarm", "key": "race-1", "payload": {"feeder": "F1", "area": "urban"}}

    def post(_n: int) -> tuple[int, Any]:
        answer = app.test_client().post("/api/events", json=alarm, headers=headers)
        return answer.status_code, answer.json

    answers = run_together(6, post)
    assert sorted(status for status, _ in answers) == [200, 200, 200, 200, 200, 201]
    first = next(body for status, body in answers if status == 201)
    assert all(body == first for _, body in answers)
    with rt.db.read() as session:
        assert session.scalar(select(func.count()).select_from(LinkageEvent)) == 1


@pytest.fixture
def meter_check() -> bytes:
    return (PROCESSES.parent / "tests" / "designer" / "meter_check.bpmn").read_bytes()


def test_concurrent_deploys_of_one_process_answer_201_200_or_409(
    app: Any, client: Any, rt: Runtime, meter_check: bytes
) -> None:
    from gridflow import users
    from gridflow.users import create_user

    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    create_user(rt, "designer1", "correct-horse-9", ["designer"])
    headers = {**token(client, "designer1"), "Content-Type": "application/xml"}
    variants = [meter_check, meter_check.replace(b"Check meter", b"Check the meter")]

    def deploy(n: int) -> int:
        answer = app.test_client().post("/api/definitions", data=variants[n % 2], headers=headers)
        assert answer.is_json
        return int(answer.status_code)

    statuses = run_together(6, deploy)
    assert set(statuses) <= {200, 201, 409}, statuses
    assert statuses.count(201) >= 1  # content unlike the newest version is a new version
    with rt.db.read() as session:
        versions = session.scalars(
            select(Definition.version)
            .where(Definition.file_name == "upload.bpmn")
            .order_by(Definition.version)
        ).all()
    assert versions == list(range(1, statuses.count(201) + 1))


def test_headers_are_on_every_page_and_api_answer(app: Any, client: Any) -> None:
    login(client, "desk1")
    desk = token(client, "desk1")
    answers = [
        client.get("/login"),
        client.get("/queue"),
        client.get("/demands"),
        client.get("/nothing-here"),
        client.get("/static/gridflow.css"),
        client.get("/vendor/bootstrap/css/bootstrap.min.css"),
        client.get("/api/openapi.json"),
        client.get("/api/work-items", headers=desk),
        client.get("/api/work-items"),
        client.get("/api/nothing", headers=desk),
        client.post("/api/events", json={}, headers=desk),
    ]
    for answer in answers:
        assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]
    assert answers[1].headers["Cache-Control"] == "no-store"
    # No template has an inline script or event handler left.
    templates = (PROCESSES.parent / "web" / "templates").rglob("*.html")
    for template in templates:
        text = template.read_text(encoding="utf-8")
        for opening in text.split("<script")[1:]:
            tag = opening.split(">", 1)[0]
            assert "src=" in tag or 'type="application/' in tag, (template.name, tag)
        assert " onchange=" not in text and " onclick=" not in text, template.name
