"""Reading BPMN files into definitions: load a file or text, lint it, and only a file without
problems becomes a ProcessDefinition (SpiffWorkflow's own parser must accept it too)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from gridflow.definitions.calls import call_problems
from gridflow.definitions.describe import ProcessDefinition
from gridflow.definitions.rules import Linter
from gridflow.definitions.spiff import GridflowParser
from gridflow.definitions.xml import MAX_FILE_BYTES, Refused, parse_xml, read_file, too_big
from gridflow.errors import DefinitionError, Problem
from gridflow.roles import RoleBook

# Decision ids a business-rule task may name, each with its number of output columns where
# known: see `Linter`. None: not checked here (deploy checks the store).
Decisions = Mapping[str, int | None] | None
# A decision's input expressions by its id, for the variable analysis (None: unknown).
DecisionInputs = Callable[[str], Sequence[str] | None] | None


def load(
    path: Path,
    roles: RoleBook,
    decisions: Decisions = None,
    decision_inputs: DecisionInputs = None,
) -> ProcessDefinition:
    """The definition in a BPMN file, or DefinitionError listing every problem. Only a regular
    file is read, and at most MAX_FILE_BYTES of it (see `xml.read_file`)."""
    try:
        xml = read_file(path)
    except Refused as refused:
        raise DefinitionError([refused.problem]) from None
    return parse(xml, str(path), roles, decisions, decision_inputs)


def parse(
    xml: bytes,
    file: str,
    roles: RoleBook,
    decisions: Decisions = None,
    decision_inputs: DecisionInputs = None,
) -> ProcessDefinition:
    """The definition in BPMN text, or DefinitionError listing every problem."""
    definition, problems = _lint(xml, file, roles, decisions, decision_inputs=decision_inputs)
    if problems or definition is None:
        raise DefinitionError(problems)
    return definition


def parse_deployed(xml: bytes, file: str, roles: RoleBook) -> ProcessDefinition:
    """The definition of a version already in the store, for running it.

    The checks of what would break at run time (timers, gateways, variables, types; see
    `rules`) ran when it was deployed and are not repeated: a version deployed before a check
    existed keeps running its instances. Safety is checked again (no DTD or entities, no code
    in scripts or conditions), and SpiffWorkflow must still accept it.
    """
    definition, problems = _lint(xml, file, roles, deployed=True)
    if problems or definition is None:
        raise DefinitionError(problems)
    return definition


def lint(xml: bytes, file: str, roles: RoleBook, decisions: Decisions = None) -> list[Problem]:
    """Every problem in BPMN text; an empty list means the file can be deployed."""
    return _lint(xml, file, roles, decisions)[1]


def lint_paths(paths: Iterable[Path], roles: RoleBook) -> dict[Path, list[Problem]]:
    """Problems per BPMN and DMN file under the given files and folders. A business-rule
    task's decision must be in a .dmn file of its own folder."""
    # Imported here: gridflow.decisions reads XML through this package (a cycle at import).
    from gridflow import decisions as dmn

    paths = list(paths)
    result: dict[Path, list[Problem]] = {}
    by_folder: dict[Path, dict[str, int | None]] = {}
    inputs: dict[str, list[str]] = {}
    folders = {p if p.is_dir() else p.parent for p in paths}
    for folder in sorted(folders):
        known = by_folder.setdefault(folder, {})
        for dmn_path in dmn.dmn_files([folder]):
            try:
                parsed = dmn.load_dmn(dmn_path)
            except DefinitionError as exc:
                known.update(dict.fromkeys(dmn.decision_ids_in(dmn_path), None))
                problems = exc.problems
            else:
                known.update({i: len(d.outputs) for i, d in parsed.decisions.items()})
                for decision_id, decision in parsed.decisions.items():
                    inputs[decision_id] = [i.expression.source for i in decision.inputs]
                problems = []
            if dmn_path in dmn.dmn_files(paths):
                result[dmn_path] = problems
    loaded: dict[Path, ProcessDefinition] = {}
    for path in bpmn_files(paths):
        try:
            loaded[path] = load(path, roles, by_folder.get(path.parent, {}), inputs.get)
            result[path] = []
        except DefinitionError as exc:
            result[path] = exc.problems
    by_id = {d.process_id: d for d in loaded.values()}
    for path, definition in loaded.items():
        result[path].extend(call_problems(definition, by_id))
    return result


def bpmn_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.bpmn")))
        elif path.suffix.lower() != ".dmn":
            files.append(path)
    return files


def _lint(
    xml: bytes,
    file: str,
    roles: RoleBook,
    decisions: Decisions = None,
    *,
    deployed: bool = False,
    decision_inputs: DecisionInputs = None,
) -> tuple[ProcessDefinition | None, list[Problem]]:
    if len(xml) > MAX_FILE_BYTES:
        return None, [too_big(file, len(xml))]
    try:
        tree = parse_xml(xml, file, utf8_only=not deployed)
    except Refused as refused:
        return None, [refused.problem]
    linter = Linter(
        tree, file, roles, decisions, deploying=not deployed, decision_inputs=decision_inputs
    )
    problems = linter.run()
    if problems:
        return None, problems
    assert linter.process is not None
    problems = _spiff_problems(tree, file, linter.process.get("id", ""))
    if problems:
        return None, problems
    return linter.definition(xml), []


def _spiff_problems(tree: etree._ElementTree, file: str, process_id: str) -> list[Problem]:
    """What SpiffWorkflow's own parser rejects (it must accept whatever we deploy)."""
    parser = GridflowParser()
    try:
        parser.add_bpmn_xml(tree, filename=file)
        parser.get_spec(process_id)
    except ValidationException as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        return [Problem(file, exc.line_number or None, exc.id or None, message)]
    except Exception as exc:  # SpiffWorkflow raises assorted errors for odd but valid XML
        return [Problem(file, None, None, f"cannot build the process: {exc}")]
    return []
