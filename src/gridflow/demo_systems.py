"""Stand-ins for the other systems a connection meets, for the demo: the marketing system
archives the customer, the metering system orders the meter, finance checks the payment.

Each answers an external task as the real system's worker would: with the variables the task
declares, with a failure and the retries left (a busy system), with a failure and no retries
(a permanent error, so an incident a person must retry), or with a BPMN error (a refused
payment). Answers are drawn from a seeded random generator, so a demo is the same every time.

The same stand-ins serve tasks inside the demo's simulation (`gridflow demo`) and, as a real
worker over the REST API, beside the running server (`gridflow demo-worker`).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

# The topics the shipped processes use, and who serves them.
TOPICS = {
    "marketing_archive": "marketing system",
    "meter_order": "metering system",
    "finance_payment": "finance system",
}
RETRIES = 3
RETRY_TIMEOUT_MS = 10 * 60 * 1000  # ten minutes between attempts
# Every this-many-th meter order hits a catalogue error no retry cures: an incident.
INCIDENT_EVERY = 25


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


class StandInSystems:
    """The three systems, answering tasks one by one."""

    def __init__(self, seed: int = 1):
        self.random = random.Random(seed)
        self.orders = 0
        self.archived = 0

    def answer(
        self,
        topic: str,
        business_key: str,
        variables: Mapping[str, object],
        retries: int | None,
    ) -> Answer:
        left = RETRIES if retries is None else retries
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
            if self.orders % INCIDENT_EVERY == 7:
                return Answer(
                    "failure",
                    message="metering system: meter model not in the supplier catalogue",
                    details="MDM-404: catalogue entry for the three-phase smart meter is missing",
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
        roll = self.random.random()
        if roll < 0.05:
            return Answer(
                "bpmn_error",
                {"paid": False},
                message="the bank refused the direct debit",
                error_code="PAYMENT_REFUSED",
            )
        if roll < 0.12:
            return Answer(
                "failure", message="finance system: ledger locked for closing", retries=left - 1
            )
        return Answer("complete", {"paid": True, "receipt_no": f"FI-{business_key}"})
