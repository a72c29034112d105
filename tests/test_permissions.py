"""The role × route matrix: every route of the application's URL map, requested as every
shipped role and as no one, answers exactly what the permission table says
(`gridflow.app.permissions`). A route without an entry in the table fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import STAFF_PASSWORD, sign_in_customer

from gridflow import demands, users
from gridflow.app.permissions import ANYONE, ROLES, ROUTES, SHIPPED, is_api, route_key
from gridflow.customers import accounts
from gridflow.roles import Actor
from gridflow.runtime import Runtime

ANONYMOUS = "anonymous"
# The scenario: a high-voltage connection taken in by the front desk; its first link
# ("Accept application", an account manager's) is ready and held by nobody.
HV = demands.DemandInput(
    customer_name="Hongda Steel",
    customer_category="business",
    channel="counter",
    category="connection",
    address="88 Jianshe Road",
    phone="0571-8888 0000",
    voltage="high",
    capacity_kw=800,
    supply="dual",
)
MISSING = 999_999  # an id nothing has
# What each request of the matrix sends, beyond the path: chosen so that an allowed role is
# told something other than 403 and nothing changes (a stale version, an empty form).
PROBES: dict[str, dict[str, Any]] = {
    "POST /login": {"data": {"username": "nobody-{role}", "password": "not-the-password"}},
    "POST /language": {"data": {"locale": "en", "next": "/queue"}},
    "POST /work-items/<int:item_id>/claim": {"data": {"version": "-1"}},
    "POST /work-items/<int:item_id>/release": {"data": {"version": "-1"}},
    "POST /work-items/<int:item_id>/complete": {"data": {"version": "-1"}},
    "POST /work-items/<int:item_id>/comment": {"data": {"body": ""}},
    "POST /work-items/<int:item_id>/consult": {"data": {"role": "", "question": ""}},
    "POST /work-items/<int:item_id>/hand-over": {"data": {"username": "", "version": "-1"}},
    "POST /work-items/<int:item_id>/helpers": {"data": {"username": ""}},
    "POST /consultations/<int:consultation_id>/answer": {"data": {"answer": "yes"}},
    "POST /demands/new": {"data": {}},
    "POST /pool/profile": {"data": {}},
    "POST /pool/shift": {"data": {}},
    "POST /pool/leave": {"data": {}},
    "POST /pool/equipment": {"data": {}},
    "POST /designer/<process_id>/deploy": {"data": b"", "content_type": "application/xml"},
    "POST /designer/<process_id>/deploy/preview": {
        "data": b"",
        "content_type": "application/xml",
    },
    "POST /designer/upload": {"data": {}},
    "POST /designer/<process_id>/migrate": {"data": {}},
    "GET /designer/<process_id>/rollback": {"query_string": {"to": "1"}},
    "POST /designer/<process_id>/rollback": {"data": {}},  # no version named: 404
    "POST /designer/decisions/<decision_id>/deploy": {
        "data": b"",
        "content_type": "application/xml",
    },
    "POST /api/tokens": {"json": {"username": "nobody-{role}", "password": "not-the-password"}},
    "POST /api/demands": {"json": {}},
    "POST /api/work-items/<int:item_id>/claim": {"json": {"version": -1}},
    "POST /api/work-items/<int:item_id>/release": {"json": {"version": -1}},
    "POST /api/work-items/<int:item_id>/complete": {"json": {"version": -1, "data": {}}},
    "POST /api/work-items/<int:item_id>/hand-over": {"json": {"to": "nobody", "version": -1}},
    "POST /api/work-items/<int:item_id>/helpers": {"json": {}},
    "POST /api/definitions": {"data": b"", "content_type": "application/xml"},
    "POST /api/events": {"json": {"type": "outage_alarm", "key": "", "payload": {}}},
    "POST /api/dispatch/rounds": {"json": {"key": "matrix-{role}"}},
    "POST /api/external-task/fetchAndLock": {"json": {}},
    "POST /api/external-task/<int:task_id>/complete": {"json": {}},
    "POST /api/external-task/<int:task_id>/failure": {"json": {}},
    "POST /api/external-task/<int:task_id>/bpmnError": {"json": {}},
    "POST /api/external-task/<int:task_id>/extendLock": {"json": {}},
    "POST /api/external-task/<int:task_id>/unlock": {"json": {"workerId": "matrix"}},
    "PUT /api/external-task/<int:task_id>/retries": {"json": {"retries": 1}},
    "POST /api/instances/<int:instance_id>/cancel": {"json": {}},
    # Not the scenario's instance: a supervisor's page cancels without asking why.
    "POST /instances/<int:instance_id>/cancel": {"data": {}, "values": {"instance_id": MISSING}},
    "GET /work-items/<int:item_id>/documents/<int:document_id>": {
        "values": {"document_id": MISSING}
    },
    "POST /portal/code": {"data": {"phone": "not a phone"}},
    "POST /portal/sign-in": {"data": {"phone": "13900000000", "code": "000000"}},
    "GET /portal/apply/<kind_id>": {"values": {"kind_id": "lv_residential"}},
    "POST /portal/apply/<kind_id>": {"data": {}, "values": {"kind_id": "lv_residential"}},
    # The customer's own demand (the scenario's is the front desk's, not a customer's).
    "GET /portal/demands/<int:demand_id>": {"values": {"demand_id": "customer_demand_id"}},
    # The customer's own demand, not finished, its link no site visit: nothing to book or rate.
    "GET /portal/demands/<int:demand_id>/visits/<int:item_id>": {
        "values": {"demand_id": "customer_demand_id", "item_id": MISSING}
    },
    "POST /portal/demands/<int:demand_id>/visits/<int:item_id>": {
        "data": {},
        "values": {"demand_id": "customer_demand_id", "item_id": MISSING},
    },
    "GET /portal/demands/<int:demand_id>/rating": {"values": {"demand_id": "customer_demand_id"}},
    "POST /portal/demands/<int:demand_id>/rating": {
        "data": {},
        "values": {"demand_id": "customer_demand_id"},
    },
}
CUSTOMER_PHONE = "13800000001"
# These end what they are asked with (the session, the token): each gets a fresh one.
FRESH = {"POST /logout", "DELETE /api/tokens/current"}


def _fill(value: Any, role: str) -> Any:  # noqa: ANN401 - request data of any shape
    if isinstance(value, str):
        return value.replace("{role}", role)
    if isinstance(value, dict):
        return {k: _fill(v, role) for k, v in value.items()}
    return value


@pytest.fixture
def matrix(app: Any, rt: Runtime) -> dict[str, Any]:
    """An account of every shipped role and the scenario's objects."""
    for role in sorted(ROLES - {"customer"}):
        grants = ["event:outage_alarm"] if role == "integration" else []
        users.create_user(rt, f"m_{role}", STAFF_PASSWORD, [role], grants=grants)
    accepted = demands.create_demand(rt, HV, Actor("m_service_desk", frozenset({"service_desk"})))
    # Customers sign in with a code (no password); one has a demand of their own.
    customer = accounts.ensure_account(rt, CUSTOMER_PHONE, "matrix@example.com", "en")
    own = demands.create_demand(
        rt,
        demands.DemandInput("Matrix Home", "residential", "online", "connection", "1 Road"),
        Actor(customer.username, customer.roles, holds_work=False),
        customer_id=customer.id,
    )
    from conftest import open_items

    started = accepted.instances[0]
    [item] = open_items(rt, started.instance_id)
    assert (item.element_id, item.role, item.assignee) == (
        "Activity_accept",
        "account_manager",
        None,
    )
    return {
        "item_id": item.id,
        "demand_id": accepted.demand_id,
        "instance_id": started.instance_id,
        "definition_id": item.definition_id,
        "element_id": item.element_id,
        "process_id": started.process_id,
        "number": started.version,
        "consultation_id": MISSING,
        "appointment_id": MISSING,
        "offer_id": MISSING,
        "shift_id": MISSING,
        "leave_id": MISSING,
        "task_id": MISSING,
        "decision_id": "supply_voltage",
        "incident_id": MISSING,
        "package": "bootstrap",
        "filename": "css/bootstrap.min.css",
        "customer_demand_id": own.demand_id,
    }


