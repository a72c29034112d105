"""The lint's variable analysis: a variable read anywhere must be set on every path from a start
event to where it is read, and a comparison must fit the types the forms declare."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from bpmn_samples import chain, field, flow, process, two_lane, user_task
from conftest import PROCESSES
from lxml import etree

from gridflow import definitions, rules
from gridflow.definitions.rules import effects as effects_module
from gridflow.definitions.rules.effects import Effects, Scope, effects_of
from gridflow.definitions.rules.run_time import start_variables
from gridflow.definitions.rules.variables import check_variables
from gridflow.demands import DemandInput
from gridflow.errors import Problem
from gridflow.intake import START_VARIABLES
from gridflow.roles import RoleBook


def lint(text: str, roles: RoleBook) -> list[Problem]:
    return definitions.lint(text.encode(), "sample.bpmn", roles)


def found(problems: Sequence[Problem]) -> list[tuple[str | None, str]]:
    return [(p.element_id, p.message) for p in problems]


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


UNSET = (
    "but no earlier form field, script, decision result, external-task output, call-activity "
    "output, message, multi-instance element or start variable sets it on the way here"
)


def branches(left: str, right: str, condition_after: str) -> str:
    """Start → decide (form field `route`) → left or right task → merge → condition."""
    return process(
        user_task("Decide", field("route", "enum", choices=("a", "b")))
        + left
        + right
        + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:exclusiveGateway id="Split" default="Flow_to_right" />
    <bpmn:exclusiveGateway id="Merge" />
    <bpmn:exclusiveGateway id="Check" default="Flow_no" />
    <bpmn:endEvent id="End_yes" /><bpmn:endEvent id="End_no" />"""
        + chain("Start_1", "Decide", "Split")
        + flow("Flow_to_left", "Split", "Left", '${route == "a"}')
        + flow("Flow_to_right", "Split", "Right")
        + chain("Left", "Merge")
        + chain("Right", "Merge", "Check")
        + flow("Flow_yes", "Check", "End_yes", condition_after)
        + flow("Flow_no", "Check", "End_no")
    )


# --- the rule: set on every path -------------------------------------------------------------


def test_a_variable_set_on_every_path_may_be_read_after_the_paths_meet(roles: RoleBook) -> None:
    text = branches(
        user_task("Left", field("amount", "long")),
        user_task("Right", field("amount", "long")),
        "${amount > 10}",
    )
    assert lint(text, roles) == []


def test_a_variable_set_on_one_branch_only_is_refused_where_the_branches_meet(
    roles: RoleBook,
) -> None:
    text = branches(
        user_task("Left", field("amount", "long")), user_task("Right"), "${amount > 10}"
    )
    [problem] = lint(text, roles)
    assert (problem.element_id, problem.line) == ("Flow_yes", line_of(text, 'id="Flow_yes"'))
    assert problem.message == (
        "condition '${amount > 10}' reads 'amount', which is set on some paths to here but "
        "not all (form field of 'Left'); on the others the instance stops with an undefined "
        "variable"
    )


def test_an_optional_field_does_not_count_as_set(roles: RoleBook) -> None:
    text = branches(
        user_task("Left", field("amount", "long", required=False)),
        user_task("Right", field("amount", "long")),
        "${amount > 10}",
    )
    [problem] = lint(text, roles)
    assert problem.element_id == "Flow_yes"
    assert (
        "which is set only when filled in (form field of 'Left', form field of 'Right': an "
        "optional field left empty is not set); make the field required" in problem.message
    )


def test_a_variable_read_before_anything_sets_it(roles: RoleBook) -> None:
    text = two_lane(condition="${survey_wanted}")
    [problem] = lint(text, roles)
    assert found([problem]) == [
        ("Flow_survey", f"condition '${{survey_wanted}}' reads 'survey_wanted', {UNSET}")
    ]


def test_a_script_assignment_sets_a_variable_and_a_script_read_is_checked(
    roles: RoleBook,
) -> None:
    assert lint(two_lane(condition="${survey_needed}"), roles) == []
    [problem] = lint(two_lane(script="survey_needed = approved and budget_ok"), roles)
    assert found([problem]) == [("Script_classify", f"script reads 'budget_ok', {UNSET}")]


