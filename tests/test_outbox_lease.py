"""The outbox's lease is the worker's lock time, and a delivery round never starts a send its
lease might not cover: a round slowed down by its server gives the rest of its messages back,
so another worker does not send them a second time when the lease runs out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gridflow.clock import SimulatedClock
from gridflow.models import Notification
from gridflow.notifications import delivery
from gridflow.notifications.outbox import Message, Recipient, enqueue
from gridflow.runtime import Runtime


class SlowGateway:
    """Takes every message, and each one takes the (simulated) clock `pause` to send."""

    def __init__(self, clock: SimulatedClock, pause: timedelta) -> None:
        self.clock = clock
        self.pause = pause
        self.sent: list[str] = []

    def send(self, recipient: str, subject: str, body: str) -> None:
        self.clock.advance(self.pause)
        self.sent.append(body)


def five_messages(rt: Runtime) -> None:
    with rt.db.transaction() as connection:
        for n in range(5):
            enqueue(
                connection,
                rt.clock.now(),
                Recipient(phone="13900139000"),
                Message("link_completed", f"step {n}", f"Done: step {n}.", None, f"done:{n}"),
            )


def rows(rt: Runtime) -> list[tuple[str, int, bool]]:
    with rt.db.read() as session:
        found = session.scalars(select(Notification).order_by(Notification.id)).all()
        return [(n.status, n.attempts, n.claimed_until is not None) for n in found]


def test_a_round_slower_than_its_lease_gives_back_what_it_did_not_start_to_send(
    rt: Runtime, clock: SimulatedClock
) -> None:
    five_messages(rt)
    gateway = SlowGateway(clock, timedelta(seconds=3))
    # A 10-second lease: no send starts after 5 s (half the lease, the senders' timeout
    # being longer), so two are sent (at 0 s and 3 s) and three given back untried.
    done = delivery.deliver_round(rt, {"sms": gateway}, lease=timedelta(seconds=10))
    assert (done.sent, done.given_back, done.claimed) == (2, 3, 2)
    assert gateway.sent == ["Done: step 0.", "Done: step 1."]
    assert rows(rt) == [("sent", 1, False)] * 2 + [("pending", 0, False)] * 3
    # They are due at once for the next round, which sends them (each once).
    delivery.deliver_round(rt, {"sms": gateway}, lease=timedelta(seconds=10))
    delivery.deliver_round(rt, {"sms": gateway}, lease=timedelta(seconds=10))
    assert gateway.sent == [f"Done: step {n}." for n in range(5)]
    assert rows(rt) == [("sent", 1, False)] * 5


def test_a_round_killed_mid_way_leaves_its_messages_to_another_after_the_lease(
    rt: Runtime, clock: SimulatedClock
) -> None:
    five_messages(rt)

    class Killed(Exception):
        pass

    class DiesAfterOne:
        def __init__(self) -> None:
            self.sent = 0

        def send(self, recipient: str, subject: str, body: str) -> None:
            if self.sent == 1:
                raise Killed  # the process dies here: nothing more is recorded
            self.sent += 1

    with pytest.raises(Killed):
        delivery.deliver_round(rt, {"sms": DiesAfterOne()}, lease=timedelta(seconds=30))
    assert rows(rt) == [("sent", 1, False)] + [("sending", 1, True)] * 4
    gateway = SlowGateway(clock, timedelta(0))
    clock.advance(timedelta(seconds=30))
    assert delivery.deliver_round(rt, {"sms": gateway}).claimed == 0  # still within its lease
    clock.advance(timedelta(milliseconds=1))
    assert delivery.deliver_round(rt, {"sms": gateway}).sent == 4
    assert rows(rt) == [("sent", 1, False)] + [("sent", 2, False)] * 4
