"""Stand-ins for the other systems a connection meets, for the demo: the marketing system
archives the customer, the metering system orders the meter, finance checks the payment.

Each answers an external task as the real system's worker would: with the variables the task
declares, with a failure and the retries left (a busy system), with a failure and no retries
(a permanent error, so an incident a person must retry), or with a BPMN error (a refused
payment); finance also finds fees not yet paid, which sends the account manager to remind the
customer. Answers are drawn from a seeded random generator and counters, so a demo is the same
every time. A system can also be down for a while (`Outage`): every task of its topic then fails
until its retries run out, and the incidents wait for the system to come back.

The same stand-ins serve tasks inside the demo's simulation (`gridflow demo`) and, as a real
worker over the REST API, beside the running server (`gridflow demo-worker`).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# The topics the shipped processes use, and who serves them.
TOPICS = {
    "marketing_archive": "marketing system",
    "meter_order": "metering system",
    "finance_payment": "finance system",
}
RETRIES = 3
RETRY_TIMEOUT_MS = 10 * 60 * 1000  # ten minutes between attempts
# Every this-many-th meter order hits a catalogue error no retry cures: an incident; so does
# every this-many-th high-voltage one (a transformer-operated meter), the first one included.
INCIDENT_EVERY = 25
HIGH_VOLTAGE_INCIDENT_EVERY = 3
# Of the payment checks, every this-many-th finds the bank refused the customer's direct debit
# (the BPMN error PAYMENT_REFUSED), and every this-many-th finds the fees not paid yet.
REFUSED_EVERY = 6
UNPAID_EVERY = 5


@dataclass(frozen=True)
class Answer:
    """What a stand-in system says about one task."""

    kind: str  # complete | failure | bpmn_error
    variables: Mapping[str, object] = field(default_factory=dict)
    message: str = ""
    details: str | None = None
    retries: int = 0
    retry_timeout_ms: int = RETRY_TIMEOUT_MS
    error_code: str = ""


@dataclass(frozen=True)
class Outage:
    """A system down from `start` to `end`: every task of its topic fails meanwhile."""

    topic: str
    start: datetime
    end: datetime
    message: str


class StandInSystems:
    """The three systems, answering tasks one by one."""

    def __init__(self, seed: int = 1, outages: tuple[Outage, ...] = ()):
        self.random = random.Random(seed)
        self.outages = outages
        self.orders = 0
        self.high_voltage_orders = 0
        self.archived = 0
        self.checks = 0

    def down(self, topic: str, now: datetime | None) -> Outage | None:
        """The outage of the topic's system at `now`, if it is down then."""
        if now is None:
            return None
        return next((o for o in self.outages if o.topic == topic and o.start <= now < o.end), None)

    def answer(
        self,
        topic: str,
        business_key: str,
        variables: Mapping[str, object],
        retries: int | None,
        now: datetime | None = None,
    ) -> Answer:
        left = RETRIES if retries is None else retries
        outage = self.down(topic, now)
        if outage is not None:
            return Answer("failure", message=outage.message, retries=left - 1)
        if topic == "marketing_archive":
            return self._archive(business_key, left)
        if topic == "meter_order":
            return self._order_meter(business_key, variables, left)
        if topic == "finance_payment":
            return self._payment(business_key, variables, left)
        return Answer("failure", message=f"no stand-in system serves topic {topic!r}", retries=0)

    def _archive(self, business_key: str, left: int) -> Answer:
        if self.random.random() < 0.08:
            return Answer(
                "failure",
                message="marketing system busy: archive service timed out",
                retries=left - 1,
            )
        self.archived += 1
        return Answer("complete", {"archive_no": f"MK-{business_key}"})

    def _order_meter(self, business_key: str, variables: Mapping[str, object], left: int) -> Answer:
        if left == RETRIES:
            self.orders += 1
            model = None
            if variables.get("meter_class") == "high_voltage":
                self.high_voltage_orders += 1
                if self.high_voltage_orders % HIGH_VOLTAGE_INCIDENT_EVERY == 1:
                    model = "transformer-operated three-phase meter (0.2S)"
            if self.orders % INCIDENT_EVERY == 7:
                model = "three-phase smart meter"
            if model is not None:
                return Answer(
                    "failure",
                    message="metering system: meter model not in the supplier catalogue",
                    details=f"MDM-404: catalogue entry for the {model} is missing",
                    retries=0,
                )
        if self.random.random() < 0.15:
            return Answer(
                "failure",
                message="metering system: meter stock check timed out",
                retries=left - 1,
            )
        capacity = variables.get("capacity_kw")
        phases = 3 if isinstance(capacity, int | float) and capacity > 12 else 1
        number = f"DB{phases}-{zlib.crc32(business_key.encode()) % 10**8:08d}"
        return Answer("complete", {"meter_no": number, "meter_phases": phases})

    def _payment(self, business_key: str, variables: Mapping[str, object], left: int) -> Answer:
        if left == RETRIES:
            self.checks += 1
            if self.checks % REFUSED_EVERY == 2:
                return Answer(
                    "bpmn_error",
                    {"paid": False},
                    message="the bank refused the direct debit",
                    error_code="PAYMENT_REFUSED",
                )
            if self.checks % UNPAID_EVERY == 4:
                return Answer("complete", {"paid": False, "receipt_no": None})
        if self.random.random() < 0.07:
            return Answer(
                "failure", message="finance system: ledger locked for closing", retries=left - 1
            )
        return Answer("complete", {"paid": True, "receipt_no": f"FI-{business_key}"})
