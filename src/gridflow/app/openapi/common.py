"""The building blocks every part of the OpenAPI document uses: references, JSON bodies and
answers, objects, the shared parameters and values, and the statuses any operation can give
(`_complete` adds them to each)."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _json(_ref("Error"), "No bearer token, or one unknown, expired or revoked"),
    "403": _json(_ref("Error"), "The token's account may not do this"),
    "404": _json(_ref("Error"), "No such object"),
}
MAX_ID = 2**63 - 1
# A local day, YYYY-MM-DD, from 1970 to 2999 (audit filters).
DAY = {
    "type": "string",
    "format": "date",
    "pattern": "^(19[7-9][0-9]|2[0-9]{3})-",
    "description": "a local day from 1970-01-01 to 2999-12-31",
}
ITEM_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
# Statuses any operation of a kind can give, added to each (see `_complete`).
TOO_LONG = {"description": "The request line is too long (answered by the HTTP server)"}
TOO_LARGE = _json(_ref("Error"), "The body is larger than 8 MiB")
BAD_BODY = _json(
    _ref("Error"), "The body is not a JSON object of the documented shape, or a value is invalid"
)


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


# A work item's version as read (a request may send a stale one: 409).
VERSION = {"type": "integer", "minimum": -(2**31), "maximum": 2**31}
VERSION_BODY = _body({"type": "object", "properties": {"version": VERSION}}, required=False)


def _complete(paths: dict[str, Any]) -> dict[str, Any]:
    """Name every status each operation can give: 401 and 403 where a token is needed, 404
    where the path names an object, 413 and 422 where there is a body, 414 everywhere."""
    for operations in paths.values():
        for operation in operations.values():
            responses = operation["responses"]
            if operation.get("security") != []:
                responses.setdefault("401", ERRORS["401"])
                responses.setdefault("403", ERRORS["403"])
            if any(p.get("in") == "path" for p in operation.get("parameters", ())):
                responses.setdefault("404", ERRORS["404"])
            if "requestBody" in operation:
                responses.setdefault("413", TOO_LARGE)
                responses.setdefault("422", BAD_BODY)
            responses.setdefault("414", TOO_LONG)
    return paths
