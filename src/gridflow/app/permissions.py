"""Who may do what: one table of every route of the application, pages and JSON API, with who
may use it. It is checked before every request, so views need no sign-in or role decorators:

* no one signed in: a page answers 302 to the sign-in page, the API 401 (JSON);
* signed in but not among `who`: 403 (the API's JSON error, or the error page);
* a route missing from the table: 403 for everyone (and the matrix test fails).

For a route about one link (`<int:item_id>`), `who` looks at that link (its role, holder,
helpers): 404 when it does not exist. The verbs check the same rules again (`gridflow.access`,
`work_items`), so the CLI and any other caller are held to them too.

`tests/test_permissions.py` requests every route of `app.url_map` as every shipped role and as
no one, on one scenario (a high-voltage connection whose first link, an account manager's, is
ready and held by nobody), and expects for each role exactly: `probe` when the role is in
`SHIPPED[who]`, else 403 (or the anonymous answer above).

How to add a route:
1. Write the view (a blueprint route) with no permission code of its own.
2. Add one line per method to ROUTES below: "METHOD rule", the rule as Flask writes it in
   `app.url_map` (e.g. "POST /api/external-tasks/fetch-and-lock"), then `Route(WHO, probe)`:
   WHO one of the groups below (or a new group: a `Who` plus its line in SHIPPED), probe the
   status an allowed role gets for the matrix's request.
3. If the route needs a request body or a path value the matrix does not know yet, add it to
   PROBES or PATH_VALUES in tests/test_permissions.py. Run `pytest tests/test_permissions.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import Connection, bindparam, select
from werkzeug.wrappers import Response

from gridflow import access, audit
from gridflow.app.auth import load_staff, runtime, staff_for_bearer
from gridflow.demands import INTAKE_ROLES
from gridflow.errors import NotFoundError
from gridflow.models import LinkHelper, WorkItem
from gridflow.users import Staff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Who:
    """A group of accounts, by a rule on the account (and on the link, for link routes)."""

    name: str
    allows: Callable[[Staff, Mapping[str, Any]], bool]
    signed_in: bool = True
    # What a refused page says (translated when shown); the API says "forbidden".
    refusal: Any = field(default=None, compare=False)
    # The rule looks at the route's link (`<int:item_id>`): read with who is asking.
    on_link: bool = False

    def __repr__(self) -> str:
        return self.name


# The link and its helpers in one statement (a row per helper, or one with no helper).
_LINK = (
    select(WorkItem.__table__, LinkHelper.username.label("helper_username"))
    .outerjoin(LinkHelper, LinkHelper.work_item_id == WorkItem.id)
    .where(WorkItem.id == bindparam("item_id"))
    .order_by(LinkHelper.id)
)
_MISSING: tuple[Any, list[str]] = (None, [])


def _read_link(connection: Connection, item_id: int) -> tuple[Any, list[str]]:
    rows = connection.execute(_LINK, {"item_id": item_id}).all()
    if not rows:
        return _MISSING
    return rows[0], [row.helper_username for row in rows if row.helper_username is not None]


def _link(args: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """The route's link and its helpers (read once per request, with who is asking when
    `enforce` could); 404 when there is none."""
    found = g.get("permission_link")
    if found is None:
        with runtime().db.snapshot() as connection:
            found = _read_link(connection, args["item_id"])
        g.permission_link = found
    if found is _MISSING:
        raise NotFoundError(f"work item {args['item_id']} does not exist")
    return found


def link_read() -> Any:  # noqa: ANN401 - a work_items row
    """The work_items row of the route's link as the permission check read it, or None when
    the check did not read it (a route whose rule does not look at the link)."""
    found = g.get("permission_link")
    return None if found is None or found is _MISSING else found[0]


def _on_link(rule: Callable[..., bool]) -> Callable[[Staff, Mapping[str, Any]], bool]:
    def allows(staff: Staff, args: Mapping[str, Any]) -> bool:
        if not staff.is_person:
            return False
        item, helpers = _link(args)
        return rule(staff.actor, item, helpers)

    return allows


def _own_demand(staff: Staff, args: Mapping[str, Any]) -> bool:
    """A customer's own demand; another's is not found (404), as if it did not exist."""
    if not staff.is_customer:
        return False
    from gridflow.customers.timeline import owned_demand

    owned_demand(runtime(), staff.id, int(args["demand_id"]))
    return True


ANYONE = Who("ANYONE", lambda staff, args: True, signed_in=False)
# Every account of the company's staff and systems (not customers).
ANY_ACCOUNT = Who("ANY_ACCOUNT", lambda staff, args: not staff.is_customer)
# People: every account but an integration account.
STAFF = Who("STAFF", lambda staff, args: staff.is_person)
# People who hold work: a lane-owning role (or admin); not designers, auditors, integrations.
WORKERS = Who("WORKERS", lambda staff, args: staff.is_person and staff.holds_work)
INTAKE = Who("INTAKE", lambda staff, args: staff.has(*INTAKE_ROLES))
SUPERVISORS = Who("SUPERVISORS", lambda staff, args: staff.has("supervisor"))
DESIGNERS = Who("DESIGNERS", lambda staff, args: staff.has("designer"))
AUDIT_READERS = Who("AUDIT_READERS", lambda staff, args: audit.may_view(staff.actor))
ADMINS = Who("ADMINS", lambda staff, args: "admin" in staff.roles)
# External-task workers: integration accounts (their topics are checked by `external_tasks`
# against `Staff.may_serve_topic`) and admins, who may act as any worker.
TASK_WORKERS = Who(
    "TASK_WORKERS", lambda staff, args: "integration" in staff.roles or "admin" in staff.roles
)
# Who reads external tasks (a worker those of its topics) and unlocks them: workers and
# supervisors.
TASK_READERS = Who(
    "TASK_READERS", lambda staff, args: staff.has("supervisor") or "integration" in staff.roles
)
# The event type itself is checked by the view (`Staff.may_post_event`): 403 if not granted.
EVENT_POSTERS = Who(
    "EVENT_POSTERS", lambda staff, args: staff.has("supervisor") or "integration" in staff.roles
)
# Prometheus: administrators, or the scraper with the GRIDFLOW_METRICS_TOKEN bearer (`enforce`).
METRICS_READERS = Who("METRICS_READERS", lambda staff, args: "admin" in staff.roles)
OTHER_ROLE = lazy_gettext("This link belongs to another role.")
# Customers (the portal): their own pages and demands only; every staff route refuses them.
CUSTOMERS = Who("CUSTOMERS", lambda staff, args: staff.is_customer)
OWN_DEMAND = Who("OWN_DEMAND", _own_demand)
LINK_VIEWERS = Who("LINK_VIEWERS", _on_link(access.may_view_link), refusal=OTHER_ROLE, on_link=True)
LINK_WORKERS = Who("LINK_WORKERS", _on_link(access.may_work_link), refusal=OTHER_ROLE, on_link=True)
LINK_PASSERS = Who("LINK_PASSERS", _on_link(access.may_pass_link), refusal=OTHER_ROLE, on_link=True)
LINK_COMMENTERS = Who(
    "LINK_COMMENTERS", _on_link(access.may_comment_link), refusal=OTHER_ROLE, on_link=True
)

# Who each group is among the shipped roles (processes/roles.yaml), on the matrix's link (an
# account manager's, ready, held by nobody). "anonymous" is no one signed in.
LANE_ROLES = {"account_manager", "service_desk", "planning_design", "construction", "metering",
              "dispatch_repair", "finance", "materials", "supervisor"}  # fmt: skip
ROLES = LANE_ROLES | {"designer", "auditor", "admin", "integration", "customer"}
SHIPPED: dict[Who, frozenset[str]] = {
    ANYONE: frozenset(ROLES | {"anonymous"}),
    ANY_ACCOUNT: frozenset(ROLES - {"customer"}),
    STAFF: frozenset(ROLES - {"integration", "customer"}),
    CUSTOMERS: frozenset({"customer"}),
    OWN_DEMAND: frozenset({"customer"}),
    WORKERS: frozenset(LANE_ROLES | {"admin"}),
    INTAKE: frozenset({"account_manager", "service_desk", "admin"}),
    SUPERVISORS: frozenset({"supervisor", "admin"}),
    DESIGNERS: frozenset({"designer", "admin"}),
    AUDIT_READERS: frozenset({"auditor", "supervisor", "admin"}),
    ADMINS: frozenset({"admin"}),
    METRICS_READERS: frozenset({"admin"}),
    EVENT_POSTERS: frozenset({"supervisor", "admin", "integration"}),
    TASK_WORKERS: frozenset({"integration", "admin"}),
    TASK_READERS: frozenset({"integration", "supervisor", "admin"}),
    LINK_VIEWERS: frozenset({"account_manager", "supervisor", "auditor", "admin"}),
    LINK_WORKERS: frozenset({"account_manager", "admin"}),
    LINK_PASSERS: frozenset({"account_manager", "supervisor", "admin"}),
    LINK_COMMENTERS: frozenset({"account_manager", "supervisor", "admin"}),
}


@dataclass(frozen=True)
class Route:
    who: Who
    probe: int  # what an allowed role gets for the matrix's request


# fmt: off
ROUTES: dict[str, Route] = {
    # --- signing in, language, assets ----------------------------------------------------------
    "GET /login":                                         Route(ANYONE, 200),
    "POST /login":                                        Route(ANYONE, 401),
    "POST /logout":                                       Route(ANYONE, 302),
    "POST /language":                                     Route(ANYONE, 302),
    "GET /static/<path:filename>":                        Route(ANYONE, 200),
    "GET /vendor/<package>/<path:filename>":              Route(ANYONE, 200),
    # --- queues, links, consultations ---------------------------------------------------------
    "GET /":                                              Route(STAFF, 302),
    "GET /queue":                                         Route(STAFF, 200),
    "GET /work-items/<int:item_id>":                      Route(LINK_VIEWERS, 200),
    "POST /work-items/<int:item_id>/claim":               Route(LINK_WORKERS, 302),
    "POST /work-items/<int:item_id>/release":             Route(LINK_PASSERS, 302),
    "POST /work-items/<int:item_id>/complete":            Route(LINK_WORKERS, 409),
    "POST /work-items/<int:item_id>/comment":             Route(LINK_COMMENTERS, 302),
    "POST /work-items/<int:item_id>/consult":             Route(LINK_WORKERS, 302),
    "GET /work-items/<int:item_id>/help":                 Route(LINK_PASSERS, 200),
    "POST /work-items/<int:item_id>/hand-over":           Route(LINK_PASSERS, 302),
    "POST /work-items/<int:item_id>/helpers":             Route(LINK_PASSERS, 302),
    # The field view of a link done on site (a desk link: 302 to the link's page).
    "GET /work-items/<int:item_id>/field":                Route(LINK_VIEWERS, 302),
    "POST /work-items/<int:item_id>/arrive":              Route(LINK_WORKERS, 302),
    "POST /work-items/<int:item_id>/restore":             Route(LINK_WORKERS, 302),
    "POST /work-items/<int:item_id>/field/complete":      Route(LINK_WORKERS, 302),
    "POST /work-items/<int:item_id>/appointment":         Route(LINK_WORKERS, 302),
    "POST /appointments/<int:appointment_id>/kept":       Route(WORKERS, 404),
    "POST /appointments/<int:appointment_id>/missed":     Route(WORKERS, 404),
    "GET /consultations":                                 Route(STAFF, 200),
    "POST /consultations/<int:consultation_id>/answer":   Route(WORKERS, 302),
    # --- demands -------------------------------------------------------------------------------
    "GET /demands":                                       Route(STAFF, 200),
    "GET /demands/<int:demand_id>":                       Route(STAFF, 200),
    "GET /demands/new":                                   Route(INTAKE, 200),
    "POST /demands/new":                                  Route(INTAKE, 422),
    "POST /offers/<int:offer_id>/answer":                 Route(INTAKE, 422),
    # --- skill pool and dispatch ---------------------------------------------------------------
    "GET /pool":                                          Route(SUPERVISORS, 200),
    "GET /team":                                          Route(SUPERVISORS, 200),
    "POST /pool/profile":                                 Route(SUPERVISORS, 302),
    "POST /pool/shift":                                   Route(SUPERVISORS, 302),
    "POST /pool/shift/<int:shift_id>/delete":             Route(SUPERVISORS, 302),
    "POST /pool/leave":                                   Route(SUPERVISORS, 302),
    "POST /pool/leave/<int:leave_id>/delete":             Route(SUPERVISORS, 302),
    "POST /pool/equipment":                               Route(SUPERVISORS, 302),
    "GET /dispatch":                                      Route(SUPERVISORS, 200),
    "POST /dispatch/run":                                 Route(SUPERVISORS, 302),
    # --- process designers ---------------------------------------------------------------------
    "GET /designer/":                                     Route(DESIGNERS, 200),
    "GET /designer/<process_id>":                         Route(DESIGNERS, 200),
    "GET /designer/<process_id>/<int:number>.bpmn":       Route(DESIGNERS, 200),
    "GET /designer/<process_id>/modeler":                 Route(DESIGNERS, 200),
    "POST /designer/<process_id>/deploy":                 Route(DESIGNERS, 422),
    "POST /designer/<process_id>/deploy/preview":         Route(DESIGNERS, 422),
    "POST /designer/upload":                              Route(DESIGNERS, 422),
    "GET /designer/<process_id>/diff":                    Route(DESIGNERS, 200),
    "GET /designer/<process_id>/migrate":                 Route(DESIGNERS, 200),
    "POST /designer/<process_id>/migrate":                Route(DESIGNERS, 200),
    "GET /designer/<process_id>/rollback":                Route(DESIGNERS, 200),
    "POST /designer/<process_id>/rollback":               Route(DESIGNERS, 404),
    "GET /designer/decisions/<decision_id>":              Route(DESIGNERS, 200),
    "GET /designer/decisions/<decision_id>/<int:number>.dmn": Route(DESIGNERS, 200),
    "GET /designer/decisions/<decision_id>/editor":       Route(DESIGNERS, 200),
    "POST /designer/decisions/<decision_id>/deploy":      Route(DESIGNERS, 422),
    # --- auditors' view ------------------------------------------------------------------------
    "GET /audit/":                                        Route(AUDIT_READERS, 302),
    "GET /audit/links":                                   Route(AUDIT_READERS, 200),
    "GET /audit/links/<int:definition_id>/<element_id>":  Route(AUDIT_READERS, 200),
    "GET /audit/processes":                               Route(AUDIT_READERS, 200),
    "GET /audit/satisfaction":                            Route(AUDIT_READERS, 200),
    "GET /audit/export/events.csv":                       Route(AUDIT_READERS, 200),
    "GET /audit/export/events.xes":                       Route(AUDIT_READERS, 200),
    "GET /audit/export/links.csv":                        Route(AUDIT_READERS, 200),
    # Every department follows a demand: its diagrams and where an instance stands.
    "GET /audit/diagram/<int:definition_id>.bpmn":        Route(STAFF, 200),
    "GET /audit/instances/<int:instance_id>":             Route(STAFF, 200),
    # --- incidents (what the engine could not do by itself) ----------------------------------
    "GET /incidents":                                     Route(SUPERVISORS, 200),
    "POST /incidents/<int:incident_id>/retry":            Route(SUPERVISORS, 404),
    "POST /instances/<int:instance_id>/cancel":           Route(SUPERVISORS, 302),
    # --- administrators ------------------------------------------------------------------------
    "GET /admin/sign-ins":                                Route(ADMINS, 200),
    "GET /admin/outbox":                                  Route(ADMINS, 200),
    # --- customers' documents, for the links that need them ----------------------------------
    "GET /work-items/<int:item_id>/documents/<int:document_id>": Route(LINK_VIEWERS, 404),
    # --- the customer portal -----------------------------------------------------------------
    "GET /portal/sign-in":                                Route(ANYONE, 200),
    "POST /portal/code":                                  Route(ANYONE, 422),
    "POST /portal/sign-in":                               Route(ANYONE, 401),
    "GET /portal/":                                       Route(CUSTOMERS, 200),
    "GET /portal/apply":                                  Route(CUSTOMERS, 200),
    "GET /portal/apply/<kind_id>":                        Route(CUSTOMERS, 200),
    "POST /portal/apply/<kind_id>":                       Route(CUSTOMERS, 422),
    "GET /portal/demands/<int:demand_id>":                Route(OWN_DEMAND, 200),
    "GET /portal/demands/<int:demand_id>/visits/<int:item_id>": Route(OWN_DEMAND, 404),
    "POST /portal/demands/<int:demand_id>/visits/<int:item_id>": Route(OWN_DEMAND, 404),
    "GET /portal/demands/<int:demand_id>/rating":         Route(OWN_DEMAND, 404),
    "POST /portal/demands/<int:demand_id>/rating":        Route(OWN_DEMAND, 404),
    # --- load balancers and Prometheus (answered like the API: JSON errors, bearer tokens) -----
    "GET /healthz":                                       Route(ANYONE, 200),
    "GET /readyz":                                        Route(ANYONE, 200),
    "GET /metrics":                                       Route(METRICS_READERS, 200),
    # --- JSON API --------------------------------------------------------------------------------
    "GET /api/openapi.json":                              Route(ANYONE, 200),
    "POST /api/tokens":                                   Route(ANYONE, 401),
    "DELETE /api/tokens/current":                         Route(ANY_ACCOUNT, 204),
    "POST /api/demands":                                  Route(INTAKE, 422),
    "GET /api/demands/<int:demand_id>":                   Route(STAFF, 200),
    "GET /api/instances/<int:instance_id>":               Route(STAFF, 200),
    "GET /api/work-items":                                Route(STAFF, 200),
    "GET /api/work-items/<int:item_id>":                  Route(LINK_VIEWERS, 200),
    "POST /api/work-items/<int:item_id>/claim":           Route(LINK_WORKERS, 409),
    "POST /api/work-items/<int:item_id>/release":         Route(LINK_PASSERS, 409),
    "POST /api/work-items/<int:item_id>/complete":        Route(LINK_WORKERS, 409),
    "GET /api/work-items/<int:item_id>/help":             Route(LINK_PASSERS, 200),
    "POST /api/work-items/<int:item_id>/hand-over":       Route(LINK_PASSERS, 409),
    "POST /api/work-items/<int:item_id>/helpers":         Route(LINK_PASSERS, 422),
    "GET /api/definitions":                               Route(DESIGNERS, 200),
    "POST /api/definitions":                              Route(DESIGNERS, 422),
    "GET /api/audit/links":                               Route(AUDIT_READERS, 200),
    "POST /api/events":                                   Route(EVENT_POSTERS, 422),
    "GET /api/rules":                                     Route(ANY_ACCOUNT, 200),
    "GET /api/dispatch/rounds":                           Route(SUPERVISORS, 200),
    "POST /api/dispatch/rounds":                          Route(SUPERVISORS, 201),
    # External tasks in Camunda 7's shape, incidents, cancelling an instance.
    "POST /api/external-task/fetchAndLock":               Route(TASK_WORKERS, 422),
    "GET /api/external-task":                             Route(TASK_READERS, 200),
    "GET /api/external-task/<int:task_id>":               Route(TASK_READERS, 404),
    "POST /api/external-task/<int:task_id>/complete":     Route(TASK_WORKERS, 422),
    "POST /api/external-task/<int:task_id>/failure":      Route(TASK_WORKERS, 422),
    "POST /api/external-task/<int:task_id>/bpmnError":    Route(TASK_WORKERS, 422),
    "POST /api/external-task/<int:task_id>/extendLock":   Route(TASK_WORKERS, 422),
    "POST /api/external-task/<int:task_id>/unlock":       Route(TASK_READERS, 404),
    "PUT /api/external-task/<int:task_id>/retries":       Route(SUPERVISORS, 404),
    "GET /api/incidents":                                 Route(SUPERVISORS, 200),
    "POST /api/incidents/<int:incident_id>/retry":        Route(SUPERVISORS, 404),
    "POST /api/instances/<int:instance_id>/cancel":       Route(SUPERVISORS, 422),
}
# fmt: on


def route_key(method: str, rule: str) -> str:
    return f"{'GET' if method == 'HEAD' else method} {rule}"


# Paths for machines (load balancers, Prometheus), answered as the API is: JSON errors, 401 for
# no one signed in, bearer tokens.
MACHINE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/") or path in MACHINE_PATHS


def _metrics_token_given() -> bool:
    """The request carries the GRIDFLOW_METRICS_TOKEN bearer (when one is configured)."""
    import hmac

    from gridflow.app.auth import bearer_token

    expected = current_app.config.get("METRICS_TOKEN")
    given = bearer_token()
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


def init_app(app: Flask) -> None:
    app.before_request(enforce)


def enforce() -> Response | None:
    """Before every request: who is asking (session or bearer token), and may they."""
    rule = request.url_rule
    if rule is None or request.method == "OPTIONS":
        return None  # 404 and 405 are answered by the error handlers
    api = is_api(request.path)
    route = ROUTES.get(route_key(request.method, rule.rule))
    if route is not None and route.who is ANYONE:
        if not api and request.endpoint not in ("static", "vendor.asset"):
            load_staff()  # pages show who is signed in
        return None
    if route is not None and route.who is METRICS_READERS and _metrics_token_given():
        return None
    item_id = (request.view_args or {}).get("item_id")
    if route is not None and route.who.on_link and isinstance(item_id, int):
        # Who is asking and the link they ask about, in one read transaction.
        with runtime().db.snapshot() as connection:
            staff = staff_for_bearer(connection) if api else load_staff(connection)
            if staff is not None and staff.is_person:
                g.permission_link = _read_link(connection, item_id)
    else:
        staff = staff_for_bearer() if api else load_staff()
    if staff is None:
        if api:
            return _api_error(401, "unauthorized", "send Authorization: Bearer <token>")
        if request.path.startswith("/portal/"):
            return redirect(url_for("portal.sign_in_page"))
        return redirect(url_for("auth.login", next=request.full_path))
    if route is None:
        log.error("no permission entry for %s %s: refused", request.method, rule.rule)
        return _refuse(api, "this route has no entry in the permission table")
    try:
        allowed = route.who.allows(staff, request.view_args or {})
    except NotFoundError as exc:
        if api:
            return _api_error(404, "not_found", str(exc))
        abort(404)
    if not allowed:
        if api:
            return _api_error(403, "forbidden", "your roles do not allow this")
        abort(403, str(route.who.refusal or _("You may not do this with your roles.")))
    return None


def _refuse(api: bool, message: str) -> Response:
    if api:
        return _api_error(403, "forbidden", message)
    abort(403, message)


def _api_error(status: int, code: str, message: str) -> Response:
    from gridflow.app.api import error

    return error(status, code, message)
