"""What customers are told, and when: each completed link of their demand, a link gone past
its standard (with the reason staff wrote for them, if any), an appointment booked or changed,
and an outage on their feeder being repaired (the outage-alarm linkage rule, once per event).

Each is written with the caller's connection, in the transaction of what it tells about;
texts are in the customer's language, the link in the customer's words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, bindparam, cast, exists, literal, select

from gridflow.customer_words import words_for
from gridflow.models import Comment, Definition, Demand, Instance, Notification, User, WorkItem
from gridflow.notifications.outbox import Message, Recipient, enqueue
from gridflow.runtime import Runtime
from gridflow.texts import _, translate

MOBILE = re.compile(r"^\+?(86)?1[3-9]\d{9}$")

_CUSTOMER_OF_INSTANCE = (
    select(
        Demand.id,
        Demand.reference,
        User.email,
        User.phone,
        User.locale,
        Definition.process_id,
    )
    .select_from(Instance)
    .join(Demand, Demand.id == Instance.demand_id)
    .join(User, User.id == Demand.customer_id)
    .join(Definition, Definition.id == Instance.definition_id)
    .where(Instance.id == bindparam("instance_id"), User.active.is_(True))
)


def _recipient(row: Any) -> Recipient:  # noqa: ANN401 - a row with email, phone, locale
    return Recipient(email=row.email, phone=row.phone, locale=row.locale)


def _link(process_id: str, element_id: str, link_name: str, locale: str | None) -> str:
    return translate(words_for(process_id, element_id, link_name).name, locale)


def link_completed(
    connection: Connection,
    now: datetime,
    instance_id: int,
    work_item_id: int,
    element_id: str,
    link_name: str,
) -> int:
    """Tell the demand's customer (if it has an account) that a link is done."""
    row = connection.execute(_CUSTOMER_OF_INSTANCE, {"instance_id": instance_id}).first()
    if row is None:
        return 0
    locale = row.locale
    step = _link(row.process_id, element_id, link_name, locale)
    return enqueue(
        connection,
        now,
        _recipient(row),
        Message(
            "link_completed",
            translate(_("%(reference)s: a step is done"), locale, reference=row.reference),
            translate(
                _(
                    "Done: %(step)s.\nFollow your application %(reference)s, step by step, on the "
                    "customer portal."
                ),
                locale,
                step=step,
                reference=row.reference,
            ),
            row.id,
            f"done:{work_item_id}",
        ),
    )


_LATE = (
    select(
        WorkItem.id,
        WorkItem.instance_id,
        WorkItem.element_id,
        WorkItem.link_name,
        WorkItem.due_at,
    )
    .join(Instance, Instance.id == WorkItem.instance_id)
    .join(Demand, Demand.id == Instance.demand_id)
    .where(
        WorkItem.state.in_(("ready", "claimed")),
        WorkItem.due_at < bindparam("now"),
        Demand.customer_id.is_not(None),
        # Links already told about are not read again, round after round.
        ~exists().where(
            Notification.dedupe_key == literal("late:").concat(cast(WorkItem.id, String))
        ),
    )
    .order_by(WorkItem.due_at)
)
_REASON = (
    select(Comment.body)
    .where(Comment.work_item_id == bindparam("work_item_id"), Comment.for_customer.is_(True))
    .order_by(Comment.id.desc())
    .limit(1)
)


def late_links(rt: Runtime) -> int:
    """Tell customers about each open link of theirs past its standard, once per link;
    returns how many messages were written. Run by every delivery round."""
    now = rt.clock.now()
    written = 0
    with rt.db.transaction() as connection:
        for item in connection.execute(_LATE, {"now": now}).all():
            row = connection.execute(
                _CUSTOMER_OF_INSTANCE, {"instance_id": item.instance_id}
            ).first()
            if row is None:
                continue
            locale = row.locale
            reason = connection.scalar(_REASON, {"work_item_id": item.id})
            step = _link(row.process_id, item.element_id, item.link_name, locale)
            body = translate(
                _("Late: %(step)s should have been done by %(due)s. We are sorry for the delay."),
                locale,
                step=step,
                due=rt.calendar.to_local(item.due_at).strftime("%Y-%m-%d %H:%M"),
            )
            if reason:
                body += "\n" + translate(_("The reason: %(reason)s"), locale, reason=reason)
            written += enqueue(
                connection,
                now,
                _recipient(row),
                Message(
                    "link_late",
                    translate(_("%(reference)s: a step is late"), locale, reference=row.reference),
                    body,
                    row.id,
                    f"late:{item.id}",
                ),
            )
    return written


