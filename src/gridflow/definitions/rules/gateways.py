"""Gateway rules: a token that reaches a gateway must always be able to leave it, by a flow
the engine will take for the reason the diagram shows."""

from __future__ import annotations

from lxml import etree

from gridflow.definitions.rules.common import NS, Report, flow_nodes, local, name_of

# Gateways that choose among their outgoing flows by condition.
CHOOSING = ("exclusiveGateway", "inclusiveGateway")
# Gateways that take every outgoing flow (conditions on them are never read).
FORKING = ("parallelGateway",)


def check_gateways(container: etree._Element, report: Report) -> None:
    """Every gateway of a process or subprocess, then those of its subprocesses."""
    flows = container.findall("bpmn:sequenceFlow", NS)
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in flows:
        outgoing.setdefault(flow.get("sourceRef", ""), []).append(flow)
    for node in flow_nodes(container):
        kind = local(node)
        if kind == "subProcess":
            check_gateways(node, report)
        if not kind.endswith("Gateway"):
            continue
        leaving = outgoing.get(node.get("id", ""), [])
        name = name_of(node)
        if not leaving:
            report(node, f"{kind} {name!r} has no outgoing flow: a token that reaches it stops")
            continue
        default = node.get("default")
        ids = {flow.get("id") for flow in leaving}
        if default and default not in ids:
            report(node, f"default flow {default!r} is not an outgoing flow of {name!r}")
        for flow in leaving:
            conditioned = flow.find("bpmn:conditionExpression", NS) is not None
            if flow.get("id") == default and conditioned:
                report(
                    flow,
                    f"the default flow of {name!r} has a condition, which is never read "
                    "(the default is taken when no other condition holds): remove it",
                )
            elif kind in FORKING and conditioned:
                report(
                    flow,
                    f"a flow leaving parallel gateway {name!r} has a condition, which is never "
                    "read (every outgoing flow is taken): use an inclusive or exclusive gateway",
                )
        if kind in CHOOSING and len(leaving) > 1:
            bare = [
                flow
                for flow in leaving
                if flow.get("id") != default and flow.find("bpmn:conditionExpression", NS) is None
            ]
            if bare:
                names = ", ".join(repr(flow.get("name") or flow.get("id")) for flow in bare)
                fix = "give each a condition" + ("" if default else ", or make one the default")
                report(
                    node,
                    f"{kind} {name!r}: outgoing flow(s) {names} have no condition and are not "
                    f"its default flow; {fix}",
                )
