"""Reading BPMN files into definitions: load a file or text, lint it, and only a file without
problems becomes a ProcessDefinition (SpiffWorkflow's own parser must accept it too)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from gridflow.definitions.describe import ProcessDefinition
from gridflow.definitions.rules import Linter
from gridflow.definitions.spiff import GridflowParser
from gridflow.definitions.xml import MAX_FILE_BYTES, Refused, parse_xml, too_big
from gridflow.errors import DefinitionError, Problem
from gridflow.roles import RoleBook


def load(path: Path, roles: RoleBook) -> ProcessDefinition:
    """The definition in a BPMN file, or DefinitionError listing every problem."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DefinitionError([Problem(str(path), None, None, f"cannot read: {exc}")]) from exc
    if size > MAX_FILE_BYTES:
        raise DefinitionError([too_big(str(path), size)])
    return parse(path.read_bytes(), str(path), roles)


def parse(xml: bytes, file: str, roles: RoleBook) -> ProcessDefinition:
    """The definition in BPMN text, or DefinitionError listing every problem."""
    definition, problems = _lint(xml, file, roles)
    if problems or definition is None:
        raise DefinitionError(problems)
    return definition


def lint(xml: bytes, file: str, roles: RoleBook) -> list[Problem]:
    """Every problem in BPMN text; an empty list means the file can be deployed."""
    return _lint(xml, file, roles)[1]


def lint_paths(paths: Iterable[Path], roles: RoleBook) -> dict[Path, list[Problem]]:
    """Problems per BPMN file under the given files and folders."""
    result: dict[Path, list[Problem]] = {}
    for path in bpmn_files(paths):
        try:
            load(path, roles)
            result[path] = []
        except DefinitionError as exc:
            result[path] = exc.problems
    return result


def bpmn_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.bpmn")))
        else:
            files.append(path)
    return files


def _lint(xml: bytes, file: str, roles: RoleBook) -> tuple[ProcessDefinition | None, list[Problem]]:
    if len(xml) > MAX_FILE_BYTES:
        return None, [too_big(file, len(xml))]
    try:
        tree = parse_xml(xml, file)
    except Refused as refused:
        return None, [refused.problem]
    linter = Linter(tree, file, roles)
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
