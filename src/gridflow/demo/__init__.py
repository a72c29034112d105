"""Demo data: demands arrive over simulated weeks and run through the real engine and store on
a simulated clock; each link waits and is handled for right-skewed (lognormal) times whose
95th percentile sits near its service standard, as real utility figures do.

The stand-in marketing, metering and finance systems (`demo_systems`) serve the external tasks:
most answer within minutes, some fail and retry, some open incidents that a supervisor retries
hours later; a demo left open at now finds the metering system down since the working day
before, its incidents still open. Links of the processes a connection calls (meter
installation) and the four departments' countersign links are worked like any other.

The package, by concern: `workload` (the start, the demand mix, the answers that steer
gateways), `staff` (demo accounts and the skill pool), `simulation` (the discrete-event
simulation driving the real verbs) and `run` (run_demo, its result and the metering outage)."""

from gridflow.demo.run import DemoResult, metering_outage, run_demo
from gridflow.demo.simulation import Z95, Simulation
from gridflow.demo.staff import (
    CREW_SKILLS,
    CREWS,
    DEMO_NAMES,
    DEMO_PASSWORD,
    DEMO_SYSTEMS_ACCOUNT,
    OFFICE_SKILLS,
    STAFF_PER_ROLE,
    VEHICLES,
    demo_accounts_text,
    seed_pool,
)
from gridflow.demo.workload import CHOICES, CONFIRMED, DEMAND_MIX, DEMO_START, SURNAMES

__all__ = [
    "CHOICES",
    "CONFIRMED",
    "CREWS",
    "CREW_SKILLS",
    "DEMAND_MIX",
    "DEMO_NAMES",
    "DEMO_PASSWORD",
    "DEMO_START",
    "DEMO_SYSTEMS_ACCOUNT",
    "OFFICE_SKILLS",
    "STAFF_PER_ROLE",
    "SURNAMES",
    "VEHICLES",
    "Z95",
    "DemoResult",
    "Simulation",
    "demo_accounts_text",
    "metering_outage",
    "run_demo",
    "seed_pool",
]
