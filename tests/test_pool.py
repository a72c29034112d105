"""The skill pool: "find help" ranks people with the reasons for each rank; the desk owner gets
a demand's front-end links first, and the team queue gets them when the owner is on leave or
full; hand-overs and helpers are recorded in the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import MONDAY_9AM, open_items
from sqlalchemy import select

from gridflow import demands, pool, queues, users, work_items
from gridflow.errors import ConflictError
from gridflow.models import TaskEvent
from gridflow.pool import Need, Person, PoolError
from gridflow.roles import Actor
from gridflow.runtime import Runtime

NOW = MONDAY_9AM  # Monday 01:00 UTC


def member(name: str, skills: dict[str, int], **fields: Any) -> Person:
    values: dict[str, Any] = {
        "username": name,
        "display_name": name,
        "roles": frozenset({"metering"}),
        "department": "metering",
        "area": "urban",
        "max_load": 3,
        "skills": skills,
        "shifts": ((0, 0, 9 * 60),),  # Monday 00:00–09:00 UTC
        "leave": (),
        "load": 0,
    }
    values.update(fields)
    return Person(**values)


def test_find_help_ranks_by_skill_level_shift_load_and_area_with_reasons() -> None:
    need = Need(
        role="metering",
        skills=(("metering", 2),),
        area="rural",
        due_at=NOW + timedelta(hours=4),
    )
    people = [
        member("expert", {"metering": 5}, area="rural"),  # overqualified: kept for hard links
        member("match", {"metering": 2}, area="rural"),  # exact level, same area, free
        member("busy", {"metering": 2}, area="rural", load=3, max_load=4),
        member("far", {"metering": 2}, area="remote"),
        member("leaving", {"metering": 2}, area="rural", shifts=((0, 0, 80),)),  # 20 min left
        member("novice", {"metering": 1}, area="rural"),
        member(
            "planner",
            {"metering": 2},
            area="rural",
            roles=frozenset({"planning_design"}),
            department="planning_design",
        ),
        member(
            "away",
            {"metering": 4},
            area="rural",
            leave=((NOW - timedelta(days=1), NOW + timedelta(days=3)),),
        ),
    ]
    ranked = pool.rank(people, need, NOW)
    assert [(f.person.username, f.feasible) for f in ranked] == [
        ("match", True),
        ("planner", True),  # borrowed from planning by skill
        ("expert", True),  # three levels above the need
        ("far", True),  # one area away
        ("busy", True),  # holds 3 of 4
        ("leaving", True),  # 20 min of shift left of the 2 h the link asks for
        ("away", False),
        ("novice", False),
    ]
    reasons = {f.person.username: f.text for f in ranked}
    assert reasons["match"] == (
        "skills metering 2≥2; on shift 8h00m more (link needs 2h00m); holds 0 of 3; "
        "same area (rural)"
    )
    assert reasons["planner"] == (
        "skills metering 2≥2; from planning_design, by skill; on shift 8h00m more "
        "(link needs 2h00m); holds 0 of 3; same area (rural)"
    )
    assert reasons["far"].endswith("based remote, link rural")
    assert reasons["leaving"] == (
        "skills metering 2≥2; on shift 20 min more (link needs 2h00m); holds 0 of 3; "
        "same area (rural)"
    )
    assert reasons["away"].startswith("skills metering 4≥2; on leave until 2026-03-05 01:00 UTC")
    assert reasons["novice"].startswith("metering needs level 2, has 1")


def test_shift_windows_cross_midnight_and_leave_cuts_them_short() -> None:
    night = member("night", {}, shifts=((6, 22 * 60, 10 * 60),))  # Sunday 22:00 → Monday 08:00
    assert night.shift_left(NOW) == timedelta(hours=7)
    assert night.shift_left(NOW + timedelta(hours=8)) is None
    cut = member(
        "cut", {}, leave=((NOW + timedelta(hours=2), NOW + timedelta(days=1)),)
    )  # leave from 03:00
    assert cut.shift_left(NOW) == timedelta(hours=2)
    assert cut.status(NOW + timedelta(hours=3)) == "on_leave"


# --- desk owner ---------------------------------------------------------------------------------


def staff(rt: Runtime, name: str, role: str, *, max_load: int = 3) -> Actor:
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    users.create_user(rt, name, "correct-horse-9", [role])
    pool.save_profile(
        rt, name, department="customer_service", area="urban", max_load=max_load, skills=""
    )
    pool.add_shift(rt, name, 0, "00:00", "09:00")
    return Actor(name, frozenset({role}))


def new_connection(rt: Runtime, owner: str) -> int:
    accepted = demands.create_demand(
        rt,
        demands.DemandInput("Zhao household", "residential", "app", "connection"),
        owner=owner,
    )
    return accepted.instances[0].instance_id


def lifecycle(rt: Runtime, item_id: int) -> list[tuple[str, str | None]]:
    with rt.db.read() as session:
        return [
            (row.lifecycle, row.actor)
            for row in session.execute(
                select(TaskEvent.lifecycle, TaskEvent.actor)
                .where(TaskEvent.work_item_id == item_id)
                .order_by(TaskEvent.id)
            )
        ]


def test_the_owners_front_end_link_goes_to_their_my_work_first(rt: Runtime) -> None:
    owner = staff(rt, "manager_zhou", "account_manager")
    colleague = staff(rt, "manager_qian", "account_manager")
    iid = new_connection(rt, owner.username)
    [accept] = open_items(rt, iid)
    assert (accept.element_id, accept.state, accept.assignee) == (
        "Activity_accept",
        "ready",
        "manager_zhou",
    )
    assert lifecycle(rt, accept.id) == [("ready", None), ("assigned", "manager_zhou")]
    mine = queues.work_queue(rt, owner, "mine")
    assert [row.id for row in mine.rows] == [accept.id]
    assert queues.work_queue(rt, colleague, "team").rows == []
    with pytest.raises(ConflictError, match="was given to manager_zhou"):
        work_items.claim(rt, accept.id, colleague)
    # Waiting runs until the owner starts it: assigned is not started.
    rt.clock.advance(timedelta(minutes=20))  # type: ignore[attr-defined]
    work_items.claim(rt, accept.id, owner)
    assert lifecycle(rt, accept.id)[-1] == ("claimed", "manager_zhou")


def test_when_the_owner_is_on_leave_the_link_goes_to_the_team_queue(rt: Runtime) -> None:
    owner = staff(rt, "manager_zhou", "account_manager")
    colleague = staff(rt, "manager_qian", "account_manager")
    pool.add_leave(rt, owner.username, NOW - timedelta(hours=1), NOW + timedelta(days=5), "annual")
    iid = new_connection(rt, owner.username)
    [accept] = open_items(rt, iid)
    assert (accept.state, accept.assignee) == ("ready", None)
    assert lifecycle(rt, accept.id) == [("ready", None)]
    assert [row.id for row in queues.work_queue(rt, colleague, "team").rows] == [accept.id]
    assert queues.work_queue(rt, owner, "mine").rows == []


def test_when_the_owner_is_full_the_link_goes_to_the_team_queue(rt: Runtime) -> None:
    owner = staff(rt, "manager_zhou", "account_manager", max_load=1)
    first = new_connection(rt, owner.username)
    assert open_items(rt, first)[0].assignee == "manager_zhou"
    second = new_connection(rt, owner.username)
    assert open_items(rt, second)[0].assignee is None


def test_an_account_manager_who_takes_a_demand_in_owns_it(rt: Runtime) -> None:
    owner = staff(rt, "manager_zhou", "account_manager")
    accepted = demands.create_demand(
        rt, demands.DemandInput("Sun household", "residential", "counter", "connection"), owner
    )
    [accept] = open_items(rt, accepted.instances[0].instance_id)
    assert accept.assignee == "manager_zhou"


# --- hand over and helpers ----------------------------------------------------------------------


def test_hand_over_and_helpers_are_recorded_in_the_events(rt: Runtime) -> None:
    owner = staff(rt, "manager_zhou", "account_manager")
    staff(rt, "manager_qian", "account_manager")
    staff(rt, "manager_sun", "account_manager")
    staff(rt, "desk_wu", "service_desk")
    iid = new_connection(rt, owner.username)
    [accept] = open_items(rt, iid)
    held = work_items.claim(rt, accept.id, owner)
    helped = work_items.add_helper(
        rt, accept.id, owner, "manager_sun", reason="documents in Uyghur"
    )
    assert helped.assignee == "manager_zhou"
    assert pool.person(rt, "manager_sun").load == 1  # type: ignore[union-attr]
    passed = work_items.hand_over(
        rt, accept.id, owner, "manager_qian", expected_version=held.lock_version
    )
    assert (passed.state, passed.assignee) == ("claimed", "manager_qian")
    with rt.db.read() as session:
        events = session.execute(
            select(TaskEvent.lifecycle, TaskEvent.actor, TaskEvent.details)
            .where(TaskEvent.work_item_id == accept.id)
            .order_by(TaskEvent.id)
        ).all()
    assert [(e.lifecycle, e.actor, e.details) for e in events] == [
        ("ready", None, None),
        ("assigned", "manager_zhou", {"by": "desk_owner"}),
        ("claimed", "manager_zhou", None),
        (
            "help_requested",
            "manager_zhou",
            {"helper": "manager_sun", "reason": "documents in Uyghur"},
        ),
        ("handed_over", "manager_zhou", {"to": "manager_qian", "from": "manager_zhou"}),
    ]
    # Only its holder passes it on.
    with pytest.raises(Exception, match="held by manager_qian, not by you"):
        work_items.hand_over(rt, accept.id, owner, "desk_wu")


def test_find_help_for_a_stored_link_leaves_out_its_holder(rt: Runtime) -> None:
    owner = staff(rt, "manager_zhou", "account_manager")
    staff(rt, "manager_qian", "account_manager")
    iid = new_connection(rt, owner.username)
    [accept] = open_items(rt, iid)
    ranked = pool.candidates(rt, accept)
    assert [(f.person.username, f.feasible) for f in ranked] == [("manager_qian", True)]


def test_the_pool_refuses_bad_entries_with_clear_messages(rt: Runtime) -> None:
    cases = [
        (lambda: pool.save_profile(rt, "x", department="nowhere", area="urban", max_load=2),
         "department 'nowhere' is unknown"),
        (lambda: pool.save_profile(rt, "x", department="metering", area="moon", max_load=2),
         "area 'moon' is not one of: urban, rural, remote"),
        (lambda: pool.save_profile(rt, "x", department="metering", area="urban", max_load=0),
         "maximum load must be a whole number from 1 to 20"),
        (lambda: pool.save_profile(
            rt, "x", department="metering", area="urban", max_load=2, skills="repair:9"),
         "skills: level of 'repair' must be 1 to 5, not '9'"),
        (lambda: pool.save_equipment(rt, "V1", "Big Truck", "urban"),
         "equipment type 'Big Truck' must be a lower-case name such as vehicle"),
    ]  # fmt: skip
    for action, message in cases:
        with pytest.raises(PoolError, match=message):
            action()
    pool.save_profile(rt, "x", department="metering", area="urban", max_load=2)
    with pytest.raises(PoolError, match="time '25:00' must be HH:MM"):
        pool.add_shift(rt, "x", 0, "25:00", "08:00")
    with pytest.raises(PoolError, match="leave must end after it starts"):
        pool.add_leave(rt, "x", NOW, NOW)
    assert pool.people(rt)[0].shifts == ()


# --- pages --------------------------------------------------------------------------------------


def test_a_supervisor_keeps_the_pool_and_sees_who_is_free(rt: Runtime, client: Any) -> None:
    from conftest import login

    users.create_user(rt, "boss", "correct-horse-9", ["supervisor"])
    login(client, "boss")
    saved = client.post(
        "/pool/profile",
        data={
            "username": "meter1",
            "department": "metering",
            "area": "rural",
            "max_load": "2",
            "skills": "metering:3",
        },
    )
    assert saved.status_code == 302
    # Shifts are entered and shown in local (Beijing) time and kept in UTC: Monday 08:00 is
    # Monday 00:00 UTC, Tuesday 06:00 is Monday 22:00 UTC.
    for weekday, start, end in (("0", "08:00", "17:00"), ("1", "06:00", "10:00")):
        client.post(
            "/pool/shift",
            data={"username": "meter1", "weekday": weekday, "start": start, "end": end},
        )
    assert pool.person(rt, "meter1").shifts == ((0, 0, 540), (0, 1320, 240))  # type: ignore[union-attr]
    refused = client.post(
        "/pool/profile",
        data={"username": "x", "department": "metering", "area": "moon", "max_load": "2"},
        follow_redirects=True,
    )
    assert "area &#39;moon&#39; is not one of: urban, rural, remote" in refused.text
    client.post("/pool/equipment", data={"code": "VAN-9", "type": "vehicle", "area": "rural"})
    client.post(
        "/pool/leave",
        data={
            "username": "meter1",
            "starts": "2026-03-09T09:00",  # Beijing time
            "ends": "2026-03-13T18:00",
            "reason": "training",
        },
    )
    assert pool.person(rt, "meter1").leave == (  # type: ignore[union-attr]
        (datetime(2026, 3, 9, 1, tzinfo=UTC), datetime(2026, 3, 13, 10, tzinfo=UTC)),
    )
    page = client.get("/pool")
    assert page.status_code == 200
    assert "meter1" in page.text and "metering:3" in page.text and "Monday 08:00–17:00" in page.text
    assert "Tuesday 06:00–10:00" in page.text
    assert "<td>Metering</td>" in page.text  # the department's name, not its id
    assert "free: 1" in page.text and "VAN-9" in page.text
    assert "meter1: 2026-03-09 09:00 – 2026-03-13 18:00 training" in page.text
    assert client.get("/dispatch").status_code == 200
    # A clerk may not keep the pool.
    login(client, "desk1")
    assert client.get("/pool").status_code == 403


def test_find_help_page_ranks_and_hands_over(rt: Runtime, client: Any) -> None:
    from conftest import login

    owner = staff(rt, "manager_zhou", "account_manager")
    staff(rt, "manager_qian", "account_manager")
    staff(rt, "manager_sun", "account_manager")
    pool.add_leave(rt, "manager_sun", NOW - timedelta(hours=1), datetime(2026, 3, 5, 1, tzinfo=UTC))
    users.create_user(rt, "stranger", "correct-horse-9", ["finance"])
    iid = new_connection(rt, owner.username)
    [accept] = open_items(rt, iid)
    login(client, "manager_zhou")
    mine = client.get("/queue?scope=mine")
    assert f'data-work-item="{accept.id}"' in mine.text
    assert "given to you, not started" in mine.text
    page = client.get(f"/work-items/{accept.id}/help")
    assert page.status_code == 200
    assert "manager_qian" in page.text and "holds 0 of 3" in page.text
    # Only those available are listed; the one on leave is behind "show everyone".
    assert "manager_sun" not in page.text and "not available now" in page.text
    assert 'id="show-all"' in page.text
    everyone = client.get(f"/work-items/{accept.id}/help?show=all")
    assert "manager_sun" in everyone.text
    assert "on leave until 2026-03-05 09:00" in everyone.text  # local (Beijing) time
    done = client.post(
        f"/work-items/{accept.id}/hand-over",
        data={"username": "manager_qian", "version": str(accept.lock_version)},
    )
    assert done.status_code == 302
    assert open_items(rt, iid)[0].assignee == "manager_qian"
    assert lifecycle(rt, accept.id)[-1] == ("handed_over", "manager_zhou")
