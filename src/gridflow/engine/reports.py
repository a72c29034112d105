"""What a run reports, in gridflow's words: its links (`LinkTask`), the steps it hands to the
world outside (`SystemStep`), what a call activity starts (`Call`), what it waits for (`Wait`)
and all of it at once for a save (`Snapshot`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class LinkTask:
    """A human task of a run as gridflow sees it."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    state: str  # ready | completed | cancelled | future
    data: Mapping[str, object]


@dataclass(frozen=True)
class SystemStep:
    """A step the run hands to the world outside it: an external task for a worker (`kind`
    "external", with its topic and priority) or a called process (`kind` "call")."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    kind: str  # external | call
    state: str  # ready | completed | cancelled | future
    data: Mapping[str, object]
    topic: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class Call:
    """What a called process needs to start: which process, which version, with what."""

    process_id: str
    binding: str  # latest | version | deployment
    version: int | None
    variables: dict[str, object]


@dataclass(frozen=True)
class Wait:
    """Something a run is waiting for: a timer (with its due time) or a message or signal."""

    kind: str  # timer | message | signal
    name: str
    task_id: str
    element_id: str
    due_at: datetime | None = None
    attached_to: str | None = None  # task id of the link a boundary event sits on


@dataclass(frozen=True)
class Snapshot:
    """What a save needs from a run, computed in one walk: see `Run.snapshot`."""

    links: list[LinkTask]
    waits: list[Wait]
    data: dict[str, object]
    completed: bool
    steps: list[SystemStep] = field(default_factory=list)
