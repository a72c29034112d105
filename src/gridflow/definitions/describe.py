"""What a linted process describes: its links (human steps with role, form, standard and
needs) and the process definition gridflow runs, with its SpiffWorkflow spec."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from gridflow.definitions.decision_task import DecisionRef
from gridflow.definitions.spiff import GridflowParser, connect_loops
from gridflow.definitions.xml import parse_xml
from gridflow.errors import GridflowError
from gridflow.forms import Form
from gridflow.roles import Role
from gridflow.standards import Standard
from gridflow.texts import _ as gettext


@dataclass(frozen=True)
class Link:
    """One human step of a process: a user task owned by a role (its lane's, or the one its
    `camunda:candidateGroups` names, or, with `role_variable`, the one a variable holds when it
    is reached, as for each department of a countersign)."""

    element_id: str
    name: str
    lane: str
    role: Role | None
    form: Form
    standard: Standard
    customer_facing: bool = False
    line: int | None = None
    # What the skill pool needs for it (issue 6): (skill, minimum level) and equipment types.
    skills: tuple[tuple[str, int], ...] = ()
    equipment: tuple[str, ...] = ()
    role_variable: str | None = None
    # camunda:assignee: a user name, or ${variable} (the name of the variable held here)
    assignee: str | None = None
    assignee_variable: str | None = None
    multi_instance: bool = False
    # A visit to the customer's site (issue 13): survey | installation | repair; the customer
    # books a slot for it (gridflow.appointments).
    site_visit: str | None = None
    # Work at the customer's site (camunda:property field_work): "repair" or "visit"; None for
    # a desk link. It gives the link a field view for a phone (`gridflow.field_work`).
    field_work: str | None = None

    @property
    def department(self) -> str:
        return self.role.department.id if self.role is not None else ""


@dataclass(frozen=True)
class Step:
    """A system step: an external task a worker serves (its topic, the variables it may set)
    or a call activity (the process it calls)."""

    element_id: str
    name: str
    kind: str  # external | call
    topic: str | None = None
    outputs: tuple[str, ...] = ()
    called_element: str | None = None
    line: int | None = None
    # A call activity's camunda:in targets (None: variables="all") and camunda:out sources.
    in_targets: tuple[str, ...] | None = ()
    out_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessDefinition:
    """A linted, executable process: its links with their standards, and its SpiffWorkflow spec."""

    process_id: str
    name: str
    file: str
    xml: bytes
    links: Mapping[str, Link]
    category: str | None = None
    standard: Standard | None = None
    message_names: frozenset[str] = frozenset()
    message_start: str | None = None
    element_names: Mapping[str, str] = field(default_factory=dict)
    steps: Mapping[str, Step] = field(default_factory=dict)
    # Business-rule tasks: element id → the decision it runs (issue 10).
    decision_refs: Mapping[str, DecisionRef] = field(default_factory=dict)
    # The start variables it reads (found when linted for deploy; empty when loaded from the
    # store): a linkage rule that starts it must give them.
    start_reads: frozenset[str] = frozenset()

    @cached_property
    def content_hash(self) -> str:
        return content_hash(self.xml)

    @cached_property
    def spiff_specs(self) -> tuple[Any, dict[str, Any]]:
        """The SpiffWorkflow spec and subprocess specs, parsed once per definition object."""
        parser = GridflowParser()
        tree = parse_xml(self.xml, self.file, utf8_only=False)  # linted when it was made
        parser.add_bpmn_xml(tree, filename=self.file)
        spec = parser.get_spec(self.process_id)
        subprocess_specs = parser.get_subprocess_specs(self.process_id)
        connect_loops(spec, subprocess_specs)
        return spec, subprocess_specs


# What `field_work` may say: a repair (arrive, restore supply, complete; one arrival and one
# restoration per instance, the job's) or a visit (arrive, complete; an arrival per link).
FIELD_WORK_KINDS = ("repair", "visit")
NEED_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
MAX_SKILL_LEVEL = 5


class SkillListError(GridflowError, ValueError):
    """A skill list that is not `skill:level, ...`: a gridflow refusal (`str(exc)` the English
    sentence, `template` and `params` for a page in the reader's language) that is also a
    ValueError, as the BPMN lint catches it."""


def parse_skills(text: str) -> tuple[tuple[str, int], ...]:
    """`repair:2, live_line:1` → (("live_line", 1), ("repair", 2)); SkillListError naming the
    part."""
    skills: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, level = part.partition(":")
        name, level = name.strip(), level.strip() or "1"
        if not NEED_NAME.fullmatch(name):
            raise SkillListError(
                gettext("skills: %(part)s is not skill:level (a lower-case name such as repair:2)"),
                part=repr(part),
            )
        if not level.isdigit() or not 1 <= int(level) <= MAX_SKILL_LEVEL:
            raise SkillListError(
                gettext("skills: level of %(skill)s must be 1 to %(top)s, not %(level)s"),
                skill=repr(name),
                top=MAX_SKILL_LEVEL,
                level=repr(level),
            )
        if name in skills:
            raise SkillListError(gettext("skills: %(skill)s appears twice"), skill=repr(name))
        skills[name] = int(level)
    return tuple(sorted(skills.items()))


def parse_equipment(text: str) -> tuple[str, ...]:
    """`vehicle, insulation_tester` → ("insulation_tester", "vehicle")."""
    kinds: set[str] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not NEED_NAME.fullmatch(part):
            raise ValueError(f"equipment: {part!r} is not an equipment type (such as vehicle)")
        kinds.add(part)
    return tuple(sorted(kinds))


def content_hash(xml: bytes) -> str:
    """Version identity of a file: line endings do not count, every other byte does."""
    return hashlib.sha256(xml.replace(b"\r\n", b"\n")).hexdigest()
