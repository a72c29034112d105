"""The lint rules: one pass over a parsed BPMN file collecting every problem, each naming the
file, the line and the element; a file without problems is described as a ProcessDefinition.

`walk` holds the `Linter` (the pass and the definition it gives), built from the rules of each
concern: `base` what they share (the state of the pass, reporting a problem, properties and
service standards), `ids_and_lanes`, `user_tasks` (forms, skills and equipment, site visits),
`scripts` (script and send tasks, listeners: no Java), `business_rules` (decision references),
`events` (timers and messages) and `flows` (conditions, reachability).
"""

from gridflow.definitions.rules.linter.base import NS
from gridflow.definitions.rules.linter.business_rules import PLAIN_NAME, RESULT_MAPPINGS
from gridflow.definitions.rules.linter.ids_and_lanes import RESERVED_IDS, XML_NAME
from gridflow.definitions.rules.linter.scripts import DELEGATE_ATTRIBUTES, SCRIPT_FORMATS
from gridflow.definitions.rules.linter.user_tasks import SITE_VISITS
from gridflow.definitions.rules.linter.walk import Linter
from gridflow.definitions.rules.timers import ISO_LITERAL, TIMER_FUNCTIONS

__all__ = [
    "DELEGATE_ATTRIBUTES",
    "ISO_LITERAL",
    "NS",
    "PLAIN_NAME",
    "RESERVED_IDS",
    "RESULT_MAPPINGS",
    "SCRIPT_FORMATS",
    "SITE_VISITS",
    "TIMER_FUNCTIONS",
    "XML_NAME",
    "Linter",
]
