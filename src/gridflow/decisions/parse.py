"""Reading and linting .dmn files: the safe XML reader BPMN files go through, then one pass that
collects every problem (file, line, element id); only a file without problems becomes a
`DecisionFile` of `Decision`s.

Accepted: DMN 1.3 as Camunda Modeler 5 writes it, and the DMN 1.1 and 1.2 namespaces Camunda
Modeler 4 wrote (their decision tables are written the same way). Decision tables only:
literal-expression decisions, required decisions (decision requirement graphs), business
knowledge models and decision services are refused with the element named.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from itertools import combinations
from pathlib import Path

from lxml import etree

from gridflow.decisions.feel import FeelExpression, compile_feel, kind_of
from gridflow.decisions.model import (
    AGGREGATIONS,
    HIT_POLICIES,
    TYPE_KINDS,
    Decision,
    DecisionFile,
    Input,
    Output,
    Rule,
)
from gridflow.decisions.overlap import cells_meet, constant
from gridflow.decisions.unary import UnaryTests, compile_unary_tests
from gridflow.definitions.xml import MAX_FILE_BYTES, Refused, parse_xml, too_big
from gridflow.errors import DefinitionError, ExpressionError, Problem

DMN13_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMN_NAMESPACES = {
    DMN13_NS: "1.3",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
}
CAMUNDA_DMN_NS = "http://camunda.org/schema/1.0/dmn"
FEEL_LANGUAGES = frozenset(
    {
        "feel",
        "https://www.omg.org/spec/DMN/20191111/FEEL/",
        "http://www.omg.org/spec/DMN/20180521/FEEL/",
        "http://www.omg.org/spec/FEEL/20140401",
    }
)
# Diagram and documentation elements of a DRD: read past, they change nothing a table does.
DOCUMENTATION = frozenset(
    {
        "description",
        "extensionElements",
        "inputData",
        "knowledgeSource",
        "textAnnotation",
        "association",
        "import",
        "itemDefinition",
    }
)
REFUSED = {
    "businessKnowledgeModel": "business knowledge models are not supported",
    "decisionService": "decision services are not supported",
}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _ns(element: etree._Element) -> str:
    tag = element.tag
    return (etree.QName(tag).namespace or "") if isinstance(tag, str) else ""


def _line(element: etree._Element | None) -> int | None:
    line = element.sourceline if element is not None else None
    return line if isinstance(line, int) else None


def content_hash(xml: bytes) -> str:
    """Version identity of a .dmn file, as for BPMN: line endings do not count."""
    return hashlib.sha256(xml.replace(b"\r\n", b"\n")).hexdigest()


# --- the linter -----------------------------------------------------------------------------------


class DmnLinter:
    """One pass over a parsed .dmn file, collecting every problem it finds."""

    def __init__(self, tree: etree._ElementTree, file: str):
        self.root = tree.getroot()
        self.file = file
        self.problems: list[Problem] = []
        self.decisions: dict[str, Decision] = {}
        self.ns = _ns(self.root)

    def problem(self, element: etree._Element | None, message: str, element_id: str = "") -> None:
        found = element_id or (element.get("id") if element is not None else None)
        self.problems.append(Problem(self.file, _line(element), found or None, message))

    def find(self, element: etree._Element, name: str) -> etree._Element | None:
        return element.find(f"{{{self.ns}}}{name}")

    def findall(self, element: etree._Element, name: str) -> list[etree._Element]:
        return element.findall(f"{{{self.ns}}}{name}")

    def text(self, element: etree._Element | None) -> str:
        if element is None:
            return ""
        text = self.find(element, "text")
        return (text.text or "") if text is not None else ""

    def run(self) -> list[Problem]:
        if _local(self.root) != "definitions" or self.ns not in DMN_NAMESPACES:
            self.problem(
                None,
                "not a DMN file: the root element must be definitions in the DMN 1.3 namespace "
                f"({DMN13_NS}; DMN 1.1 and 1.2 are read too)",
            )
            return self.problems
        self._check_language(self.root, "the file")
        self._check_ids()
        for element in self.root:
            kind = _local(element)
            if _ns(element) != self.ns or kind in DOCUMENTATION:
                continue
            if kind == "decision":
                self._decision(element)
            elif kind in REFUSED:
                self.problem(element, f"{REFUSED[kind]}: gridflow runs decision tables only")
            else:
                self.problem(element, f"{kind} is not supported in a .dmn file gridflow runs")
        if not self.decisions and not self.problems:
            self.problem(self.root, "the file has no decision")
        return self.problems

    def _check_ids(self) -> None:
        seen: set[str] = set()
        for element in self.root.iter():
            if _ns(element) != self.ns:
                continue
            element_id = element.get("id")
            if element_id is None:
                continue
            if element_id in seen:
                self.problem(element, f"duplicate id {element_id!r}")
            seen.add(element_id)

    def _check_language(self, element: etree._Element, what: str) -> bool:
        language = element.get("expressionLanguage")
        if language and language.strip().lower() not in FEEL_LANGUAGES:
            self.problem(
                element,
                f"{what} uses expressionLanguage {language!r}: gridflow evaluates FEEL only "
                "(no JUEL, JavaScript, Groovy or Python in decision tables)",
            )
            return False
        return True

    def _decision(self, element: etree._Element) -> None:
        decision_id = element.get("id") or ""
        if not NAME.fullmatch(decision_id):
            self.problem(
                element, f"decision id {decision_id!r} must be a plain name (letters, digits, _)"
            )
            return
        for requirement in self.findall(element, "informationRequirement"):
            if self.find(requirement, "requiredDecision") is not None:
                self.problem(
                    element,
                    f"decision {decision_id!r} requires another decision: decision requirement "
                    "graphs are not supported; give the table the inputs it needs directly",
                )
        table = self.find(element, "decisionTable")
        if table is None:
            other = next(
                (
                    _local(child)
                    for child in element
                    if _local(child)
                    in ("literalExpression", "context", "invocation", "relation", "list")
                ),
                None,
            )
            if other == "literalExpression":
                self.problem(
                    element,
                    f"decision {decision_id!r} is a literal expression: gridflow runs decision "
                    "tables only",
                )
            else:
                self.problem(element, f"decision {decision_id!r} has no decision table")
            return
        before = len(self.problems)
        decision = self._table(element, table, decision_id)
        if decision is not None and len(self.problems) == before:
            self.decisions[decision_id] = decision

    def _table(
        self, element: etree._Element, table: etree._Element, decision_id: str
    ) -> Decision | None:
        self._check_language(table, f"decision {decision_id!r}")
        policy = (table.get("hitPolicy") or "UNIQUE").strip().upper()
        aggregation = table.get("aggregation")
        if policy not in HIT_POLICIES:
            self.problem(
                table,
                f"hit policy {policy!r} is unknown; use one of {', '.join(HIT_POLICIES)}",
            )
            return None
        if aggregation is not None:
            aggregation = aggregation.strip().upper()
            if policy != "COLLECT":
                self.problem(table, f"aggregation {aggregation} is only allowed with COLLECT")
            elif aggregation not in AGGREGATIONS:
                self.problem(
                    table,
                    f"aggregation {aggregation!r} is unknown; use one of {', '.join(AGGREGATIONS)}",
                )
        inputs = [i for i in (self._input(x) for x in self.findall(table, "input")) if i]
        outputs = [o for o in (self._output(x) for x in self.findall(table, "output")) if o]
        rule_elements = self.findall(table, "rule")
        if not self.findall(table, "output"):
            self.problem(table, f"decision {decision_id!r} has no output column")
        if not rule_elements:
            self.problem(table, f"decision {decision_id!r} has no rules (the table is empty)")
        names = [o.name for o in outputs]
        for name in {n for n in names if names.count(n) > 1}:
            self.problem(table, f"two output columns are named {name!r}")
        if len(inputs) != len(self.findall(table, "input")) or len(outputs) != len(
            self.findall(table, "output")
        ):
            return None
        if policy in ("PRIORITY", "OUTPUT ORDER") and all(o.values is None for o in outputs):
            self.problem(
                table,
                f"hit policy {policy} ranks rules by the outputs' output values: list them "
                "(in decreasing priority) on at least one output",
            )
        if aggregation in AGGREGATIONS and policy == "COLLECT":
            if len(outputs) != 1:
                self.problem(table, f"COLLECT {aggregation} needs exactly one output column")
            elif aggregation != "COUNT" and TYPE_KINDS.get(outputs[0].type_ref) != "number":
                self.problem(table, f"COLLECT {aggregation} needs a numeric output column")
        rules = [
            rule
            for number, rule_element in enumerate(rule_elements, 1)
            if (rule := self._rule(rule_element, number, inputs, outputs)) is not None
        ]
        if len(rules) != len(rule_elements):
            return None
        if policy == "UNIQUE":
            self._check_overlaps(rules, rule_elements)
        if policy == "ANY":
            self._check_any(rules, rule_elements)
        return Decision(
            id=decision_id,
            name=element.get("name") or decision_id,
            hit_policy=policy,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            rules=tuple(rules),
            aggregation=aggregation if policy == "COLLECT" else None,
            file=self.file,
            line=_line(element),
        )

    def _type_ref(self, element: etree._Element, type_ref: str | None, what: str) -> str | None:
        if not type_ref:
            self.problem(element, f"{what} has no typeRef; use one of {', '.join(TYPE_KINDS)}")
            return None
        if type_ref not in TYPE_KINDS:
            self.problem(
                element, f"{what} has typeRef {type_ref!r}; use one of {', '.join(TYPE_KINDS)}"
            )
            return None
        return type_ref

    def _values(
        self, element: etree._Element | None, type_ref: str, what: str
    ) -> tuple[object, ...] | None:
        """inputValues / outputValues: a list of constants of the column's type."""
        if element is None:
            return None
        text = self.text(element).strip()
        if not text:
            return None
        try:
            cell = compile_unary_tests(text)
        except ExpressionError as exc:
            self.problem(element, f"{what} values {text!r} cannot be read: {exc.message}")
            return None
        values = []
        for test in cell.tests:
            known, value = constant(test.value)
            if test.kind != "equal" or not known or cell.negated:
                self.problem(element, f"{what} values must be a list of constants, not {text!r}")
                return None
            if kind_of(value) != TYPE_KINDS[type_ref]:
                self.problem(element, f"{what} value {value!r} is not a {type_ref}")
                return None
            values.append(value)
        return tuple(values)

    def _input(self, element: etree._Element) -> Input | None:
        label = element.get("label") or ""
        expression_element = self.find(element, "inputExpression")
        what = f"input {label or element.get('id') or ''!r}"
        if expression_element is None:
            self.problem(element, f"{what} has no input expression")
            return None
        if not self._check_language(expression_element, what):
            return None
        type_ref = self._type_ref(expression_element, expression_element.get("typeRef"), what)
        text = self.text(expression_element)
        try:
            expression = compile_feel(text)
        except ExpressionError as exc:
            self.problem(element, f"{what}: the expression {text!r} is refused: {exc.message}")
            return None
        if type_ref is None:
            return None
        values = self._values(self.find(element, "inputValues"), type_ref, what)
        return Input(element.get("id") or "", label, expression, type_ref, values)

    def _output(self, element: etree._Element) -> Output | None:
        label = element.get("label") or ""
        name = element.get("name") or ""
        what = f"output {label or name or element.get('id') or ''!r}"
        if not NAME.fullmatch(name) or "__" in name:
            self.problem(
                element,
                f"{what} needs a name that is a plain variable name (letters, digits, _): "
                "the result is stored under it",
            )
            return None
        type_ref = self._type_ref(element, element.get("typeRef"), what)
        if type_ref is None:
            return None
        values = self._values(self.find(element, "outputValues"), type_ref, what)
        return Output(element.get("id") or "", label, name, type_ref, values)

    def _cell_problem(
        self, rule: Rule, cell: etree._Element, column: str, text: str, message: str
    ) -> None:
        self.problem(
            cell,
            f"{rule.title}, column {column!r}: {text.strip()!r}: {message}",
            element_id=rule.id,
        )

    def _rule(
        self,
        element: etree._Element,
        number: int,
        inputs: list[Input],
        outputs: list[Output],
    ) -> Rule | None:
        rule = Rule(element.get("id") or "", number, (), ())
        input_cells = self.findall(element, "inputEntry")
        output_cells = self.findall(element, "outputEntry")
        ok = True
        if len(input_cells) != len(inputs) or len(output_cells) != len(outputs):
            self.problem(
                element,
                f"{rule.title} has {len(input_cells)} input and {len(output_cells)} output "
                f"cells; the table has {len(inputs)} inputs and {len(outputs)} outputs",
                element_id=rule.id,
            )
            return None
        tests: list[UnaryTests] = []
        for column, cell in zip(inputs, input_cells, strict=True):
            text = self.text(cell)
            if not self._check_language(cell, f"{rule.title}, column {column.title!r}"):
                ok = False
                continue
            try:
                compiled = compile_unary_tests(text)
            except ExpressionError as exc:
                self._cell_problem(rule, cell, column.title, text, f"refused: {exc.message}")
                ok = False
                continue
            ok = self._check_test_types(rule, cell, column, compiled) and ok
            tests.append(compiled)
        results: list[FeelExpression | None] = []
        for output, cell in zip(outputs, output_cells, strict=True):
            text = self.text(cell)
            if not self._check_language(cell, f"{rule.title}, column {output.title!r}"):
                ok = False
                continue
            if not text.strip():
                results.append(None)
                continue
            try:
                expression = compile_feel(text)
            except ExpressionError as exc:
                self._cell_problem(rule, cell, output.title, text, f"refused: {exc.message}")
                ok = False
                continue
            ok = self._check_output(rule, cell, output, expression) and ok
            results.append(expression)
        if not ok:
            return None
        description = self.find(element, "description")
        return Rule(
            rule.id,
            number,
            tuple(tests),
            tuple(results),
            (description.text or "").strip() if description is not None else "",
        )

    def _check_test_types(
        self, rule: Rule, cell: etree._Element, column: Input, compiled: UnaryTests
    ) -> bool:
        kind = TYPE_KINDS[column.type_ref]
        ok = True
        for test in compiled.tests:
            for node in test.nodes():
                known, value = constant(node)
                if not known or value is None:
                    continue
                if kind_of(value) != kind:
                    self._cell_problem(
                        rule,
                        cell,
                        column.title,
                        compiled.source,
                        f"the input is {column.type_ref} but {value!r} is a {kind_of(value)}",
                    )
                    ok = False
                elif (
                    column.values is not None
                    and test.kind == "equal"
                    and value not in column.values
                ):
                    self._cell_problem(
                        rule,
                        cell,
                        column.title,
                        compiled.source,
                        f"{value!r} is not one of the input values {list(column.values)}",
                    )
                    ok = False
            if test.kind in ("compare", "range") and kind == "boolean":
                self._cell_problem(
                    rule, cell, column.title, compiled.source, "booleans have no order"
                )
                ok = False
        return ok

    def _check_output(
        self, rule: Rule, cell: etree._Element, output: Output, expression: FeelExpression
    ) -> bool:
        known, value = expression.literal
        if not known or value is None:
            return True
        problem = None
        if kind_of(value) != TYPE_KINDS[output.type_ref]:
            problem = f"the output is {output.type_ref} but {value!r} is a {kind_of(value)}"
        elif output.type_ref in ("integer", "long") and not isinstance(value, int):
            problem = f"the output is {output.type_ref} but {value!r} is not a whole number"
        elif output.values is not None and value not in output.values:
            problem = f"{value!r} is not one of the output values {list(output.values)}"
        if problem is not None:
            self._cell_problem(rule, cell, output.title, expression.source, problem)
            return False
        return True

    def _check_overlaps(self, rules: list[Rule], elements: list[etree._Element]) -> None:
        for (_, first), (j, second) in combinations(enumerate(rules), 2):
            if all(cells_meet(a, b) for a, b in zip(first.inputs, second.inputs, strict=True)):
                self.problem(
                    elements[j],
                    f"{first.title} and {second.title} can both match the same input: a UNIQUE "
                    "table must leave exactly one rule for any input (make the rules disjoint "
                    "or use another hit policy)",
                    element_id=second.id,
                )

    def _check_any(self, rules: list[Rule], elements: list[etree._Element]) -> None:
        for (_, first), (j, second) in combinations(enumerate(rules), 2):
            same_inputs = [a.source for a in first.inputs] == [b.source for b in second.inputs]
            outputs = [o.source if o else "" for o in first.outputs]
            if same_inputs and outputs != [o.source if o else "" for o in second.outputs]:
                self.problem(
                    elements[j],
                    f"{first.title} and {second.title} have the same inputs but different "
                    "outputs: the hit policy ANY needs matching rules to agree",
                    element_id=second.id,
                )


