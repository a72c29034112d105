"""The variable analysis: every variable that a condition, timer, script or other element
reads must be set on EVERY path from a start event to where it is read.

Why every path and not one: the expression language follows JUEL, where an undefined variable
is an error, so a variable that only some paths set stops the instance on the others, which is
exactly what the lint is for. The rule is the classic "definitely assigned" data-flow analysis
over the sequence flows:
- a start event begins with the start variables (the demand's, those the process declares
  with the `start_variables` property) and its own form fields or message;
- an element passes on what reached it plus what it sets (`effects`); a required form field is
  always set, an optional one is not (an empty optional field is left out);
- where flows meet, what is set on every incoming flow is set (after a parallel join, what any
  branch set, since the join waits for all of them);
- a boundary event sees what its activity saw when it started;
- an embedded subprocess starts with what reached it and passes on what its end events have.
Loops are handled: a variable set later in a loop is not set on the first pass.

Types ride along: the producers that may have set a variable say its type (a form field's type
and choices, a demand variable's), and a comparison that cannot hold is reported (`types`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lxml import etree

from gridflow.definitions.rules.common import NS, Report, flow_nodes, local
from gridflow.definitions.rules.effects import (
    UNKNOWN_VARIABLES,
    Effects,
    Produced,
    Scope,
    Use,
    effects,
)
from gridflow.definitions.rules.types import VarType, comparison_problems, merged, values_problems
from gridflow.errors import ExpressionError
from gridflow.expressions import compile_expression

_NOTHING_SETS_IT = (
    "no earlier form field, script, decision result, external-task output, call-activity "
    "output, message, multi-instance element or start variable sets it"
)


@dataclass(frozen=True)
class State:
    """What holds at a point of a process: the variables set on every path (`must`) and the
    producers whose value may be the one there (`may`). `must` holds UNKNOWN_VARIABLES when
    every path passed an element that sets variables not known here."""

    must: frozenset[str]
    may: frozenset[Produced]

    def after(self, writes: Iterable[Produced]) -> State:
        written = list(writes)
        if not written:
            return self
        certain = frozenset(p.name for p in written if p.certain)
        kept = frozenset(p for p in self.may if p.name not in certain)
        return State(self.must | certain, kept | frozenset(written))

    def sets(self, name: str) -> bool:
        return name in self.must or UNKNOWN_VARIABLES in self.must

    def producers(self, name: str) -> list[Produced]:
        return sorted((p for p in self.may if p.name == name), key=lambda p: p.origin)


def _meet(states: Sequence[State], *, all_arrive: bool) -> State:
    """Where flows meet: set on every one of them, or (all_arrive: a parallel join) on any."""
    must = states[0].must
    for state in states[1:]:
        must = must | state.must if all_arrive else must & state.must
    return State(must, frozenset().union(*(s.may for s in states)))


@dataclass
class Findings:
    """What the analysis learnt beyond its problems: the start variables the process reads
    (a linkage rule that starts it must give them)."""

    start_producers: frozenset[Produced]
    start_reads: set[str] = field(default_factory=set)


class _Graph:
    """The flow nodes of one process or subprocess and the flows between them."""

    def __init__(self, container: etree._Element, scope: Scope):
        self.scope = scope
        self.nodes = {e.get("id", ""): e for e in flow_nodes(container)}
        self.effects: dict[str, Effects] = {i: effects(e, scope) for i, e in self.nodes.items()}
        self.incoming: dict[str, list[str]] = {i: [] for i in self.nodes}
        self.successors: dict[str, list[str]] = {i: [] for i in self.nodes}
        self.conditions: dict[str, list[etree._Element]] = {i: [] for i in self.nodes}
        for flow in container.findall("bpmn:sequenceFlow", NS):
            source, target = flow.get("sourceRef", ""), flow.get("targetRef", "")
            if source in self.nodes and target in self.nodes:
                self.incoming[target].append(source)
                self.successors[source].append(target)
                self.conditions[source].append(flow)
        self.attached: dict[str, str] = {}
        for node_id, element in self.nodes.items():
            host = element.get("attachedToRef", "")
            if local(element) == "boundaryEvent" and host in self.nodes:
                self.attached[node_id] = host
                self.successors[host].append(node_id)
        self.starts = [
            i
            for i, e in self.nodes.items()
            if local(e) == "startEvent" or e.get("triggeredByEvent") == "true"
        ]
        self._inner: dict[tuple[str, State], State] = {}

    def solve(self, entry: State) -> tuple[dict[str, State], dict[str, State]]:
        """The state reaching each node that a start event reaches, and the one leaving it."""
        ins: dict[str, State] = {}
        outs: dict[str, State] = {}
        pending = deque(self.starts)
        while pending:
            node_id = pending.popleft()
            state = self._reaching(node_id, entry, ins, outs)
            if state is None or ins.get(node_id) == state:
                continue
            ins[node_id] = state
            outs[node_id] = self._leaving(node_id, state)
            pending.extend(self.successors[node_id])
        return ins, outs

    def _reaching(
        self, node_id: str, entry: State, ins: dict[str, State], outs: dict[str, State]
    ) -> State | None:
        if node_id in self.starts:
            return entry
        host = self.attached.get(node_id)
        if host is not None:
            return ins.get(host)
        arrived = [outs[source] for source in self.incoming[node_id] if source in outs]
        if not arrived:
            return None
        parallel = local(self.nodes[node_id]) == "parallelGateway"
        if parallel and len(arrived) < len(self.incoming[node_id]):
            return None  # a parallel join waits for every branch
        return _meet(arrived, all_arrive=parallel)

    def _leaving(self, node_id: str, state: State) -> State:
        element = self.nodes[node_id]
        found = self.effects[node_id]
        if local(element) == "subProcess" and element.get("triggeredByEvent") != "true":
            state = self._subprocess(node_id, state.after(found.scoped))
        return state.after(found.writes)

    def _subprocess(self, node_id: str, entry: State) -> State:
        key = (node_id, entry)
        cached = self._inner.get(key)
        if cached is None:
            inner = _Graph(self.nodes[node_id], self.scope)
            _ins, outs = inner.solve(entry)
            ends = [outs[i] for i, e in inner.nodes.items() if local(e) == "endEvent" and i in outs]
            cached = self._inner[key] = _meet(ends, all_arrive=False) if ends else entry
        return cached

    def check(self, entry: State, report: Report, findings: Findings) -> None:
        """Report every read of a variable that is not set on every path to it."""
        ins, outs = self.solve(entry)
        for node_id, state in ins.items():
            element = self.nodes[node_id]
            found = self.effects[node_id]
            for use in found.reads:
                _check_use(use, state, report, findings)
            inside = state.after(found.scoped).after(found.writes)
            for use in found.reads_inside:
                _check_use(use, inside, report, findings)
            for flow in self.conditions[node_id]:
                condition = _condition(flow)
                if condition is not None:
                    _check_use(condition, outs[node_id], report, findings)
            if local(element) == "subProcess":
                _Graph(element, self.scope).check(state.after(found.scoped), report, findings)


def _condition(flow: etree._Element) -> Use | None:
    condition = flow.find("bpmn:conditionExpression", NS)
    text = (condition.text or "").strip() if condition is not None else ""
    if not text:
        return None
    try:
        compiled = compile_expression(text)
    except ExpressionError:
        return None  # the linter reports it
    return Use(flow, "condition", compiled.names, compiled)


def _check_use(use: Use, state: State, report: Report, findings: Findings) -> None:
    source = f" {use.expression.source!r}" if use.expression is not None else ""
    known: dict[str, tuple[VarType, str]] = {}
    for name in sorted(use.names):
        producers = state.producers(name)
        if not state.sets(name):
            setters = producers + state.producers(UNKNOWN_VARIABLES)
            report(use.element, f"{use.what}{source} reads {name!r}, {_why_unset(setters)}")
            continue
        if any(p in findings.start_producers for p in producers):
            findings.start_reads.add(name)
        declared = merged(p.type for p in producers)
        if declared is not None:
            known[name] = (declared, "; ".join(sorted({p.origin for p in producers})))
    if use.expression is not None:
        for message in comparison_problems(use.expression, known):
            report(use.element, f"{use.what}{source}: {message}")
    for name in use.names:
        if use.values and name in known:
            declared, origin = known[name]
            for message in values_problems(name, declared, origin, use.values, use.what):
                report(use.element, message)


def _why_unset(producers: list[Produced]) -> str:
    if not producers:
        return f"but {_NOTHING_SETS_IT} on the way here"
    setters = ", ".join(p.origin for p in producers)
    optional = [p for p in producers if not p.certain]
    if optional:
        return (
            f"which is set only when filled in ({setters}: an optional field left empty is "
            "not set); make the field required, or read it only where it is set"
        )
    return (
        f"which is set on some paths to here but not all ({setters}); on the others the "
        "instance stops with an undefined variable"
    )


def check_variables(
    process: etree._Element, scope: Scope, start: Sequence[Produced], report: Report
) -> Findings:
    """Check every read in a process; the findings name the start variables it reads."""
    findings = Findings(frozenset(start))
    entry = State(frozenset(p.name for p in start if p.certain), frozenset(start))
    _Graph(process, scope).check(entry, report, findings)
    return findings
