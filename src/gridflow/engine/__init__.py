"""The engine: runs one process instance on SpiffWorkflow, in memory, with gridflow's safe
expression evaluator and injectable clock; saves and restores it without its definition.

With `definitions`, the only module that imports SpiffWorkflow. It knows nothing of the
database: `instances` and `work_items` persist what a run reports.

The package, by concern: `errors` (`EngineError`, `MigrationRefused`), `clock_hook` (the clock
SpiffWorkflow's timers read, `using_clock`), `scripts` (`SafeScriptEngine`: conditions, timers,
scripts and decisions without eval), `reports` (what a run reports: links, system steps, calls,
waits, the snapshot), `tree` (one walk of the task tree), `run` (`Run`, one instance in memory),
`serializer` (the converters' configuration) and `engine` (`Engine`: start, dump and restore
the saved document, migrate).
"""

from gridflow.engine.clock_hook import using_clock
from gridflow.engine.engine import Engine
from gridflow.engine.errors import EngineError, MigrationRefused
from gridflow.engine.reports import Call, LinkTask, Snapshot, SystemStep, Wait
from gridflow.engine.run import _STATES, MAX_AUTOMATIC_STEPS, Run
from gridflow.engine.scripts import DecisionSource, SafeScriptEngine
from gridflow.engine.tree import _waits, _walk

__all__ = [
    "MAX_AUTOMATIC_STEPS",
    "_STATES",
    "Call",
    "DecisionSource",
    "Engine",
    "EngineError",
    "LinkTask",
    "MigrationRefused",
    "Run",
    "SafeScriptEngine",
    "Snapshot",
    "SystemStep",
    "Wait",
    "_waits",
    "_walk",
    "using_clock",
]
