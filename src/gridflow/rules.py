"""Linkage rules (processes/rules.yaml): on an event of a declared type whose payload fits its
schema, and whose condition holds, start a process, correlate a message to running instances,
send a signal, note the open demands that match, or raise an escalation link for a role.

The file is read and checked like a BPMN file: every problem is a Problem naming the file, the
line and the rule (or event type), and a file with any problem never becomes a RuleBook.
Conditions and values are gridflow's safe expressions over the payload; nothing is eval'd.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gridflow.definitions.xml import Refused, read_file
from gridflow.errors import DefinitionError, ExpressionError, GridflowError, Problem
from gridflow.expressions import Expression, compile_expression

RULES_FILE = "rules.yaml"
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}
ACTIONS = ("start", "correlate", "signal", "escalate", "note_demands", "notify_customers")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_TEXT = 200
ESCALATION_PROCESS = "escalation"


class EventError(GridflowError):
    """An event that cannot be taken: unknown type, or a payload failing its schema."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None):
        self.fields = dict(fields or {})
        super().__init__(message)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    enum: tuple[object, ...] = ()


@dataclass(frozen=True)
class EventType:
    name: str
    fields: Mapping[str, FieldSpec]
    source: str = ""
    internal: bool = False
    # Its name per language ({"en": …, "zh": …}; docs/translations.md).
    names: Mapping[str, str] = field(default_factory=dict)

    def check(self, payload: object) -> dict[str, object]:
        """The payload if it fits the schema; EventError naming each field otherwise."""
        if not isinstance(payload, dict):
            raise EventError(f"{self.name}: the payload must be a JSON object")
        problems: dict[str, str] = {}
        for spec in self.fields.values():
            if spec.name not in payload or payload[spec.name] is None:
                if spec.required:
                    problems[spec.name] = "is required"
                continue
            value = payload[spec.name]
            kind = FIELD_TYPES[spec.type]
            if isinstance(value, bool) and spec.type != "boolean" or not isinstance(value, kind):
                problems[spec.name] = f"must be a {spec.type}"
            elif spec.enum and value not in spec.enum:
                problems[spec.name] = f"{value!r} is not one of: " + ", ".join(
                    str(v) for v in spec.enum
                )
            elif isinstance(value, str) and len(value) > MAX_TEXT:
                problems[spec.name] = f"must be at most {MAX_TEXT} characters"
        for name in payload:
            if name not in self.fields:
                problems[str(name)] = "is not a field of this event type"
        if problems:
            detail = "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))
            raise EventError(
                f"{self.name}: the payload does not fit its schema ({detail})", problems
            )
        # Optional fields left out read as null in conditions, not as undefined variables.
        return {name: payload.get(name) for name in self.fields}


@dataclass(frozen=True)
class Action:
    kind: str
    target: str  # process id, message or signal name, role, or demand detail
    values: Mapping[str, Expression] = field(default_factory=dict)
    text: str = ""
    # A note's text per language ({"en": …, "zh": …}); `text` is the English one.
    texts: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.kind} {self.target}"


@dataclass(frozen=True)
class Rule:
    id: str
    on: str
    actions: tuple[Action, ...]
    when: Expression | None = None
    description: str = ""
    line: int | None = None
    names: Mapping[str, str] = field(default_factory=dict)

    def applies(self, payload: Mapping[str, object]) -> bool:
        return self.when is None or bool(self.when.evaluate(payload))


@dataclass(frozen=True)
class RuleBook:
    file: str
    events: Mapping[str, EventType]
    rules: tuple[Rule, ...]

    def event_type(self, name: object, *, internal: bool = False) -> EventType:
        known = sorted(n for n, e in self.events.items() if e.internal == internal)
        if not isinstance(name, str) or name not in self.events:
            raise EventError(f"unknown event type {name!r}; known: {', '.join(known)}")
        found = self.events[name]
        if found.internal != internal:
            raise EventError(f"event type {name!r} is raised by gridflow itself, not posted")
        return found

    def for_event(self, name: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.on == name]

    def note_texts(self) -> dict[str, Mapping[str, str]]:
        """Each note a rule writes on the timeline, by its message key, in every language."""
        found: dict[str, Mapping[str, str]] = {}
        for rule in self.rules:
            for action in rule.actions:
                if action.kind == "note_demands":
                    found[note_key(rule, action)] = action.texts or {"en": action.text}
        return found


def note_key(rule: Rule, action: Action) -> str:
    """The message key of a note a rule writes: `rule:<id>:note_demands`, numbered from the
    second note of the same rule on."""
    notes = [a for a in rule.actions if a.kind == "note_demands"]
    n = notes.index(action) + 1 if action in notes else 1
    return f"rule:{rule.id}:note_demands" + (f":{n}" if n > 1 else "")