def _path(rule: str, values: dict[str, Any]) -> str:
    path = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)
    if rule == "/static/<path:filename>":
        path = "/static/gridflow.css"
    return path


def _signed_in(app: Any, role: str, address: str) -> tuple[Any, dict[str, str]]:
    """A browser signed in as the role's account, and a bearer token of it."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if role == ANONYMOUS:
        return client, {}
    if role == "customer":
        # No API token for customers: the API answers them 401.
        return client, _customer_signs_in(client)
    credentials = {"username": f"m_{role}", "password": STAFF_PASSWORD}
    signed = client.post("/login", data=credentials)
    assert signed.status_code == 302, (role, signed.status_code)
    made = client.post("/api/tokens", json=credentials)
    assert made.status_code == 201, (role, made.text)
    return client, {"Authorization": f"Bearer {made.json['token']}"}


def _customer_signs_in(client: Any) -> dict[str, str]:
    sign_in_customer(client, client.application.extensions["gridflow"], CUSTOMER_PHONE)
    return {}


def expected(key: str, role: str) -> int:
    route = ROUTES[key]
    if role == "customer" and is_api(key.split(" ", 1)[1]) and route.who is not ANYONE:
        return 401
    if role == ANONYMOUS:
        if route.who is ANYONE:
            return route.probe
        return 401 if is_api(key.split(" ", 1)[1]) else 302
    return route.probe if role in SHIPPED[route.who] else 403


def test_every_route_has_an_entry_and_every_entry_a_route(app: Any) -> None:
    keys = {
        route_key(method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert sorted(keys - set(ROUTES)) == [], "routes missing from permissions.ROUTES"
    assert sorted(set(ROUTES) - keys) == [], "permissions.ROUTES names routes that do not exist"
    assert set(SHIPPED) >= {route.who for route in ROUTES.values()}
    # The table's roles are the shipped roles.
    assert set(app.extensions["gridflow"].roles.roles) == ROLES


def test_the_role_route_matrix(app: Any, matrix: dict[str, Any]) -> None:
    rules = sorted(
        (route_key(method, rule.rule), rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )
    wrong: list[str] = []
    for n, role in enumerate(sorted(ROLES) + [ANONYMOUS]):
        address = f"10.0.0.{n + 1}"
        client, headers = _signed_in(app, role, address)
        for key, rule in rules:
            method = key.split(" ", 1)[0]
            asking, auth = client, headers
            if key in FRESH and role != ANONYMOUS:
                asking, auth = _signed_in(app, role, address)
            probe = _fill(PROBES.get(key, {}), role)
            values = {**matrix, **probe.pop("values", {})}
            values = {k: matrix.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
            answer = asking.open(
                _path(rule, values),
                method=method,
                headers=auth if is_api(rule) else {},
                **probe,
            )
            answer.get_data()  # streamed exports: read to the end, then the request ends
            answer.close()
            want = expected(key, role)
            got = answer.status_code
            if got == 302 and role != ANONYMOUS and key != "POST /logout":
                # A signed-in role must never be sent to the sign-in page.
                assert "/login" not in answer.headers["Location"], (key, role)
            if got != want:
                wrong.append(f"{key} as {role}: {got}, table says {want}")
            if is_api(rule) and got >= 400:
                assert answer.is_json, (key, role, answer.text[:200])
    assert wrong == []