def test_a_variable_set_later_in_a_loop_is_not_set_on_the_first_pass(roles: RoleBook) -> None:
    text = process(
        user_task("Review", field("comments"))
        + user_task("Revise", field("revised", "boolean"))
        + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:exclusiveGateway id="Again" default="Flow_done" />
    <bpmn:endEvent id="End_1" />"""
        + chain("Start_1", "Review", "Again")
        + flow("Flow_again", "Again", "Revise", "${!revised}")
        + chain("Revise", "Review")
        + flow("Flow_done", "Again", "End_1")
    )
    [problem] = lint(text, roles)
    assert problem.element_id == "Flow_again"
    assert (
        "reads 'revised', which is set on some paths to here but not all (form field of "
        "'Revise')" in problem.message
    )


def test_after_a_parallel_join_what_every_branch_set_is_set(roles: RoleBook) -> None:
    text = process(
        user_task("Survey", field("survey_ok", "boolean"))
        + user_task("Design", field("design_ok", "boolean"))
        + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:parallelGateway id="Fork" /><bpmn:parallelGateway id="Join" />
    <bpmn:exclusiveGateway id="Both" default="Flow_no" />
    <bpmn:endEvent id="End_yes" /><bpmn:endEvent id="End_no" />"""
        + chain("Start_1", "Fork", "Survey", "Join", "Both")
        + chain("Fork", "Design", "Join", prefix="Flow_b")
        + flow("Flow_yes", "Both", "End_yes", "${survey_ok and design_ok}")
        + flow("Flow_no", "Both", "End_no")
    )
    assert lint(text, roles) == []


def test_a_boundary_event_sees_only_what_its_task_saw_when_it_started(roles: RoleBook) -> None:
    text = process(
        user_task("Inspect", field("passed", "boolean"))
        + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:boundaryEvent id="Late" attachedToRef="Inspect" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT4H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="Passed" default="Flow_no" />
    <bpmn:endEvent id="End_1" /><bpmn:endEvent id="End_yes" /><bpmn:endEvent id="End_no" />"""
        + chain("Start_1", "Inspect", "End_1")
        + chain("Late", "Passed")
        + flow("Flow_yes", "Passed", "End_yes", "${passed}")
        + flow("Flow_no", "Passed", "End_no")
    )
    [problem] = lint(text, roles)
    assert found([problem]) == [("Flow_yes", f"condition '${{passed}}' reads 'passed', {UNSET}")]


def test_a_timer_expression_reads_variables_too(roles: RoleBook) -> None:
    text = process(
        user_task("Wait_here", field("note"))
        + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:intermediateCatchEvent id="Until">
      <bpmn:timerEventDefinition><bpmn:timeDate>${due(agreed_delay)}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="End_1" />"""
        + chain("Start_1", "Wait_here", "Until", "End_1")
    )
    assert found(lint(text, roles)) == [
        ("Until", f"timer timeDate '${{due(agreed_delay)}}' reads 'agreed_delay', {UNSET}")
    ]


def test_a_message_sets_a_variable_named_after_it(roles: RoleBook) -> None:
    text = process(
        """
    <bpmn:startEvent id="Start_1" />
    <bpmn:intermediateCatchEvent id="Finished">
      <bpmn:messageEventDefinition messageRef="Message_1" />
    </bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="Reported" default="Flow_no" />
    <bpmn:endEvent id="End_yes" /><bpmn:endEvent id="End_no" />"""
        + chain("Start_1", "Finished", "Reported")
        + flow("Flow_yes", "Reported", "End_yes", "${works_finished != null}")
        + flow("Flow_no", "Reported", "End_no")
    ).replace(
        "  <bpmn:process",
        '  <bpmn:message id="Message_1" name="works_finished" />\n  <bpmn:process',
    )
    assert lint(text, roles) == []


# --- start variables -------------------------------------------------------------------------