# --- reading the file ---------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping (as key '__line__')."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping  # type: ignore[return-value]


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
# YAML 1.2 booleans only: a rule's `on:` key must stay the word "on", not become True.
_BOOL = "tag:yaml.org,2002:bool"
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Catalogue:
    """What the rules may refer to: processes (and their messages) and the roles with an
    escalation link."""

    processes: frozenset[str]
    messages: frozenset[str]
    signals: frozenset[str] = frozenset()
    escalation_roles: frozenset[str] = frozenset()
    # process id → the start variables it reads: a rule that starts it must give them all.
    start_reads: Mapping[str, frozenset[str]] = field(default_factory=dict)


def read(path: Path) -> str:
    """The text of a rules file: a regular file within the size limit, in UTF-8 (see
    `definitions.read_file`), or DefinitionError saying why not."""
    try:
        return read_file(path).decode("utf-8")
    except Refused as refused:
        raise DefinitionError([refused.problem]) from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"
        raise DefinitionError([Problem(str(path), None, None, message)]) from None


def load(path: Path, catalogue: Catalogue) -> RuleBook:
    """The rules in a file, or DefinitionError listing every problem."""
    return parse(read(path), str(path), catalogue)


def parse(text: str, file: str, catalogue: Catalogue) -> RuleBook:
    book, problems = _Reader(file, catalogue).read(text)
    if problems or book is None:
        raise DefinitionError(problems)
    return book


def lint(text: str, file: str, catalogue: Catalogue) -> list[Problem]:
    return _Reader(file, catalogue).read(text)[1]


