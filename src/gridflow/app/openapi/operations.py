"""The paths outside /api/ for load balancers and Prometheus: liveness, readiness, metrics."""

from __future__ import annotations

from typing import Any

from gridflow.app.openapi.common import _json, _object


def _operations_paths() -> dict[str, Any]:
    """For load balancers and Prometheus (outside /api/, answered the same way)."""
    readiness = _object(
        ["status"],
        status={"type": "string", "enum": ["ready", "not ready"]},
        migration={"type": "string", "nullable": True},
        newest={"type": "string"},
        reason={"type": "string"},
    )
    return {
        "/healthz": {
            "get": {
                "summary": "Alive: the process answers (the database is not asked)",
                "security": [],
                "responses": {
                    "200": _json(_object(["status"], status={"type": "string"}), "Alive")
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Ready for traffic: the database answers and its schema is at the "
                "newest migration",
                "security": [],
                "responses": {
                    "200": _json(readiness, "Ready, with the schema's migration"),
                    "503": _json(readiness, "Not ready, with the reason"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format): request latency and "
                "status per route, open and overdue links by role, worker backlogs and lag, "
                "dispatch round durations, worker heartbeats. Administrators' tokens, or the "
                "GRIDFLOW_METRICS_TOKEN bearer.",
                "responses": {
                    "200": {
                        "description": "The metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
