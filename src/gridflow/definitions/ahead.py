"""The steps certain to come after a point of a process: the links and call activities that
every way from there to an end passes through. A parallel split takes all its branches, a
choice (exclusive, inclusive or event gateway) any one; boundary events are the exceptions
and are not followed. The predictor lays their standards one after another for an "at the
latest" date no earlier than the standards promise, where no finished history can tell."""

from __future__ import annotations

from functools import lru_cache

from gridflow.bpmn import BPMN_NS
from gridflow.definitions.describe import ProcessDefinition
from gridflow.definitions.xml import parse_xml

_CHOICES = frozenset({"exclusiveGateway", "inclusiveGateway", "eventBasedGateway"})
_STEPS = frozenset({"userTask", "callActivity"})


def certain_after(definition: ProcessDefinition, element_id: str | None) -> tuple[str, ...]:
    """The ids of the links and call activities certain to be reached once `element_id` ends
    (from the process's start when None), in the file's order, without `element_id` itself."""
    return _certain_after(definition.xml, definition.file, definition.process_id, element_id)


@lru_cache(maxsize=512)
def _certain_after(
    xml: bytes, file: str, process_id: str, element_id: str | None
) -> tuple[str, ...]:
    kinds, following, conditional = _graph(xml, file, process_id)
    if element_id is None:
        starts = [n for n, kind in kinds.items() if kind == "startEvent"]
        # Any one start event begins the process.
        begin: tuple[str, tuple[str, ...]] = ("any", tuple(starts))
    elif element_id in kinds:
        after = following[element_id]
        begin = (_joins(kinds[element_id], after, element_id in conditional), after)
    else:
        return ()
    return tuple(
        step
        for step, kind in kinds.items()
        if kind in _STEPS
        and step != element_id
        and not _can_end(kinds, following, conditional, begin, step)
    )


def _joins(kind: str, after: tuple[str, ...], conditioned: bool) -> str:
    """How the ways out of a node combine: a choice (a gateway that chooses, or a node whose
    flows out carry conditions) takes any one; a parallel gateway, or a task with several
    unconditioned flows out, takes them all."""
    return "any" if kind in _CHOICES or conditioned or len(after) <= 1 else "all"


def _can_end(
    kinds: dict[str, str],
    following: dict[str, tuple[str, ...]],
    conditional: frozenset[str],
    begin: tuple[str, tuple[str, ...]],
    avoid: str,
) -> bool:
    """Whether the process can end from `begin` without reaching `avoid`: the least fixed
    point over the graph, so a loop that never leaves does not count as a way out."""
    ends = {node: False for node in kinds}
    changed = True
    while changed:
        changed = False
        for node, kind in kinds.items():
            if ends[node] or node == avoid:
                continue
            after = following[node]
            if not after:
                value = True  # an end event, or a node the process ends after
            elif _joins(kind, after, node in conditional) == "any":
                value = any(ends[n] for n in after)
            else:
                value = all(ends[n] for n in after)
            if value:
                ends[node] = True
                changed = True
    how, first = begin
    if not first:
        return True
    if how == "any":
        return any(ends[n] for n in first)
    return all(ends[n] for n in first)


@lru_cache(maxsize=64)
def _graph(
    xml: bytes, file: str, process_id: str
) -> tuple[dict[str, str], dict[str, tuple[str, ...]], frozenset[str]]:
    """The process's flow nodes (id → kind, in the file's order), where each leads, and the
    nodes with a conditioned flow out."""
    tree = parse_xml(xml, file, utf8_only=False)  # linted when it was deployed
    process = next(
        (p for p in tree.getroot().iter(f"{{{BPMN_NS}}}process") if p.get("id") == process_id),
        None,
    )
    kinds: dict[str, str] = {}
    flows: list[tuple[str, str]] = []
    conditional: set[str] = set()
    if process is None:
        return kinds, {}, frozenset()
    for node in process:
        tag = node.tag
        if not isinstance(tag, str) or not tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        kind = tag.split("}", 1)[1]
        node_id = node.get("id")
        if kind == "sequenceFlow":
            source, target = node.get("sourceRef"), node.get("targetRef")
            if source and target:
                flows.append((source, target))
                if node.find(f"{{{BPMN_NS}}}conditionExpression") is not None:
                    conditional.add(source)
        elif node_id and kind not in ("laneSet", "boundaryEvent", "documentation"):
            kinds[node_id] = kind
    following: dict[str, list[str]] = {node: [] for node in kinds}
    for source, target in flows:
        if source in following and target in kinds:
            following[source].append(target)
    return (
        kinds,
        {node: tuple(after) for node, after in following.items()},
        frozenset(conditional),
    )
