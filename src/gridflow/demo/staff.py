"""The demo's staff: sign-in names and the password, the accounts (and `integration1`, the
stand-in systems' account), and the skill pool (profiles, shifts, leave and vehicles)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from gridflow.runtime import Runtime

STAFF_PER_ROLE = 3

# Short sign-in names for the demo staff of each role: planner1, planner2, …
DEMO_NAMES = {
    "account_manager": "manager",
    "service_desk": "desk",
    "planning_design": "planner",
    "construction": "builder",
    "metering": "meter",
    "dispatch_repair": "repair",
    "finance": "finance",
    "materials": "stores",
    "supervisor": "supervisor",
    "designer": "designer",
    "auditor": "auditor",
    "admin": "admin",
    "integration": "integration",
}
DEMO_PASSWORD = "gridflow-demo"
# The account the stand-in systems act as inside the simulation.
DEMO_SYSTEMS_ACCOUNT = "integration1"


def _create_accounts(rt: Runtime, processes: Path) -> None:
    """Demo staff (DEMO_NAMES), and `integration1`, the account of the other systems (grid
    monitoring, metering, marketing, finance), granted every event type the linkage rules take
    and every external-task topic the stand-in systems serve."""
    from gridflow import linkage
    from gridflow.demo_systems import TOPICS
    from gridflow.users import create_user, list_users

    existing = {staff.username for staff in list_users(rt)}
    book = linkage.rulebook(rt.roles, processes)
    grants = sorted(f"event:{n}" for n, e in book.events.items() if not e.internal)
    grants += sorted(f"topic:{topic}" for topic in TOPICS)
    for role_id, short in DEMO_NAMES.items():
        count = STAFF_PER_ROLE if rt.roles[role_id].owns_lanes else 1
        for n in range(1, count + 1):
            if f"{short}{n}" not in existing:
                create_user(
                    rt,
                    f"{short}{n}",
                    DEMO_PASSWORD,
                    [role_id],
                    display_name=f"{rt.roles[role_id].name} {n}",
                    display_name_zh=f"{rt.roles[role_id].name_zh} {n} 号",
                    grants=grants if role_id == "integration" else (),
                )


# The skill pool (issue 6): everyone's department, area, skills and weekly shifts in UTC.
# Repair crews work round the clock in three shifts; offices work 08:30–17:30 Beijing time.
CREWS = 9  # repair1 … repair9
CREW_SKILLS = ("repair:3,live_line:2,dispatch:2", "repair:2,live_line:1", "repair:2")
OFFICE_SKILLS = {
    "account_manager": "sales:2",
    "service_desk": "sales:1",
    "planning_design": "design:3",
    "construction": "construction:3,repair:1",
    "metering": "metering:3,repair:1",
    "finance": "billing:2",
    "materials": "stores:2",
    "supervisor": "dispatch:3,repair:2",
}
VEHICLES = (("VAN-01", "urban"), ("VAN-02", "urban"), ("VAN-03", "urban"), ("TRUCK-04", "rural"),
            ("4WD-05", "remote"))  # fmt: skip


def seed_pool(rt: Runtime, now: datetime) -> None:
    """Profiles for the demo accounts (and six more repair crew), five vehicles, an owner for
    every demand and its feeder kept, one account manager on leave this week."""
    from gridflow import pool
    from gridflow.models import Demand
    from gridflow.users import create_user, list_users

    existing = {staff.username for staff in list_users(rt)}
    areas = ("urban", "urban", "rural")
    for n in range(1, CREWS + 1):
        name = f"repair{n}"
        if name not in existing:
            create_user(
                rt,
                name,
                DEMO_PASSWORD,
                ["dispatch_repair"],
                display_name=f"Crew {n}",
                display_name_zh=f"抢修班 {n} 组",
            )
        pool.save_profile(
            rt,
            name,
            department="dispatch_repair",
            area="remote" if n == CREWS else areas[n % 3],
            max_load=2,
            skills=CREW_SKILLS[(n - 1) // 3],
        )
        start = ("00:00", "08:00", "16:00")[(n - 1) % 3]
        end = ("08:00", "16:00", "00:00")[(n - 1) % 3]
        for weekday in range(7):
            pool.add_shift(rt, name, weekday, start, end)
    for role_id, skills in OFFICE_SKILLS.items():
        department = rt.roles[role_id].department.id
        for n in range(1, STAFF_PER_ROLE + 1):
            name = f"{DEMO_NAMES[role_id]}{n}"
            pool.save_profile(
                rt, name, department=department, area=areas[n % 3], max_load=5, skills=skills
            )
            for weekday in range(5):
                pool.add_shift(rt, name, weekday, "00:30", "09:30")
    pool.add_leave(rt, "manager3", now - timedelta(days=1), now + timedelta(days=6), "annual leave")
    for code, area in VEHICLES:
        pool.save_equipment(rt, code, "vehicle", area)
    managers = [f"{DEMO_NAMES['account_manager']}{n}" for n in range(1, STAFF_PER_ROLE + 1)]
    with rt.db.write() as session:
        for demand in session.scalars(select(Demand).order_by(Demand.id)):
            demand.owner = managers[demand.id % len(managers)]


def demo_accounts_text() -> str:
    names = ", ".join(f"{short}1" for short in DEMO_NAMES.values())
    return (
        f"demo accounts: {names} (and …2, …3 per lane role; repair crews repair1 … "
        f"repair{CREWS}); password: {DEMO_PASSWORD}"
    )