def test_the_demand_start_variables_are_what_a_demand_gives() -> None:
    demand = DemandInput("Li Lei", "residential", "counter", "connection")
    assert set(demand.variables()) == {v.name for v in START_VARIABLES}


def test_a_process_may_read_the_demand_start_variables_and_declare_others(
    roles: RoleBook,
) -> None:
    def reading(condition: str, declared: str = "") -> str:
        properties = (
            f'<camunda:property name="start_variables" value="{declared}" />' if declared else ""
        )
        return process(
            user_task("Accept", field("ok", "boolean"))
            + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:exclusiveGateway id="Big" default="Flow_no" />
    <bpmn:endEvent id="End_yes" /><bpmn:endEvent id="End_no" />"""
            + chain("Start_1", "Accept", "Big")
            + flow("Flow_yes", "Big", "End_yes", condition)
            + flow("Flow_no", "Big", "End_no"),
            properties=properties,
        )

    assert lint(reading('${capacity_kw > 160 and area == "rural"}'), roles) == []
    assert found(lint(reading("${meter_id == 'M-1'}"), roles)) == [
        ("Flow_yes", f"condition \"${{meter_id == 'M-1'}}\" reads 'meter_id', {UNSET}")
    ]
    assert lint(reading("${meter_id == 'M-1'}", "meter_id, reading_kwh:double"), roles) == []
    assert found(lint(reading("${ok}", "meter id, reading:number"), roles)) == [
        ("sample", "start_variables: 'meter id' is not a plain variable name"),
        (
            "sample",
            "start_variables: type 'number' of 'reading' is not one of string, long, double, "
            "boolean, date",
        ),
    ]


def test_a_rule_that_starts_a_process_must_give_what_it_reads_from_its_start(
    roles: RoleBook,
) -> None:
    shipped = [definitions.load(path, roles) for path in definitions.bpmn_files([PROCESSES])]
    [active_repair] = [d for d in shipped if d.process_id == "active_repair"]
    assert active_repair.start_reads == frozenset({"area"})  # its standards go by area
    catalogue = rules.catalogue_of(shipped)
    text = (PROCESSES / "rules.yaml").read_text(encoding="utf-8")
    assert rules.lint(text, "rules.yaml", catalogue) == []
    forgetful = text.replace(
        "variables: {feeder: feeder, area: area}", "variables: {feeder: feeder}"
    )
    [problem] = rules.lint(forgetful, "rules.yaml", catalogue)
    assert (problem.element_id, problem.message) == (
        "outage_starts_active_repair",
        "start: process 'active_repair' reads area from its start, which this rule does not "
        "give (it gives: feeder)",
    )


# --- types -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            '${capacity == "high"}',
            "compares capacity (a whole number, form field of 'Accept') with 'high': they are "
            "never equal",
        ),
        (
            '${capacity > "high"}',
            "capacity (a whole number, form field of 'Accept') cannot be ordered against 'high' "
            "('>' fails at run time)",
        ),
        (
            '${scheme == "underground"}',
            "compares scheme (a choice of overhead, cable, form field of 'Accept') with "
            "'underground', which is not one of its choices (overhead, cable)",
        ),
        (
            "${approved == 1}",
            "compares approved (a yes/no value, form field of 'Accept') with 1: they are never "
            "equal",
        ),
        (
            '${voltage == "medium"}',
            "compares voltage (a choice of low, high, a demand's start variable) with 'medium', "
            "which is not one of its choices (low, high)",
        ),
        (
            "${scheme in ('cable', 'pole')}",
            "compares scheme (a choice of overhead, cable, form field of 'Accept') with 'pole', "
            "which is not one of its choices (overhead, cable)",
        ),
        (
            '${visit_on &lt; "next week"}',
            "compares visit_on (a date, form field of 'Accept') with 'next week', which is not a "
            "date (YYYY-MM-DD)",
        ),
    ],
)
def test_a_comparison_that_cannot_hold_for_the_declared_type_is_refused(
    roles: RoleBook, condition: str, message: str
) -> None:
    text = accept_then(condition)
    [problem] = lint(text, roles)
    source = condition.replace("&lt;", "<")
    assert (problem.element_id, problem.message) == ("Flow_yes", f"condition {source!r}: {message}")


def test_comparisons_that_fit_their_types_pass(roles: RoleBook) -> None:
    for condition in (
        '${capacity &gt; 160 and scheme == "cable" and approved and voltage == "high"}',
        "${visit_on &lt; '2026-06-01' and capacity_kw &gt;= 0.5}",
    ):
        assert lint(accept_then(condition), roles) == [], condition


def accept_then(condition: str) -> str:
    return process(
        user_task(
            "Accept",
            field("capacity", "long"),
            field("scheme", "enum", choices=("overhead", "cable")),
            field("approved", "boolean"),
            field("visit_on", "date"),
        )
        + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:exclusiveGateway id="Check" default="Flow_no" />
    <bpmn:endEvent id="End_yes" /><bpmn:endEvent id="End_no" />"""
        + chain("Start_1", "Accept", "Check")
        + flow("Flow_yes", "Check", "End_yes", condition)
        + flow("Flow_no", "Check", "End_no")
    )


