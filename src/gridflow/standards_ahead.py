"""The date the service standards promise for what is left of a demand process: the open link's
own standard, then the standard of every link certain to come after it (`definitions.ahead`),
in this process and, for a called one, in its callers, laid one after another on the working
calendar (each on its basis). Each standard is a link's cap, so the date is a cautious one: the
predictor's "at the latest" is no earlier than it where no finished history can tell."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select

from gridflow.definitions import ProcessDefinition
from gridflow.definitions.ahead import certain_after
from gridflow.errors import NotFoundError
from gridflow.models import Instance
from gridflow.runtime import Runtime

OPEN = ("ready", "claimed")
MAX_CALL_DEPTH = 5


class Anchor(Protocol):
    """The link a demand process reached last (a work item as it stood)."""

    @property
    def instance_id(self) -> int: ...
    @property
    def definition_id(self) -> int: ...
    @property
    def element_id(self) -> str: ...
    @property
    def ready_at(self) -> datetime: ...
    @property
    def state(self) -> str: ...


def promised_end(
    rt: Runtime, connection: Connection, root_id: int, anchor: Anchor | None, now: datetime
) -> datetime:
    """When the standards would have the root instance end: its anchor, if open, by its
    standard (or now, if that has passed), then every link certain to come, none starting
    before now; from now when it has reached no link yet."""
    root = connection.execute(
        select(Instance.definition_id, Instance.variables).where(Instance.id == root_id)
    ).one()
    variables: dict[str, Any] = dict(root.variables or {})
    if anchor is None:
        definition = rt.definition(root.definition_id)
        return _lay(rt, connection, definition, certain_after(definition, None), now, variables, 0)
    definition = rt.definition(anchor.definition_id)
    end = now
    if anchor.state in OPEN and anchor.element_id in definition.links:
        own = _lay(rt, connection, definition, (anchor.element_id,), anchor.ready_at, variables, 0)
        end = max(own, now)
    instance_id, element_id = anchor.instance_id, anchor.element_id
    for _ in range(MAX_CALL_DEPTH + 1):
        end = _lay(
            rt, connection, definition, certain_after(definition, element_id), end, variables, 0
        )
        if instance_id == root_id:
            break
        caller = connection.execute(
            select(Instance.id, Instance.definition_id).where(
                Instance.id
                == select(Instance.parent_instance_id)
                .where(Instance.id == instance_id)
                .scalar_subquery()
            )
        ).first()
        if caller is None:
            break
        caller_definition = rt.definition(caller.definition_id)
        element_id = next(
            (
                step.element_id
                for step in caller_definition.steps.values()
                if step.kind == "call" and step.called_element == definition.process_id
            ),
            "",
        )
        instance_id, definition = caller.id, caller_definition
    return end


def _lay(
    rt: Runtime,
    connection: Connection,
    definition: ProcessDefinition,
    steps: tuple[str, ...],
    start: datetime,
    variables: dict[str, Any],
    depth: int,
) -> datetime:
    """Each link's standard after the one before; a call activity's process from its start."""
    end = start
    for element_id in steps:
        link = definition.links.get(element_id)
        if link is not None:
            end = rt.calendar.due(end, link.standard.target_for(variables), link.standard.basis)
            continue
        step = definition.steps.get(element_id)
        if step is None or step.called_element is None or depth >= MAX_CALL_DEPTH:
            continue
        try:
            called = rt.latest(step.called_element, connection).definition
        except NotFoundError:
            continue
        end = _lay(rt, connection, called, certain_after(called, None), end, variables, depth + 1)
    return end
