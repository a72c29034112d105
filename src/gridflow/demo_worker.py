"""The demo's worker: the stand-in marketing, metering and finance systems serving external
tasks over gridflow's REST API, as a real integration would (`gridflow demo-worker`).

It signs in as an integration account, long-polls `fetchAndLock` for the topics it serves, and
answers each task with what `demo_systems.StandInSystems` says: complete with variables,
report a failure with the retries left, or throw a BPMN error. It signs in again when its
token expires and waits for the server when it is not up yet.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from gridflow.demo_systems import TOPICS, StandInSystems

LOCK_MS = 60_000
POLL_MS = 10_000


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"HTTP {status}: {message}")


class Client:
    """A small JSON client for gridflow's API (the standard library only)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 40.0):
        self.base = base_url.rstrip("/") + "/api"
        self.username = username
        self.password = password
        self.timeout = timeout
        self.token: str | None = None

    def call(self, method: str, path: str, payload: object | None = None) -> Any:  # noqa: ANN401
        if self.token is None and path != "/tokens":
            self.sign_in()
        try:
            return self._call(method, path, payload)
        except ApiError as exc:
            if exc.status != 401 or path == "/tokens":
                raise
            self.sign_in()  # the token expired or was revoked: sign in again once
            return self._call(method, path, payload)

    def sign_in(self) -> None:
        answer = self._call(
            "POST", "/tokens", {"username": self.username, "password": self.password}
        )
        self.token = str(answer["token"])

    def _call(self, method: str, path: str, payload: object | None) -> Any:  # noqa: ANN401
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        if self.token is not None and path != "/tokens":
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, KeyError, TypeError):
                detail = json.loads(detail)["error"]["message"]
            raise ApiError(exc.code, str(detail)) from exc
        return json.loads(text) if text else None


def serve(
    client: Client,
    systems: StandInSystems,
    *,
    worker_id: str = "demo-systems",
    topics: tuple[str, ...] = tuple(TOPICS),
    once: bool = False,
    say: Callable[[str], None] = print,
    wait_for_server_s: float = 60.0,
) -> int:
    """Serve tasks until stopped (or one round with `once`); how many tasks were answered."""
    started = time.monotonic()
    while True:
        try:
            client.sign_in()
            break
        except (urllib.error.URLError, ConnectionError) as exc:
            if time.monotonic() - started > wait_for_server_s:
                raise
            say(f"waiting for the server ({exc})")
            time.sleep(1.0)
    answered = 0
    request = {
        "workerId": worker_id,
        "maxTasks": 10,
        "usePriority": True,
        "asyncResponseTimeout": 0 if once else POLL_MS,
        "topics": [{"topicName": t, "lockDuration": LOCK_MS} for t in topics],
    }
    unreachable = 0
    while True:
        try:
            tasks = client.call("POST", "/external-task/fetchAndLock", request)
            unreachable = 0
        except (urllib.error.URLError, ConnectionError) as exc:
            unreachable += 1
            if unreachable * 2.0 > wait_for_server_s:
                say(f"server gone ({exc}); stopping")
                return answered
            say(f"server unreachable ({exc}); trying again")
            time.sleep(2.0)
            continue
        for task in tasks:
            answered += 1
            say(_answer(client, systems, worker_id, task))
        if once:
            return answered
        if not tasks:
            time.sleep(1.0)


def _answer(client: Client, systems: StandInSystems, worker_id: str, task: dict[str, Any]) -> str:
    variables = {k: v.get("value") for k, v in (task.get("variables") or {}).items()}
    answer = systems.answer(task["topicName"], task["businessKey"], variables, task["retries"])
    path = f"/external-task/{task['id']}"
    system = TOPICS.get(task["topicName"], task["topicName"])
    what = f"{system} · {task['activityName']} · {task['businessKey']}"
    try:
        if answer.kind == "complete":
            typed = {k: {"value": v} for k, v in answer.variables.items()}
            client.call("POST", f"{path}/complete", {"workerId": worker_id, "variables": typed})
            return f"done: {what} → {dict(answer.variables)}"
        if answer.kind == "bpmn_error":
            typed = {k: {"value": v} for k, v in answer.variables.items()}
            client.call(
                "POST",
                f"{path}/bpmnError",
                {
                    "workerId": worker_id,
                    "errorCode": answer.error_code,
                    "errorMessage": answer.message,
                    "variables": typed,
                },
            )
            return f"business error {answer.error_code}: {what} ({answer.message})"
        retries = max(answer.retries, 0)
        client.call(
            "POST",
            f"{path}/failure",
            {
                "workerId": worker_id,
                "errorMessage": answer.message,
                "errorDetails": answer.details,
                "retries": retries,
                "retryTimeout": answer.retry_timeout_ms,
            },
        )
        outcome = f"{retries} retries left" if retries else "no retries left: an incident"
        return f"failed: {what} ({answer.message}; {outcome})"
    except ApiError as exc:
        return f"not accepted: {what} ({exc})"
