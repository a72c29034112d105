"""The skill pool: who has which skills at which level, when they work (weekly shifts in UTC,
minus leave), where, and how much they hold now; equipment by type and area.

`fit` scores one person for one link (lower is better, with the reasons in words); "find help"
ranks people with it and the dispatcher builds its cost matrix from it, so a supervisor reads
the same reasons in both places.

`members` holds `Person` (a member as ranking sees them), the areas and `PoolError`; `ranking`
`Need`, `fit` and `rank`; `reading` the members with their loads, `qualification`, the desk's
check and "find help" (`candidates`); `profiles`, `shifts` (and leave) and `inventory` (the
equipment) keep the pool.
"""

from gridflow.pool.inventory import EquipmentRow, equipment, save_equipment
from gridflow.pool.members import AREAS, WEEK_MINUTES, Person, PoolError
from gridflow.pool.profiles import MAX_LOAD, save_profile
from gridflow.pool.ranking import (
    INFEASIBLE,
    MIN_SHIFT_LEFT,
    NEEDED_HORIZON,
    W_AREA,
    W_LOAD,
    W_OTHER_DEPARTMENT,
    W_OVERQUALIFIED,
    W_SHORT_SHIFT,
    W_URGENCY,
    Fit,
    Need,
    Reason,
    fit,
    rank,
)
from gridflow.pool.reading import (
    OPEN,
    available_for_desk,
    candidates,
    current_loads,
    load_people,
    people,
    person,
    qualification,
)
from gridflow.pool.shifts import (
    add_leave,
    add_shift,
    local_offset,
    local_windows,
    parse_clock,
    remove_leave,
    remove_shift,
)

__all__ = [
    "AREAS",
    "INFEASIBLE",
    "MAX_LOAD",
    "MIN_SHIFT_LEFT",
    "NEEDED_HORIZON",
    "OPEN",
    "WEEK_MINUTES",
    "W_AREA",
    "W_LOAD",
    "W_OTHER_DEPARTMENT",
    "W_OVERQUALIFIED",
    "W_SHORT_SHIFT",
    "W_URGENCY",
    "EquipmentRow",
    "Fit",
    "Need",
    "Person",
    "PoolError",
    "Reason",
    "add_leave",
    "add_shift",
    "available_for_desk",
    "candidates",
    "current_loads",
    "equipment",
    "fit",
    "load_people",
    "local_offset",
    "local_windows",
    "parse_clock",
    "people",
    "person",
    "qualification",
    "rank",
    "remove_leave",
    "remove_shift",
    "save_equipment",
    "save_profile",
]
