"""Small DMN tables and a process with a business-rule task, written as Camunda Modeler 5
writes them."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from bpmn_samples import FORM, HEADER, STANDARD

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMN11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"

Column = tuple[str, str, str]  # label, expression or output name, typeRef


def table(
    rules: Sequence[tuple[Sequence[str], Sequence[str]]],
    *,
    decision_id: str = "route",
    hit_policy: str = "UNIQUE",
    aggregation: str = "",
    inputs: Sequence[Column] = (("Amount", "amount", "integer"),),
    outputs: Sequence[Column] = (("Route", "route", "string"),),
    output_values: str = "",
    namespace: str = DMN13,
    extra: str = "",
) -> str:
    """A decision table: each rule is (input cells, output cells)."""
    policy = f' hitPolicy="{hit_policy}"' if hit_policy != "UNIQUE" else ""
    if aggregation:
        policy += f' aggregation="{aggregation}"'
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<definitions xmlns="{namespace}" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" '
        'xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id="Definitions_1" name="DRD" '
        'namespace="http://camunda.org/schema/1.0/dmn" exporter="Camunda Modeler" '
        'exporterVersion="5.25.0">\n',
        f'  <decision id="{decision_id}" name="{decision_id.title()}">\n',
        f'    <decisionTable id="DecisionTable_1"{policy}>\n',
    ]
    for n, (label, expression, type_ref) in enumerate(inputs, 1):
        parts.append(
            f'      <input id="Input_{n}" label="{label}">\n'
            f'        <inputExpression id="InputExpression_{n}" typeRef="{type_ref}">\n'
            f"          <text>{escape(expression)}</text>\n"
            "        </inputExpression>\n      </input>\n"
        )
    for n, (label, name, type_ref) in enumerate(outputs, 1):
        values = (
            f'\n        <outputValues id="UnaryTests_values_{n}"><text>{escape(output_values)}'
            "</text></outputValues>\n      "
            if output_values and n == 1
            else ""
        )
        parts.append(
            f'      <output id="Output_{n}" label="{label}" name="{name}" typeRef="{type_ref}">'
            f"{values}</output>\n"
        )
    for r, (cells, results) in enumerate(rules, 1):
        parts.append(f'      <rule id="DecisionRule_{r}">\n')
        for c, cell in enumerate(cells, 1):
            parts.append(
                f'        <inputEntry id="UnaryTests_{r}_{c}"><text>{escape(cell)}</text></inputEntry>\n'
            )
        for c, cell in enumerate(results, 1):
            parts.append(
                f'        <outputEntry id="LiteralExpression_{r}_{c}"><text>{escape(cell)}</text></outputEntry>\n'
            )
        parts.append("      </rule>\n")
    parts.append(f"    </decisionTable>\n  </decision>\n{extra}</definitions>\n")
    return "".join(parts)


ROUTE_RULES = [(["< 100"], ['"skip"']), (["[100..1000]"], ['"survey"']), (["> 1000"], ['"survey"'])]


def rule_process(
    *,
    process_id: str = "rule_flow",
    decision_ref: str = "route",
    attributes: str = 'camunda:resultVariable="route" camunda:mapDecisionResult="singleEntry"',
) -> str:
    """Accept (amount) → business-rule task → survey when route is "survey", else the end."""
    form = FORM.replace(
        "</camunda:formData>",
        '  <camunda:formField id="amount" label="Amount" type="long">'
        '<camunda:validation><camunda:constraint name="required" /></camunda:validation>'
        "</camunda:formField>\n        </camunda:formData>",
    )
    return (
        HEADER
        + f"""  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" processRef="{process_id}" />
  </bpmn:collaboration>
  <bpmn:process id="{process_id}" name="Rule flow" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_front" name="Account manager">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_accept</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_route</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_skipped</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_back" name="Planning and design">
        <bpmn:flowNodeRef>Activity_survey</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_accept" />
    <bpmn:userTask id="Activity_accept" name="Accept application">
      <bpmn:extensionElements>{form}{STANDARD.format(target="P1D")}
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_accept" targetRef="Activity_decide" />
    <bpmn:businessRuleTask id="Activity_decide" name="Decide route" camunda:decisionRef="{decision_ref}" {attributes} />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_decide" targetRef="Gateway_route" />
    <bpmn:exclusiveGateway id="Gateway_route" default="Flow_skip" />
    <bpmn:sequenceFlow id="Flow_survey" sourceRef="Gateway_route" targetRef="Activity_survey">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${{route == "survey"}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_skip" sourceRef="Gateway_route" targetRef="End_skipped" />
    <bpmn:endEvent id="End_skipped" />
    <bpmn:userTask id="Activity_survey" name="Site survey">
      <bpmn:extensionElements>{FORM}{STANDARD.format(target="P3D")}
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_survey" targetRef="End_done" />
    <bpmn:endEvent id="End_done" />
  </bpmn:process>
</bpmn:definitions>
"""
    )
