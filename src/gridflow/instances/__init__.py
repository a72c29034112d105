"""Process instances: start one for a demand, deliver messages and signals, fire due timers.

Each verb is one transaction that saves the workflow, its work items, its waits and its task
events together: a failure anywhere leaves the previous committed state.

The verbs write with SQLAlchemy Core on one connection, not with ORM objects: the rows, the
versions (`lock_version` + 1 per UPDATE of a row, as the ORM's version counter would do) and the
order of the task events are those the ORM unit of work wrote, at a fraction of the cost.

The package, by concern: `statements` (the tables and the Core statements, built once),
`reading` (an instance row held for a write, its run restored), `start` (`start_instance`),
`messages` (`deliver_message`, `send_signal`, `next_timer_due`), `events` (task events),
`items` (work items: who gets a new one, its due time, `update_item`), `waits` and `write`
(`write_run`: a run's changes saved in the verb's transaction).
"""

from gridflow.instances.events import event_row, insert_events, record
from gridflow.instances.items import update_item
from gridflow.instances.messages import (
    deliver_message,
    next_timer_due,
    on_engine_error,
    send_signal,
)
from gridflow.instances.reading import HELD_COLUMNS, Held, _instance, _restore, held
from gridflow.instances.start import Started, _start, start_instance
from gridflow.instances.statements import (
    DEFINITIONS,
    DELETE_WAITS,
    EVENT_SOURCE,
    INCIDENTS,
    INSERT_EVENTS,
    INSERT_INSTANCE,
    INSERT_ITEM,
    INSERT_WAITS,
    INSTANCES,
    OPEN,
    TASK_EVENTS,
    UPDATE_INSTANCE,
    UPDATE_ITEM,
    USERS,
    WAITS,
    WORK_ITEMS,
)
from gridflow.instances.write import left_behind, write_run

__all__ = [
    "DEFINITIONS",
    "DELETE_WAITS",
    "EVENT_SOURCE",
    "HELD_COLUMNS",
    "INCIDENTS",
    "INSERT_EVENTS",
    "INSERT_INSTANCE",
    "INSERT_ITEM",
    "INSERT_WAITS",
    "INSTANCES",
    "OPEN",
    "TASK_EVENTS",
    "UPDATE_INSTANCE",
    "UPDATE_ITEM",
    "USERS",
    "WAITS",
    "WORK_ITEMS",
    "Held",
    "Started",
    "_instance",
    "_restore",
    "_start",
    "deliver_message",
    "event_row",
    "held",
    "insert_events",
    "left_behind",
    "next_timer_due",
    "on_engine_error",
    "record",
    "send_signal",
    "start_instance",
    "update_item",
    "write_run",
]
