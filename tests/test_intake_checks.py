"""Intake checks what a counter clerk would: a connection needs an address, a phone that reaches
the customer and a capacity within its voltage's range; a repair an address and a phone. Each
refused field has its own message in both languages, on the page and from the API, and nothing
is started."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import login, token
from sqlalchemy import func, select

from gridflow.intake import capacity_range, reachable_phone
from gridflow.models import Demand, Instance
from gridflow.runtime import Runtime

CONNECTION = {
    "customer_name": "Zhou Min",
    "customer_category": "residential",
    "channel": "counter",
    "category": "connection",
    "address": "12 Heping Road",
    "phone": "13800138000",
    "voltage": "low",
    "capacity_kw": "8",
    "supply": "single",
    "area": "urban",
    "priority": "1",
}
REPAIR = {**CONNECTION, "category": "repair", "channel": "call_centre", "capacity_kw": ""}

PHONE_EN = (
    "must reach the customer: a mobile number (11 digits, 13x to 19x) or a landline with its "
    "area code, e.g. 010-12345678 or 0571-87654321"
)
PHONE_ZH = "须能联系到客户：手机号（11 位，13x 至 19x）或带区号的固定电话，如 010-12345678 或 0571-87654321"
LV_RESIDENTIAL_EN = (
    "must be above 0 kW and at most 100 kW for a low-voltage connection of this customer "
    "(more: high voltage)"
)
LV_RESIDENTIAL_ZH = "低压接入须大于 0 kW、不超过 100 kW（更大容量请选高压）"
HV_BUSINESS_EN = (
    "must be above 100 kW for a high-voltage connection (up to that, low voltage) and at most "
    "10000000 kW"
)

# field changed → (field refused, English message)
BAD = [
    ({"address": "  "}, "address", "is required"),
    ({"phone": ""}, "phone", "is required"),
    ({"phone": "abc"}, "phone", PHONE_EN),
    ({"phone": "12345678"}, "phone", PHONE_EN),  # a landline without its area code
    ({"phone": "1234567890123"}, "phone", PHONE_EN),
    ({"capacity_kw": "0"}, "capacity_kw", LV_RESIDENTIAL_EN),
    ({"capacity_kw": "150"}, "capacity_kw", LV_RESIDENTIAL_EN),
    (
        {"customer_category": "business", "voltage": "high", "capacity_kw": "60"},
        "capacity_kw",
        HV_BUSINESS_EN,
    ),
]


def started(rt: Runtime) -> tuple[int, int]:
    with rt.db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Demand)) or 0,
            session.scalar(select(func.count()).select_from(Instance)) or 0,
        )


def test_what_counts_as_a_reachable_phone() -> None:
    for good in (
        "13800138000",
        "+86 139 0013 8000",
        "010-12345678",
        "0571-87654321",
        "025 5210 8800",
    ):
        assert reachable_phone(good), good
    for bad in ("abc", "12345678", "12800138000", "1380013800", "010-1234", "138001380001"):
        assert not reachable_phone(bad), bad


def test_capacity_ranges_follow_the_supply_voltage_rules() -> None:
    assert capacity_range("low", "residential", "urban").up_to == 100
    assert capacity_range("low", "small_micro", "urban").up_to == 160
    assert capacity_range("low", "small_micro", "rural").up_to == 100
    assert capacity_range("high", "small_micro", "urban").above == 160
    assert capacity_range("high", "business", "rural").above == 100


@pytest.mark.parametrize(("change", "field", "message"), BAD)
def test_the_intake_page_refuses_each_bad_field_and_starts_nothing(
    client: Any, rt: Runtime, change: dict[str, str], field: str, message: str
) -> None:
    login(client, "desk1")
    response = client.post("/demands/new", data={**CONNECTION, **change})
    assert response.status_code == 422
    assert f'data-field="{field}">{message}</div>' in response.text
    assert response.text.count('class="invalid-feedback d-block field-error"') == 1
    assert started(rt) == (0, 0)


@pytest.mark.parametrize(("change", "field", "message"), BAD)
def test_the_api_refuses_each_bad_field_in_both_languages_and_starts_nothing(
    client: Any, rt: Runtime, change: dict[str, str], field: str, message: str
) -> None:
    body: dict[str, Any] = {**CONNECTION, **change}
    body.pop("priority")
    capacity = body.pop("capacity_kw")
    body["capacity_kw"] = float(capacity) if capacity else 0
    response = client.post("/api/demands", json=body, headers=token(client, "desk1"))
    assert response.status_code == 422, response.text
    error = response.json["error"]
    assert list(error["fields"]) == [field]
    assert error["messages"][field]["en"] == message
    assert error["messages"][field]["zh_Hans"] not in ("", message)
    assert started(rt) == (0, 0)


def test_messages_in_chinese_on_the_page_and_from_the_api(client: Any, rt: Runtime) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(client, "desk1")
    page = client.post("/demands/new", data={**CONNECTION, "phone": "abc", "capacity_kw": "0"})
    assert page.status_code == 422
    assert f'data-field="phone">{PHONE_ZH}</div>' in page.text
    assert f'data-field="capacity_kw">{LV_RESIDENTIAL_ZH}</div>' in page.text
    body = {**CONNECTION, "phone": "abc", "capacity_kw": 0}
    body.pop("priority")
    answer = client.post("/api/demands", json=body, headers=token(client, "desk1"))
    assert answer.json["error"]["messages"]["phone"] == {"en": PHONE_EN, "zh_Hans": PHONE_ZH}
    assert started(rt) == (0, 0)


def test_a_repair_needs_an_address_and_a_phone_but_no_capacity(client: Any, rt: Runtime) -> None:
    login(client, "desk1")
    refused = client.post("/demands/new", data={**REPAIR, "address": "", "phone": ""})
    assert refused.status_code == 422
    assert 'data-field="address">is required</div>' in refused.text
    assert 'data-field="phone">is required</div>' in refused.text
    assert started(rt) == (0, 0)
    accepted = client.post("/demands/new", data=REPAIR)
    assert accepted.status_code == 302
    assert started(rt) == (1, 1)


def test_a_good_connection_is_taken_in(client: Any, rt: Runtime) -> None:
    login(client, "desk1")
    response = client.post("/demands/new", data={**CONNECTION, "phone": "0571-87654321"})
    assert response.status_code == 302
    assert started(rt) == (1, 1)
