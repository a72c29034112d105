"""BPMN process definitions: read a file safely (`xml`), lint it (`rules`), and describe its
links (`describe`); `parse` ties them together.

This package and `engine` are the only ones that import SpiffWorkflow. Everything that is wrong
with a file is reported as a `Problem` naming the file, the line where known and the element id;
a file with any problem never becomes a `ProcessDefinition`.
"""

from gridflow.definitions.describe import (
    Link,
    ProcessDefinition,
    SkillListError,
    content_hash,
    parse_equipment,
    parse_skills,
)
from gridflow.definitions.parse import (
    bpmn_files,
    lint,
    lint_paths,
    load,
    parse,
    parse_deployed,
)
from gridflow.definitions.rules import ISO_LITERAL, TIMER_FUNCTIONS
from gridflow.definitions.rules.timers import timer_problems
from gridflow.definitions.xml import MAX_FILE_BYTES, Refused, read_file, well_formed

__all__ = [
    "ISO_LITERAL",
    "MAX_FILE_BYTES",
    "Refused",
    "TIMER_FUNCTIONS",
    "Link",
    "ProcessDefinition",
    "SkillListError",
    "bpmn_files",
    "content_hash",
    "lint",
    "lint_paths",
    "load",
    "parse",
    "parse_deployed",
    "parse_equipment",
    "parse_skills",
    "read_file",
    "timer_problems",
    "well_formed",
]
