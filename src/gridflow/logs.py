"""Logs as one JSON object per line (GRIDFLOW_LOG_FORMAT=json), each with the request id being
served, for log collectors; otherwise Python's logging is left as it is.

    GRIDFLOW_LOG_FORMAT   json: JSON lines on standard error (default: unchanged)
    GRIDFLOW_LOG_LEVEL    DEBUG, INFO (default), WARNING, ERROR
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from gridflow import request_ids
from gridflow.errors import ConfigurationError

# What a record may carry beyond its message (the request log's fields, a worker's job).
FIELDS = (
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "user",
    "remote_addr",
    "worker",
    "job",
)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_ids.current()
        if request_id:
            entry["request_id"] = request_id
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_wanted(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    wanted = env.get("GRIDFLOW_LOG_FORMAT", "").strip().lower()
    if wanted not in ("", "text", "json"):
        raise ConfigurationError(f"GRIDFLOW_LOG_FORMAT={wanted!r}: json or text")
    return wanted == "json"


def configure(environ: dict[str, str] | None = None) -> bool:
    """JSON lines on standard error for every logger when GRIDFLOW_LOG_FORMAT=json; whether
    it did."""
    env = dict(os.environ if environ is None else environ)
    if not json_wanted(env):
        return False
    level = env.get("GRIDFLOW_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in LEVELS:
        raise ConfigurationError(f"GRIDFLOW_LOG_LEVEL={level!r}: one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return True
