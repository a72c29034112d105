"""Applying online: what a customer may apply for, the fields and documents each needs, and
the intake itself. An application is a demand taken in through the "online" channel by the
same intake as the staff's (`demands.create_demand`, its checks and classification), with the
customer's account, its documents and an acknowledgement in the outbox in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from gridflow.customers import documents
from gridflow.demands import Accepted, DemandError, DemandInput, create_demand
from gridflow.notifications.outbox import Message, Recipient, enqueue
from gridflow.roles import Actor
from gridflow.runtime import Runtime
from gridflow.texts import _, translate
from gridflow.users import Staff

MAX_CAPACITY_KW = 100_000.0
SMALL_MICRO_LIMIT_KW = 160.0


@dataclass(frozen=True)
class Kind:
    """One kind of application: the demand it makes and what the customer fills in."""

    id: str
    title: str
    summary: str
    category: str
    customer_category: str
    voltage: str = "low"
    fields: tuple[str, ...] = ("customer_name", "address", "area")
    required_documents: tuple[str, ...] = ()
    optional_documents: tuple[str, ...] = ()
    max_capacity_kw: float = MAX_CAPACITY_KW
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def documents(self) -> tuple[str, ...]:
        return self.required_documents + self.optional_documents


KINDS: dict[str, Kind] = {
    k.id: k
    for k in (
        Kind(
            "lv_residential",
            _("New supply for a home"),
            _("Low-voltage residential connection: 5 working days."),
            "connection",
            "residential",
            fields=("customer_name", "address", "area", "capacity_kw"),
            required_documents=("id_card",),
            optional_documents=("property",),
        ),
        Kind(
            "small_micro",
            _("Small or micro business: three zeros"),
            _("No visit, no approval, no investment (零上门、零审批、零投资) up to 160 kW."),
            "connection",
            "small_micro",
            fields=("customer_name", "address", "area", "capacity_kw"),
            required_documents=("id_card",),
            optional_documents=("property",),
            max_capacity_kw=SMALL_MICRO_LIMIT_KW,
        ),
        Kind(
            "lv_business",
            _("New low-voltage supply for a business"),
            _("Shops, offices and workshops."),
            "connection",
            "business",
            fields=("customer_name", "address", "area", "capacity_kw"),
            required_documents=("id_card", "property"),
            optional_documents=("load_list",),
        ),
        Kind(
            "hv",
            _("New high-voltage supply"),
            _("Factories and large sites: single or dual supply."),
            "connection",
            "business",
            voltage="high",
            fields=("customer_name", "address", "area", "capacity_kw", "supply"),
            required_documents=("id_card", "property", "load_list"),
        ),
        Kind(
            "fault",
            _("Report a fault"),
            _("No power or a dangerous line: a crew comes to you."),
            "repair",
            "residential",
            fields=("customer_name", "address", "area", "description", "feeder"),
            optional_documents=("photo",),
        ),
        Kind(
            "ev_charger",
            _("EV charger"),
            _("A charger at home, with its own meter."),
            "ev_charger",
            "residential",
            fields=("customer_name", "address", "area", "capacity_kw", "feeder"),
            required_documents=("id_card",),
            optional_documents=("property",),
        ),
        Kind(
            "pv",
            _("Rooftop solar (distributed PV)"),
            _("Connect your panels and sell what you do not use."),
            "pv",
            "residential",
            fields=("customer_name", "address", "area", "capacity_kw", "feeder"),
            required_documents=("id_card",),
            optional_documents=("property",),
        ),
        Kind(
            "energy_efficiency",
            _("Energy-efficiency package"),
            _("An energy audit and savings measures for a business."),
            "energy_efficiency",
            "business",
            fields=("customer_name", "address", "area", "feeder"),
            required_documents=("id_card",),
            optional_documents=("load_list",),
        ),
    )
}


class ApplicationError(DemandError):
    """An application that cannot be taken: field → reason (nothing was kept)."""


def _number(text: str, field_name: str, limit: float, errors: dict[str, str]) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        errors[field_name] = "a number of kW"
        return 0.0
    if not 0 < value <= limit:
        errors[field_name] = f"more than 0 and at most {limit:g} kW"
    return value


def apply(
    rt: Runtime,
    customer: Staff,
    kind_id: str,
    form: Mapping[str, str],
    uploads: Mapping[str, tuple[str, bytes]],
    *,
    folder: Path,
    request_key: str | None = None,
) -> Accepted:
    """Take an application in. Every field and every file is checked before anything is
    kept; a refusal (ApplicationError, DocumentError or the intake's DemandError) keeps
    nothing, files included."""
    kind = KINDS.get(kind_id)
    if kind is None:
        raise ApplicationError({"kind": f"{kind_id!r} is not something to apply for online"})
    errors: dict[str, str] = {}
    name = (form.get("customer_name") or "").strip()
    address = (form.get("address") or "").strip()
    if not name:
        errors["customer_name"] = "is required"
    if not address:
        errors["address"] = "is required"
    area = form.get("area") or "urban"
    capacity = 0.0
    if "capacity_kw" in kind.fields:
        capacity = _number(form.get("capacity_kw", ""), "capacity_kw", kind.max_capacity_kw, errors)
    supply = (form.get("supply") or "single") if "supply" in kind.fields else "single"
    extra: dict[str, object] = dict(kind.extra)
    if "description" in kind.fields:
        description = (form.get("description") or "").strip()
        if not description:
            errors["description"] = "say what is wrong"
        elif len(description) > 1000:
            errors["description"] = "at most 1000 characters"
        extra["fault_description"] = description
    feeder = (form.get("feeder") or "").strip()[:40] if "feeder" in kind.fields else ""
    checked: list[documents.Upload] = []
    for document_kind, (file_name, content) in uploads.items():
        if document_kind not in kind.documents:
            errors[document_kind] = "not a document this application takes"
            continue
        try:
            checked.append(documents.check(document_kind, file_name, content))
        except documents.DocumentError as exc:
            errors.update(exc.field_errors)
    for required in kind.required_documents:
        if required not in uploads and required not in errors:
            errors[required] = "is required"
    if errors:
        raise ApplicationError(errors)
    demand = DemandInput(
        customer_name=name,
        customer_category=kind.customer_category,
        channel="online",
        category=kind.category,
        address=address,
        phone=customer.username.removeprefix("customer-"),
        voltage=kind.voltage,
        capacity_kw=capacity,
        supply=supply,
        area=area,
        feeder=feeder,
        extra=extra,
    )
    demand.validate()  # the intake's own checks, before any file is written
    kept = documents.keep(folder, checked)
    actor = Actor(customer.username, customer.roles, holds_work=False)
    recipient = _contact(rt, customer)

    def then(connection: Connection, demand_id: int, reference: str) -> None:
        documents.record(connection, rt, demand_id, customer.id, kept)
        locale = recipient.locale
        enqueue(
            connection,
            rt.clock.now(),
            recipient,
            Message(
                "application",
                translate(_("%(reference)s: application received"), locale, reference=reference),
                translate(
                    _(
                        "We have your application %(reference)s (%(kind)s). Follow each step on "
                        "the customer portal; we will tell you as each one is done."
                    ),
                    locale,
                    reference=reference,
                    kind=translate(kind.title, locale),
                ),
                demand_id,
                f"received:{demand_id}",
            ),
        )

    try:
        accepted = create_demand(
            rt, demand, actor, request_key=request_key, customer_id=customer.id, then=then
        )
    except BaseException:
        documents.discard(folder, kept)
        raise
    if accepted.replayed:
        documents.discard(folder, kept)  # the first request kept its own files
    return accepted


def _contact(rt: Runtime, customer: Staff) -> Recipient:
    from gridflow.customers.accounts import contact

    return contact(rt, customer.id)
