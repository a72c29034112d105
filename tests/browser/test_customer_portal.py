"""A customer on a phone (Chromium at 390 × 844): asks for a sign-in code, reads it from a real
SMTP server the test runs on loopback (aiosmtpd), signs in, applies online for a low-voltage
residential connection with a document, and follows the links while staff work them: the
demand on the account manager's queue with the document, each link's department and state,
the standard's promise and the predicted dates, what the customer must do, and one e-mail per
completed link, delivered by a worker's outbox job to the SMTP server."""

from __future__ import annotations

import importlib.util
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import complete, serve_system_steps
from playwright.sync_api import Page, expect
from smtp_inbox import SmtpServer
from sqlalchemy import select

from gridflow import catalog, pool, users
from gridflow.clock import SimulatedClock
from gridflow.database import Database
from gridflow.models import WorkItem
from gridflow.notifications import delivery
from gridflow.notifications.senders import SmtpSender
from gridflow.roles import RoleBook
from gridflow.runtime import Runtime
from gridflow.working_time import WorkingCalendar

from .conftest import CHROMIUM, CHROMIUM_ARGS, NAVIGATION_TIMEOUT_MS, PASSWORD, PROCESSES, START

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PHONE = "13812345678"
EMAIL = "wang.fang@example.com"
CUSTOMER = "王芳"
PREDICTIONS = importlib.util.find_spec("gridflow.predictions") is not None
# Booking site visits and rating (gridflow.appointments, gridflow.ratings): offered when there.
BOOKING = importlib.util.find_spec("gridflow.appointments") is not None
RATING = importlib.util.find_spec("gridflow.ratings") is not None


class Portal:
    def __init__(self, url: str, rt: Runtime, clock: SimulatedClock, smtp: SmtpServer) -> None:
        self.url, self.rt, self.clock, self.smtp = url, rt, clock, smtp


@pytest.fixture(scope="module")
def portal(
    tmp_path_factory: pytest.TempPathFactory, roles: RoleBook, calendar: WorkingCalendar
) -> Iterator[Portal]:
    """The web app on loopback with e-mail through a real SMTP server and a worker delivering
    the outbox every 0.1 s (as `gridflow worker`'s outbox job does)."""
    from werkzeug.serving import make_server

    from gridflow.app import create_app

    folder = tmp_path_factory.mktemp("portal")
    url = f"sqlite:///{folder / 'gridflow.db'}"
    Database(url).migrate()
    clock = SimulatedClock(START)
    rt = Runtime.create(url, clock=clock, calendar=calendar, roles=roles)
    catalog.deploy_paths(rt, [PROCESSES], "test")
    users.create_user(rt, "manager1", PASSWORD, ["account_manager"])
    # A meter fitter on shift every working day, qualified for the installation visit.
    users.create_user(rt, "fitter1", PASSWORD, ["metering"])
    pool.save_profile(
        rt, "fitter1", department="metering", area="urban", max_load=3, skills="metering:3"
    )
    for weekday in range(5):
        pool.add_shift(rt, "fitter1", weekday, "09:00", "17:30", offset_minutes=8 * 60)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "SMS_CONFIGURED": False,
            "DOCUMENTS_DIR": str(folder / "documents"),
        },
        runtime=rt,
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    stop = threading.Event()
    with SmtpServer() as smtp:
        senders = {"email": SmtpSender("127.0.0.1", smtp.port, sender="service@grid.example")}

        def deliver() -> None:
            while not stop.wait(0.1):
                delivery.deliver_round(rt, senders)

        worker = threading.Thread(target=deliver, daemon=True)
        serving.start()
        worker.start()
        try:
            yield Portal(f"http://127.0.0.1:{server.server_port}", rt, clock, smtp)
        finally:
            stop.set()
            worker.join(timeout=10)
            server.shutdown()
            serving.join(timeout=10)
            server.server_close()
            rt.db.dispose()


