"""Packages offered where they fit: the catalogue in processes/packages.yaml, an offer made
once when a demand's data fits its rule, the answer recorded, and an accepted package's
processes started in the same demand."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PROCESSES
from sqlalchemy import select

from gridflow import packages
from gridflow.clock import SimulatedClock
from gridflow.demands import DemandInput, create_demand
from gridflow.models import Definition, Instance, WorkItem
from gridflow.roles import Actor
from gridflow.runtime import Runtime

CUSTOMER = Actor("customer:13900000000", frozenset())
DESK = Actor("desk1", frozenset({"service_desk"}))


def residential(rt: Runtime, kw: float) -> int:
    return create_demand(
        rt,
        DemandInput("Sun household", "residential", "online", "connection", capacity_kw=kw),
    ).demand_id


def processes_of(rt: Runtime, demand_id: int) -> list[str]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(Definition.process_id)
                .join(Instance, Instance.definition_id == Definition.id)
                .where(Instance.demand_id == demand_id, Instance.parent_instance_id.is_(None))
                .order_by(Instance.id)
            )
        )


def test_a_10_kw_residential_connection_is_offered_the_ev_package_and_accepting_starts_it(
    rt: Runtime, clock: SimulatedClock
) -> None:
    small = residential(rt, 8.0)
    assert packages.offers_for(rt, small) == []
    demand_id = residential(rt, 12.0)
    (offer,) = packages.offers_for(rt, demand_id)
    assert (offer.package.id, offer.state, offer.rule_id) == (
        "ev_charger_with_metering",
        "offered",
        "ev_for_residential_10kw",
    )
    assert packages.reason_of(offer)["zh"].startswith("居民用电容量达到 10 千瓦")
    # Offering again (a retry) offers nothing twice.
    assert [o.id for o in packages.offer(rt, demand_id)] == [offer.id]
    assert processes_of(rt, demand_id) == ["lv_residential_connection"]

    accepted = packages.answer(rt, offer.id, True, CUSTOMER)
    assert (accepted.state, accepted.answered_by) == ("accepted", CUSTOMER.username)
    assert processes_of(rt, demand_id) == ["lv_residential_connection", "ev_charger_installation"]
    # The package's process runs in the same demand, with its first link open.
    with rt.db.read() as session:
        links = session.execute(
            select(WorkItem.element_id, WorkItem.state)
            .join(Instance, Instance.id == WorkItem.instance_id)
            .where(Instance.id == accepted.instance_ids[0])
        ).all()
        reference = session.scalar(
            select(Instance.business_key).where(Instance.id == accepted.instance_ids[0])
        )
    assert [tuple(link) for link in links] == [("Activity_accept", "ready")]
    assert reference.startswith("D-2026-")
    # Answered once.
    with pytest.raises(packages.AlreadyAnswered):
        packages.answer(rt, offer.id, False, DESK)
    assert len(processes_of(rt, demand_id)) == 2


def test_staff_record_a_declined_offer_and_nothing_starts(
    rt: Runtime, clock: SimulatedClock
) -> None:
    demand_id = residential(rt, 15.0)
    (offer,) = packages.offers_for(rt, demand_id)
    declined = packages.answer(rt, offer.id, False, DESK)
    assert (declined.state, declined.answered_by, declined.instance_ids) == (
        "declined",
        "desk1",
        (),
    )
    assert processes_of(rt, demand_id) == ["lv_residential_connection"]


def test_the_lint_names_a_broken_offer_rule(tmp_path: Path) -> None:
    path = tmp_path / "packages.yaml"
    text = (PROCESSES / "packages.yaml").read_text()
    path.write_text(
        text.replace("capacity_kw >= 10", "capacity >= 10").replace(
            "processes: [pv_connection]", "processes: [pv_conection]"
        )
    )
    known = frozenset({"ev_charger_installation", "pv_connection", "energy_efficiency"})
    assert [(p.element_id, p.message) for p in packages.lint(path, known)] == [
        ("pv_with_grid_connection", "no process 'pv_conection' in the folder"),
        (
            "ev_for_residential_10kw",
            "when reads capacity: a demand has area, capacity_kw, category, channel, "
            "customer_category, supply, voltage",
        ),
    ]
    assert packages.lint(PROCESSES / "packages.yaml", known) == []
