"""The API blueprint and what every route shares: the error shape, the bearer-token check,
the signed-in staff, the request's JSON body checked to be storable; and the OpenAPI document."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, g, jsonify, request
from werkzeug.wrappers import Response

from gridflow import linkage
from gridflow.app.auth import runtime, staff_for_bearer
from gridflow.app.openapi import document
from gridflow.errors import GridflowError
from gridflow.users import Staff

blueprint = Blueprint("api", __name__, url_prefix="/api")
F = TypeVar("F", bound=Callable[..., Any])


def error(status: int, code: str, message: str, **extra: object) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gridflow"'
    return response


def token_required(view: F) -> F:
    """Kept for views that want to say so: `permissions.enforce` has already checked the
    token (unexpired, unrevoked, its account enabled) and the route's roles."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if staff_for_bearer() is None:
            return error(401, "unauthorized", "send Authorization: Bearer <token>")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def current() -> Staff:
    staff = g.staff
    assert isinstance(staff, Staff)
    return staff


def body() -> dict[str, Any]:
    """The request's JSON object, checked to hold nothing a database cannot store (a NUL
    character in text, NaN or an infinite number); 422 otherwise."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadBody("the request body must be a JSON object")
    problem = _unstorable(data)
    if problem:
        raise BadBody(problem)
    return data


def optional_body() -> dict[str, Any]:
    """As `body`, for requests whose body may be left out entirely (then: {})."""
    if not request.get_data(cache=True):
        return {}
    return body()


def _unstorable(value: object, depth: int = 0) -> str | None:
    if isinstance(value, str):
        return "text must not contain NUL characters" if "\x00" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite (no NaN or Infinity)"
    if depth > 50:
        return "the body nests too deep"
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        problem = _unstorable(item, depth + 1)
        if problem:
            return problem
    return None


class BadBody(GridflowError):
    pass


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(linkage.rulebook(runtime().roles).events))
