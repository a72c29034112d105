"""Security headers on every answer (pages, API, files, errors) and ids in URLs kept in range.

The Content-Security-Policy allows scripts only from this site: no inline scripts and no
inline event handlers (the templates pass data to web/static/*.js in `data-*` attributes or
`<script type="application/json">` blocks, which are data, not scripts). Inline styles stay
allowed: bpmn-js and Chart.js position their drawings with them.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# The largest id a row can have (BIGINT on PostgreSQL, INTEGER on SQLite): a larger one in a
# URL matches no route (404) instead of overflowing the database driver.
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a whole number from 0 to MAX_ID."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Pages and API answers carry people's work and customers' data: no caches keep them.
    if request.endpoint not in ("static", "vendor.asset"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Before any blueprint registers its routes (the converter applies to them)."""
    app.url_map.converters["int"] = IdConverter
    app.after_request(add_headers)
