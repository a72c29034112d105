"""The customer channel over HTTP on SQLite and PostgreSQL: signing in with a phone and a
one-time code read from a real SMTP server, the code's throttle, expiry and tries; a customer
sees only their own demands and no staff page; an online application lands on the staff's
queue with its documents (refused files keep nothing); customers are told of completed and
late links and of an outage on their feeder (once per event); the outbox retries."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import complete, login, serve_system_steps, token
from smtp_inbox import SmtpServer
from sqlalchemy import func, select

from gridflow.clock import SimulatedClock
from gridflow.models import Demand, Document, Notification, SignInCode, WorkItem
from gridflow.notifications import delivery, triggers
from gridflow.notifications.senders import SendError, SmsGateway, SmtpSender
from gridflow.runtime import Runtime

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows program, renamed .pdf


@pytest.fixture
def portal(app: Any, tmp_path: Path) -> Any:
    app.config["DOCUMENTS_DIR"] = str(tmp_path / "documents")
    app.config["SMS_CONFIGURED"] = False
    return app


def outbox(rt: Runtime, **where: object) -> list[Notification]:
    with rt.db.read() as session:
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(session.scalars(query))


def ask_code(client: Any, phone: str, email: str = "") -> Any:
    return client.post("/portal/code", data={"phone": phone, "email": email})


def code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None, text
    return found.group(1)


def sign_in_customer(rt: Runtime, client: Any, phone: str, email: str) -> None:
    """Ask for a code, take it from the outbox (as the mail would bring it), sign in."""
    assert ask_code(client, phone, email).status_code == 302
    body = outbox(rt, kind="sign_in_code", recipient=email)[-1].body
    answer = client.post("/portal/sign-in", data={"phone": phone, "code": code_in(body)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/portal/")


def apply_lv(client: Any, name: str, files: dict[str, tuple[bytes, str]] | None = None) -> Any:
    data: dict[str, Any] = {
        "customer_name": name,
        "address": "玄武区北京东路 41 号",
        "area": "urban",
        "capacity_kw": "8",
    }
    for field, (content, file_name) in (files or {"id_card": (PDF, "id.pdf")}).items():
        from io import BytesIO

        data[field] = (BytesIO(content), file_name)
    return client.post(
        "/portal/apply/lv_residential", data=data, content_type="multipart/form-data"
    )


def test_a_customer_signs_in_with_a_code_from_a_real_smtp_server(portal: Any, rt: Runtime) -> None:
    client = portal.test_client()
    assert ask_code(client, "138 0013 8000", "wang@example.com").status_code == 302
    [row] = outbox(rt, kind="sign_in_code")
    assert (row.channel, row.recipient, row.status) == ("email", "wang@example.com", "pending")
    with SmtpServer() as server:
        done = delivery.deliver_round(rt, {"email": SmtpSender("127.0.0.1", server.port)})
        assert (done.sent, done.failed) == (1, 0)
        [mail] = server.inbox.wait_for("wang@example.com")
    code = code_in(mail.get_content())
    # Only a keyed hash is kept; once sent, the outbox no longer holds the code either.
    with rt.db.read() as session:
        stored = session.scalars(select(SignInCode.code_hash)).one()
    assert code not in stored and len(stored) == 64
    assert code not in outbox(rt, kind="sign_in_code")[0].body
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post("/portal/sign-in", data={"phone": "13800138000", "code": wrong})
    assert refused.status_code == 401
    signed = client.post("/portal/sign-in", data={"phone": "13800138000", "code": code})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/portal/")
    assert client.get("/portal/").status_code == 200
    # A code works once.
    other = portal.test_client()
    assert (
        other.post("/portal/sign-in", data={"phone": "13800138000", "code": code}).status_code
        == 401
    )


def test_the_fourth_code_in_a_minute_is_429_and_tries_and_time_are_limited(
    portal: Any, rt: Runtime, clock: SimulatedClock
) -> None:
    client = portal.test_client()
    for _ in range(3):
        assert ask_code(client, "13900000001", "li@example.com").status_code == 302
    fourth = ask_code(client, "13900000001", "li@example.com")
    assert fourth.status_code == 429
    assert 1 <= int(fourth.headers["Retry-After"]) <= 60
    assert len(outbox(rt, kind="sign_in_code")) == 3  # the refused request sent nothing
    clock.advance(timedelta(seconds=61))
    assert ask_code(client, "13900000001", "li@example.com").status_code == 302
    code = code_in(outbox(rt, kind="sign_in_code")[-1].body)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        answer = client.post("/portal/sign-in", data={"phone": "13900000001", "code": wrong})
        assert answer.status_code == 401
    # Five wrong tries: even the right code no longer works.
    answer = client.post("/portal/sign-in", data={"phone": "13900000001", "code": code})
    assert answer.status_code == 401
    clock.advance(timedelta(seconds=61))
    assert ask_code(client, "13900000001", "li@example.com").status_code == 302
    code = code_in(outbox(rt, kind="sign_in_code")[-1].body)
    clock.advance(timedelta(minutes=10, seconds=1))
    expired = client.post("/portal/sign-in", data={"phone": "13900000001", "code": code})
    assert expired.status_code == 401


def test_a_customer_sees_only_their_own_demands_and_no_staff_route(
    portal: Any, rt: Runtime
) -> None:
    zhang, li = portal.test_client(), portal.test_client()
    sign_in_customer(rt, zhang, "13700000001", "zhang@example.com")
    sign_in_customer(rt, li, "13700000002", "li@example.com")
    made = apply_lv(zhang, "张伟")
    assert made.status_code == 302, made.text
    demand_path = made.headers["Location"]
    assert zhang.get(demand_path).status_code == 200
    assert li.get(demand_path).status_code == 404  # another's demand does not exist for li
    demand_id = int(demand_path.rsplit("/", 1)[1])
    for path in ("/", "/queue", "/demands", f"/demands/{demand_id}", "/admin/outbox"):
        assert li.get(path).status_code == 403, path
    assert li.get("/api/demands/1").status_code == 401  # no API token for customers
    # Nor can a customer sign in on the staff page.
    assert (
        li.post("/login", data={"username": "customer-13700000002", "password": "!"}).status_code
        == 401
    )


def test_an_online_application_lands_on_the_staff_queue_with_its_document(
    portal: Any, rt: Runtime, tmp_path: Path
) -> None:
    customer = portal.test_client()
    sign_in_customer(rt, customer, "13600000001", "chen@example.com")
    made = apply_lv(customer, "陈静", {"id_card": (PDF, "../../etc/身份证.pdf")})
    assert made.status_code == 302, made.text
    with rt.db.read() as session:
        demand = session.scalars(select(Demand)).one()
        document = session.scalars(select(Document)).one()
    assert (demand.channel, demand.category, demand.customer_category) == (
        "online",
        "connection",
        "residential",
    )
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", document.stored_name)
    assert document.original_name == "身份证.pdf"
    assert (tmp_path / "documents" / document.stored_name).read_bytes() == PDF
    [received] = outbox(rt, kind="application", channel="email")
    assert demand.reference in received.subject
    staff = portal.test_client()
    login(staff, "manager1")
    queue = staff.get("/queue?scope=team").text
    assert "陈静" in queue
    with rt.db.read() as session:
        accept = session.scalars(
            select(WorkItem).where(WorkItem.element_id == "Activity_accept")
        ).one()
    page = staff.get(f"/work-items/{accept.id}").text
    assert "Identity card" in page and "身份证.pdf" in page
    download = staff.get(f"/work-items/{accept.id}/documents/{document.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    # Another role's staff may not open the link, so not its documents either.
    planner = portal.test_client()
    login(planner, "planner1")
    assert planner.get(f"/work-items/{accept.id}/documents/{document.id}").status_code == 403


def test_a_refused_upload_changes_nothing(portal: Any, rt: Runtime, tmp_path: Path) -> None:
    customer = portal.test_client()
    sign_in_customer(rt, customer, "13500000001", "zhao@example.com")
    told = len(outbox(rt))
    too_big = PDF + b"0" * (5 * 1024 * 1024)
    for files, reason in (
        ({"id_card": (EXE, "id.pdf")}, "is not a PDF, JPEG or PNG file"),
        ({"id_card": (too_big, "id.pdf")}, "is larger than 5 MiB"),
        ({"id_card": (PDF, "id.pdf"), "property": (EXE, "house.pdf")}, "is not a PDF"),
    ):
        answer = apply_lv(customer, "赵敏", files)
        assert answer.status_code == 422
        assert reason in answer.text
    with rt.db.read() as session:
        assert session.scalar(select(func.count(Demand.id))) == 0
        assert session.scalar(select(func.count(Document.id))) == 0
    folder = tmp_path / "documents"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert len(outbox(rt)) == told


def test_customers_are_told_of_each_completed_link_and_a_late_one_with_the_reason(
    portal: Any, rt: Runtime, clock: SimulatedClock
) -> None:
    customer = portal.test_client()
    sign_in_customer(rt, customer, "13400000001", "sun@example.com")
    assert apply_lv(customer, "孙丽").status_code == 302
    with rt.db.read() as session:
        instance_id = session.scalars(select(WorkItem.instance_id)).one()
    complete(rt, instance_id, "Activity_accept", {"supply_scheme": "external_works"})
    serve_system_steps(rt)  # the marketing system archives the customer
    [done] = outbox(rt, kind="link_completed", channel="email")
    assert done.recipient == "sun@example.com"
    assert "We check your application and confirm how your home will be supplied" in done.body
    # The external line is late; construction wrote the customer why.
    with rt.db.read() as session:
        line = session.scalars(
            select(WorkItem).where(WorkItem.element_id == "Activity_build_external_line")
        ).one()
    staff = portal.test_client()
    login(staff, "supervisor1")
    staff.post(
        f"/work-items/{line.id}/comment",
        data={"body": "道路开挖许可延迟", "for_customer": "1"},
    )
    clock.set(line.due_at + timedelta(minutes=1))
    assert triggers.late_links(rt) == 2  # e-mail and text message
    assert triggers.late_links(rt) == 0  # once per link
    [late] = outbox(rt, kind="link_late", channel="email")
    assert "We build the line to your home" in late.body and "道路开挖许可延迟" in late.body
    with rt.db.read() as session:
        demand_id = session.scalars(select(Demand.id)).one()
    sign_in_customer(rt, customer, "13400000001", "sun@example.com")  # days later
    page = customer.get(f"/portal/demands/{demand_id}")
    assert "This step is late." in page.text and "道路开挖许可延迟" in page.text


def test_an_outage_alarm_tells_the_feeders_customers_once(portal: Any, rt: Runtime) -> None:
    on_feeder, elsewhere = portal.test_client(), portal.test_client()
    sign_in_customer(rt, on_feeder, "13300000001", "zhou@example.com")
    sign_in_customer(rt, elsewhere, "13300000002", "wu@example.com")
    for client, feeder in ((on_feeder, "F-12"), (elsewhere, "F-99")):
        made = client.post(
            "/portal/apply/fault",
            data={
                "customer_name": "周",
                "address": "鼓楼区中山路 1 号",
                "area": "urban",
                "description": "No power since noon",
                "feeder": feeder,
            },
        )
        assert made.status_code == 302, made.text
    system = portal.test_client()
    headers = token(system, "integration1")
    event = {
        "type": "outage_alarm",
        "key": "scada-7731",
        "payload": {"feeder": "F-12", "area": "urban"},
    }
    first = system.post("/api/events", json=event, headers=headers)
    assert first.status_code == 201, first.text
    again = system.post("/api/events", json=event, headers=headers)
    assert again.status_code == 200
    told = outbox(rt, kind="outage")
    assert sorted((m.channel, m.recipient) for m in told) == [
        ("email", "zhou@example.com"),
        ("sms", "13300000001"),
    ]
    assert "F-12" in told[0].body and "expected back by" in told[0].body


class FailingSender:
    def __init__(self, permanent: bool = False) -> None:
        self.permanent = permanent
        self.tries = 0

    def send(self, recipient: str, subject: str, body: str) -> None:
        self.tries += 1
        raise SendError("connection refused", permanent=self.permanent)


def test_delivery_retries_with_a_growing_pause_then_gives_up(
    portal: Any, rt: Runtime, clock: SimulatedClock
) -> None:
    client = portal.test_client()
    assert ask_code(client, "13200000001", "qian@example.com").status_code == 302
    failing = FailingSender()
    assert delivery.deliver_round(rt, {"email": failing}).retrying == 1
    [row] = outbox(rt, kind="sign_in_code")
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "connection refused")
    assert delivery.deliver_round(rt, {"email": failing}).claimed == 0  # not due yet
    for pause in (1, 2, 4, 8, 16):
        clock.advance(timedelta(minutes=pause))
        delivery.deliver_round(rt, {"email": failing})
    [row] = outbox(rt, kind="sign_in_code")
    assert (row.status, row.attempts, failing.tries) == ("failed", 6, 6)
    # With no sender for a channel, messages are held for the outbox page.
    assert ask_code(client, "13200000002", "sun@example.com").status_code == 302
    assert delivery.deliver_round(rt, {}).held == 1
    admin_page = portal.test_client()
    from gridflow import users

    users.create_user(rt, "admin9", "correct-horse-9", ["admin"])
    admin_page.post("/login", data={"username": "admin9", "password": "correct-horse-9"})
    page = admin_page.get("/admin/outbox")
    assert page.status_code == 200 and "sun@example.com" in page.text


@pytest.fixture
def sms_gateway() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers["Content-Length"])
            received.append(
                {"auth": self.headers.get("Authorization"), **json.loads(self.rfile.read(length))}
            )
            self.send_response(202 if len(received) == 1 else 400)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", received
    server.shutdown()
    server.server_close()


def test_the_sms_gateway_adapter_posts_the_configured_json(
    sms_gateway: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = sms_gateway
    gateway = SmsGateway(url, '{"mobile": {phone}, "content": {text}, "sign": "国网"}', "t0k")
    gateway.send("13800138000", "ignored", 'Code 123456 "quoted"')
    assert received == [
        {
            "auth": "Bearer t0k",
            "mobile": "13800138000",
            "content": 'Code 123456 "quoted"',
            "sign": "国网",
        }
    ]
    with pytest.raises(SendError) as refused:
        gateway.send("13800138000", "", "again")
    assert refused.value.permanent  # a 400 will not change by retrying


def test_a_booked_then_moved_visit_is_told_once_each(portal: Any, rt: Runtime) -> None:
    customer = portal.test_client()
    sign_in_customer(rt, customer, "13000000001", "he@example.com")
    assert apply_lv(customer, "何").status_code == 302
    with rt.db.read() as session:
        demand = session.scalars(select(Demand)).one()
    now = rt.clock.now()
    for when, changed, key in (
        ("2026-03-03 09:00", False, "appointment:1"),
        ("2026-03-03 09:00", False, "appointment:1"),  # the same booking told again: once
        ("2026-03-04 14:00", True, "appointment:2"),
    ):
        with rt.db.transaction() as connection:
            triggers.appointment(connection, now, demand.id, when, changed=changed, key=key)
    told = [m.body for m in outbox(rt, kind="appointment", channel="email")]
    assert told == [
        f"Your visit for {demand.reference} is booked for 2026-03-03 09:00.",
        f"Your visit for {demand.reference} has moved to 2026-03-04 14:00.",
    ]
