"""Staff pages: the two queues, a link's page (claim, form, complete, release, comment,
consult), front-desk intake, the demand timeline and the consultations list.

The package, by concern: `base` (the one `pages` blueprint and what its pages share),
`work_queues` (the landing page and the queues), `links` (a link's page and its verbs),
`consultations` (the open questions and answering them), `intake` (taking a demand in, the
demands list and a demand's timeline) and `filters` (the template filters, the navigation,
the NUL check and the error pages, registered on the app).
"""

# The route modules are imported in the order their routes were declared in pages.py, so the
# blueprint registers its URL rules in the same order.
# isort: off
from gridflow.app.pages.base import PER_PAGE, blueprint, flash_engine_error, staff
from gridflow.app.pages.work_queues import index, queue
from gridflow.app.pages.links import (
    claim,
    comment,
    complete,
    consult,
    item_words,
    release,
    work_item,
)
from gridflow.app.pages.consultations import answer, consultation_list
from gridflow.app.pages.intake import demand, demand_from_form, demands, intake_choices, new_demand
from gridflow.app.pages.filters import human_duration, register_filters

# isort: on

__all__ = [
    "PER_PAGE",
    "answer",
    "blueprint",
    "claim",
    "comment",
    "complete",
    "consult",
    "consultation_list",
    "demand",
    "demand_from_form",
    "demands",
    "flash_engine_error",
    "human_duration",
    "index",
    "intake_choices",
    "item_words",
    "new_demand",
    "queue",
    "register_filters",
    "release",
    "staff",
    "work_item",
]