@pytest.fixture
def browser(playwright_driver: Any, portal: Portal) -> Iterator[Any]:
    """A factory of fresh Chromium profiles on the portal: phone-sized or desk-sized."""
    contexts: list[Any] = []
    profiles: list[tempfile.TemporaryDirectory[str]] = []

    def open_page(width: int = 390, height: int = 844) -> Page:
        profile = tempfile.TemporaryDirectory(prefix="gridflow-chromium-")
        profiles.append(profile)
        context = playwright_driver.chromium.launch_persistent_context(
            user_data_dir=profile.name,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=portal.url,
            locale="en-US",
            timezone_id="Asia/Shanghai",
            viewport={"width": width, "height": height},
            is_mobile=width < 500,
            has_touch=width < 500,
        )
        contexts.append(context)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        return context.pages[0] if context.pages else context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    for profile in profiles:
        profile.cleanup()


def fits_the_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url


def code_from(mail: Any) -> str:
    found = re.search(r"\b(\d{6})\b", mail.get_content())
    assert found is not None
    return found.group(1)


def step(page: Page, words: str) -> Any:
    return page.locator("#steps li").filter(has_text=words)


def test_a_customer_on_a_phone_applies_and_follows_every_link(
    portal: Portal, browser: Any, tmp_path: Path
) -> None:
    phone = browser()
    phone.goto("/portal/")
    expect(phone).to_have_url(re.compile(r"/portal/sign-in$"))  # signed out: the portal's page
    phone.locator("#phone").fill(PHONE)
    phone.locator("#email").fill(EMAIL)
    phone.locator("#send-code").click()
    expect(phone.locator(".alert-success")).to_have_text("We sent a code to your e-mail address.")
    [mail] = portal.smtp.inbox.wait_for(EMAIL)
    assert mail["Subject"] == "Your gridflow sign-in code"
    fits_the_phone(phone)
    phone.locator("#code").fill(code_from(mail))
    phone.locator("#sign-in").click()
    expect(phone).to_have_url(re.compile(r"/portal/$"))
    expect(phone.locator("#my-demands")).to_contain_text("No applications yet.")

    # Apply online: a home connection with the identity card.
    phone.locator("#apply").click()
    phone.locator('[data-kind="lv_residential"]').click()
    expect(phone.locator("h1")).to_have_text("New supply for a home")
    fits_the_phone(phone)
    phone.locator("#customer_name").fill(CUSTOMER)
    phone.locator("#address").fill("秦淮区中华路 8 号 302 室")
    phone.locator("#capacity_kw").fill("8")
    identity = tmp_path / "身份证.pdf"
    identity.write_bytes(PDF)
    phone.locator("#doc-id_card").set_input_files(str(identity))
    phone.locator("#submit-application").click()
    expect(phone).to_have_url(re.compile(r"/portal/demands/\d+$"))
    reference = phone.locator("#reference").inner_text()
    assert re.fullmatch(r"D-2026-\d{6}", reference)
    first = step(phone, "We check your application and confirm how your home will be supplied")
    expect(first).to_contain_text("Customer Service Center")
    expect(first).to_contain_text("waiting")
    expect(first).to_contain_text("Promised by 2026-03-03 17:30")  # 2 working days
    expect(phone.locator("#demand-promise")).to_have_text(
        "Our promise: done by 2026-03-06 17:30"  # 5 working days from Monday 09:00
    )
    if PREDICTIONS:
        expect(phone.locator("#demand-likely")).to_contain_text("Likely done by 2026-")
        expect(phone.locator("#demand-latest")).to_contain_text("At the latest 2026-")
    else:
        expect(phone.locator("#demand-no-prediction")).to_be_visible()
    fits_the_phone(phone)
    received = portal.smtp.inbox.wait_for(EMAIL, 2)[1]
    assert received["Subject"] == f"{reference}: application received"

    # The account manager finds it on the team queue, with the document on the link.
    desk = browser(1366, 900)
    desk.goto("/login")
    desk.locator("#username").fill("manager1")
    desk.locator("#password").fill(PASSWORD)
    desk.locator("form:has(#password) button[type=submit]").click()
    desk.goto("/queue?scope=team")
    row = desk.locator("#queue tr[data-work-item]").filter(has_text=CUSTOMER)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Accept application and confirm supply scheme").click()
    documents = desk.locator("#customer-documents")
    expect(documents).to_contain_text("Identity card")
    expect(documents).to_contain_text("身份证.pdf")
    with desk.expect_download() as download:
        documents.get_by_role("link", name="Identity card").click()
    assert Path(download.value.path()).read_bytes() == PDF
    desk.locator("#field_id_checked_true").check()
    desk.locator("#field_supply_scheme").select_option("existing_line")
    desk.locator("#complete").click()
    expect(desk.locator(".alert-success")).to_contain_text("Completed")

    # Told by e-mail; on the phone the first link is done, the meter installation ahead.
    serve_system_steps(portal.rt)  # the marketing system archives, metering orders the meter
    done = portal.smtp.inbox.wait_for(EMAIL, 3)[2]
    assert done["Subject"] == f"{reference}: a step is done"
    assert "Done: We check your application and confirm how your home will be supplied." in (
        done.get_content()
    )
    phone.reload()
    expect(first).to_contain_text("done")
    meter = step(phone, "We install your meter and switch the power on")
    expect(meter).to_contain_text("Metering")
    expect(meter).to_contain_text("waiting")
    expect(meter.locator(".step-action")).to_have_text(
        "Be at the address (or send someone) so the visit can take place."
    )
    expect(phone.locator("#next-action")).to_contain_text("Be at the address")
    if PREDICTIONS:
        expect(meter.locator(".step-prediction")).to_contain_text("Likely by 2026-")
    fits_the_phone(phone)
    subjects = [
        "Your gridflow sign-in code",
        f"{reference}: application received",
        f"{reference}: a step is done",
    ]
    if BOOKING:
        # The customer books the meter installation from the fitters' free time.
        meter.locator(".step-book").click()
        expect(phone.locator("h1")).to_have_text("Book your visit")
        fits_the_phone(phone)
        phone.locator("#slots label").nth(1).click()
        phone.locator("#book").click()
        expect(phone.locator(".alert-success")).to_have_text("Your visit is booked.")
        visit = portal.smtp.inbox.wait_for(EMAIL, 4)[3]
        assert visit["Subject"] == f"{reference}: your visit"
        assert re.search(r"is booked for 2026-03-\d\d \d\d:\d\d\.", visit.get_content())
        subjects.append(f"{reference}: your visit")
    else:
        expect(phone.locator(".step-book")).to_have_count(0)

    # Metering installs the meter: the demand is finished, and the customer told again.
    with portal.rt.db.read() as session:
        install = session.scalars(
            select(WorkItem).where(WorkItem.element_id == "Activity_install_meter")
        ).one()
    complete(portal.rt, install.instance_id, "Activity_install_meter")
    serve_system_steps(portal.rt)
    subjects.append(f"{reference}: a step is done")
    last = portal.smtp.inbox.wait_for(EMAIL, len(subjects))[-1]
    assert "Done: We install your meter and switch the power on." in last.get_content()
    phone.reload()
    expect(meter).to_contain_text("done")
    expect(phone.locator("#summary")).to_contain_text("Finished")
    if RATING:
        # At the end, the customer rates the service and says the visit was on time.
        phone.locator("#rate").click()
        phone.locator("label[for=stars-5]").click()
        phone.locator("#rating input[value=yes]").first.check()
        phone.locator("#comment").fill("师傅准时，服务很好")
        fits_the_phone(phone)
        phone.locator("#send-rating").click()
        expect(phone.locator(".alert-success")).to_have_text("Thank you for rating our service.")
        expect(phone.locator("#rated")).to_have_text(
            "You rated this application 5 of 5. Thank you."
        )
    else:
        expect(phone.locator("#rate")).to_have_count(0)
    phone.goto("/portal/")
    expect(phone.locator("#my-demands")).to_contain_text(reference)
    expect(phone.locator("#my-demands")).to_contain_text("finished")
    # One e-mail per completed link, no more: the code, the receipt, two links (and the visit).
    assert [m["Subject"] for m in portal.smtp.inbox.to(EMAIL)] == subjects
    # A staff page is not for customers.
    assert phone.goto("/queue").status == 403  # type: ignore[union-attr]
