"""Schemathesis against /api/openapi.json, as `schemathesis run --checks all` runs it: every
operation, every phase but the stateful one (examples, boundary-value coverage, fuzzing, valid
and invalid data), a fixed number of examples per operation and a fixed seed, so a run is
reproducible and bounded. The API is served over real HTTP on 127.0.0.1, on SQLite and (when
GRIDFLOW_TEST_POSTGRES_URL is set, as in CI) on PostgreSQL, and fuzzed once with the token of
a front-desk clerk and once with a supervisor's. Every check must hold: no server error, and
every status, content type, header and body as the document says."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import STAFF_PASSWORD, open_items
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from gridflow import demands
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# The budget: at most this many generated requests per operation and phase (the coverage
# phase adds its boundary values). About 1,500 requests per role and database.
EXAMPLES = 15
SEED = 20_611
# Two roles with different rights: a front-desk clerk (takes demands, holds links) and a
# supervisor (dispatch rounds, events of any type, audit figures).
ROLES = ("desk1", "supervisor1")


def config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                # The document says text holds no NUL character (no database stores one):
                # such requests are refused with 422, as tests/test_api_inputs.py shows.
                "allow-x00": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {
                    # A link's form decides which `data` completes it (GET the work item for
                    # it); the document cannot say so per link, so data that fits the document
                    # but not the form is rightly 422. Every other check still runs here.
                    "include-path": "/api/work-items/{id}/complete",
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
                {
                    # Intake checks what a counter would: a phone that reaches the customer
                    # (not for a grid alarm) and a connection's capacity within its voltage's
                    # range for its customer category. OpenAPI 3.0 cannot tie one value's range
                    # to another's, so such a demand fits the document and is rightly 422.
                    "include-path": "/api/demands",
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
            ],
            "suppress-health-check": ["all"],
            "workers": 1,
        }
    )


@pytest.fixture
def served(app: Any, rt: Runtime) -> Iterator[str]:
    """The application on a free port of 127.0.0.1, with a demand and its open link."""
    from werkzeug.serving import make_server

    accepted = demands.create_demand(
        rt,
        demands.DemandInput("Zhao household", "residential", "app", "connection"),
        Actor("desk1", frozenset({"service_desk"})),
    )
    assert open_items(rt, accepted.instances[0].instance_id)
    app.testing = False  # a server error is answered (500), as in production, not raised
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="schemathesis-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def fuzz(base: str, username: str) -> tuple[int, list[str]]:
    """Run schemathesis as `username`: (scenarios run, failures described)."""
    import requests

    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json", config=config())

    class Token:
        """A token of the role's account; made again after a 401 (when the fuzzer revoked
        it with DELETE /api/tokens/current)."""

        def get(self, case: Any, context: Any) -> str:
            made = requests.post(
                f"{base}/api/tokens",
                json={"username": username, "password": STAFF_PASSWORD},
                timeout=30,
            )
            assert made.status_code == 201, made.text
            return str(made.json()["token"])

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    schema.auth()(Token)
    scenarios = 0
    failures: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(
                            f"{event.recorder.label}: {check.name}: {failure.title}: "
                            f"{failure.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            failures.append(f"fatal: {event.exception!r}")
    return scenarios, failures


@pytest.mark.parametrize("username", ROLES)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    served: str, username: str
) -> None:
    scenarios, failures = fuzz(served, username)
    assert scenarios >= 40  # every operation was tried, in several phases
    distinct = sorted(set(failures))
    assert distinct == [], f"{len(distinct)} failure(s):\n" + "\n\n".join(distinct[:10])