def appointment(
    connection: Connection,
    now: datetime,
    demand_id: int,
    starts_at_local: str,
    *,
    changed: bool,
    key: str,
) -> int:
    """Tell a demand's customer that a site visit is booked (or moved) for a local time."""
    row = connection.execute(
        select(Demand.id, Demand.reference, User.email, User.phone, User.locale)
        .join(User, User.id == Demand.customer_id)
        .where(Demand.id == demand_id, User.active.is_(True))
    ).first()
    if row is None:
        return 0
    locale = row.locale
    text = (
        _("Your visit for %(reference)s has moved to %(when)s.")
        if changed
        else _("Your visit for %(reference)s is booked for %(when)s.")
    )
    return enqueue(
        connection,
        now,
        _recipient(row),
        Message(
            "appointment",
            translate(_("%(reference)s: your visit"), locale, reference=row.reference),
            translate(text, locale, reference=row.reference, when=starts_at_local),
            row.id,
            key,
        ),
    )


def outage(
    rt: Runtime,
    connection: Connection,
    now: datetime,
    event_key: str,
    feeder: str,
    area: str | None,
) -> list[str]:
    """Tell the customers on a feeder that its outage is being repaired, with the expected
    restoration (the active repair's whole-process standard for the area, from now): every
    customer account with a demand on the feeder, and the mobile phone of every open demand
    on it without an account. Once per event key; returns the demands' references."""
    restored = _expected_restoration(rt, connection, now, area)
    when = rt.calendar.to_local(restored).strftime("%Y-%m-%d %H:%M") if restored else None
    told: list[str] = []
    for demand, recipient in _on_feeder(connection, feeder):
        locale = recipient.locale
        body = translate(
            _("Power is off on feeder %(feeder)s and a repair crew is on its way."),
            locale,
            feeder=feeder,
        )
        if when:
            body += " " + translate(_("Supply is expected back by %(when)s."), locale, when=when)
        written = enqueue(
            connection,
            now,
            recipient,
            Message(
                "outage",
                translate(_("Power cut on your line: repair under way"), locale),
                body,
                demand.id,
                f"outage:{event_key}",
            ),
        )
        if written:
            told.append(demand.reference)
    return sorted(set(told))


def _expected_restoration(
    rt: Runtime, connection: Connection, now: datetime, area: str | None
) -> datetime | None:
    try:
        repair = rt.latest("active_repair", connection).definition
    except Exception:  # noqa: BLE001 - no active repair deployed: no promise to give
        return None
    if repair.standard is None:
        return None
    return repair.standard.due(now, {"area": area}, rt.calendar)


def _on_feeder(connection: Connection, feeder: str) -> Iterable[tuple[Any, Recipient]]:
    rows = connection.execute(
        select(
            Demand.id,
            Demand.reference,
            Demand.details,
            Demand.phone,
            Demand.customer_id,
            User.email,
            User.phone.label("account_phone"),
            User.locale,
            User.active,
        )
        .outerjoin(User, User.id == Demand.customer_id)
        .where(Demand.details["feeder"].as_string() == feeder)
        .order_by(Demand.id)
    ).all()
    open_demands = set(
        connection.scalars(
            select(Instance.demand_id).where(
                Instance.status == "running", Instance.demand_id.is_not(None)
            )
        )
    )
    for row in rows:
        if (row.details or {}).get("feeder") != feeder:
            continue
        if row.customer_id is not None:
            if row.active:
                yield row, Recipient(row.email, row.account_phone, row.locale)
        elif row.id in open_demands and MOBILE.match(re.sub(r"[\s-]", "", row.phone or "")):
            yield row, Recipient(None, re.sub(r"[\s-]", "", row.phone), None)