def test_a_standard_variant_must_be_a_choice_of_its_standard_by_variable(
    roles: RoleBook,
) -> None:
    variants = """
          <camunda:property name="standard_by" value="area" />
          <camunda:property name="standard_target.urban" value="PT45M" />
          <camunda:property name="standard_target.city" value="PT30M" />"""
    text = process(
        user_task("Arrive", field("arrived", "boolean"), properties=variants)
        + '<bpmn:startEvent id="Start_1" /><bpmn:endEvent id="End_1" />'
        + chain("Start_1", "Arrive", "End_1")
    )
    assert found(lint(text, roles)) == [
        (
            "Arrive",
            "service standard (standard_by) 'city' is not a choice of area (urban, rural, "
            "remote; a demand's start variable)",
        )
    ]


# --- the extension point: what each element kind reads and sets ---------------------------------


def analysed(text: str, decision_inputs: dict[str, list[str]] | None = None) -> list[str]:
    """The variable analysis alone (elements the lint still refuses are analysed all the same)."""
    root = etree.fromstring(text.encode())
    element = root.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
    assert element is not None
    messages: list[str] = []

    def report(where: etree._Element | None, message: str) -> None:
        messages.append(f"{where.get('id') if where is not None else None}: {message}")

    scope = Scope({}, lambda ref: (decision_inputs or {}).get(ref))
    check_variables(element, scope, start_variables(element, report), report)
    return messages


def reads_after(element: str, condition: str) -> str:
    return process(
        element
        + """
    <bpmn:startEvent id="Start_1" />
    <bpmn:exclusiveGateway id="Check" default="Flow_no" />
    <bpmn:endEvent id="End_yes" /><bpmn:endEvent id="End_no" />"""
        + chain("Start_1", "Step", "Check")
        + flow("Flow_yes", "Check", "End_yes", condition)
        + flow("Flow_no", "Check", "End_no")
    )


def test_an_external_task_sets_its_declared_outputs(roles: RoleBook) -> None:
    task = """
    <bpmn:serviceTask id="Step" camunda:type="external" camunda:topic="payment">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="outputs" value="paid, receipt_no" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>"""
    assert analysed(reads_after(task, "${paid and receipt_no != ''}")) == []
    assert analysed(reads_after(task, "${invoice_no}")) == [
        f"Flow_yes: condition '${{invoice_no}}' reads 'invoice_no', {UNSET}"
    ]
    # Through the whole lint as well: the external task deploys, and what reads its outputs.
    assert lint(reads_after(task, "${paid and receipt_no != ''}"), roles) == []
    assert [p.element_id for p in lint(reads_after(task, "${invoice_no}"), roles)] == ["Flow_yes"]


def test_a_decision_sets_its_result_variable_and_reads_its_inputs() -> None:
    task = """
    <bpmn:businessRuleTask id="Step" camunda:decisionRef="supply_voltage"
        camunda:resultVariable="supply_voltage" />"""
    assert analysed(reads_after(task, '${supply_voltage == "10kV"}')) == []
    inputs = {"supply_voltage": ["capacity_kw", "customer_category", "load_class"]}
    assert analysed(reads_after(task, '${supply_voltage == "10kV"}'), inputs) == [
        f"Step: decision input of 'supply_voltage' 'load_class' reads 'load_class', {UNSET}"
    ]


