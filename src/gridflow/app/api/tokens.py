"""Bearer tokens: made by signing in with user name and password, revoked by the token itself."""

from __future__ import annotations

from flask import current_app, jsonify
from werkzeug.wrappers import Response

from gridflow import signin, tokens
from gridflow.app.api.base import blueprint, body, error
from gridflow.app.auth import bearer_token, client_address, runtime


@blueprint.post("/tokens")
def create_token() -> Response:
    data = body()
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return error(422, "invalid", "give username and password as strings")
    if len(username) > 100 or len(password) > 1000:
        return error(422, "invalid", "username or password too long")
    rt = runtime()
    try:
        staff = signin.sign_in(rt, username, password, address=client_address(), channel="api")
    except signin.Throttled as exc:
        response = error(429, "too_many_attempts", str(exc), retry_after_s=exc.seconds)
        response.headers["Retry-After"] = str(exc.seconds)
        return response
    except signin.SignInFailed:
        return error(401, "unauthorized", "wrong user name or password")
    issued = tokens.issue(rt, staff, current_app.config["TOKEN_LIFETIME"])
    # The token is shown here, once; the database keeps only its SHA-256.
    response = jsonify({"token": issued.token, "expires_at": issued.expires_at.isoformat()})
    response.status_code = 201
    return response


@blueprint.delete("/tokens/current")
def revoke_token() -> Response:
    """Revoke the token this request carries: it stops working at once."""
    token = bearer_token()
    assert token is not None  # `permissions.enforce` let only a working token through
    tokens.revoke(runtime(), token)
    return Response(status=204)
