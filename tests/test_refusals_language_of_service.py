"""The refusals of the customer portal (booking a site visit, rating a finished demand), the
service pages (a link's appointment, a package offer) and the manpower pages (the skill pool)
are said in the reader's language: catalogue texts with their values, translated on the page
that shows them, English for an English reader. And a refusal no page catches itself is said
by the pages' catch-all in the reader's language, with the API's status."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from conftest import (
    CHINESE,
    ENGLISH,
    complete,
    item_for,
    login,
    post_in_both_languages,
    sign_in_customer,
)
from flask.testing import FlaskClient

from gridflow import appointments, demands, pool, system_tasks, users
from gridflow.customers import accounts, services
from gridflow.customers.services import ServiceError
from gridflow.demands import DemandInput
from gridflow.errors import ConflictError, NotFoundError
from gridflow.ratings import RatingError
from gridflow.roles import Actor
from gridflow.runtime import Runtime
from gridflow.texts import _ as gettext
from gridflow.texts import refusal

PHONE = "13900000007"


def _text(page: Any) -> str:
    return html.unescape(page.text)


def _browser(app: Any) -> FlaskClient:
    return FlaskClient(app, app.response_class, use_cookies=True)


def _customer_demand(rt: Runtime, data: DemandInput) -> tuple[int, int]:
    """A demand of the portal's customer, whose account has no language of its own: each
    request's Accept-Language chooses the page's."""
    customer = accounts.ensure_account(rt, PHONE, "wang@example.com", None)
    made = demands.create_demand(
        rt,
        data,
        Actor(customer.username, customer.roles, holds_work=False),
        customer_id=customer.id,
    )
    return made.demand_id, made.instances[0].instance_id


def _customer(app: Any, rt: Runtime) -> FlaskClient:
    """The customer signed in with the code the outbox holds (as the text message brings it)."""
    client = _browser(app)
    sign_in_customer(client, rt, PHONE)
    return client


def _ev_charger(rt: Runtime) -> tuple[int, int]:
    """The customer's EV charger demand at its site survey, a visit the customer books."""
    demand_id, instance = _customer_demand(
        rt,
        DemandInput(
            "Wang household", "residential", "online", "ev_charger", "1 Road", capacity_kw=11.0
        ),
    )
    complete(rt, instance, "Activity_accept")
    return demand_id, item_for(rt, instance, "Activity_survey").id


# --- the customer portal -----------------------------------------------------------------------


def test_a_customer_booking_a_visit_too_soon_reads_why_in_chinese(app: Any, rt: Runtime) -> None:
    demand_id, survey = _ev_charger(rt)
    customer = _customer(app, rt)
    path = f"/portal/demands/{demand_id}/visits/{survey}"
    # Monday 09:00 in Beijing: 10:00 is less than two hours ahead.
    soon = (rt.clock.now() + timedelta(hours=1)).isoformat()
    page = customer.post(path, data={"slot": soon}, headers=CHINESE)
    assert page.status_code == 422
    assert (
        '<div class="alert alert-danger" id="booking-problem">上门服务须至少提前两小时预约</div>'
        in (page.text)
    )
    english = customer.post(path, data={"slot": soon}, headers=ENGLISH)
    assert english.status_code == 422
    assert 'id="booking-problem">a visit is booked at least two hours ahead</div>' in english.text
    assert appointments.for_work_item(rt, survey) is None


def test_the_portals_refusal_keeps_the_engines_catalogue_text_and_values(rt: Runtime) -> None:
    demand_id, _survey = _ev_charger(rt)
    customer = Actor("customer-13900000007", frozenset({"customer"}), holds_work=False)
    with pytest.raises(ServiceError) as refused:
        services.rate(rt, demand_id, 3, "x" * 2001, {}, customer)
    assert isinstance(refused.value.__cause__, RatingError)
    assert str(refused.value) == "the comment must be text of at most 2000 characters"
    assert refusal(refused.value, "zh_Hans") == "评价内容最多 2000 个字符"
    with pytest.raises(ServiceError) as early:
        services.rate(rt, demand_id, 3, "", {}, customer)
    assert refusal(early.value, "zh_Hans") == "申请办结后才能评价"
    assert refusal(early.value, "en") == "a demand is rated once it is finished"