# --- entry points ---------------------------------------------------------------------------------


def _lint(xml: bytes, file: str) -> tuple[DecisionFile | None, list[Problem]]:
    if len(xml) > MAX_FILE_BYTES:
        return None, [too_big(file, len(xml))]
    try:
        tree = parse_xml(xml, file)
    except Refused as refused:
        return None, [refused.problem]
    linter = DmnLinter(tree, file)
    problems = linter.run()
    if problems:
        return None, problems
    return DecisionFile(file, xml, dict(linter.decisions)), []


def lint_dmn(xml: bytes, file: str) -> list[Problem]:
    """Every problem in .dmn text; an empty list means it can be deployed."""
    return _lint(xml, file)[1]


def parse_dmn(xml: bytes, file: str) -> DecisionFile:
    """The decisions in .dmn text, or DefinitionError listing every problem."""
    parsed, problems = _lint(xml, file)
    if parsed is None:
        raise DefinitionError(problems)
    return parsed


def load_dmn(path: Path) -> DecisionFile:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DefinitionError([Problem(str(path), None, None, f"cannot read: {exc}")]) from exc
    if size > MAX_FILE_BYTES:
        raise DefinitionError([too_big(str(path), size)])
    return parse_dmn(path.read_bytes(), str(path))


def dmn_files(paths: Iterable[Path]) -> list[Path]:
    """The .dmn files under the given files and folders (folders: their own .dmn files)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.dmn")))
        elif path.suffix.lower() == ".dmn":
            files.append(path)
    return files


def decision_ids(files: Iterable[DecisionFile]) -> Iterator[str]:
    for parsed in files:
        yield from parsed.decisions


def decision_ids_in(path: Path) -> list[str]:
    """The decision ids a .dmn file names, read leniently (the file may have problems), so a
    process that refers to one is not reported twice."""
    try:
        root = parse_xml(path.read_bytes()[: MAX_FILE_BYTES + 1], str(path)).getroot()
    except (OSError, Refused):
        return []
    return [
        element.get("id") or ""
        for element in root
        if _local(element) == "decision" and _ns(element) in DMN_NAMESPACES
    ]


def looks_like_dmn(xml: bytes, file_name: str = "") -> bool:
    """Whether an upload is a .dmn file: by its name, or by a DMN namespace near its top."""
    if file_name.lower().endswith(".dmn"):
        return True
    head = xml[:4096]  # a raw body is named upload.bpmn; BPMN never declares DMN's namespace
    return any(ns.encode() in head for ns in DMN_NAMESPACES)
