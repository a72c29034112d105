"""Lint and deploy: every problem names file, line and element; nothing bad is deployed;
versions follow content."""

from __future__ import annotations

from pathlib import Path

import pytest
from bpmn_samples import STANDARD, two_lane
from click.testing import CliRunner
from conftest import PROCESSES, complete, open_items
from sqlalchemy import func, select

from gridflow import catalog, definitions
from gridflow.cli import main
from gridflow.errors import DefinitionError, Problem
from gridflow.instances import start_instance
from gridflow.labels import lint as label_lint
from gridflow.models import Definition, Instance
from gridflow.roles import RoleBook
from gridflow.runtime import Runtime


def lint(text: str, roles: RoleBook) -> list[Problem]:
    return definitions.lint(text.encode(), "sample.bpmn", roles)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line where a fragment first appears in a sample document."""
    return text[: text.index(fragment)].count("\n") + 1


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_every_shipped_process_lints_clean(roles: RoleBook) -> None:
    results = definitions.lint_paths([PROCESSES], roles)
    assert len(results) >= 6
    assert {str(path): problems for path, problems in results.items() if problems} == {}


def test_a_clean_two_lane_process_has_links_with_roles_forms_and_standards(
    roles: RoleBook,
) -> None:
    definition = definitions.parse(two_lane().encode(), "sample.bpmn", roles)
    accept = definition.links["Activity_accept"]
    assert (accept.role.id, accept.department, accept.role.side) == (
        "account_manager",
        "customer_service",
        "front",
    )
    assert (accept.standard.target, accept.standard.basis) == ("P1D", "working")
    assert [f.id for f in accept.form.fields] == ["approved"]
    assert definition.links["Activity_survey"].role.id == "planning_design"


def test_malformed_xml_names_the_line(roles: RoleBook) -> None:
    text = two_lane().replace("</bpmn:scriptTask>", "</bpmn:scriptTsk>")
    problem = only(lint(text, roles))
    assert problem.file == "sample.bpmn"
    assert problem.line == line_of(text, "</bpmn:scriptTsk>")
    assert problem.message.startswith("malformed XML: Opening and ending tag mismatch")


def test_external_entity_is_refused_before_parsing(roles: RoleBook) -> None:
    text = (
        two_lane()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
        )
        .replace('name="Two lanes"', 'name="&xxe;"')
    )
    problem = only(lint(text, roles))
    assert (problem.line, problem.element_id) == (2, None)
    assert "DOCTYPE and entity declarations are not allowed" in problem.message


def test_entity_expansion_bomb_is_refused(roles: RoleBook) -> None:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY l0 "lol">{entities}]>\n<lolz>&l9;</lolz>'
    )
    problem = only(lint(text, roles))
    assert "DOCTYPE and entity declarations are not allowed" in problem.message


def test_user_task_outside_any_lane(roles: RoleBook) -> None:
    text = two_lane(survey_in_lane=False)
    problem = only(lint(text, roles))
    assert (problem.element_id, problem.line) == (
        "Activity_survey",
        line_of(text, '<bpmn:userTask id="Activity_survey"'),
    )
    assert problem.message == (
        "user task 'Site survey' is outside any lane and has no camunda:candidateGroups"
    )


def test_lane_whose_role_is_unknown(roles: RoleBook) -> None:
    problem = only(lint(two_lane(back_lane="Marketing"), roles))
    assert problem.element_id == "Lane_back"
    assert problem.message.startswith(
        "lane 'Marketing' names no known role (roles: Account manager"
    )


def test_user_task_without_a_standard(roles: RoleBook) -> None:
    problem = only(lint(two_lane(accept_standard=""), roles))
    assert problem.element_id == "Activity_accept"
    assert "has no service standard" in problem.message


def test_standard_with_a_bad_duration_or_basis(roles: RoleBook) -> None:
    bad = STANDARD.format(target="5 days")
    problem = only(lint(two_lane(accept_standard=bad), roles))
    assert problem.element_id == "Activity_accept"
    assert problem.message.startswith("service standard: property 'standard_target':")
    monthly = STANDARD.format(target="P1M")
    assert "month" in only(lint(two_lane(accept_standard=monthly), roles)).message


def test_ids_the_engine_reserves_are_refused(roles: RoleBook) -> None:
    text = two_lane().replace('"StartEvent_1"', '"Start"').replace(">StartEvent_1<", ">Start<")
    problem = only(lint(text, roles))
    assert problem.element_id == "Start"
    assert problem.message.startswith("id 'Start' is reserved by the engine")


def test_element_unreachable_from_any_start_event(roles: RoleBook) -> None:
    orphan = """
    <bpmn:userTask id="Activity_orphan" name="Forgotten step" />"""
    text = two_lane(extra_elements=orphan).replace(
        "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>Activity_orphan</bpmn:flowNodeRef>",
    )
    problems = lint(text, roles)
    assert [(p.element_id, p.message) for p in problems] == [
        (
            "Activity_orphan",
            "user task has no service standard: add camunda:properties "
            "standard_target, standard_basis and standard_source",
        ),
        ("Activity_orphan", "userTask 'Forgotten step' is unreachable from any start event"),
    ]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("__import__('os').system('touch /tmp/gridflow-pwned')", "names starting with '__'"),
        ("${execution.getVariable('approved')}", "not allowed"),
        ("${approved &amp;&amp;}", "syntax error"),
        ("open('/etc/passwd').read()", "not allowed"),
    ],
)
def test_condition_the_safe_evaluator_refuses(
    roles: RoleBook, condition: str, expected: str
) -> None:
    problem = only(lint(two_lane(condition=condition), roles))
    assert problem.element_id == "Flow_survey"
    assert problem.message.startswith("condition refused: ")
    assert expected in problem.message


@pytest.mark.parametrize(
    ("script", "script_format", "expected"),
    [
        ("import os", "python", "script refused: line 1: only assignments"),
        (
            "x = __import__('os').system('touch /tmp/gridflow-pwned')",
            "python",
            "names starting with '__'",
        ),
        ("execution.setVariable('a', 1)", "groovy", "scriptFormat 'groovy' is refused"),
        ("var a = 1;", "javascript", "scriptFormat 'javascript' is refused"),
    ],
)
def test_script_the_safe_evaluator_refuses(
    roles: RoleBook, script: str, script_format: str, expected: str
) -> None:
    problem = only(lint(two_lane(script=script, script_format=script_format), roles))
    assert problem.element_id == "Script_classify"
    assert expected in problem.message


def test_java_delegates_are_refused_naming_the_attribute(roles: RoleBook) -> None:
    service = """
    <bpmn:serviceTask id="Activity_notify" camunda:class="com.grid.Notify" />"""
    text = two_lane(extra_elements=service).replace(
        '<bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_survey" targetRef="End_done" />',
        '<bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_survey" targetRef="Activity_notify" />'
        '<bpmn:sequenceFlow id="Flow_5" sourceRef="Activity_notify" targetRef="End_done" />',
    )
    problem = only(lint(text, roles))
    assert problem.element_id == "Activity_notify"
    assert problem.message.startswith("serviceTask with camunda:class='com.grid.Notify' is refused")


def test_hostile_file_runs_nothing_and_deploys_nothing(rt: Runtime, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = tmp_path / "hostile.bpmn"
    hostile.write_text(
        two_lane(
            process_id="hostile",
            script=f"x = __import__('os').system('touch {marker}')",
            condition=f"__import__('os').system('touch {marker}') == 0",
        )
    )
    good = tmp_path / "good.bpmn"
    good.write_text(two_lane(process_id="good"))
    with rt.db.read() as session:
        before = session.scalar(select(func.count(Definition.id)))
    with pytest.raises(DefinitionError) as refused:
        catalog.deploy_paths(rt, [good, hostile], "designer")
    assert {(p.file, p.element_id) for p in refused.value.problems} == {
        (str(hostile), "Script_classify"),
        (str(hostile), "Flow_survey"),
    }
    with rt.db.read() as session:
        assert session.scalar(select(func.count(Definition.id))) == before
    assert not marker.exists()


def test_same_content_again_is_a_no_op_and_changed_content_is_the_next_version(
    rt: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "two_lane.bpmn"
    path.write_text(two_lane())
    first = catalog.deploy_paths(rt, [path], "designer")
    again = catalog.deploy_paths(rt, [path], "designer")
    assert [(d.version, d.created) for d in first] == [(1, True)]
    assert [(d.version, d.created, d.definition_id) for d in again] == [
        (1, False, first[0].definition_id)
    ]
    old = start_instance(rt, "two_lane", {}, business_key="D-1")
    path.write_text(two_lane(survey_name="Site survey and report"))
    changed = catalog.deploy_paths(rt, [path], "designer")
    assert [(d.version, d.created) for d in changed] == [(2, True)]
    new = start_instance(rt, "two_lane", {}, business_key="D-2")
    assert (old.version, new.version) == (1, 2)
    # The running instance finishes on the version it started on.
    complete(rt, old.instance_id, "Activity_accept", {"approved": True})
    [survey] = open_items(rt, old.instance_id)
    assert (survey.link_name, survey.definition_id) == ("Site survey", first[0].definition_id)
    complete(rt, old.instance_id, "Activity_survey")
    with rt.db.read() as session:
        instance = session.get(Instance, old.instance_id)
        assert instance is not None
        assert (instance.status, instance.definition_id) == ("completed", first[0].definition_id)


def test_cli_lint_exits_0_on_the_shipped_processes() -> None:
    result = CliRunner().invoke(main, ["lint", str(PROCESSES)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_cli_lint_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.bpmn"
    text = two_lane(back_lane="Marketing", accept_standard="")
    path.write_text(text)
    lane_line = line_of(text, '<bpmn:lane id="Lane_back"')
    task_line = line_of(text, '<bpmn:userTask id="Activity_accept"')
    result = CliRunner().invoke(main, ["lint", str(path), "--roles", str(PROCESSES / "roles.yaml")])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}:{lane_line}: [Lane_back] lane 'Marketing' names no known")
    assert lines[1].startswith(f"{path}:{task_line}: [Activity_accept] user task has no service")
    # then the labels without their Chinese (the sample has none), one line each
    assert len(lines) == 2 + len(label_lint.untranslated(path))
    assert all(" no zh-Hans label for " in line for line in lines[2:])
