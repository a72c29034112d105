"""The OpenAPI 3 description of the JSON API (served at /api/openapi.json).

`document` assembles it: the component `schemas`, the core API's `paths`, the `linkage`
paths, the `system_steps` paths and the `operations` paths, with the statuses every operation
can give named by `common`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridflow import __version__
from gridflow.app.openapi.common import _complete
from gridflow.app.openapi.linkage import _linkage_paths
from gridflow.app.openapi.operations import _operations_paths
from gridflow.app.openapi.paths import _paths
from gridflow.app.openapi.schemas import _schemas
from gridflow.app.openapi.system_steps import _system_step_paths
from gridflow.rules import EventType

__all__ = ["document"]


def document(events: Mapping[str, EventType] | None = None) -> dict[str, Any]:
    """The document; with the linkage rules' event types, each type's payload schema."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridflow API",
            "version": __version__,
            "description": "Demands, work queues and links of the grid company's customer "
            "processes. Every call but POST /api/tokens needs `Authorization: Bearer <token>`. "
            "Text in a body or query must not contain NUL characters (U+0000), and numbers "
            "must be finite: such requests are refused with 422.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
        "security": [{"bearer": []}],
        "paths": _complete(
            {
                **_paths(),
                **_linkage_paths(events or {}),
                **_system_step_paths(),
                **_operations_paths(),
            }
        ),
    }
