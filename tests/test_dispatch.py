"""Dispatch: ready back-end links go to qualified people on shift, with equipment where the link
needs it, by a minimum-cost assignment; nobody ends a round over their maximum load."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conftest import MONDAY_9AM, open_items
from sqlalchemy import select

from gridflow import dispatch, instances, pool, users
from gridflow.models import DispatchRound, Equipment, TaskEvent
from gridflow.pool import EquipmentRow, Need, Person
from gridflow.runtime import Runtime

NOW = MONDAY_9AM  # Monday 01:00 UTC
MONDAY = 0


def person(
    name: str,
    skills: dict[str, int],
    *,
    area: str = "urban",
    max_load: int = 2,
    load: int = 0,
    shift: tuple[int, int] = (0, 8 * 60),  # Monday 00:00 UTC for 8 h
    leave: tuple[tuple, ...] = (),  # type: ignore[type-arg]
    roles: frozenset[str] = frozenset({"dispatch_repair"}),
) -> Person:
    return Person(
        username=name,
        display_name=name,
        roles=roles,
        department="dispatch_repair",
        area=area,
        max_load=max_load,
        skills=skills,
        shifts=((MONDAY, shift[0], shift[1]),),
        leave=leave,
        load=load,
    )


def job(job_id: int, skills: str, minutes_to_due: int, area: str = "urban", equipment=()):  # type: ignore[no-untyped-def]
    from gridflow.definitions import parse_skills

    return dispatch.Job(
        job_id,
        1,
        Need(
            role="dispatch_repair",
            skills=parse_skills(skills),
            equipment=tuple(equipment),
            area=area,
            due_at=NOW + timedelta(minutes=minutes_to_due),
        ),
    )


def vehicle(code: str, area: str) -> EquipmentRow:
    return EquipmentRow(0, code, "vehicle", area, True, None)


def test_each_link_goes_to_the_cheapest_qualified_person_on_shift_with_a_vehicle() -> None:
    people = [
        person("ann", {"repair": 3, "live_line": 1}),  # the only live-line worker
        person("bob", {"repair": 2}, max_load=1, shift=(0, 2 * 60)),  # 1 h of shift left
        person("cai", {"repair": 2}, area="rural", load=1),
        person("dai", {"repair": 3}, leave=((NOW - timedelta(hours=1), NOW + timedelta(days=2)),)),
        person("eve", {"design": 2}, roles=frozenset({"planning_design"})),
    ]
    jobs = [
        job(1, "repair:2", 45, equipment=("vehicle",)),  # urban arrival, 45 min
        job(2, "repair:2,live_line:1", 180),  # restore, live line
        job(3, "repair:2", 90, area="rural", equipment=("vehicle",)),  # rural arrival
    ]
    result = dispatch.plan(
        jobs, people, NOW, [vehicle("V-RURAL", "rural"), vehicle("V-URBAN", "urban")]
    )
    assert [(c.job_id, c.username, c.equipment) for c in result.choices] == [
        (1, "bob", "V-URBAN"),
        (2, "ann", None),
        (3, "cai", "V-RURAL"),
    ]
    assert result.unassigned == {}
    bob = result.choices[0].reason_texts
    assert bob == [
        "skills repair 2≥2",
        "on shift 1h00m more (link needs 45 min)",
        "holds 0 of 1",
        "same area (urban)",
        "vehicle V-URBAN (urban)",
    ]


def test_nobody_ends_a_round_over_their_maximum_and_the_most_urgent_links_go_first() -> None:
    people = [
        person("ann", {"repair": 2}, max_load=2, load=1),  # one slot left
        person("bob", {"repair": 2}, max_load=1),  # one slot
        person("dai", {"repair": 5}, shift=(8 * 60, 8 * 60)),  # off shift until 08:00
    ]
    jobs = [job(1, "repair:1", 600), job(2, "repair:1", 30), job(3, "repair:1", 120)]
    result = dispatch.plan(jobs, people, NOW)
    # Two free slots (ann's last, bob's only) for three links: the two most urgent get them.
    assert sorted(c.job_id for c in result.choices) == [2, 3]
    assert sorted(c.username for c in result.choices) == ["ann", "bob"]
    assert result.unassigned == {1: "the people who could take it went to more urgent links"}


def test_a_link_nobody_can_do_stays_in_the_queue_with_the_reason() -> None:
    people = [person("ann", {"repair": 1})]
    jobs = [job(1, "repair:3", 60), job(2, "repair:1", 60, equipment=("vehicle",))]
    result = dispatch.plan(jobs, people, NOW, [])
    assert result.choices == []
    assert result.unassigned == {
        1: "nobody qualified is on shift with load to spare",
        2: "no free vehicle",
    }


# --- rounds on the store ------------------------------------------------------------------------


def crew(rt: Runtime) -> None:
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    for name, skills, area in (
        ("crew_urban", "repair:2", "urban"),
        ("crew_rural", "repair:3", "rural"),
        ("crew_off", "repair:3", "urban"),
    ):
        users.create_user(rt, name, "correct-horse-9", ["dispatch_repair"])
        pool.save_profile(
            rt, name, department="dispatch_repair", area=area, max_load=2, skills=skills
        )
    pool.add_shift(rt, "crew_urban", MONDAY, "00:00", "08:00")
    pool.add_shift(rt, "crew_rural", MONDAY, "00:00", "08:00")
    pool.add_shift(rt, "crew_off", MONDAY, "08:00", "16:00")
    pool.save_equipment(rt, "V-01", "vehicle", "urban")


def test_a_round_assigns_the_active_repair_to_an_on_shift_crew_with_a_vehicle_once(
    rt: Runtime,
) -> None:
    crew(rt)
    started = instances.start_instance(
        rt, "active_repair", {"feeder": "F007", "area": "urban"}, business_key="A-1"
    )
    first = dispatch.run_round(rt, "round-1")
    [locate] = open_items(rt, started.instance_id)
    assert locate.element_id == "Activity_locate"
    assert (locate.state, locate.assignee) == ("ready", "crew_urban")
    assert [(a.work_item_id, a.username, a.equipment) for a in first.assignments] == [
        (locate.id, "crew_urban", "V-01")
    ]
    assert first.assignments[0].reasons[-1] == "vehicle V-01 (urban)"
    # The same round again plans nothing new; a new round finds nothing left to give.
    again = dispatch.run_round(rt, "round-1")
    assert again.replayed and again.assignments == first.assignments
    assert dispatch.run_round(rt, "round-2").assignments == []
    with rt.db.read() as session:
        events = session.execute(
            select(TaskEvent.lifecycle, TaskEvent.actor, TaskEvent.details)
            .where(TaskEvent.work_item_id == locate.id)
            .order_by(TaskEvent.id)
        ).all()
        held = session.scalar(select(Equipment.work_item_id).where(Equipment.code == "V-01"))
        rounds = session.scalar(
            select(DispatchRound.assigned).where(DispatchRound.key == "round-1")
        )
    assert [(e.lifecycle, e.actor) for e in events] == [
        ("ready", None),
        ("assigned", "crew_urban"),
    ]
    assert events[1].details["round"] == "round-1"
    assert held == locate.id and rounds == 1
    # A second repair finds no free vehicle while the first holds it.
    instances.start_instance(
        rt, "active_repair", {"feeder": "F008", "area": "urban"}, business_key="A-2"
    )
    third = dispatch.run_round(rt, "round-3")
    assert third.assignments == [] and list(third.unassigned.values()) == ["no free vehicle"]


def test_supervisors_run_rounds_through_the_api_and_the_same_key_plans_once(
    rt: Runtime, client: Any
) -> None:
    from conftest import token

    crew(rt)
    users.create_user(rt, "boss", "correct-horse-9", ["supervisor"])
    instances.start_instance(
        rt, "active_repair", {"feeder": "F007", "area": "urban"}, business_key="A-1"
    )
    boss = client.post("/api/tokens", json={"username": "boss", "password": "correct-horse-9"})
    headers = {"Authorization": f"Bearer {boss.json['token']}"}
    first = client.post("/api/dispatch/rounds", json={"key": "r1"}, headers=headers)
    assert first.status_code == 201
    assert [(a["username"], a["equipment"]) for a in first.json["assignments"]] == [
        ("crew_urban", "V-01")
    ]
    again = client.post("/api/dispatch/rounds", json={"key": "r1"}, headers=headers)
    assert again.status_code == 200 and again.json == first.json
    listed = client.get("/api/dispatch/rounds", headers=headers).json["rounds"]
    assert [r["key"] for r in listed] == ["r1"]
    clerk = client.post("/api/dispatch/rounds", json={}, headers=token(client, "desk1"))
    assert clerk.status_code == 403


def test_among_links_with_days_to_spare_the_one_waiting_longest_goes_first() -> None:
    """Two links due in five days and one free slot: the link ready since yesterday goes before
    the one ready an hour ago, whatever order they come in (no link waits forever behind newer
    ones)."""
    from dataclasses import replace

    newer = replace(job(1, "repair:2", 5 * 24 * 60), ready_at=NOW - timedelta(hours=1))
    older = replace(job(2, "repair:2", 5 * 24 * 60), ready_at=NOW - timedelta(hours=20))
    for jobs in ([newer, older], [older, newer]):
        result = dispatch.plan(jobs, [person("ann", {"repair": 2}, max_load=1)], NOW)
        assert [(c.job_id, c.username) for c in result.choices] == [(2, "ann")]
        assert result.unassigned == {1: "the people who could take it went to more urgent links"}
