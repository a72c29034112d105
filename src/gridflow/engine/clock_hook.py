"""The clock hook: SpiffWorkflow's timers read the clock of the run being stepped
(`using_clock`). Importing this module installs the hook, once per process."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from gridflow.clock import Clock

# SpiffWorkflow reads datetime.now() in its timer module. We replace that module's `datetime`
# with a subclass whose now() reads the clock of the run being stepped, so simulated time drives
# every timer and nothing else in the process changes.

_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar(
    "gridflow_clock", default=None
)


class _ClockDateTime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:  # noqa: ANN401 - signature of datetime.now
        clock = _current.get()
        moment = clock.now() if clock is not None else datetime.now(UTC)
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


spiff_timer.datetime = _ClockDateTime


@contextlib.contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    """Let SpiffWorkflow's timers read this clock inside the block (runs do it themselves)."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
