"""The equipment inventory: vehicles, test instruments and meter stock by code, type and
area, each available or not and out with an open work item or not."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, select

from gridflow.models import Equipment, WorkItem
from gridflow.pool.members import AREAS, PoolError
from gridflow.pool.reading import OPEN
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext


@dataclass(frozen=True)
class EquipmentRow:
    id: int
    code: str
    type: str
    area: str
    available: bool
    held_by: int | None  # the open work item it is out with


def equipment(connection: Connection) -> list[EquipmentRow]:
    """All equipment; `held_by` only while its work item is still open."""
    rows = connection.execute(
        select(Equipment.__table__, WorkItem.state)
        .outerjoin(WorkItem, WorkItem.id == Equipment.work_item_id)
        .order_by(Equipment.type, Equipment.code)
    ).all()
    return [
        EquipmentRow(
            r.id,
            r.code,
            r.type,
            r.area,
            r.available,
            r.work_item_id if r.work_item_id is not None and r.state in OPEN else None,
        )
        for r in rows
    ]


def save_equipment(rt: Runtime, code: str, kind: str, area: str, *, available: bool = True) -> None:
    """Create or change a piece of equipment (a vehicle, a test instrument, meter stock)."""
    code = code.strip()
    if not code or len(code) > 40:
        raise PoolError(gettext("equipment code is required (at most 40 characters)"))
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind):
        raise PoolError(
            gettext("equipment type %(type)s must be a lower-case name such as vehicle"),
            type=repr(kind),
        )
    if area not in AREAS:
        raise PoolError(
            gettext("area %(area)s is not one of: %(areas)s"),
            area=repr(area),
            areas=", ".join(AREAS),
        )
    with rt.db.write() as session:
        row = session.scalar(select(Equipment).where(Equipment.code == code))
        if row is None:
            row = Equipment(code=code)
            session.add(row)
        row.type, row.area, row.available = kind, area, available