def test_a_customer_rating_a_cancelled_application_reads_why_in_chinese(
    app: Any, rt: Runtime
) -> None:
    # The application is cancelled: the portal shows it ended and asks for a rating, which
    # only a demand finished (a process completed) takes.
    demand_id, instance = _customer_demand(
        rt, DemandInput("Wang household", "residential", "online", "repair", "1 Road")
    )
    supervisor = Actor("supervisor1", frozenset({"supervisor"}))
    system_tasks.cancel(rt, instance, supervisor, "reported twice")
    customer = _customer(app, rt)
    path = f"/portal/demands/{demand_id}/rating"
    page = customer.post(path, data={"stars": "4"}, headers=CHINESE)
    assert page.status_code == 422
    assert '<div class="alert alert-danger" id="rating-problem">申请办结后才能评价</div>' in (
        page.text
    )
    english = customer.post(path, data={"stars": "4"}, headers=ENGLISH)
    assert english.status_code == 422
    assert 'id="rating-problem">a demand is rated once it is finished</div>' in english.text
    assert services.rating_of(rt, demand_id) is None


def _fault(rt: Runtime) -> tuple[int, int]:
    """The customer's fault report graded an emergency (a line down), its crew on site: the
    repair visit is open, and an emergency is not booked."""
    demand_id, instance = _customer_demand(
        rt, DemandInput("Wang household", "residential", "online", "repair", "1 Road")
    )
    complete(
        rt, instance, "Activity_accept", {"fault_type": "line_down", "customer_importance": "none"}
    )
    complete(rt, instance, "Activity_dispatch")
    complete(rt, instance, "Activity_arrive", {"materials_needed": False})
    return demand_id, item_for(rt, instance, "Activity_restore").id


def test_a_customers_emergency_repair_offers_no_visit_to_book(app: Any, rt: Runtime) -> None:
    # The crew of an emergency repair comes at once: the portal offers no time to choose, and
    # the visit's page, asked for all the same, is not there.
    demand_id, restore = _fault(rt)
    customer = _customer(app, rt)
    path = f"/portal/demands/{demand_id}/visits/{restore}"
    demand_page = customer.get(f"/portal/demands/{demand_id}", headers=CHINESE)
    assert demand_page.status_code == 200
    assert path not in demand_page.text
    assert "选择上门时间" not in demand_page.text
    assert customer.get(path, headers=CHINESE).status_code == 404
    assert services.bookable(rt, demand_id, [restore]) == set()


def test_a_refusal_no_page_catches_is_said_in_the_readers_language_with_its_status(
    app: Any,
) -> None:
    # The pages' catch-all for a refusal a page did not handle itself: the refusal in the
    # reader's language, with the status the API gives it.
    refused = ConflictError(gettext("%(link)s was already completed"), link="Accept application")
    for headers, status, text in (
        (CHINESE, 409, "“Accept application”已办结"),
        (ENGLISH, 409, "Accept application was already completed"),
    ):
        with app.test_request_context("/", headers=headers):
            body, code = app.handle_user_exception(refused)
        assert code == status
        assert text in html.unescape(body)
    with app.test_request_context("/", headers=ENGLISH):
        body, code = app.handle_user_exception(
            NotFoundError(gettext("work item %(id)s does not exist"), id=7)
        )
    assert (code, "work item 7 does not exist" in body) == (404, True)


# --- the service pages -------------------------------------------------------------------------


def test_staff_recording_a_visit_before_its_slot_read_why_in_chinese(app: Any, rt: Runtime) -> None:
    pool.save_profile(
        rt, "planner1", department="planning_design", area="urban", max_load=3, skills="design:2"
    )
    for weekday in range(5):
        pool.add_shift(rt, "planner1", weekday, "09:00", "17:30", offset_minutes=480)
    _demand_id, survey = _ev_charger(rt)
    slot = appointments.free_slots(rt, survey, days=1)[0].starts_at
    visit = appointments.book(rt, survey, slot, Actor("planner1", frozenset({"planning_design"})))
    planner = _browser(app)
    login(planner, "planner1")
    page = planner.post(f"/appointments/{visit.id}/kept", headers=CHINESE, follow_redirects=True)
    assert (
        '<div class="alert alert-danger" role="alert">预约时段开始后才能记录是否按约上门</div>'
        in page.text
    )
    english = planner.post(f"/appointments/{visit.id}/kept", headers=ENGLISH, follow_redirects=True)
    assert (
        'role="alert">a visit is recorded as kept or missed once its slot has begun</div>'
        in english.text
    )
    kept = appointments.for_work_item(rt, survey)
    assert kept is not None and kept.state == "booked"


