"""Translators' files: the labels of a processes folder as a standard PO catalogue and back.

Each label is one message: its context names the file and the element
(`hv_connection.bpmn#Activity_reply_scheme/supply_scheme=dual`), its id is the English
text, its string the translation. `extract` is a Babel extractor (entry point
`gridflow_labels`), so `pybabel extract -F processes/babel.cfg processes` makes the same
catalogue; importing writes the translations back into the files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from gridflow.definitions.xml import MAX_FILE_BYTES, Refused, parse_xml
from gridflow.labels.book import LabelKey, labelled, language_tag, read
from gridflow.labels.lint import label_files, parse_file
from gridflow.labels.write import serialize, set_translation
from gridflow.labels.yaml_labels import YAML_FILES, read_yaml, set_zh


class TranslationFileError(ValueError):
    """A PO file that cannot be imported (not PO, or for another language)."""


@dataclass(frozen=True)
class Entry:
    context: str
    source: str
    translation: str
    line: int | None
    kind: str


def entries(path: Path, lang: str) -> Iterator[Entry]:
    """The labels of one file with their `lang` translation (empty when missing)."""
    tag = language_tag(lang)
    if path.name in YAML_FILES:
        for item in read_yaml(path):
            zh = item.zh if tag.startswith("zh") else ""
            yield Entry(
                item.key.context(path.name),
                item.source,
                zh,
                item.line,
                item.key.element_id.split(":")[0],
            )
        return
    root = parse_file(path)
    if root is None:
        return
    for label in read(root).labels.values():
        yield Entry(
            label.key.context(path.name),
            label.source,
            label.translations.get(tag, ""),
            label.line,
            label.kind,
        )


def catalog_of(folder_or_files: Iterable[Path], lang: str) -> Catalog:
    catalog = Catalog(locale=lang.replace("-", "_"), project="gridflow processes", fuzzy=False)
    for path in label_files(folder_or_files):
        for entry in entries(path, lang):
            catalog.add(
                entry.source,
                entry.translation or "",
                locations=[(path.name, entry.line or 0)],
                auto_comments=[entry.kind],
                context=entry.context,
            )
    return catalog


def export(folder_or_files: Iterable[Path], lang: str, out: IO[bytes]) -> int:
    """Write the PO catalogue of `lang`; the number of messages."""
    catalog = catalog_of(folder_or_files, lang)
    write_po(out, catalog, width=0, sort_output=False)
    return len(catalog)


@dataclass
class ImportResult:
    written: dict[str, int] = field(default_factory=dict)  # file name → labels changed
    stale: list[str] = field(default_factory=list)  # contexts whose English text changed since
    unknown: list[str] = field(default_factory=list)  # contexts naming no label


def import_po(folder: Path, po: IO[bytes], lang: str) -> ImportResult:
    """Write the translated, non-fuzzy messages of a PO file into the folder's files. A
    message whose English text is not the label's any more is skipped (listed as stale)."""
    tag = language_tag(lang)
    try:
        catalog = read_po(po, locale=lang.replace("-", "_"))
    except Exception as exc:  # babel raises assorted errors for broken files
        raise TranslationFileError(f"not a PO file: {exc}") from None
    if catalog.locale is not None and language_tag(str(catalog.locale)) != tag:
        raise TranslationFileError(f"the file is for {catalog.locale}, not {lang}")
    wanted: dict[str, dict[LabelKey, tuple[str, str]]] = {}
    result = ImportResult()
    for message in catalog:
        if not message.id or not message.context or message.fuzzy:
            continue
        text = message.string if isinstance(message.string, str) else ""
        if not text.strip():
            continue
        try:
            file_name, key = LabelKey.from_context(message.context)
        except ValueError:
            result.unknown.append(message.context)
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        wanted.setdefault(file_name, {})[key] = (source, " ".join(text.split()))
    for file_name, changes in sorted(wanted.items()):
        path = folder / os.path.basename(file_name)
        if not path.is_file() or path.name != file_name:
            result.unknown.extend(k.context(file_name) for k in changes)
            continue
        if path.name in YAML_FILES:
            count = _import_yaml(path, changes, tag, result)
        else:
            count = _import_xml(path, changes, tag, result)
        if count:
            result.written[file_name] = count
    return result


def _import_xml(
    path: Path, changes: Mapping[LabelKey, tuple[str, str]], tag: str, result: ImportResult
) -> int:
    xml = path.read_bytes()
    if len(xml) > MAX_FILE_BYTES:
        raise TranslationFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        root = parse_xml(xml, str(path)).getroot()
    except Refused as refused:
        raise TranslationFileError(str(refused.problem)) from None
    holders = {key: (element, source) for element, key, source, _ in labelled(root)}
    count = 0
    for key, (source, text) in changes.items():
        found = holders.get(key)
        if found is None:
            result.unknown.append(key.context(path.name))
        elif found[1] != source:
            result.stale.append(key.context(path.name))
        elif set_translation(found[0], key, tag, text):
            count += 1
    if count:
        path.write_bytes(serialize(root))
    return count


def _import_yaml(
    path: Path, changes: Mapping[LabelKey, tuple[str, str]], tag: str, result: ImportResult
) -> int:
    if not tag.startswith("zh"):
        result.unknown.extend(k.context(path.name) for k in changes)
        return 0
    text = path.read_text(encoding="utf-8")
    count = 0
    for key, (source, translation) in changes.items():
        found = {item.key: item for item in read_yaml(path, text)}.get(key)
        if found is None:
            result.unknown.append(key.context(path.name))
        elif found.source != source:
            result.stale.append(key.context(path.name))
        elif found.zh != translation:
            text = set_zh(text, found, translation)
            count += 1
    if count:
        path.write_text(text, encoding="utf-8")
    return count


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Iterable[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extractor for .bpmn, .dmn, roles.yaml and rules.yaml: every label as a message
    with its file#element context (`pgettext`)."""
    name = os.path.basename(getattr(fileobj, "name", "") or "")
    data = fileobj.read(MAX_FILE_BYTES + 1)
    path = Path(name)
    if name in YAML_FILES:
        for item in read_yaml(path, data.decode("utf-8")):
            yield (
                item.line,
                "pgettext",
                (item.key.context(name), item.source),
                [item.key.element_id.split(":")[0]],
            )
        return
    try:
        root = parse_xml(data, name).getroot()
    except Refused:
        return
    for label in read(root).labels.values():
        yield label.line or 0, "pgettext", (label.key.context(name), label.source), [label.kind]
