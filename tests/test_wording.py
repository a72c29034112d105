"""Durations and codes are words on screen, in both languages: ISO durations from the BPMN
files, elapsed times, and the names of channels, customer categories, areas and weekdays."""

from __future__ import annotations

from typing import Any

from conftest import STAFF_PASSWORD, login
from flask_babel import force_locale

from gridflow import users
from gridflow.app import wording
from gridflow.runtime import Runtime

CASES = [
    # (ISO text, basis) → (English, Chinese)
    (("P20D", "working"), ("20 working days", "20 个工作日")),
    (("P1D", "working"), ("1 working day", "1 个工作日")),
    (("P1W", "working"), ("5 working days", "5 个工作日")),
    (("P3D", "calendar"), ("3 calendar days", "3 个自然日")),
    (("PT45M", "calendar"), ("45 minutes", "45 分钟")),
    (("PT1H", "calendar"), ("1 hour", "1 小时")),
    (("PT24H", "calendar"), ("24 hours", "24 小时")),
    (("P1DT4H", "working"), ("1 working day 4 hours", "1 个工作日 4 小时")),
    (
        ("PT4H55M–PT7H10M", "calendar"),
        ("4 hours 55 minutes–7 hours 10 minutes", "4 小时 55 分钟–7 小时 10 分钟"),
    ),
]


def test_iso_durations_in_words_in_both_languages(app: Any) -> None:
    with app.test_request_context():
        for (text, basis), (english, chinese) in CASES:
            with force_locale("en"):
                assert wording.standard_words(text, basis) == english
            with force_locale("zh_Hans"):
                assert wording.standard_words(text, basis) == chinese
        with force_locale("en"):
            assert wording.elapsed_words(3 * 86400 + 2 * 3600) == "3 days 2 hours"
            assert wording.elapsed_words(45 * 60) == "45 minutes"
            assert wording.working_words(2 * 7 * 3600 + 3 * 3600, 7 * 3600) == (
                "2 working days 3 hours"
            )
            assert wording.code_name("channel", "call_centre") == "call centre (95598)"
            assert wording.code_name("customer_category", "small_micro") == (
                "small or micro enterprise"
            )
            assert wording.code_name("weekday", 0) == "Monday"
        with force_locale("zh_Hans"):
            assert wording.elapsed_words(3 * 86400 + 2 * 3600) == "3 天 2 小时"
            assert wording.code_name("channel", "call_centre") == "95598客服热线"
            assert wording.code_name("customer_category", "small_micro") == "小微企业"
            assert wording.code_name("area", "rural") == "农村"
            assert wording.code_name("weekday", 0) == "星期一"


def test_the_designer_page_shows_standards_in_words(client: Any, rt: Runtime) -> None:
    users.create_user(rt, "designer9", STAFF_PASSWORD, ["designer"])
    login(client, "designer9")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = client.get("/designer/hv_connection")
    assert page.status_code == 200
    assert '<td class="standard">20 个工作日</td>' in page.text
    assert "P20D" not in page.text and "(working" not in page.text
