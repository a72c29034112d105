"""The safe expression language as a process designer meets it: conditions, scripts, refusals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import pytest

from gridflow.errors import ExpressionError, UndefinedVariableError
from gridflow.expressions import (
    SAFE_FUNCTIONS,
    Expression,
    Script,
    compile_expression,
    compile_script,
)


def evaluate(text: str, **variables: object) -> object:
    return compile_expression(text).evaluate(variables)


def refusal(text: str, allowed_functions: tuple[str, ...] = ()) -> str:
    """The compile-time message for an expression that must be refused."""
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, allowed_functions)
    return caught.value.message


def script_refusal(text: str) -> str:
    with pytest.raises(ExpressionError) as caught:
        compile_script(text)
    return caught.value.message


# --- the same condition written both ways -----------------------------------------------------

SAME_CONDITIONS = [
    ('${voltage == "high"}', "voltage == 'high'"),
    ("${voltage eq 'high'}", 'voltage == "high"'),
    ("${capacity_kw le 160 && small_enterprise}", "capacity_kw <= 160 and small_enterprise"),
    ("${capacity_kw <= 160 and !small_enterprise}", "capacity_kw <= 160 and not small_enterprise"),
    ("${capacity_kw gt 160 || voltage ne 'low'}", "capacity_kw > 160 or voltage != 'low'"),
    (
        "${not (small_enterprise or capacity_kw ge 500)}",
        "not (small_enterprise or capacity_kw >= 500)",
    ),
    ("${area in ('rural', 'remote')}", "area in ('rural', 'remote')"),
    ('${area not in ["urban"]}', "area not in ['urban']"),
    ("${capacity_kw div 2 lt 100}", "capacity_kw / 2 < 100"),
    ("${capacity_kw mod 2 == 0}", "capacity_kw % 2 == 0"),
    ("${(capacity_kw + 40) * 2 > 400}", "(capacity_kw + 40) * 2 > 400"),
    ("${-capacity_kw < -100}", "-capacity_kw < -100"),
    ("${area == 'remote' ? 'P3D' : 'PT45M'}", "'P3D' if area == 'remote' else 'PT45M'"),
    ("${len(area) > 5}", "len(area) > 5"),
    ("${upper(voltage) == 'HIGH'}", "upper(voltage) == 'HIGH'"),
    ("${max(capacity_kw, 200) == capacity_kw}", "max(capacity_kw, 200) == capacity_kw"),
    ("${small_enterprise == true}", "small_enterprise == True"),
    ("${remark == null}", "remark == None"),
]

VARIABLE_SETS = [
    {
        "voltage": "high",
        "capacity_kw": 100,
        "small_enterprise": True,
        "area": "rural",
        "remark": None,
    },
    {
        "voltage": "low",
        "capacity_kw": 160,
        "small_enterprise": False,
        "area": "urban",
        "remark": "",
    },
    {
        "voltage": "low",
        "capacity_kw": 630,
        "small_enterprise": True,
        "area": "remote",
        "remark": "x",
    },
    {
        "voltage": "high",
        "capacity_kw": 161,
        "small_enterprise": False,
        "area": "remote",
        "remark": 0,
    },
]


@pytest.mark.parametrize(("juel", "python"), SAME_CONDITIONS)
def test_juel_and_python_forms_agree(juel: str, python: str) -> None:
    juel_expression = compile_expression(juel)
    python_expression = compile_expression(python)
    results = set()
    for variables in VARIABLE_SETS:
        result = juel_expression.evaluate(variables)
        assert result == python_expression.evaluate(variables), variables
        results.add(repr(result))
    assert juel_expression.names == python_expression.names
    # Every pair answers differently for some variable set, so agreement is not by accident.
    assert len(results) > 1


def test_conditions_give_exact_results() -> None:
    case = {"capacity_kw": 100, "small_enterprise": True, "voltage": "low"}
    assert compile_expression("${capacity_kw le 160 && small_enterprise}").evaluate(case) is True
    assert compile_expression("capacity_kw <= 160 and not small_enterprise").evaluate(case) is False
    assert compile_expression("${voltage == 'high'}").evaluate(case) is False
    assert evaluate("${capacity_kw * 2 + 1}", capacity_kw=100) == 201
    assert evaluate("${7 div 2}") == 3.5
    assert evaluate("7 // 2") == 3
    assert evaluate("${7 mod 4}") == 3


def test_approved_and_not_approved() -> None:
    assert evaluate("${approved}", approved=True) is True
    assert evaluate("#{!approved}", approved=True) is False
    assert evaluate("#{!approved}", approved=False) is True
    assert evaluate('${action == "publish"}', action="publish") is True
    assert evaluate('${action == "publish"}', action="draft") is False


def test_whitespace_and_newlines_around_are_fine() -> None:
    assert evaluate("\n   ${ approved }  \n", approved=True) is True
    assert evaluate("\n   approved and ready\n  ", approved=True, ready=True) is True
    assert evaluate("${capacity_kw\n  le 160}", capacity_kw=1) is True


def test_empty() -> None:
    empty_values: list[object] = [None, "", [], {}, ()]
    for value in empty_values:
        assert evaluate("${empty remark}", remark=value) is True
    present_values: list[object] = ["x", [0], {"a": 1}, 0, False]
    for value in present_values:
        assert evaluate("${empty remark}", remark=value) is False
    assert evaluate("${not empty remark}", remark="late") is True


def test_and_or_give_booleans_and_short_circuit() -> None:
    assert evaluate("remark or 'none'", remark="") is True
    assert evaluate("${a && b}", a=1, b="yes") is True
    # The right side is never read when the left decides: no undefined-variable error.
    assert evaluate("${approved || missing}", approved=True) is True
    assert evaluate("approved and missing", approved=False) is False


def test_juel_precedence_not_binds_tighter_than_comparison() -> None:
    # JUEL: (!a) == b; Python: not (a == b)
    assert evaluate("${!a == b}", a=True, b=True) is False
    assert evaluate("not a == b", a=True, b=True) is False
    assert evaluate("${!a == b}", a=False, b=True) is True
    assert evaluate("not a == b", a=False, b=True) is True
    assert evaluate("${!a == b}", a=True, b=False) is True
    assert evaluate("${!(a == b)}", a=True, b=False) is True


def test_python_chained_comparison() -> None:
    assert evaluate("0 < capacity_kw <= 160", capacity_kw=160) is True
    assert evaluate("0 < capacity_kw <= 160", capacity_kw=0) is False
    assert evaluate("0 < capacity_kw <= 160", capacity_kw=161) is False


def test_literals() -> None:
    assert evaluate("${'it\\'s'}") == "it's"
    assert evaluate('${"say \\"yes\\"\\n"}') == 'say "yes"\n'
    assert evaluate("'tab\\there'") == "tab\there"
    assert evaluate("${[1, 2.5, 'x', true, null]}") == [1, 2.5, "x", True, None]
    assert evaluate("(1, 'a')") == (1, "a")
    assert evaluate("${()}") == ()
    assert evaluate("${1e3}") == 1000.0
    assert evaluate("${'PT2H'}") == "PT2H"


def test_subscripts_on_dicts_and_lists() -> None:
    meter = {"readings": [10, 20, 30], "id": "M-1"}
    assert evaluate("${meter['readings'][1]}", meter=meter) == 20
    assert evaluate('meter["id"]', meter=meter) == "M-1"
    assert evaluate("meter['readings'][-1]", meter=meter) == 30


def test_safe_functions() -> None:
    assert set(SAFE_FUNCTIONS) == {
        "len", "min", "max", "abs", "round", "int", "float", "str", "bool",
        "sum", "any", "all", "lower", "upper",
    }  # fmt: skip
    assert evaluate("round(2.567, 2)") == 2.57
    assert evaluate("sum(readings)", readings=[1, 2, 3.5]) == 6.5
    assert evaluate("${lower(channel)}", channel="APP") == "app"
    assert evaluate("any([a, b])", a=False, b=True) is True
    assert evaluate("str(capacity_kw) + ' kW'", capacity_kw=160) == "160 kW"
    assert evaluate("int('42') + abs(-1)") == 43


def test_caller_functions() -> None:
    expression = compile_expression("${standard_due()}", allowed_functions={"standard_due"})
    assert expression.function_names == frozenset({"standard_due"})
    assert expression.names == frozenset()
    assert expression.evaluate({}, {"standard_due": lambda: "2024-05-06T09:00:00"}) == (
        "2024-05-06T09:00:00"
    )
    with pytest.raises(ExpressionError, match="function 'standard_due' is not available"):
        expression.evaluate({})


def test_names_for_lint() -> None:
    expression = compile_expression("${capacity_kw le 160 && small_enterprise && x == true}")
    assert expression.names == frozenset({"capacity_kw", "small_enterprise", "x"})
    assert compile_expression("len(xs) > min(a, 2)").function_names == frozenset({"len", "min"})


def test_compiled_expressions_are_cached() -> None:
    first = compile_expression("${approved}")
    assert compile_expression("${approved}") is first
    assert compile_expression("${approved}", ["standard_due"]) is not first
    assert isinstance(first, Expression)
    assert first.source == "${approved}"


# --- runtime errors ---------------------------------------------------------------------------


def test_undefined_variable_is_an_error_not_false() -> None:
    for text in ("${approved}", "#{!approved}", "approved == False", "${empty remark}"):
        with pytest.raises(UndefinedVariableError) as caught:
            compile_expression(text).evaluate({})
        assert caught.value.name in ("approved", "remark")
        assert "undefined variable" in str(caught.value)


def test_lookup_does_not_grow_a_defaultdict() -> None:
    variables: defaultdict[str, object] = defaultdict(lambda: False)
    with pytest.raises(UndefinedVariableError):
        compile_expression("approved").evaluate(variables)
    assert dict(variables) == {}


@pytest.mark.parametrize(
    ("text", "variables", "words"),
    [
        ("voltage < 5", {"voltage": "high"}, "cannot compare a string ('high') with a number (5)"),
        ("remark > 1", {"remark": None}, "cannot compare null with a number (1) using '>'"),
        ("capacity_kw / 0", {"capacity_kw": 1}, "division by zero"),
        ("${capacity_kw mod 0}", {"capacity_kw": 1}, "division by zero"),
        ("'a' + capacity_kw", {"capacity_kw": 1}, "cannot add a string ('a') and a number (1)"),
        ("'%s' % capacity_kw", {"capacity_kw": 1}, "'%' needs numbers"),
        ("-voltage", {"voltage": "high"}, "unary '-' needs a number"),
        ("meter['id']", {"meter": {}}, "the dict has no key 'id'"),
        ("readings[3]", {"readings": [1]}, "index 3 is out of range for a list of 1 item"),
        ("readings['x']", {"readings": [1]}, "a list index must be a whole number"),
        ("voltage[0]", {"voltage": "high"}, "only dicts and lists can be subscripted"),
        ("area in 5", {"area": "x"}, "'in' needs a list, tuple, dict or string"),
        ("len(capacity_kw)", {"capacity_kw": 1}, "len(): object of type 'int' has no len()"),
        ("lower(capacity_kw)", {"capacity_kw": 1}, "lower(): takes a string, got a number (1)"),
        ("sum(readings)", {"readings": ["1"]}, "sum(): adds numbers only"),
        ("int(remark)", {"remark": "n/a"}, "int(): invalid literal"),
    ],
)
def test_runtime_errors_are_expression_errors(
    text: str, variables: Mapping[str, object], words: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text).evaluate(variables)
    assert type(caught.value) is ExpressionError
    assert words in caught.value.message
    assert caught.value.expression == text


def test_caller_function_failures_are_expression_errors() -> None:
    def broken() -> object:
        raise KeyError("calendar")

    expression = compile_expression("standard_due()", ["standard_due"])
    with pytest.raises(ExpressionError, match=r"standard_due\(\): 'calendar'"):
        expression.evaluate({}, {"standard_due": broken})


# --- refused at compile time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("os.system('echo hacked')", "method calls are not allowed ('.system(...)')"),
        ("os.system", "attribute access '.system' is not allowed"),
        ("x.upper()", "method calls are not allowed ('.upper(...)'); write upper(x) instead"),
        ("''.__class__", "attribute access '.__class__' is not allowed"),
        ("__import__('os')", "name '__import__' is not allowed: names starting with '__'"),
        ("a__b == 1", "name 'a__b' is not allowed: names containing '__'"),
        ("${__x}", "name '__x' is not allowed"),
        ("open('/etc/passwd')", "call to 'open' is not allowed"),
        ("${exec('1')}", "call to 'exec' is not allowed"),
        ("standard_due()", "call to 'standard_due' is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("${x -> x + 1}", "lambda is not allowed"),
        ("[c for c in 'abc']", "comprehensions are not allowed"),
        ("any(c for c in 'abc')", "comprehensions"),
        ("(x := 1)", "walrus ':='"),
        ("len(*xs)", "starred expressions ('*x') are not allowed"),
        ("f'{x}'", "f-strings are not allowed"),
        ("import os", "imports are not allowed"),
        ("from os import system", "imports are not allowed"),
        ("${myBean.check(x)}", "method calls are not allowed ('.check(...)'); bean references"),
        ("${execution.getVariable('x')}", "method calls are not allowed"),
        ("${order.status}", "attribute access '.status' is not allowed"),
        ("'a' * 10**9", "'**' (power) is not supported"),
        ("10 ** 10**9", "'**' (power) is not supported"),
        ("${2 ** 3}", "'**' (power) is not supported"),
        ("x is None", "'is' is not supported"),
        ("a & b", "operator '&' is not supported; use 'and'"),
        ("{'a': 1}", "dict literals"),
        ("x[1:3]", "slices"),
        ("round(x, ndigits=1)", "keyword arguments are not allowed in the call to 'round'"),
        ("(lower if a else upper)(x)", "only functions called by name"),
        ("${readings[0](1)}", "only functions called by name"),
        ("${a = 1}", "'=' (assignment) is not allowed"),
        ("${a; b}", "';'"),
        ("${x instanceof y}", "'instanceof' is not supported"),
        ("${}", "the expression is empty"),
        ("   ", "the expression is empty"),
    ],
)
def test_refused_constructs(text: str, words: str) -> None:
    assert words in refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hacked')",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd').read()",
        "${''.getClass().forName('java.lang.Runtime')}",
        "getattr(x, '__class__')",
        "eval('1')",
        "globals()",
        "x.__dict__",
    ],
)
def test_known_attacks_are_refused_at_compile_time(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text)


def test_refused_call_lists_what_is_available() -> None:
    message = refusal("open('/etc/passwd')", ("standard_due",))
    assert "len" in message and "standard_due" in message


def test_syntax_errors_name_the_column() -> None:
    assert refusal("${a == )}") == "syntax error at column 8: unexpected ')'"
    assert refusal("${a && }") == "syntax error at column 8: unexpected end of expression"
    assert refusal("${a\n == )}") == "syntax error at line 2, column 5: unexpected ')'"
    assert refusal("${'open}") == "syntax error at column 3: unterminated string"
    assert refusal("a == )").startswith("syntax error at column 6: ")
    assert "write the whole condition inside one ${...}" in refusal("${a} && ${b}")


def test_juel_operators_outside_braces_get_a_hint() -> None:
    message = refusal("approved && ready")
    assert message.startswith("syntax error at column 1")
    assert "need the whole condition in ${...}" in message


def test_single_equals_gets_a_hint() -> None:
    assert "to compare, write '=='" in refusal("voltage = 'high'")


def test_too_long_and_too_deep() -> None:
    assert "too long (2001 characters; the limit is 2000)" in refusal("a" * 2001)
    assert compile_expression("a" * 2000).names == frozenset({"a" * 2000})
    nested = "(" * 60 + "1" + ")" * 60
    assert "nested too deeply" in refusal(nested)
    assert "nested too deeply" in refusal("${" + nested + "}")
    assert "nested too deeply" in refusal("-" * 100 + "x")
    assert "nested too deeply" in refusal("${" + "!" * 100 + "x}")
    # A long flat sum is not deep.
    assert evaluate("+".join(["1"] * 500)) == 500


# --- resource limits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "'a' * 1000000000",
        "1000000000 * 'a'",
        "[0] * 1000000000",
        "[[0] * 100000] * 100000",
        "('x' * 100000) + 'y'",
    ],
)
def test_huge_results_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression(text).evaluate({})


def test_huge_numbers_are_refused() -> None:
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression("x * x * x * x").evaluate({"x": 10**100})
    with pytest.raises(ExpressionError, match="between -100 and 100"):
        compile_expression("round(5, -1000000000)").evaluate({})


def test_repetition_within_the_limit_works() -> None:
    assert evaluate("'ab' * 3") == "ababab"
    assert len(evaluate("[0] * 100000")) == 100000  # type: ignore[arg-type]


# --- scripts ----------------------------------------------------------------------------------


def test_script_assigns_in_order_and_does_not_touch_the_input() -> None:
    script = compile_script(
        """
        # the three-zeros rule for small and micro enterprises
        three_zeros = capacity_kw <= 160 and small_enterprise

        doubled = capacity_kw * 2
        label = 'large' if doubled > 300 else 'small'   # later lines see earlier ones
        capacity_kw = doubled + 1
        """
    )
    variables = {"capacity_kw": 160, "small_enterprise": True}
    result = script.run(variables)
    assert result == {"three_zeros": True, "doubled": 320, "label": "large", "capacity_kw": 321}
    assert variables == {"capacity_kw": 160, "small_enterprise": True}
    assert isinstance(script, Script)
    assert script.names == frozenset({"capacity_kw", "small_enterprise"})
    assert script.assigned == frozenset({"three_zeros", "doubled", "label", "capacity_kw"})


def test_script_first_line_next_to_the_xml_tag() -> None:
    script = compile_script("a = 1\n        b = a + 1\n        ")
    assert script.run({}) == {"a": 1, "b": 2}


def test_script_with_caller_function() -> None:
    script = compile_script("due = standard_due()", ["standard_due"])
    assert script.function_names == frozenset({"standard_due"})
    assert script.run({}, {"standard_due": lambda: "later"}) == {"due": "later"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a = 1\nimport os", "line 2: only assignments 'name = expression' are allowed; imports"),
        ("from os import system", "line 1: only assignments 'name = expression' are allowed"),
        ("a = 1\n\ndef f():\n    return 1", "line 3: only assignments"),
        (
            "for x in xs:\n    a = x",
            "line 1: only assignments 'name = expression' are allowed; loops",
        ),
        ("if a:\n    b = 1", "line 1: only assignments"),
        ("x.y = 1", "line 1: only assignments 'name = expression' are allowed; assignment to an"),
        ("x.y += 1", "line 1: only assignments 'name = expression' are allowed; assignment to an"),
        ("x += 1", "augmented assignment is not allowed; write 'x = x + ...'"),
        ("a = 1\ndel a", "line 2: only assignments 'name = expression' are allowed; 'del'"),
        ("a = 1\nprint(a)", "line 2: only assignments 'name = expression' are allowed"),
        ("a, b = 1, 2", "unpacking"),
        ("a = b = 1", "assign one name per line"),
        ("a = 1\nb = os.system('ls')", "line 2: method calls are not allowed"),
        ("a = 1\nb = open('x')", "line 2: call to 'open' is not allowed"),
        ("__builtins__ = 1", "line 1: name '__builtins__' is not allowed"),
        ("a = 1\nb = (", "line 2: syntax error at column 5: '(' was never closed"),
        ("    a = 1\n    b = a +", "line 2: syntax error at column 12"),
        ("# nothing here", "the script is empty"),
    ],
)
def test_script_refusals_name_the_line(text: str, words: str) -> None:
    assert words in script_refusal(text)


def test_script_runtime_errors_name_the_line() -> None:
    script = compile_script("a = 1\nb = missing + a")
    with pytest.raises(UndefinedVariableError) as caught:
        script.run({})
    assert caught.value.name == "missing"
    assert caught.value.message == "line 2: undefined variable 'missing'"
    with pytest.raises(ExpressionError, match="line 2: division by zero"):
        compile_script("a = 0\nb = 1 / a").run({})


def test_script_repetition_limits_hold_across_lines() -> None:
    script = compile_script("a = 'x' * 100000\nb = [a, a]")
    with pytest.raises(ExpressionError, match="line 2: the list is too large"):
        script.run({})
    doubling = "\n".join(["a = 10 * 10"] + ["a = a * a"] * 20)
    with pytest.raises(ExpressionError, match="too large"):
        compile_script(doubling).run({})
