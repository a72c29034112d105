"""How refusals become answers: the status code and error object for the domain's errors, the
engine's, the queues' and HTTP's own."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from gridflow import queues
from gridflow.app import wording
from gridflow.app.api.base import BadBody, blueprint, error
from gridflow.demands import DemandError
from gridflow.engine import EngineError
from gridflow.errors import (
    ConflictError,
    ForbiddenError,
    FormError,
    GridflowError,
    InvalidStateError,
    NotFoundError,
)


@blueprint.errorhandler(GridflowError)
def gridflow_error(exc: GridflowError) -> Response:
    if isinstance(exc, FormError):
        return error(
            422,
            "invalid",
            "the form data is invalid",
            fields=exc.field_errors,
            field_texts=wording.refusals(exc),
        )
    if isinstance(exc, DemandError):
        return error(
            422,
            "invalid",
            "the demand is invalid",
            fields=exc.field_errors,
            messages=wording.intake_messages_both(exc.problems),
        )
    if isinstance(exc, queues.QueueError | BadBody):
        return error(422, "invalid", str(exc))
    # `text`: the refusal in the request's language (Accept-Language), `message` in English.
    if isinstance(exc, ForbiddenError):
        return error(403, "forbidden", str(exc), text=wording.refusal(exc))
    if isinstance(exc, NotFoundError):
        return error(404, "not_found", str(exc), text=wording.refusal(exc))
    if isinstance(exc, ConflictError | InvalidStateError):
        return error(409, "conflict", str(exc), text=wording.refusal(exc))
    # What is left is the server's own state, not the request (a stored definition that no
    # longer loads): 400, documented on the operations that start processes.
    return error(400, "bad_request", str(exc))


@blueprint.errorhandler(EngineError)
def engine_error(exc: EngineError) -> Response:
    """The process could not go on (nothing changed); the element is named, and an incident
    records it for a supervisor when the instance exists."""
    return error(
        422,
        "engine_error",
        str(exc),
        text=f"{exc.element_id or ''}: {wording.refusal(exc)}".lstrip(": "),
        element=exc.element_id,
        incident_id=exc.incident_id,
    )


@blueprint.errorhandler(queues.QueueError)
def queue_error(exc: queues.QueueError) -> Response:
    return error(422, "invalid", str(exc))


@blueprint.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    if code >= 500:
        return error(code, "server_error", "the server could not answer; nothing was changed")
    response = error(code, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")
    for name, value in exc.get_headers():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value  # 405 says which methods the path takes
    return response
