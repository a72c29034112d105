"""Customer demands: entered once from any channel, classified, and turned into process
instances (one demand may start several, e.g. a connection and a PV connection)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from gridflow.errors import GridflowError
from gridflow.instances import Started, start_instance
from gridflow.intake import (
    AREAS,
    CHANNELS,
    CUSTOMER_CATEGORIES,
    SUPPLIES,
    VOLTAGES,
    IntakeProblem,
    office_problems,
)
from gridflow.models import Definition, Demand, Instance, to_ms
from gridflow.roles import SYSTEM, Actor
from gridflow.runtime import Runtime

CATEGORIES = ("connection", "repair", "ev_charger", "pv", "energy_efficiency")
PRIORITIES = (0, 1, 2, 3)
# Who takes demands in: the front end.
INTAKE_ROLES = ("account_manager", "service_desk")
# Further services the same demand can start beside its classified process.
EXTRA_PROCESSES = {
    "pv": "pv_connection",
    "ev_charger": "ev_charger_installation",
    "energy_efficiency": "energy_efficiency",
}


class DemandError(GridflowError):
    """A demand that cannot be accepted; field → problem (a code the pages translate, English
    text for the API and the logs)."""

    def __init__(self, field_errors: Mapping[str, str | IntakeProblem]):
        self.problems = {
            name: problem if isinstance(problem, IntakeProblem) else IntakeProblem("", {}, problem)
            for name, problem in field_errors.items()
        }
        self.field_errors = {name: problem.text for name, problem in self.problems.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.field_errors.items()))


@dataclass(frozen=True)
class DemandInput:
    customer_name: str
    customer_category: str
    channel: str
    category: str
    address: str = ""
    phone: str = ""
    priority: int = 1
    voltage: str = "low"
    capacity_kw: float = 0.0
    supply: str = "single"
    area: str = "urban"
    feeder: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    def validate(self, *, office: bool = False) -> None:
        """DemandError naming every field that is malformed; with `office`, also what a counter
        clerk would refuse (no address, no reachable phone, a capacity outside the voltage's
        range: `intake.office_problems`), as the intake page and the API ask."""
        errors: dict[str, IntakeProblem] = {}
        if not self.customer_name.strip():
            errors["customer_name"] = IntakeProblem("required", {}, "is required")
        for name, value, allowed in (
            ("customer_category", self.customer_category, CUSTOMER_CATEGORIES),
            ("channel", self.channel, CHANNELS),
            ("category", self.category, CATEGORIES),
            ("voltage", self.voltage, VOLTAGES),
            ("supply", self.supply, SUPPLIES),
            ("area", self.area, AREAS),
        ):
            if value not in allowed:
                errors[name] = IntakeProblem(
                    "choice", {}, f"{value!r} is not one of: {', '.join(allowed)}"
                )
        capacity_ok = isinstance(self.capacity_kw, int | float) and 0 <= self.capacity_kw <= 1e7
        if not capacity_ok:
            errors["capacity_kw"] = IntakeProblem(
                "capacity", {}, "must be a number of kW, zero or more"
            )
        if self.priority not in PRIORITIES:
            errors["priority"] = IntakeProblem(
                "priority", {}, "must be 0 (low), 1 (normal), 2 (high) or 3 (urgent)"
            )
        for name, text, longest in (
            ("customer_name", self.customer_name, 200),
            ("address", self.address, 500),
            ("phone", self.phone, 40),
        ):
            if len(text) > longest:
                errors[name] = IntakeProblem(
                    "too_long", {"max": longest}, f"must be at most {longest} characters"
                )
        if office and capacity_ok:
            found = office_problems(
                category=self.category,
                channel=self.channel,
                address=self.address,
                phone=self.phone,
                voltage=self.voltage,
                customer_category=self.customer_category,
                area=self.area,
                capacity_kw=float(self.capacity_kw),
            )
            for name, problem in found.items():
                errors.setdefault(name, problem)
        if errors:
            raise DemandError(errors)

    def variables(self) -> dict[str, object]:
        """What the processes read: the demand's fields as start variables (those named in
        `intake.START_VARIABLES`, which the lint counts on, and the free `extra` values)."""
        return {
            "customer_name": self.customer_name,
            "customer_category": self.customer_category,
            "channel": self.channel,
            "address": self.address,
            "voltage": self.voltage,
            "capacity_kw": float(self.capacity_kw),
            "supply": self.supply,
            "area": self.area,
            "feeder": self.feeder,
            **dict(self.extra),
        }


def classify(demand: DemandInput) -> str:
    """The process a demand starts, from its category, channel, voltage and customer."""
    if demand.category == "connection":
        if demand.voltage == "high":
            return "hv_connection"
        if demand.customer_category == "residential":
            return "lv_residential_connection"
        return "lv_business_connection"
    if demand.category == "repair":
        return "active_repair" if demand.channel == "monitoring" else "fault_repair"
    return {
        "ev_charger": "ev_charger_installation",
        "pv": "pv_connection",
        "energy_efficiency": "energy_efficiency",
    }[demand.category]


@dataclass(frozen=True)
class Accepted:
    demand_id: int
    reference: str
    instances: tuple[Started, ...]
    replayed: bool = False


def create_demand(
    rt: Runtime,
    demand: DemandInput,
    actor: Actor = SYSTEM,
    *,
    processes: Sequence[str] | None = None,
    request_key: str | None = None,
    owner: str | None = None,
    customer_id: int | None = None,
    then: Callable[[Connection, int, str], None] | None = None,
) -> Accepted:
    """Record a demand and start its process(es), all in one transaction.

    With a `request_key`, a retried request (same actor, same key) returns the demand the
    first one created, with `replayed=True`, and starts nothing. Its `owner` (account manager)
    is the one given, else the account manager who takes it in; its front-end links go to the
    owner's "My work" while the owner is on shift and under their maximum load.

    A demand a customer applied for online names their account (`customer_id`); `then` runs
    in the same transaction with the new demand's id and reference (its documents, its
    acknowledgement).
    """
    if owner is None and "account_manager" in actor.roles:
        owner = actor.username
    demand.validate()
    if request_key is not None and not 1 <= len(request_key) <= 100:
        raise DemandError({"request_key": "must be 1 to 100 characters"})
    process_ids = list(processes) if processes else [classify(demand)]
    now = to_ms(rt.clock.now())
    # The packages its data fits are offered to the customer (issue 13), in the same
    # transaction: nothing read back, and no demand without its offers.
    from gridflow import packages

    book = packages.catalogue()
    fits = packages.demand_data(
        demand.variables(), demand.category, demand.customer_category, demand.channel
    )

    def taken_in(connection: Connection, demand_id: int, reference: str) -> None:
        if then is not None:
            then(connection, demand_id, reference)
        packages.offer_taken_in(connection, demand_id, fits, now, book)

    if request_key is not None:
        earlier = _replay(rt, actor, request_key)
        if earlier is not None:
            return earlier
    try:
        accepted = _create(
            rt, demand, actor, process_ids, request_key, now, owner, customer_id, taken_in
        )
    except IntegrityError:
        # The same key raced in from a second request and won: answer with its demand.
        earlier = _replay(rt, actor, request_key) if request_key is not None else None
        if earlier is None:
            raise
        return earlier
    return accepted


def _replay(rt: Runtime, actor: Actor, request_key: str) -> Accepted | None:
    with rt.db.read() as session:
        row = session.scalar(
            select(Demand).where(
                Demand.created_by == actor.username, Demand.request_key == request_key
            )
        )
        if row is None:
            return None
        started = session.execute(
            select(Instance.id, Definition.process_id, Definition.version)
            .join(Definition, Definition.id == Instance.definition_id)
            .where(Instance.demand_id == row.id)
            .order_by(Instance.id)
        ).all()
        return Accepted(
            row.id,
            row.reference,
            tuple(Started(i, p, v) for i, p, v in started),
            replayed=True,
        )


_INSERT_DEMAND = insert(Demand).returning(Demand.id)
_SET_REFERENCE = (
    update(Demand)
    .where(Demand.id == bindparam("demand_id"))
    .values(reference=bindparam("reference"))
)


def _create(
    rt: Runtime,
    demand: DemandInput,
    actor: Actor,
    process_ids: list[str],
    request_key: str | None,
    now: datetime,
    owner: str | None = None,
    customer_id: int | None = None,
    then: Callable[[Connection, int, str], None] | None = None,
) -> Accepted:
    variables = demand.variables()
    with rt.db.transaction() as connection:
        demand_id = connection.execute(
            _INSERT_DEMAND,
            {
                "reference": "",
                "customer_name": demand.customer_name.strip(),
                "customer_category": demand.customer_category,
                "channel": demand.channel,
                "category": demand.category,
                "address": demand.address,
                "phone": demand.phone,
                "priority": demand.priority,
                "details": {k: v for k, v in variables.items() if k != "customer_name"},
                "created_at": now,
                "created_by": actor.username,
                "request_key": request_key,
                "owner": owner,
                "customer_id": customer_id,
            },
        ).scalar_one()
        # A reference a customer can quote: the local year and the row id, D-2026-000123.
        reference = f"D-{rt.calendar.to_local(now).year}-{demand_id:06d}"
        connection.execute(_SET_REFERENCE, {"demand_id": demand_id, "reference": reference})
        started = tuple(
            start_instance(
                rt,
                process_id,
                variables,
                business_key=reference,
                demand_id=demand_id,
                actor=actor,
                connection=connection,
            )
            for process_id in process_ids
        )
        if then is not None:
            then(connection, demand_id, reference)
        return Accepted(demand_id, reference, started)


def set_owner(rt: Runtime, demand_id: int, owner: str | None) -> None:
    """Give a demand to an account manager (None: no owner, front-end links to the team)."""
    with rt.db.transaction() as connection:
        done = connection.execute(
            update(Demand).where(Demand.id == demand_id).values(owner=owner or None)
        )
        if done.rowcount != 1:
            raise DemandError({"demand": f"demand {demand_id} does not exist"})
