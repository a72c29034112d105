"""The labels of processes/roles.yaml (departments and roles: `name`, `name_zh`) and
processes/rules.yaml (event types and rules: `name: {en: …, zh: …}`), read with their
positions so an import can write a translation back without touching the rest of the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from gridflow.labels.book import LabelKey

ROLES_FILE = "roles.yaml"
RULES_FILE = "rules.yaml"
YAML_FILES = (ROLES_FILE, RULES_FILE)


@dataclass(frozen=True)
class YamlLabel:
    """One label of a YAML file: its English text and its Chinese one (empty when missing),
    the line of its entry and where its Chinese text is or would go."""

    key: LabelKey
    source: str
    zh: str
    line: int
    # The flow or block mapping holding the Chinese key, and that key's name there.
    holder: yaml.MappingNode
    zh_key: str


def _get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""


def read_yaml(path: Path, text: str | None = None) -> list[YamlLabel]:
    """The labels of roles.yaml or rules.yaml (nothing for another file or broken YAML: the
    file's own lint reports that)."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    found: list[YamlLabel] = []
    if path.name == ROLES_FILE:
        for section, kind in (("departments", "department"), ("roles", "role")):
            mapping = _get(root, section)
            if not isinstance(mapping, yaml.MappingNode):
                continue
            for key_node, spec in mapping.value:
                if not isinstance(spec, yaml.MappingNode):
                    continue
                name = _scalar(_get(spec, "name"))
                if name:
                    found.append(
                        YamlLabel(
                            LabelKey(f"{kind}:{key_node.value}"),
                            name,
                            _scalar(_get(spec, "name_zh")),
                            key_node.start_mark.line + 1,
                            spec,
                            "name_zh",
                        )
                    )
    elif path.name == RULES_FILE:
        events = _get(root, "events")
        entries: list[tuple[str, yaml.Node, int]] = []
        if isinstance(events, yaml.MappingNode):
            entries += [(f"event:{k.value}", v, k.start_mark.line + 1) for k, v in events.value]
        rules = _get(root, "rules")
        notes: list[tuple[str, yaml.Node, int]] = []
        if isinstance(rules, yaml.SequenceNode):
            for item in rules.value:
                if isinstance(item, yaml.MappingNode):
                    rule_id = _scalar(_get(item, "id"))
                    entries.append((f"rule:{rule_id}", item, item.start_mark.line + 1))
                    notes.extend(_notes(rule_id, item))
        for element_id, text_node, line in notes:
            # A note's text: {en: …, zh: …}; a bare English text has no Chinese yet.
            if isinstance(text_node, yaml.MappingNode) and _scalar(_get(text_node, "en")):
                en, zh = _scalar(_get(text_node, "en")), _scalar(_get(text_node, "zh"))
                found.append(YamlLabel(LabelKey(element_id), en, zh, line, text_node, "zh"))
        for element_id, spec, line in entries:
            if not isinstance(spec, yaml.MappingNode):
                continue
            name_node = _get(spec, "name")
            if isinstance(name_node, yaml.MappingNode) and _scalar(_get(name_node, "en")):
                found.append(
                    YamlLabel(
                        LabelKey(element_id),
                        _scalar(_get(name_node, "en")),
                        _scalar(_get(name_node, "zh")),
                        line,
                        name_node,
                        "zh",
                    )
                )
    return found


def bare_notes(path: Path, text: str) -> list[tuple[LabelKey, str, int]]:
    """The notes of rules.yaml written as a bare English text (no place for their Chinese
    yet): key, text and line."""
    if path.name != RULES_FILE:
        return []
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    rules = _get(root, "rules") if isinstance(root, yaml.MappingNode) else None
    found: list[tuple[LabelKey, str, int]] = []
    if isinstance(rules, yaml.SequenceNode):
        for item in rules.value:
            if isinstance(item, yaml.MappingNode):
                for key, node, line in _notes(_scalar(_get(item, "id")), item):
                    if isinstance(node, yaml.ScalarNode) and _scalar(node):
                        found.append((LabelKey(key), _scalar(node), line))
    return found


def _notes(rule_id: str, rule: yaml.MappingNode) -> list[tuple[str, yaml.Node, int]]:
    """The text of each `note_demands` of a rule, keyed as the notes are (rules.note_key)."""
    found: list[tuple[str, yaml.Node, int]] = []
    actions = _get(rule, "do")
    if not isinstance(actions, yaml.SequenceNode):
        return found
    for action in actions.value:
        body = _get(action, "note_demands") if isinstance(action, yaml.MappingNode) else None
        if not isinstance(body, yaml.MappingNode):
            continue
        for key_node, text in body.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "text":
                n = len(found) + 1
                key = f"rule:{rule_id}:note_demands" + (f":{n}" if n > 1 else "")
                # The line of `text:`, whether the text follows on it or below it.
                found.append((key, text, key_node.start_mark.line + 1))
    return found


def set_zh(text: str, label: YamlLabel, zh: str) -> str:
    """The file's text with the label's Chinese set to `zh`; nothing else changes."""
    quoted = _quote(zh)
    current = _get(label.holder, label.zh_key)
    if isinstance(current, yaml.ScalarNode):
        start, end = current.start_mark.index, current.end_mark.index
        return text[:start] + quoted + text[end:]
    holder = label.holder
    if holder.flow_style:
        end = holder.end_mark.index - 1  # the closing brace
        return text[:end].rstrip() + f", {label.zh_key}: {quoted}" + text[end:]
    last_key = holder.value[-1][0]
    indent = " " * last_key.start_mark.column
    at = holder.value[-1][1].end_mark.index
    return text[:at] + f"\n{indent}{label.zh_key}: {quoted}" + text[at:]


def _quote(value: str) -> str:
    dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    return dumped.removesuffix("...\n").strip()
