"""The JSON API for integrations and scripts: the same rules as the pages, bearer tokens
instead of a session, and status codes that say what happened (201, 200, 401, 403, 404, 409,
422). The OpenAPI 3 document is at /api/openapi.json.

The package, by concern: `base` (the one blueprint, the error shape, the JSON body, the
OpenAPI document), `errors` (refusals as status codes), `tokens`, `demands`, `work_items`,
`timelines` (an instance's and a demand's), `definitions` (versions and deploying) and
`audit` (the per-link figures). `external_api` and `linkage_api` add their routes to the same
blueprint.
"""

# The route modules are imported in the order their routes were declared in api.py, so the
# blueprint registers its URL rules in the same order.
# isort: off
from gridflow.app.api.base import (
    BadBody,
    blueprint,
    body,
    current,
    error,
    openapi,
    optional_body,
    token_required,
)
from gridflow.app.api.errors import engine_error, gridflow_error, http_error, queue_error
from gridflow.app.api.tokens import create_token, revoke_token
from gridflow.app.api.demands import post_demand
from gridflow.app.api.work_items import (
    claim_work_item,
    complete_work_item,
    get_work_item,
    item_json,
    list_work_items,
    release_work_item,
)
from gridflow.app.api.timelines import get_demand, get_instance
from gridflow.app.api.definitions import (
    DESIGNER_ROLES,
    decision_deployment_json,
    definition_problems,
    deployment_json,
    designer_upload,
    list_definitions,
    post_definition,
    problem_json,
    version_json,
)
from gridflow.app.api.audit import audit_links

# isort: on

__all__ = [
    "DESIGNER_ROLES",
    "BadBody",
    "audit_links",
    "blueprint",
    "body",
    "claim_work_item",
    "complete_work_item",
    "create_token",
    "current",
    "decision_deployment_json",
    "definition_problems",
    "deployment_json",
    "designer_upload",
    "engine_error",
    "error",
    "get_demand",
    "get_instance",
    "get_work_item",
    "gridflow_error",
    "http_error",
    "item_json",
    "list_definitions",
    "list_work_items",
    "openapi",
    "optional_body",
    "post_definition",
    "post_demand",
    "problem_json",
    "queue_error",
    "release_work_item",
    "revoke_token",
    "token_required",
    "version_json",
]
