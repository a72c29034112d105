"""Labels without a translation: one problem per label and language, naming the file, the
line and the element (`gridflow lint` prints them with the other problems)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from gridflow.definitions.xml import Refused, parse_xml, read_file
from gridflow.errors import Problem
from gridflow.labels.book import TARGET_LANGUAGES, LabelKey, labelled, read, translation_elements
from gridflow.labels.yaml_labels import YAML_FILES, bare_notes, read_yaml

LABELLED_SUFFIXES = (".bpmn", ".dmn")


def label_files(paths: Iterable[Path]) -> list[Path]:
    """The BPMN and DMN files and the roles and rules files under the given paths."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in LABELLED_SUFFIXES))
            files.extend(path / name for name in YAML_FILES if (path / name).is_file())
        elif path.suffix in LABELLED_SUFFIXES or path.name in YAML_FILES:
            files.append(path)
    # Only regular files: a FIFO or a device is refused by the file's own lint, unread.
    return [f for f in files if f.is_file()]


def parse_file(path: Path) -> etree._Element | None:
    """The parsed BPMN or DMN file, or None when it cannot be read (its own lint says why)."""
    try:
        return parse_xml(read_file(path), str(path)).getroot()
    except Refused:
        return None


def untranslated(path: Path, languages: Iterable[str] = TARGET_LANGUAGES) -> list[Problem]:
    """Every label of one file missing in one of the languages, and every translation that
    belongs to no label (a field or choice renamed since)."""
    languages = tuple(languages)
    file = str(path)
    problems: list[Problem] = []
    if path.name in YAML_FILES:
        try:
            text = read_file(path).decode("utf-8", "replace")
        except Refused:
            return problems
        for entry in read_yaml(path, text):
            for lang in languages:
                if lang.startswith("zh") and not entry.zh:
                    problems.append(_missing(file, entry.line, entry.key, entry.source, lang))
        for key, source, line in bare_notes(path, text):
            for lang in languages:
                if lang.startswith("zh"):
                    problem = _missing(file, line, key, source, lang)
                    problem.message += " (write the text as {en: …, zh: …})"
                    problems.append(problem)
        return problems
    root = parse_file(path)
    if root is None:
        return problems
    return untranslated_root(root, file, languages)


def untranslated_xml(
    xml: bytes, file: str, languages: Iterable[str] = TARGET_LANGUAGES
) -> list[Problem]:
    """The same for an uploaded BPMN or DMN file (the modeler's validate shows them as
    warnings); nothing for a file that is not XML (its own lint says why)."""
    try:
        root = parse_xml(xml, file).getroot()
    except Refused:
        return []
    return untranslated_root(root, file, tuple(languages))


def untranslated_root(
    root: etree._Element, file: str, languages: Iterable[str] = TARGET_LANGUAGES
) -> list[Problem]:
    languages = tuple(languages)
    problems: list[Problem] = []
    book = read(root)
    for label in book.labels.values():
        for lang in languages:
            if not label.translations.get(lang):
                problems.append(_missing(file, label.line, label.key, label.source, lang))
    holders = {element.get("id"): element for element, *_ in labelled(root)}
    for element in holders.values():
        for node in translation_elements(element):
            key = LabelKey(
                element.get("id") or "",
                node.get("field") or "",
                node.get("value") or "",
                node.get("property") or "",
            )
            if key not in book.labels:
                problems.append(
                    Problem(
                        file,
                        _line(node),
                        key.element_id,
                        f"{node.get('lang')} label for {key.describe()}, which the element "
                        "does not have",
                    )
                )
    return problems


def _missing(file: str, line: int | None, key: LabelKey, source: str, lang: str) -> Problem:
    return Problem(file, line, key.element_id, f"no {lang} label for {key.describe()} {source!r}")


def lint_paths(paths: Iterable[Path]) -> dict[Path, list[Problem]]:
    return {path: untranslated(path) for path in label_files(paths)}


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None