def test_the_desk_answering_an_offer_twice_reads_why_in_chinese(app: Any, rt: Runtime) -> None:
    accepted = demands.create_demand(
        rt, DemandInput("Sun household", "residential", "counter", "connection", capacity_kw=12.0)
    )
    desk = _browser(app)
    login(desk, "desk1")
    page = desk.get(f"/demands/{accepted.demand_id}", headers=ENGLISH)
    offer_id = page.text.split('action="/offers/')[1].split("/")[0]
    assert desk.post(f"/offers/{offer_id}/answer", data={"answer": "accept"}).status_code == 302
    again, english = post_in_both_languages(
        desk, f"/offers/{offer_id}/answer", {"answer": "decline"}
    )
    assert '<div class="alert alert-warning" role="alert">该推荐已被接受</div>' in again.text
    assert 'role="alert">this offer was accepted already</div>' in english.text


# --- the manpower pages ------------------------------------------------------------------------


def test_a_supervisor_keeping_the_pool_reads_why_an_entry_is_refused_in_chinese(
    app: Any, rt: Runtime
) -> None:
    users.create_user(rt, "boss", "correct-horse-9", ["supervisor"])
    boss = _browser(app)
    login(boss, "boss")
    profile = {"username": "x", "department": "metering", "area": "moon", "max_load": "2"}
    page = boss.post("/pool/profile", data=profile, headers=CHINESE, follow_redirects=True)
    assert (
        '<div class="alert alert-danger" role="alert">'
        "供电区域 'moon' 不在可选范围内：urban, rural, remote</div>"
    ) in _text(page)
    english = boss.post("/pool/profile", data=profile, headers=ENGLISH, follow_redirects=True)
    assert "role=\"alert\">area 'moon' is not one of: urban, rural, remote</div>" in _text(english)
    pool.save_profile(rt, "x", department="metering", area="urban", max_load=2)
    leave = {"username": "x", "starts": "2026-03-09T09:00", "ends": "2026-03-09T09:00"}
    page = boss.post("/pool/leave", data=leave, headers=CHINESE, follow_redirects=True)
    assert 'role="alert">请假结束时间须晚于开始时间</div>' in page.text
    english = boss.post("/pool/leave", data=leave, headers=ENGLISH, follow_redirects=True)
    assert 'role="alert">leave must end after it starts</div>' in english.text
    shift = {"username": "nobody", "weekday": "0", "start": "08:00", "end": "17:00"}
    page = boss.post("/pool/shift", data=shift, headers=CHINESE, follow_redirects=True)
    assert "role=\"alert\">'nobody' 没有人员档案</div>" in _text(page)


def test_a_supervisor_giving_a_bad_skill_list_reads_why_in_chinese_and_nothing_is_saved(
    app: Any, rt: Runtime
) -> None:
    users.create_user(rt, "boss", "correct-horse-9", ["supervisor"])
    boss = _browser(app)
    login(boss, "boss")
    profile = {"username": "x", "department": "metering", "area": "urban", "max_load": "2"}
    for skills, chinese, english in (
        (
            "repair:2, Live Line",
            "技能：'Live Line' 不是“技能:等级”的写法（小写英文名称，例如 repair:2）",
            "skills: 'Live Line' is not skill:level (a lower-case name such as repair:2)",
        ),
        (
            "repair:9",
            "技能：'repair' 的等级须为 1 到 5，而不是 '9'",
            "skills: level of 'repair' must be 1 to 5, not '9'",
        ),
        ("repair:1, repair:2", "技能：'repair' 填写了两次", "skills: 'repair' appears twice"),
    ):
        form = {**profile, "skills": skills}
        page = boss.post("/pool/profile", data=form, headers=CHINESE, follow_redirects=True)
        assert f'<div class="alert alert-danger" role="alert">{chinese}</div>' in _text(page)
        page = boss.post("/pool/profile", data=form, headers=ENGLISH, follow_redirects=True)
        assert f'role="alert">{english}</div>' in _text(page)
    assert pool.person(rt, "x") is None


def test_a_supervisor_handing_a_link_over_to_nobody_reads_why_naming_the_link_in_chinese(
    app: Any, rt: Runtime
) -> None:
    accepted = demands.create_demand(
        rt, DemandInput("Sun household", "residential", "counter", "connection", capacity_kw=8.0)
    )
    accept = item_for(rt, accepted.instances[0].instance_id, "Activity_accept")
    supervisor = _browser(app)
    login(supervisor, "supervisor1")
    path = f"/work-items/{accept.id}/hand-over"
    nobody = {"username": " ", "version": str(accept.lock_version)}
    page = supervisor.post(path, data=nobody, headers=CHINESE, follow_redirects=True)
    assert 'role="alert">“受理申请并确认供电方案”：请转交给其他人</div>' in page.text
    english = supervisor.post(path, data=nobody, headers=ENGLISH, follow_redirects=True)
    assert (
        'role="alert">Accept application and confirm supply scheme: hand it over to someone '
        "else</div>" in english.text
    )
