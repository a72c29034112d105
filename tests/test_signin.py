"""Signing in and staying signed in: the throttle (per account and per address, 429 with
Retry-After), sessions that end at logout, on a new sign-in, when idle or too old and when the
account is disabled; tokens that expire and are revoked at once; cookies Secure behind https;
the sign-in record admins read; the account commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import PROCESSES, STAFF_PASSWORD, login, token
from sqlalchemy import select

from gridflow import users
from gridflow.app import create_app
from gridflow.app.settings import from_environment, parse_duration
from gridflow.cli import main
from gridflow.clock import SimulatedClock
from gridflow.errors import ConfigurationError
from gridflow.models import ApiToken, SignInAttempt
from gridflow.runtime import Runtime

RIGHT = {"username": "desk1", "password": STAFF_PASSWORD}


def wrong(n: int) -> dict[str, str]:
    return {"username": "desk1", "password": f"guess-{n}"}


def test_the_sixth_wrong_password_within_a_minute_is_429_and_the_right_one_waits(
    client: Any, clock: SimulatedClock
) -> None:
    for n in range(5):
        assert client.post("/login", data=wrong(n)).status_code == 401
        clock.advance(timedelta(seconds=5))
    # Five failures in 20 s: locked for a minute from the fifth (at 20 s); now it is 25 s.
    sixth = client.post("/login", data=wrong(5))
    assert sixth.status_code == 429
    assert sixth.headers["Retry-After"] == "55"
    assert "Too many failed sign-ins for this account. Try again in 1 minute." in sixth.text
    refused = client.post("/login", data=RIGHT)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "55")
    api = client.post("/api/tokens", json=RIGHT)
    assert (api.status_code, api.headers["Retry-After"]) == (429, "55")
    assert api.json["error"]["code"] == "too_many_attempts"
    assert api.json["error"]["retry_after_s"] == 55
    clock.advance(timedelta(seconds=54))
    assert client.post("/login", data=RIGHT).status_code == 429  # one second to go
    clock.advance(timedelta(seconds=1))
    assert client.post("/login", data=RIGHT).status_code == 302


def test_each_failure_after_the_lock_doubles_it(client: Any, clock: SimulatedClock) -> None:
    for n in range(5):
        assert client.post("/login", data=wrong(n)).status_code == 401
    clock.advance(timedelta(minutes=1))
    assert client.post("/login", data=wrong(6)).status_code == 401  # checked, and wrong
    again = client.post("/login", data=RIGHT)
    assert (again.status_code, again.headers["Retry-After"]) == (429, "120")
    clock.advance(timedelta(minutes=2))
    assert client.post("/login", data=wrong(7)).status_code == 401
    assert client.post("/login", data=RIGHT).headers["Retry-After"] == "240"


def test_an_address_trying_many_accounts_is_locked_too(app: Any, clock: SimulatedClock) -> None:
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for n in range(20):
        name = f"user{n}"
        assert guesser.post("/login", data={"username": name, "password": "x"}).status_code == 401
    locked = guesser.post("/login", data=RIGHT)
    assert locked.status_code == 429
    assert "Too many failed sign-ins from your address" in locked.text
    # Another address signs in as usual.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    assert other.post("/login", data=RIGHT).status_code == 302


def test_sign_ins_and_failures_are_recorded_and_shown_to_admins(
    app: Any, client: Any, rt: Runtime, clock: SimulatedClock
) -> None:
    for n in range(6):
        client.post("/login", data=wrong(n))
    client.post("/api/tokens", json={"username": "meter1", "password": STAFF_PASSWORD})
    with rt.db.read() as session:
        outcomes = session.execute(
            select(SignInAttempt.username, SignInAttempt.channel, SignInAttempt.outcome).order_by(
                SignInAttempt.id
            )
        ).all()
    assert [tuple(o) for o in outcomes] == [
        *[("desk1", "page", "failed")] * 5,
        ("desk1", "page", "throttled"),
        ("meter1", "api", "signed_in"),
    ]
    users.create_user(rt, "admin1", STAFF_PASSWORD, ["admin"])
    admin = app.test_client()
    login(admin, "admin1")
    page = admin.get("/admin/sign-ins")
    assert page.status_code == 200
    assert page.text.count('data-outcome="failed"') == 5
    assert page.text.count('data-outcome="throttled"') == 1
    assert "account desk1" in page.text  # locked now
    login(client, "meter1")
    assert client.get("/admin/sign-ins").status_code == 403


def test_after_logout_a_replayed_cookie_is_refused(client: Any) -> None:
    login(client, "desk1")
    copied = client.get_cookie("session").value
    assert client.get("/queue").status_code == 200
    client.post("/logout")
    client.set_cookie("session", copied)
    replayed = client.get("/queue")
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/login")


def test_a_sign_in_makes_a_new_session_and_ends_the_one_before(client: Any) -> None:
    login(client, "desk1")
    first = client.get_cookie("session").value
    login(client, "desk1")
    second = client.get_cookie("session").value
    assert second != first
    assert client.get("/queue").status_code == 200
    client.set_cookie("session", first)
    assert client.get("/queue").status_code == 302


def test_sessions_end_when_idle_and_when_too_old(client: Any, clock: SimulatedClock) -> None:
    login(client, "desk1")
    clock.advance(timedelta(hours=1, minutes=59))
    assert client.get("/queue").status_code == 200  # idle under 2 hours
    clock.advance(timedelta(hours=2))
    assert client.get("/queue").status_code == 302  # idle 2 hours: signed out
    login(client, "desk1")
    for _hour in range(11):
        clock.advance(timedelta(hours=1))
        assert client.get("/queue").status_code == 200
    clock.advance(timedelta(hours=1))
    assert client.get("/queue").status_code == 302  # 12 hours after signing in


def test_lifetimes_are_configurable(rt: Runtime, clock: SimulatedClock) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "WTF_CSRF_ENABLED": False,
            **from_environment(
                {"GRIDFLOW_SESSION_IDLE": "10m", "GRIDFLOW_TOKEN_LIFETIME": "1h30m"}
            ),
        },
        runtime=rt,
    )
    users.create_user(rt, "desk9", STAFF_PASSWORD, ["service_desk"])
    client = app.test_client()
    client.post("/login", data={"username": "desk9", "password": STAFF_PASSWORD})
    made = client.post("/api/tokens", json={"username": "desk9", "password": STAFF_PASSWORD})
    assert made.json["expires_at"] == (clock.now() + timedelta(minutes=90)).isoformat()
    headers = {"Authorization": f"Bearer {made.json['token']}"}
    clock.advance(timedelta(minutes=11))
    assert client.get("/queue").status_code == 302
    assert client.get("/api/work-items", headers=headers).status_code == 200
    clock.advance(timedelta(minutes=79))
    assert client.get("/api/work-items", headers=headers).status_code == 401


def test_an_expired_token_is_refused(client: Any, clock: SimulatedClock) -> None:
    headers = token(client, "desk1")
    clock.advance(timedelta(hours=7, minutes=59))
    assert client.get("/api/work-items", headers=headers).status_code == 200
    clock.advance(timedelta(minutes=1))  # 8 hours: a working day
    expired = client.get("/api/work-items", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == 'Bearer realm="gridflow"'


def test_a_revoked_token_stops_working_at_once(client: Any) -> None:
    headers = token(client, "desk1")
    other = token(client, "desk1")
    assert client.get("/api/work-items", headers=headers).status_code == 200
    assert client.delete("/api/tokens/current", headers=headers).status_code == 204
    assert client.get("/api/work-items", headers=headers).status_code == 401
    assert client.delete("/api/tokens/current", headers=headers).status_code == 401
    assert client.get("/api/work-items", headers=other).status_code == 200  # only that one


def test_after_user_disable_its_token_and_session_are_refused_at_once(
    app: Any, client: Any, rt: Runtime, database_url: str
) -> None:
    headers = token(client, "desk1")
    login(client, "desk1")
    assert client.get("/api/work-items", headers=headers).status_code == 200
    assert client.get("/queue").status_code == 200
    result = cli(database_url, "user", "disable", "desk1")
    assert result.output == "disabled desk1; ended 2 session(s) and token(s)\n"
    assert client.get("/api/work-items", headers=headers).status_code == 401
    assert client.get("/queue").status_code == 302
    assert client.post("/login", data=RIGHT).status_code == 401
    assert (
        "desk1                service_desk  (disabled)" in cli(database_url, "user", "list").output
    )
    cli(database_url, "user", "enable", "desk1")
    assert client.get("/api/work-items", headers=headers).status_code == 401  # stays ended
    assert client.post("/login", data=RIGHT).status_code == 302


def test_a_token_is_shown_only_when_made_and_revoked_by_the_command(
    client: Any, rt: Runtime, database_url: str
) -> None:
    made = client.post("/api/tokens", json=RIGHT)
    secret = made.json["token"]
    headers = {"Authorization": f"Bearer {secret}"}
    with rt.db.read() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert secret not in stored and len(stored) == 1
    listed = cli(database_url, "token", "list", "--user", "desk1").output
    assert "desk1" in listed and "made 2026-03-02 01:00 UTC" in listed and secret not in listed
    assert cli(database_url, "token", "revoke", "--user", "desk1").output == (
        "revoked 1 token(s) of desk1\n"
    )
    assert client.get("/api/work-items", headers=headers).status_code == 401
    assert "revoked" in cli(database_url, "token", "list").output


def cli(database_url: str, *args: str) -> Any:  # noqa: ANN401 - click's Result
    result = CliRunner(env={"GRIDFLOW_PROCESSES": str(PROCESSES)}).invoke(
        main, [*args, "--database", database_url]
    )
    assert result.exit_code == 0, result.output
    return result


def test_integration_accounts_are_made_with_grants_and_changed_by_command(
    rt: Runtime, database_url: str
) -> None:
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    made = cli(
        database_url,
        "user",
        "add",
        "scada",
        "--password",
        "long-enough-1",
        "--role",
        "integration",
        "--grant",
        "event:outage_alarm",
        "--grant",
        "topic:meter_order",
    )
    assert made.output == (
        "created scada with roles integration; grants event:outage_alarm, topic:meter_order\n"
    )
    assert cli(database_url, "user", "grant", "scada", "event:meter_connected").output == (
        "scada: event:meter_connected, event:outage_alarm, topic:meter_order\n"
    )
    assert cli(database_url, "user", "revoke", "scada", "event:outage_alarm").output == (
        "scada: event:meter_connected, topic:meter_order\n"
    )
    runner = CliRunner(env={"GRIDFLOW_PROCESSES": str(PROCESSES)})
    typo = runner.invoke(
        main, ["user", "grant", "scada", "event:outage", "--database", database_url]
    )
    assert typo.exit_code == 1
    assert "no event type outage to post; known: meter_connected, outage_alarm" in typo.output
    clerk = runner.invoke(
        main,
        ["user", "add", "clerk9", "--password", "long-enough-1", "--role", "service_desk",
         "--grant", "event:outage_alarm", "--database", database_url],
    )  # fmt: skip
    assert "grants are for integration accounts" in clerk.output


def test_grants_say_what_an_account_may_post_and_serve(rt: Runtime) -> None:
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    scada = users.create_user(
        rt, "scada", "long-enough-1", ["integration"], grants=["event:outage_alarm", "topic:ami"]
    )
    supervisor = users.create_user(rt, "sup", "long-enough-1", ["supervisor"])
    clerk = users.create_user(rt, "clerk", "long-enough-1", ["service_desk"])
    assert (scada.may_post_event("outage_alarm"), scada.may_post_event("meter_connected")) == (
        True,
        False,
    )
    assert (scada.may_serve_topic("ami"), scada.may_serve_topic("meter_order")) == (True, False)
    assert supervisor.may_post_event("meter_connected") and not supervisor.may_serve_topic("ami")
    assert not clerk.may_post_event("outage_alarm") and not clerk.may_serve_topic("ami")
    assert not scada.is_person and not scada.holds_work
    with pytest.raises(users.UserError, match="write event:<event type> or topic:"):
        users.create_user(rt, "bad", "long-enough-1", ["integration"], grants=["events:x"])


def _cookie_flags(app: Any, **environ: str) -> str:
    client = app.test_client()
    response = client.post("/login", data=RIGHT, environ_base=environ)
    assert response.status_code == 302
    return str(response.headers["Set-Cookie"])


def test_cookies_are_secure_when_configured_or_behind_an_https_proxy(rt: Runtime) -> None:
    base = {"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False}
    users.create_user(rt, "desk1", STAFF_PASSWORD, ["service_desk"])
    plain = create_app({**base, **from_environment({})}, runtime=rt)
    assert "Secure" not in _cookie_flags(plain)
    assert "HttpOnly" in _cookie_flags(plain) and "SameSite=Lax" in _cookie_flags(plain)
    # A forwarded "https" from no trusted proxy is anyone's say: ignored.
    assert "Secure" not in _cookie_flags(plain, HTTP_X_FORWARDED_PROTO="https")
    forced = create_app({**base, **from_environment({"GRIDFLOW_SECURE_COOKIES": "1"})}, runtime=rt)
    assert "Secure" in _cookie_flags(forced)
    proxied = create_app(
        {**base, **from_environment({"GRIDFLOW_TRUSTED_PROXIES": "1"})}, runtime=rt
    )
    assert "Secure" in _cookie_flags(proxied, HTTP_X_FORWARDED_PROTO="https")
    behind = proxied.test_client().get(
        "/login",
        environ_base={"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "192.0.2.9"},
    )
    assert behind.headers["Strict-Transport-Security"] == "max-age=31536000"
    # The throttle counts the client's address, as the trusted proxy gives it.
    client = proxied.test_client()
    client.post(
        "/login",
        data={"username": "desk1", "password": "wrong"},
        environ_base={"HTTP_X_FORWARDED_FOR": "192.0.2.9", "REMOTE_ADDR": "10.1.1.1"},
    )
    with rt.db.read() as session:
        assert session.scalars(select(SignInAttempt.address)).all()[-1] == "192.0.2.9"


def test_durations_in_settings() -> None:
    assert parse_duration("8h", "X") == timedelta(hours=8)
    assert parse_duration("1h30m", "X") == timedelta(minutes=90)
    assert parse_duration("1d", "X") == timedelta(days=1)
    with pytest.raises(ConfigurationError, match="X='soon': write a duration such as 8h"):
        parse_duration("soon", "X")
    with pytest.raises(ConfigurationError, match="GRIDFLOW_TRUSTED_PROXIES='many'"):
        from_environment({"GRIDFLOW_TRUSTED_PROXIES": "many"})
