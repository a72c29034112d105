"""Small BPMN documents for tests, written the way Camunda Modeler writes them."""

from __future__ import annotations

import re

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" '
    'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
    'exporterVersion="5.28.0">\n'
)

STANDARD = """
        <camunda:properties>
          <camunda:property name="standard_target" value="{target}" />
          <camunda:property name="standard_basis" value="working" />
          <camunda:property name="standard_source" value="test standard" />
        </camunda:properties>"""

FORM = """
        <camunda:formData>
          <camunda:formField id="approved" label="Approved" type="boolean">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
        </camunda:formData>"""


def two_lane(
    *,
    process_id: str = "two_lane",
    front_lane: str = "Account manager",
    back_lane: str = "Planning and design",
    accept_standard: str = STANDARD.format(target="P1D"),
    survey_in_lane: bool = True,
    condition: str = "${approved}",
    script: str = "survey_needed = approved",
    script_format: str = "python",
    extra_elements: str = "",
    survey_name: str = "Site survey",
) -> str:
    """Accept (front-end lane) → script → gateway → survey (back-end lane) or end."""
    survey_ref = "<bpmn:flowNodeRef>Activity_survey</bpmn:flowNodeRef>" if survey_in_lane else ""
    return (
        HEADER
        + f"""  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" processRef="{process_id}" />
  </bpmn:collaboration>
  <bpmn:process id="{process_id}" name="Two lanes" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_front" name="{front_lane}">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_accept</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Script_classify</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_survey</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_declined</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_back" name="{back_lane}">
        {survey_ref}
        <bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_accept" />
    <bpmn:userTask id="Activity_accept" name="Accept application">
      <bpmn:extensionElements>{FORM}{accept_standard}
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_accept" targetRef="Script_classify" />
    <bpmn:scriptTask id="Script_classify" name="Classify" scriptFormat="{script_format}">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Script_classify" targetRef="Gateway_survey" />
    <bpmn:exclusiveGateway id="Gateway_survey" default="Flow_declined" />
    <bpmn:sequenceFlow id="Flow_survey" sourceRef="Gateway_survey" targetRef="Activity_survey">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_declined" sourceRef="Gateway_survey" targetRef="End_declined" />
    <bpmn:endEvent id="End_declined" />
    <bpmn:userTask id="Activity_survey" name="{survey_name}">
      <bpmn:extensionElements>{FORM}{STANDARD.format(target="P3D")}
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_survey" targetRef="End_done" />
    <bpmn:endEvent id="End_done" />{extra_elements}
  </bpmn:process>
</bpmn:definitions>
"""
    )


# --- a small builder for processes written element by element --------------------------------

_FLOW_NODE_TAGS = (
    "startEvent",
    "endEvent",
    "userTask",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "callActivity",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "intermediateCatchEvent",
    "boundaryEvent",
    "subProcess",
)


def field(field_id: str, field_type: str = "string", *, required: bool = True, choices=()) -> str:
    """A camunda:formField as Camunda Modeler writes it."""
    values = "".join(f'<camunda:value id="{c}" name="{c}" />' for c in choices)
    validation = (
        '<camunda:validation><camunda:constraint name="required" /></camunda:validation>'
        if required
        else ""
    )
    return (
        f'<camunda:formField id="{field_id}" label="{field_id}" type="{field_type}">'
        f"{validation}{values}</camunda:formField>"
    )


def user_task(task_id: str, *fields: str, name: str = "", properties: str = "") -> str:
    """A user task with a form and a one-day standard (plus any other properties)."""
    return f"""
    <bpmn:userTask id="{task_id}" name="{name or task_id}">
      <bpmn:extensionElements>
        <camunda:formData>{"".join(fields)}</camunda:formData>
        <camunda:properties>
          <camunda:property name="standard_target" value="P1D" />
          <camunda:property name="standard_basis" value="working" />
          <camunda:property name="standard_source" value="test standard" />{properties}
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>"""


def script_task(task_id: str, script: str) -> str:
    return f"""
    <bpmn:scriptTask id="{task_id}" name="{task_id}" scriptFormat="python">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>"""


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return (
            f'\n    <bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />'
        )
    return (
        f'\n    <bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def chain(*ids: str, prefix: str = "Flow") -> str:
    """Unconditioned flows a → b → c…"""
    return "".join(flow(f"{prefix}_{a}_{b}", a, b) for a, b in zip(ids, ids[1:], strict=False))


def process(body: str, *, process_id: str = "sample", properties: str = "") -> str:
    """An executable process holding `body`, every flow node in one Account manager lane."""
    ids = re.findall(rf"<bpmn:(?:{'|'.join(_FLOW_NODE_TAGS)})\b[^>]*?\bid=\"([^\"]+)\"", body)
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    extension = (
        f"<bpmn:extensionElements><camunda:properties>{properties}</camunda:properties>"
        "</bpmn:extensionElements>"
        if properties
        else ""
    )
    return (
        HEADER
        + f"""  <bpmn:process id="{process_id}" name="Sample" isExecutable="true">{extension}
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_front" name="Account manager">{refs}</bpmn:lane>
    </bpmn:laneSet>{body}
  </bpmn:process>
</bpmn:definitions>
"""
    )
