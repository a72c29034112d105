"""What operators and load balancers use: `/healthz` (the process answers), `/readyz` (the
database answers and its schema is at the newest migration), `/metrics` (Prometheus text, for
administrators or the GRIDFLOW_METRICS_TOKEN bearer), and around every request a request id
(the caller's `X-Request-Id` or a new one, echoed in the answer and written into the task
events' details), its latency and status in the metrics, and with GRIDFLOW_LOG_FORMAT=json one
JSON log line.
"""

from __future__ import annotations

import logging
import time
from functools import cache

from flask import Blueprint, Flask, Response, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gridflow import metrics, request_ids
from gridflow.app.auth import runtime
from gridflow.database import alembic_config
from gridflow.worker import jobs

blueprint = Blueprint("operations", __name__)
access_log = logging.getLogger("gridflow.request")
UNMATCHED = "<unmatched>"  # requests no route knows share one label (bounded cardinality)


@blueprint.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers (no database involved)."""
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready for traffic: the database answers and its schema is at the newest migration."""
    rt = runtime()
    head = newest_migration(rt.db.url)
    try:
        with rt.db.snapshot() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        if "alembic_version" in reason:
            return _not_ready(f"the schema is not created (run gridflow init-db): {reason}", head)
        return _not_ready(f"the database does not answer: {reason}", head)
    if current != head:
        return _not_ready(
            f"the schema is at migration {current}, not {head} (run gridflow init-db)",
            head,
            current,
        )
    return jsonify({"status": "ready", "migration": current}), 200


def _not_ready(reason: str, head: str, current: str | None = None) -> tuple[Response, int]:
    body = {"status": "not ready", "reason": reason, "migration": current, "newest": head}
    return jsonify(body), 503


@cache
def newest_migration(url: str) -> str:
    """The head revision of the migrations this code ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


@blueprint.get("/metrics")
def prometheus() -> Response:
    rt = runtime()
    text = metrics.exposition(rt, lambda: jobs.backlogs(rt))
    return Response(text, content_type=metrics.CONTENT_TYPE)


def _begin() -> None:
    g.request_started = time.monotonic()
    g.request_id = request_ids.accepted(request.headers.get(request_ids.HEADER))
    g.request_id_token = request_ids.bind(g.request_id)


def _answer(response: Response) -> Response:
    response.headers[request_ids.HEADER] = g.get("request_id") or ""
    started = g.get("request_started")
    if started is None:
        return response
    elapsed = time.monotonic() - started
    rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method
    metrics.REQUEST_SECONDS.labels(method, rule).observe(elapsed)
    metrics.RESPONSES.labels(method, rule, str(response.status_code)).inc()
    if access_log.isEnabledFor(logging.INFO):
        staff = g.get("staff")
        access_log.info(
            "%s %s %d",
            method,
            request.path,
            response.status_code,
            extra={
                "method": method,
                "path": request.path,
                "route": rule,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
                "user": getattr(staff, "username", None),
                "remote_addr": request.remote_addr,
            },
        )
    return response


def _end(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            request_ids.reset(token)
        except ValueError:  # ended in another context (a streamed answer): just unbind
            request_ids.bind(None)


def init_app(app: Flask) -> None:
    """Before the other request hooks: the request id is bound before anything writes."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_answer)
    app.teardown_request(_end)
    app.register_blueprint(blueprint)
