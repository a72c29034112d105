"""The demo's worker serves external tasks over real HTTP as another system's worker would:
it signs in as an integration account, fetches the tasks of its topics and answers each."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from gridflow import catalog, users
from gridflow.demo_systems import StandInSystems
from gridflow.demo_worker import Client, serve
from gridflow.instances import start_instance
from gridflow.models import SystemTask, TaskEvent
from gridflow.runtime import Runtime

BPMN = Path(__file__).parent / "bpmn"
PASSWORD = "correct-horse-9"


@pytest.fixture
def served(app, rt: Runtime) -> Iterator[str]:  # type: ignore[no-untyped-def]
    catalog.deploy_paths(rt, [BPMN], "test")
    users.create_user(
        rt, "finance_system", PASSWORD, ["integration"], grants=["topic:finance_payment"]
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def test_the_demo_worker_answers_every_task_of_its_topics_over_http(
    served: str, rt: Runtime
) -> None:
    for n in range(6):
        start_instance(rt, "payment_check", {"customer": f"C{n}"}, business_key=f"P-{n}")
    said: list[str] = []
    answered = serve(
        Client(served, "finance_system", PASSWORD),
        StandInSystems(seed=3),
        worker_id="finance-demo",
        topics=("finance_payment",),
        once=True,
        say=said.append,
    )
    assert answered == 6
    assert len(said) == 6 and not any(line.startswith("not accepted") for line in said), said
    with rt.db.read() as session:
        states = sorted(s.state for s in session.scalars(select(SystemTask)))
        actors = set(
            session.scalars(select(TaskEvent.actor).where(TaskEvent.lifecycle == "locked"))
        )
    # Each task was answered: completed, refused with a business error, or failed and waiting
    # for its retry.
    assert all(state in ("completed", "error", "ready") for state in states), states
    assert states.count("completed") >= 1
    assert actors == {"finance_system"}


def test_a_wrong_password_stops_the_demo_worker_with_a_clear_error(served: str) -> None:
    from gridflow.demo_worker import ApiError

    with pytest.raises(ApiError) as refused:
        serve(Client(served, "finance_system", "wrong-password"), StandInSystems(), once=True)
    assert refused.value.status == 401