def test_a_call_activity_reads_its_inputs_and_sets_its_outputs() -> None:
    task = """
    <bpmn:callActivity id="Step" calledElement="meter_installation">
      <bpmn:extensionElements>
        <camunda:in source="address" target="site_address" />
        <camunda:in sourceExpression="${meter_kind}" target="kind" />
        <camunda:out source="meter_number" target="meter_number" />
      </bpmn:extensionElements>
    </bpmn:callActivity>"""
    assert analysed(reads_after(task, "${meter_number != ''}")) == [
        f"Step: call-activity input '${{meter_kind}}' reads 'meter_kind', {UNSET}"
    ]


def test_a_call_activity_handing_back_all_its_variables_may_set_any() -> None:
    task = """
    <bpmn:callActivity id="Step" calledElement="meter_installation">
      <bpmn:extensionElements><camunda:out variables="all" /></bpmn:extensionElements>
    </bpmn:callActivity>"""
    assert analysed(reads_after(task, "${meter_number != ''}")) == []


def test_a_multi_instance_element_variable_exists_only_inside_its_task() -> None:
    countersign = (
        user_task("Step", field("approve", "boolean"))
        .replace(
            '<bpmn:userTask id="Step"',
            '<bpmn:userTask id="Step" camunda:candidateGroups="${department}"',
        )
        .replace(
            "</bpmn:userTask>",
            """<bpmn:multiInstanceLoopCharacteristics camunda:collection="${departments}"
            camunda:elementVariable="department">
          <bpmn:completionCondition>${!approve or nrOfCompletedInstances == nrOfInstances}</bpmn:completionCondition>
        </bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>""",
        )
    )
    text = reads_after(countersign, '${department == "finance"}')
    assert analysed(text) == [
        f"Step: multi-instance collection '${{departments}}' reads 'departments', {UNSET}",
        f"Flow_yes: condition '${{department == \"finance\"}}' reads 'department', {UNSET}",
    ]


def test_a_new_element_kind_plugs_in_with_one_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(effects_module, "_REGISTRY", dict(effects_module._REGISTRY))

    @effects_of("task")
    def _inspection(element: etree._Element, scope: Scope) -> Effects:
        return Effects(writes=[scope.produced(element, "inspected", "inspection")])

    text = reads_after('<bpmn:task id="Step" />', "${inspected}")
    assert analysed(text) == []


def test_every_shipped_process_and_rule_lints_clean_with_the_variable_analysis(
    roles: RoleBook,
) -> None:
    results = definitions.lint_paths([PROCESSES], roles)
    assert {str(p): found(v) for p, v in results.items() if v} == {}
    path: Path = PROCESSES / "rules.yaml"
    catalogue = rules.catalogue_of(
        definitions.load(p, roles) for p in results if p.suffix == ".bpmn"
    )
    assert rules.lint(path.read_text(encoding="utf-8"), str(path), catalogue) == []


def test_the_linter_passes_known_decision_inputs_to_the_analysis(roles: RoleBook) -> None:
    from gridflow.definitions.rules import Linter
    from gridflow.definitions.xml import parse_xml

    task = """
    <bpmn:businessRuleTask id="Step" camunda:decisionRef="repair_priority"
        camunda:resultVariable="priority" />"""
    text = reads_after(task, '${priority == "urgent"}')
    inputs = {"repair_priority": ["fault_kind", "customer_importance"]}
    linter = Linter(parse_xml(text.encode(), "s.bpmn"), "s.bpmn", roles, decision_inputs=inputs.get)
    messages = [(p.element_id, p.message) for p in linter.run()]
    # Until decisions are merged the task itself is refused; its unknown inputs are named too.
    assert (
        "Step",
        f"decision input of 'repair_priority' 'fault_kind' reads 'fault_kind', {UNSET}",
    ) in messages
    assert all(m[0] == "Step" for m in messages), messages
