"""DMN decision tables: every row of the shipped tables gives its exact output; each hit policy
and each result mapping behaves as DMN 1.3 and Camunda say; FEEL's value rules hold; whatever
gridflow cannot run safely is refused at lint, naming the rule, the cell and the text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import _ROLES, PROCESSES
from dmn_samples import DMN11, ROUTE_RULES, rule_process, table

from gridflow import decisions, definitions
from gridflow.decisions import (
    Decision,
    DecisionFailed,
    compile_feel,
    compile_unary_tests,
    evaluate,
    lint_dmn,
    map_result,
    matching_rules,
    parse_dmn,
)
from gridflow.errors import DefinitionError, ExpressionError


def shipped(decision_id: str) -> Decision:
    return decisions.load_dmn(PROCESSES / f"{decision_id}.dmn").decisions[decision_id]


def one(xml: str, decision_id: str = "route") -> Decision:
    return parse_dmn(xml.encode(), "test.dmn").decisions[decision_id]


def messages(xml: str | bytes) -> list[str]:
    data = xml.encode() if isinstance(xml, str) else xml
    return [str(p) for p in lint_dmn(data, "test.dmn")]


# --- the shipped tables, row by row ---------------------------------------------------------------

VOLTAGE_ROWS = [
    # (category, area, capacity, rule, voltage): each row of supply_voltage.dmn, at both ends
    ("residential", "urban", 0.5, "residential_single_phase", "v220"),
    ("residential", "rural", 10, "residential_single_phase", "v220"),
    ("residential", "urban", 10.1, "residential_three_phase", "v380"),
    ("residential", "remote", 100, "residential_three_phase", "v380"),
    ("small_micro", "urban", 160, "small_micro_urban", "v380"),
    ("small_micro", "rural", 100, "small_micro_rural", "v380"),
    ("small_micro", "remote", 60, "small_micro_rural", "v380"),
    ("business", "urban", 100, "business_low_voltage", "v380"),
    ("business", "rural", 100.5, "kv10_general", "kv10"),
    ("residential", "urban", 101, "kv10_general", "kv10"),
    ("business", "urban", 10000, "kv10_general", "kv10"),
    ("small_micro", "urban", 160.1, "kv10_small_micro_urban", "kv10"),
    ("small_micro", "urban", 10000, "kv10_small_micro_urban", "kv10"),
    ("small_micro", "rural", 100.1, "kv10_small_micro_rural", "kv10"),
    ("small_micro", "remote", 10000, "kv10_small_micro_rural", "kv10"),
    ("business", "urban", 10000.5, "kv35", "kv35"),
    ("small_micro", "rural", 40000, "kv35", "kv35"),
    ("business", "remote", 40001, "kv110", "kv110"),
    ("business", "urban", 100000, "kv110", "kv110"),
    ("business", "urban", 100001, "kv220", "kv220"),
]


@pytest.mark.parametrize(("category", "area", "capacity", "rule", "voltage"), VOLTAGE_ROWS)
def test_supply_voltage_rows(
    category: str, area: str, capacity: float, rule: str, voltage: str
) -> None:
    decision = shipped("supply_voltage")
    variables = {"customer_category": category, "area": area, "capacity_kw": capacity}
    assert [r.id for r in matching_rules(decision, variables)] == [f"DecisionRule_{rule}"]
    assert map_result(decision, evaluate(decision, variables), "singleEntry") == voltage


SCHEME_ROWS = [
    # (importance, supply applied for, rules that match, sources): PRIORITY picks the strictest
    ("special", "single", ["special"], "multi_source"),
    ("special", "dual", ["special", "dual_requested"], "multi_source"),
    ("first", "single", ["first"], "dual_source"),
    ("second", "single", ["second"], "dual_circuit"),
    ("second", "dual", ["second", "dual_requested"], "dual_source"),
    ("temporary", "single", ["temporary"], "dual_circuit"),
    ("none", "dual", ["dual_requested"], "dual_source"),
    ("none", "single", ["single"], "single_source"),
]


@pytest.mark.parametrize(("importance", "supply", "rules", "sources"), SCHEME_ROWS)
def test_supply_scheme_rows(importance: str, supply: str, rules: list[str], sources: str) -> None:
    decision = shipped("supply_scheme")
    variables = {"customer_importance": importance, "supply": supply}
    matched = [r.id.removeprefix("DecisionRule_") for r in matching_rules(decision, variables)]
    # The catch-all row matches everyone; the table's order ranks the rest.
    assert matched == [*rules, "single"] if rules != ["single"] else ["single"]
    assert map_result(decision, evaluate(decision, variables), "singleEntry") == sources


def test_every_row_of_the_shipped_tables_is_exercised() -> None:
    voltage = {f"DecisionRule_{row[3]}" for row in VOLTAGE_ROWS}
    assert voltage == {r.id for r in shipped("supply_voltage").rules}
    scheme = {f"DecisionRule_{rule}" for row in SCHEME_ROWS for rule in row[2]}
    assert scheme | {"DecisionRule_single"} == {r.id for r in shipped("supply_scheme").rules}
    repair = {f"DecisionRule_{row[2]}" for row in REPAIR_ROWS}
    assert repair == {r.id for r in shipped("repair_priority").rules}


REPAIR_ROWS = [
    ("line_down", "none", "line_down", "emergency"),
    ("line_down", "first", "line_down", "emergency"),
    ("no_power", "second", "important_outage", "emergency"),
    ("low_voltage", "special", "important_outage", "emergency"),
    ("no_power", "temporary", "important_outage", "emergency"),
    ("no_power", "first", "important_outage", "emergency"),
    ("no_power", "none", "other", "normal"),
    ("low_voltage", "none", "other", "normal"),
    ("meter_fault", "first", "other", "normal"),
]


@pytest.mark.parametrize(("fault", "importance", "rule", "priority"), REPAIR_ROWS)
def test_repair_priority_rows(fault: str, importance: str, rule: str, priority: str) -> None:
    decision = shipped("repair_priority")
    variables = {"fault_type": fault, "customer_importance": importance}
    assert matching_rules(decision, variables)[0].id == f"DecisionRule_{rule}"
    assert map_result(decision, evaluate(decision, variables), "singleEntry") == priority


def test_the_shipped_tables_lint_clean_and_name_their_sources() -> None:
    for path in decisions.dmn_files([PROCESSES]):
        assert lint_dmn(path.read_bytes(), str(path)) == []
        assert b"STANDARDS-decisions.md" in path.read_bytes()
    assert "supply_voltage" in (PROCESSES / "STANDARDS-decisions.md").read_text()


# --- hit policies ---------------------------------------------------------------------------------


def test_unique_more_than_one_match_is_an_error_naming_the_rules() -> None:
    # Overlap only at run time: the cells read a variable, so the lint cannot tell.
    decision = one(table([(["< limit"], ['"a"']), (["> 5"], ['"b"'])]))
    assert evaluate(decision, {"amount": 3, "limit": 4}) == [{"route": "a"}]
    with pytest.raises(DecisionFailed) as caught:
        evaluate(decision, {"amount": 7, "limit": 10})
    assert str(caught.value) == (
        "decision Route (route): the hit policy is UNIQUE but rule DecisionRule_1 (row 1), "
        "rule DecisionRule_2 (row 2) all match"
    )


def test_first_takes_the_first_match_in_rule_order() -> None:
    decision = one(table([(["> 5"], ['"a"']), (["> 1"], ['"b"'])], hit_policy="FIRST"))
    assert evaluate(decision, {"amount": 7}) == [{"route": "a"}]
    assert evaluate(decision, {"amount": 3}) == [{"route": "b"}]
    assert evaluate(decision, {"amount": 0}) == []


def test_priority_and_output_order_follow_the_output_values() -> None:
    rules = [(["> 0"], ['"low"']), (["> 5"], ['"high"']), (["> 3"], ['"mid"'])]
    values = '"high","mid","low"'
    priority = one(table(rules, hit_policy="PRIORITY", output_values=values))
    assert evaluate(priority, {"amount": 7}) == [{"route": "high"}]
    assert evaluate(priority, {"amount": 4}) == [{"route": "mid"}]
    ordered = one(table(rules, hit_policy="OUTPUT ORDER", output_values=values))
    assert evaluate(ordered, {"amount": 7}) == [
        {"route": "high"},
        {"route": "mid"},
        {"route": "low"},
    ]


def test_any_returns_the_agreed_output_and_refuses_disagreement() -> None:
    decision = one(
        table([(["> 0"], ['"a"']), (["> 5"], ['"a"']), (["> 8"], ['"b"'])], hit_policy="ANY")
    )
    assert evaluate(decision, {"amount": 6}) == [{"route": "a"}]
    with pytest.raises(DecisionFailed, match="ANY but .* match with different outputs"):
        evaluate(decision, {"amount": 9})


def test_collect_and_rule_order_return_every_match_in_rule_order() -> None:
    rules = [(["> 5"], ['"a"']), (["> 1"], ['"b"']), (["> 3"], ['"c"'])]
    for policy in ("COLLECT", "RULE ORDER"):
        decision = one(table(rules, hit_policy=policy))
        assert evaluate(decision, {"amount": 7}) == [{"route": "a"}, {"route": "b"}, {"route": "c"}]
        assert map_result(decision, evaluate(decision, {"amount": 4}), "collectEntries") == [
            "b",
            "c",
        ]


@pytest.mark.parametrize(
    ("aggregation", "seven", "none"),
    [("SUM", 60, None), ("MIN", 10, None), ("MAX", 30, None), ("COUNT", 3, 0)],
)
def test_collect_aggregations(aggregation: str, seven: int, none: int | None) -> None:
    rules = [(["> 5"], ["10"]), (["> 1"], ["20"]), (["> 3"], ["30"]), (["> 100"], ["1"])]
    decision = one(
        table(
            rules,
            hit_policy="COLLECT",
            aggregation=aggregation,
            outputs=(("Points", "points", "integer"),),
        )
    )
    assert map_result(decision, evaluate(decision, {"amount": 7}), "singleEntry") == seven
    assert map_result(decision, evaluate(decision, {"amount": 0}), "singleEntry") == none


def test_result_mappings_as_camunda_maps_them() -> None:
    decision = one(
        table(
            [(["> 5"], ['"a"', "1"]), (["> 1"], ['"b"', "2"])],
            hit_policy="RULE ORDER",
            outputs=(("Route", "route", "string"), ("Rank", "rank", "integer")),
        )
    )
    both = evaluate(decision, {"amount": 7})
    assert map_result(decision, both, "resultList") == [
        {"route": "a", "rank": 1},
        {"route": "b", "rank": 2},
    ]
    single = evaluate(decision, {"amount": 3})
    assert map_result(decision, single, "singleResult") == {"route": "b", "rank": 2}
    assert map_result(decision, [], "singleResult") is None
    with pytest.raises(DecisionFailed, match="singleResult needs at most one matching rule"):
        map_result(decision, both, "singleResult")
    with pytest.raises(DecisionFailed, match="singleEntry needs a table with exactly one output"):
        map_result(decision, single, "singleEntry")


# --- FEEL ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value", "matches"),
    [
        ("-", "anything", True),
        ("< 10", 9.5, True),
        ("< 10", 10, False),
        ("<= 10", 10, True),
        ("[10..100)", 10, True),
        ("[10..100)", 100, False),
        ("]10..100]", 10, False),
        ("]10..100]", 100, True),
        ("(10..100)", 50, True),
        ('"a","b"', "b", True),
        ('"a","b"', "c", False),
        ('not("a","b")', "c", True),
        ('not("a","b")', "a", False),
        ("null", None, True),
        ("null", 0, False),
        ("< 10", None, False),  # a comparison with null is null: no match
        ('"10"', 10, False),  # a string never equals a number
        ("10", 10.0, True),
        ("true", True, True),
        ('date("2026-03-02")', date(2026, 3, 2), True),
        ('< date("2026-03-02")', date(2026, 3, 1), True),
        ("-5", -5, True),
        ('"say \\"hi\\""', 'say "hi"', True),
    ],
)
def test_unary_tests(cell: str, value: object, matches: bool) -> None:
    assert compile_unary_tests(cell).matches(value, {}) is matches


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("a + b * 2", 7),
        ("customer.category", "business"),
        ("customer.missing", None),
        ("a = 1", True),
        ('a = "1"', None),
        ("null = null", True),
        ("a != 2", True),
        ("a < b and b < 10", True),
        ("true and null", None),
        ("false and null", False),
        ("true or null", True),
        ("not(a > 2)", True),
        ('"ab" + "cd"', "abcd"),
        ("a / 0", None),
        ("a + null", None),
        ("-a", -1),
    ],
)
def test_expressions_follow_feel_value_rules(text: str, result: object) -> None:
    variables = {"a": 1, "b": 3, "customer": {"category": "business"}}
    assert compile_feel(text).evaluate(variables) == result


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("__import__('os')", "name '__import__' is not allowed"),
        ('system("ls")', "the function system() is not allowed"),
        ('os.system("ls")', "calls on members ('.system(...)') are not allowed"),
        ("'single quoted'", "FEEL strings are written in double quotes"),
        ("${amount > 5}", "unexpected character '$'"),
        ("for x in xs return x", "'for' loops are not supported"),
        ("if a then 1 else 2", "'if ... then ... else' is not supported"),
        ("{a: 1}", "contexts ('{...}') are not supported"),
        ("? > 5", "'?' (the input value) is not supported"),
        ("a ** 2", "'**' (power) is not supported"),
        ("function(x) x", "function definitions are not allowed"),
    ],
)
def test_feel_outside_gridflows_subset_is_refused_by_the_parser(text: str, why: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_feel(text)
    assert why in caught.value.message


# --- lint ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("__import__('os')", "name '__import__' is not allowed ('__' is reserved)"),
        ('exec("import os")', "the function exec() is not allowed"),
        ("'a'", 'FEEL strings are written in double quotes ("text")'),
    ],
)
def test_a_hostile_input_cell_is_refused_naming_rule_cell_and_text(cell: str, why: str) -> None:
    xml = table([(["< 100"], ['"a"']), ([cell], ['"b"'])])
    [problem] = lint_dmn(xml.encode(), "hostile.dmn")
    assert problem.element_id == "DecisionRule_2"
    assert (
        problem.line
        == xml.splitlines().index(
            next(line for line in xml.splitlines() if "UnaryTests_2_1" in line)
        )
        + 1
    )
    assert problem.message.startswith(f"rule DecisionRule_2 (row 2), column 'Amount': {cell!r}: ")
    assert why in problem.message


def test_a_hostile_output_cell_and_foreign_languages_are_refused() -> None:
    xml = table([(["< 100"], ["__class__.__bases__"])])
    assert any("column 'Route': '__class__.__bases__'" in m for m in messages(xml))
    javascript = table([(["< 100"], ['"a"'])]).replace(
        '<inputEntry id="UnaryTests_1_1">',
        '<inputEntry id="UnaryTests_1_1" expressionLanguage="javascript">',
    )
    assert messages(javascript) == [
        "test.dmn:12: [UnaryTests_1_1] rule DecisionRule_1 (row 1), column 'Amount' uses "
        "expressionLanguage 'javascript': gridflow evaluates FEEL only (no JUEL, JavaScript, "
        "Groovy or Python in decision tables)"
    ]


def test_cells_must_fit_their_column_types_and_values() -> None:
    xml = table(
        [(['"ten"'], ['"a"']), (["> 10"], ["5"]), (["[1..2]"], ['"z"'])],
        hit_policy="FIRST",
        output_values='"a","b"',
    )
    found = messages(xml)
    assert any(
        "row 1), column 'Amount': '\"ten\"': the input is integer but 'ten' is a string" in m
        for m in found
    )
    assert any(
        "row 2), column 'Route': '5': the output is string but 5 is a number" in m for m in found
    )
    assert any(
        "row 3), column 'Route': '\"z\"': 'z' is not one of the output values ['a', 'b']" in m
        for m in found
    )
    booleans = table([(["> true"], ['"a"'])], inputs=(("Flag", "flag", "boolean"),))
    assert any("booleans have no order" in m for m in messages(booleans))


def test_table_level_problems() -> None:
    assert any(
        "hit policy 'SOMETIMES' is unknown" in m
        for m in messages(table(ROUTE_RULES, hit_policy="SOMETIMES"))
    )
    assert any("has no rules (the table is empty)" in m for m in messages(table([])))
    unknown_type = table(ROUTE_RULES, inputs=(("Amount", "amount", "money"),))
    assert any("has typeRef 'money'" in m for m in messages(unknown_type))
    duplicate = table(ROUTE_RULES).replace('id="DecisionRule_3"', 'id="DecisionRule_2"')
    assert any("duplicate id 'DecisionRule_2'" in m for m in messages(duplicate))
    priority = table(ROUTE_RULES, hit_policy="PRIORITY")
    assert any("ranks rules by the outputs' output values" in m for m in messages(priority))
    sum_of_text = table(ROUTE_RULES, hit_policy="COLLECT", aggregation="SUM")
    assert any("COLLECT SUM needs a numeric output column" in m for m in messages(sum_of_text))


def test_unique_tables_whose_rules_overlap_are_refused() -> None:
    identical = table([(["< 100"], ['"a"']), (["< 100"], ['"b"'])])
    assert messages(identical) == [
        "test.dmn:15: [DecisionRule_2] rule DecisionRule_1 (row 1) and rule DecisionRule_2 "
        "(row 2) can both match the same input: a UNIQUE table must leave exactly one rule for "
        "any input (make the rules disjoint or use another hit policy)"
    ]
    assert len(messages(table([(["[1..10]"], ['"a"']), (["]9..20]"], ['"b"'])]))) == 1
    assert messages(table([(["[1..10)"], ['"a"']), (["[10..20]"], ['"b"'])])) == []
    assert len(messages(table([(["-"], ['"a"']), (["5"], ['"b"'])]))) == 1


def test_only_decision_tables_in_feel_are_run() -> None:
    literal = table(ROUTE_RULES).replace(
        table(ROUTE_RULES)[
            table(ROUTE_RULES).index("<decisionTable") : table(ROUTE_RULES).index(
                "</decisionTable>"
            )
            + 16
        ],
        '<literalExpression id="L1"><text>amount * 2</text></literalExpression>',
    )
    assert any(
        "is a literal expression: gridflow runs decision tables only" in m
        for m in messages(literal)
    )
    required = table(ROUTE_RULES).replace(
        "<decisionTable",
        '<informationRequirement id="IR1"><requiredDecision href="#other" /></informationRequirement><decisionTable',
    )
    assert any("decision requirement graphs are not supported" in m for m in messages(required))
    bkm = table(ROUTE_RULES, extra='  <businessKnowledgeModel id="BKM1" name="Helper" />\n')
    assert any("business knowledge models are not supported" in m for m in messages(bkm))
    juel = table(ROUTE_RULES).replace(
        'typeRef="integer">', 'typeRef="integer" expressionLanguage="juel">'
    )
    assert any("uses expressionLanguage 'juel'" in m for m in messages(juel))


def test_dmn_11_files_from_camunda_modeler_4_are_read() -> None:
    decision = one(table(ROUTE_RULES, namespace=DMN11))
    assert map_result(decision, evaluate(decision, {"amount": 500}), "singleEntry") == "survey"


def test_hostile_xml_is_refused_before_parsing() -> None:
    xml = table(ROUTE_RULES).replace(
        "<definitions", '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><definitions', 1
    )
    assert any("DOCTYPE and entity declarations are not allowed" in m for m in messages(xml))
    assert messages(b"<definitions/>") == [
        "test.dmn: not a DMN file: the root element must be definitions in the DMN 1.3 "
        "namespace (https://www.omg.org/spec/DMN/20191111/MODEL/; DMN 1.1 and 1.2 are read too)"
    ]


def test_a_missing_input_variable_names_the_decision_and_the_input() -> None:
    with pytest.raises(DecisionFailed) as caught:
        evaluate(shipped("supply_voltage"), {"customer_category": "business", "area": "urban"})
    assert str(caught.value) == (
        "decision Supply voltage (supply_voltage): input 'Capacity (kW / kVA)' needs the variable "
        "'capacity_kw', which this instance does not have"
    )
    with pytest.raises(
        DecisionFailed,
        match="input 'Capacity \\(kW / kVA\\)' is double, but 'capacity_kw' is a string",
    ):
        evaluate(
            shipped("supply_voltage"),
            {"customer_category": "business", "area": "urban", "capacity_kw": "lots"},
        )


# --- business-rule tasks in the BPMN lint --------------------------------------------------------


def lint_bpmn(xml: str, known: dict[str, int | None] | None = None) -> list[str]:
    return [p.message for p in definitions.lint(xml.encode(), "flow.bpmn", _ROLES, known)]


def test_business_rule_tasks_with_a_decision_ref_pass_the_lint() -> None:
    assert lint_bpmn(rule_process(), {"route": 1}) == []
    assert lint_bpmn(rule_process()) == []  # no folder: deploy checks the store


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        (
            'camunda:class="org.example.Rules"',
            "businessRuleTask with camunda:class='org.example.Rules' is refused",
        ),
        (
            'camunda:expression="${rules.run()}"',
            "businessRuleTask with camunda:expression='${rules.run()}' is refused",
        ),
        (
            'camunda:type="external" camunda:topic="rules"',
            "businessRuleTask with camunda:type='external' is refused",
        ),
        (
            'camunda:decisionRefBinding="version"',
            "needs camunda:decisionRefVersion as a version number",
        ),
        (
            'camunda:decisionRefBinding="versionTag"',
            "camunda:decisionRefBinding='versionTag' is not supported",
        ),
        ('camunda:decisionRefVersion="2"', 'counts only with camunda:decisionRefBinding="version"'),
        (
            'camunda:mapDecisionResult="everything"',
            "camunda:mapDecisionResult='everything' is unknown",
        ),
        (
            'camunda:resultVariable="__class__"',
            "camunda:resultVariable='__class__' must be a plain name",
        ),
    ],
)
def test_business_rule_tasks_gridflow_cannot_run_are_refused(attributes: str, problem: str) -> None:
    found = lint_bpmn(rule_process(attributes=attributes), {"route": 1})
    assert any(problem in message for message in found), found


def test_a_decision_ref_must_name_a_decision_beside_the_process() -> None:
    assert lint_bpmn(rule_process(decision_ref="routing"), {"route": 1}) == [
        "decision 'routing' is in no .dmn file beside this process (decisions there: route)"
    ]
    assert lint_bpmn(rule_process(decision_ref="${table}"), {"route": 1})[0].startswith(
        "camunda:decisionRef='${table}' must be a decision id"
    )
    assert lint_bpmn(rule_process(), {"route": 2}) == [
        "camunda:mapDecisionResult=singleEntry needs a decision with one output column; "
        "'route' has 2"
    ]


def test_lint_of_a_folder_reads_its_dmn_files(tmp_path: Path) -> None:
    (tmp_path / "flow.bpmn").write_text(rule_process())
    (tmp_path / "route.dmn").write_text(table(ROUTE_RULES))
    assert definitions.lint_paths([tmp_path], _ROLES) == {
        tmp_path / "route.dmn": [],
        tmp_path / "flow.bpmn": [],
    }
    (tmp_path / "route.dmn").write_text(table([([")"], ['"a"'])]))
    found = definitions.lint_paths([tmp_path], _ROLES)
    assert found[tmp_path / "flow.bpmn"] == []  # the decision exists, its file has a problem
    assert [p.element_id for p in found[tmp_path / "route.dmn"]] == ["DecisionRule_1"]
    (tmp_path / "route.dmn").unlink()
    [problem] = definitions.lint_paths([tmp_path / "flow.bpmn"], _ROLES)[tmp_path / "flow.bpmn"]
    assert (problem.element_id, problem.message) == (
        "Activity_decide",
        "decision 'route' is in no .dmn file beside this process (decisions there: none)",
    )


def test_spiffworkflows_eval_based_dmn_engine_is_never_built() -> None:
    definition = definitions.parse(rule_process().encode(), "flow.bpmn", _ROLES)
    spec, _ = definition.spiff_specs
    task = spec.task_specs["Activity_decide"]
    assert type(task).__name__ == "DecisionTask"
    assert not hasattr(task, "dmnEngine")
    assert definition.decision_refs["Activity_decide"].decision_id == "route"


def test_a_file_with_problems_does_not_parse() -> None:
    with pytest.raises(DefinitionError):
        parse_dmn(table([(["'x'"], ['"a"'])]).encode(), "bad.dmn")