class _Reader:
    def __init__(self, file: str, catalogue: Catalogue):
        self.file = file
        self.catalogue = catalogue
        self.problems: list[Problem] = []

    def problem(self, line: object, where: str | None, message: str) -> None:
        self.problems.append(
            Problem(self.file, line if isinstance(line, int) else None, where, message)
        )

    def read(self, text: str) -> tuple[RuleBook | None, list[Problem]]:
        try:
            raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            self.problem(line, None, f"not valid YAML: {getattr(exc, 'problem', exc)}")
            return None, self.problems
        if not isinstance(raw, dict):
            self.problem(1, None, "expected a mapping with 'events' and 'rules'")
            return None, self.problems
        events = self._events(raw.get("events"), raw.get("__line__"))
        rules = self._rules(raw.get("rules"), events, raw.get("__line__"))
        if self.problems:
            return None, self.problems
        return RuleBook(self.file, events, tuple(rules)), []

    def _events(self, raw: object, line: object) -> dict[str, EventType]:
        if not isinstance(raw, dict) or len([k for k in raw if k != "__line__"]) == 0:
            self.problem(line, None, "'events' must map each event type to its payload schema")
            return {}
        events: dict[str, EventType] = {}
        for name, spec in raw.items():
            if name == "__line__":
                continue
            if not isinstance(spec, dict):
                self.problem(line, str(name), f"event type {name!r} must be a mapping")
                continue
            where = spec.get("__line__")
            if not NAME.match(str(name)):
                self.problem(where, str(name), f"event type {name!r}: use a lower-case name")
            fields: dict[str, FieldSpec] = {}
            payload = spec.get("payload")
            if not isinstance(payload, dict):
                self.problem(where, str(name), f"event type {name!r} needs a payload schema")
                payload = {}
            for field_name, field_spec in payload.items():
                if field_name == "__line__":
                    continue
                checked = self._field(str(name), str(field_name), field_spec, where)
                if checked is not None:
                    fields[str(field_name)] = checked
            unknown = set(spec) - {
                "__line__",
                "payload",
                "source",
                "internal",
                "description",
                "name",
            }
            if unknown:
                self.problem(
                    where, str(name), f"event type {name!r}: unknown key(s) {sorted(unknown)}"
                )
            events[str(name)] = EventType(
                str(name),
                fields,
                str(spec.get("source", "")),
                bool(spec.get("internal", False)),
                _names(spec.get("name")),
            )
        return events

    def _field(self, event: str, name: str, spec: object, line: object) -> FieldSpec | None:
        if not isinstance(spec, dict):
            self.problem(line, event, f"payload field {name!r} must be a mapping with a type")
            return None
        line = spec.get("__line__", line)
        kind = spec.get("type")
        if kind not in FIELD_TYPES:
            self.problem(
                line,
                event,
                f"payload field {name!r} has type {kind!r}; expected one of "
                + ", ".join(FIELD_TYPES),
            )
            return None
        enum = spec.get("enum", [])
        if not isinstance(enum, list):
            self.problem(line, event, f"payload field {name!r}: enum must be a list")
            enum = []
        return FieldSpec(name, str(kind), bool(spec.get("required", False)), tuple(enum))

    def _rules(self, raw: object, events: Mapping[str, EventType], line: object) -> list[Rule]:
        if not isinstance(raw, list):
            self.problem(line, None, "'rules' must be a list of rules")
            return []
        rules: list[Rule] = []
        seen: set[str] = set()
        for spec in raw:
            if not isinstance(spec, dict):
                self.problem(line, None, "each rule must be a mapping with id, on and do")
                continue
            where = spec.get("__line__")
            rule_id = spec.get("id")
            if not isinstance(rule_id, str) or not NAME.match(rule_id):
                self.problem(where, None, f"rule id {rule_id!r}: use a lower-case name")
                continue
            if rule_id in seen:
                self.problem(where, rule_id, f"rule {rule_id!r} appears twice")
            seen.add(rule_id)
            unknown = set(spec) - {"__line__", "id", "on", "when", "do", "description", "name"}
            if unknown:
                self.problem(where, rule_id, f"unknown key(s) {sorted(unknown)}")
            on = spec.get("on")
            event = events.get(on) if isinstance(on, str) else None
            if event is None:
                self.problem(
                    where,
                    rule_id,
                    f"'on' names unknown event type {on!r}; declared: {', '.join(sorted(events))}",
                )
                continue
            when = None
            if spec.get("when") is not None:
                when = self._expression(str(spec["when"]), event, rule_id, where, "condition")
            actions = self._actions(spec.get("do"), event, rule_id, where)
            rules.append(
                Rule(
                    rule_id,
                    event.name,
                    tuple(actions),
                    when,
                    str(spec.get("description", "")),
                    where if isinstance(where, int) else None,
                    _names(spec.get("name")),
                )
            )
        return rules

    def _expression(
        self, text: str, event: EventType, rule_id: str, line: object, what: str
    ) -> Expression | None:
        try:
            expression = compile_expression(text)
        except ExpressionError as exc:
            self.problem(line, rule_id, f"{what} refused: {exc.message} in {text!r}")
            return None
        unknown = sorted(expression.names - set(event.fields))
        if unknown:
            self.problem(
                line,
                rule_id,
                f"{what} {text!r} reads {', '.join(unknown)}, not in the {event.name} payload "
                f"({', '.join(event.fields)})",
            )
            return None
        return expression

    def _actions(self, raw: object, event: EventType, rule_id: str, line: object) -> list[Action]:
        if not isinstance(raw, list) or not raw:
            self.problem(line, rule_id, "'do' must be a list of actions")
            return []
        actions: list[Action] = []
        for spec in raw:
            if not isinstance(spec, dict):
                self.problem(line, rule_id, f"an action must be a mapping; one of {ACTIONS}")
                continue
            where = spec.get("__line__", line)
            kinds = [k for k in spec if k != "__line__"]
            if len(kinds) != 1 or kinds[0] not in ACTIONS:
                self.problem(
                    where, rule_id, f"action {kinds}: expected exactly one of {', '.join(ACTIONS)}"
                )
                continue
            kind = kinds[0]
            body = spec[kind]
            action = getattr(self, f"_{kind}")(body, event, rule_id, where)
            if action is not None:
                actions.append(action)
        return actions

    def _values(
        self, raw: object, event: EventType, rule_id: str, line: object, what: str
    ) -> dict[str, Expression]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(line, rule_id, f"{what} must map names to expressions over the payload")
            return {}
        values: dict[str, Expression] = {}
        for name, text in raw.items():
            if name == "__line__":
                continue
            expression = self._expression(str(text), event, rule_id, line, f"{what} {name}")
            if expression is not None:
                values[str(name)] = expression
        return values

    def _start(self, body: object, event: EventType, rule_id: str, line: object) -> Action | None:
        if isinstance(body, str):
            body = {"process": body}
        if not isinstance(body, dict) or not isinstance(body.get("process"), str):
            self.problem(line, rule_id, "start needs a process id")
            return None
        process = body["process"]
        if process not in self.catalogue.processes:
            self.problem(line, rule_id, f"start: no process {process!r} in the processes folder")
        values = self._values(body.get("variables"), event, rule_id, line, "variable")
        self._gives_what_it_reads(process, set(values), rule_id, line, "start")
        return Action("start", process, values)

    def _gives_what_it_reads(
        self, process: str, given: set[str], rule_id: str, line: object, action: str
    ) -> None:
        """A process started by a rule gets only what the rule gives, not a demand's start
        variables: each one it reads must be given (else it stops at the first read)."""
        missing = sorted(self.catalogue.start_reads.get(process, frozenset()) - given)
        if missing:
            self.problem(
                line,
                rule_id,
                f"{action}: process {process!r} reads {', '.join(missing)} from its start, "
                "which this rule does not give (it gives: "
                f"{', '.join(sorted(given)) or 'nothing'})",
            )

    def _correlate(
        self, body: object, event: EventType, rule_id: str, line: object
    ) -> Action | None:
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            self.problem(line, rule_id, "correlate needs a message and a match")
            return None
        message = body["message"]
        if message not in self.catalogue.messages:
            self.problem(line, rule_id, f"correlate: no process waits for message {message!r}")
        match = self._values(body.get("match"), event, rule_id, line, "match")
        if not match:
            self.problem(line, rule_id, "correlate needs a match (instance variable: expression)")
        return Action("correlate", message, match)

    def _signal(self, body: object, event: EventType, rule_id: str, line: object) -> Action | None:
        name = body.get("name") if isinstance(body, dict) else body
        if not isinstance(name, str) or not name:
            self.problem(line, rule_id, "signal needs a name")
            return None
        return Action("signal", name)

    def _escalate(
        self, body: object, event: EventType, rule_id: str, line: object
    ) -> Action | None:
        if not isinstance(body, dict) or not isinstance(body.get("role"), str):
            self.problem(line, rule_id, "escalate needs a role and a subject")
            return None
        role = body["role"]
        if role not in self.catalogue.escalation_roles:
            known = ", ".join(sorted(self.catalogue.escalation_roles)) or "none"
            self.problem(
                line,
                rule_id,
                f"escalate: role {role!r} has no escalation link (process "
                f"{ESCALATION_PROCESS!r} has links for: {known})",
            )
        values = self._values({"subject": body.get("subject", "")}, event, rule_id, line, "")
        # The escalation link gets the payload fields that are set, the subject and the role.
        given = {f.name for f in event.fields.values() if f.required} | {"subject", "role"}
        self._gives_what_it_reads(ESCALATION_PROCESS, given, rule_id, line, "escalate")
        return Action("escalate", role, values)

    def _note_demands(
        self, body: object, event: EventType, rule_id: str, line: object
    ) -> Action | None:
        # text: "…" (English only) or {en: "…", zh: "…"}, shown in the reader's language.
        raw = body.get("text") if isinstance(body, dict) else None
        texts = {"en": raw} if isinstance(raw, str) else _names(raw)
        if not isinstance(body, dict) or not texts.get("en"):
            self.problem(line, rule_id, "note_demands needs 'where' and 'text' (at least in en)")
            return None
        where = self._values(body.get("where"), event, rule_id, line, "where")
        if len(where) != 1:
            self.problem(line, rule_id, "note_demands: 'where' names one demand detail")
            return None
        for lang, text in sorted(texts.items()):
            unknown = sorted(set(PLACEHOLDER.findall(text)) - set(event.fields))
            if unknown:
                self.problem(
                    line, rule_id, f"note_demands: the {lang} text uses unknown field(s) {unknown}"
                )
        [(detail, expression)] = where.items()
        return Action("note_demands", detail, {detail: expression}, texts["en"], texts)

    def _notify_customers(
        self, body: object, event: EventType, rule_id: str, line: object
    ) -> Action | None:
        if not isinstance(body, dict):
            self.problem(line, rule_id, "notify_customers needs 'where: {feeder: expression}'")
            return None
        where = self._values(body.get("where"), event, rule_id, line, "where")
        if set(where) != {"feeder"}:
            self.problem(line, rule_id, "notify_customers: 'where' names the feeder, and only it")
            return None
        return Action("notify_customers", "feeder", where)


def _names(raw: object) -> dict[str, str]:
    """`name: {en: …, zh: …}` as a mapping of language to text (the lint of labels checks it)."""
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items() if k in ("en", "zh") and v}


def fill(text: str, payload: Mapping[str, object]) -> str:
    """`{feeder}` placeholders replaced by payload values (no format-string attribute access)."""
    return PLACEHOLDER.sub(lambda m: str(payload.get(m.group(1), "")), text)


def catalogue_of(definitions: Iterable[Any]) -> Catalogue:  # noqa: ANN401 - ProcessDefinitions
    """What rules may name, from the linted process definitions."""
    processes: set[str] = set()
    messages: set[str] = set()
    roles: set[str] = set()
    start_reads: dict[str, frozenset[str]] = {}
    for definition in definitions:
        processes.add(definition.process_id)
        start_reads[definition.process_id] = frozenset(definition.start_reads)
        messages.update(definition.message_names)
        if definition.process_id == ESCALATION_PROCESS:
            roles.update(link.role.id for link in definition.links.values())
    return Catalogue(
        frozenset(processes), frozenset(messages), frozenset(), frozenset(roles), start_reads
    )
