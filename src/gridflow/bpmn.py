"""BPMN 2.0 vocabulary shared by the linter and the layout tool: namespaces and element kinds."""

from __future__ import annotations

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

EVENTS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
GATEWAYS = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
ACTIVITIES = (
    frozenset(
        {
            "task",
            "userTask",
            "scriptTask",
            "serviceTask",
            "manualTask",
            "sendTask",
            "receiveTask",
            "businessRuleTask",
            "callActivity",
        }
    )
    | CONTAINERS
)
FLOW_NODES = EVENTS | GATEWAYS | ACTIVITIES
