"""Small BPMN documents for tests, written the way Camunda Modeler writes them."""

from __future__ import annotations

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
