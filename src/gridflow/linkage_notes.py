"""The notes linkage rules write on the timelines of matching demands (`note_demands` in
processes/rules.yaml), kept as a message key and its values and said in the reader's language
when shown.

A note is a comment by `gridflow` whose body is JSON: {"key": "rule:<id>:note_demands",
"params": {payload field: value}, "text": the English sentence as written}. The key finds the
rule's text in the language asked for; a note whose rule is gone, or a note written before
notes were kept so (plain English text), is shown as it was stored."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gridflow.rules import PLACEHOLDER, RuleBook, fill

NOTE_AUTHOR = "gridflow"


@dataclass(frozen=True)
class Note:
    """A comment read as a rule's note: its key and values, or None for a plain comment."""

    text: str  # as stored: the English sentence (the fallback)
    key: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)


def body(key: str, template: str, payload: Mapping[str, object]) -> str:
    """The stored body of a note: the key, the payload values its texts use, the English."""
    params = {name: payload.get(name) for name in sorted(set(PLACEHOLDER.findall(template)))}
    return json.dumps(
        {"key": key, "params": params, "text": fill(template, payload)}, ensure_ascii=False
    )


def read(author: str, stored: str) -> Note:
    """A comment as a note: a rule's (key and values) when gridflow wrote it so, else as is."""
    if author != NOTE_AUTHOR or not stored.startswith("{"):
        return Note(stored)
    try:
        data = json.loads(stored)
    except ValueError:
        return Note(stored)
    if not (
        isinstance(data, dict)
        and isinstance(data.get("key"), str)
        and isinstance(data.get("params"), dict)
        and isinstance(data.get("text"), str)
    ):
        return Note(stored)
    return Note(data["text"], data["key"], data["params"])


def say(
    note: Note,
    locale: str | None,
    book: RuleBook | None,
    name: Callable[[str, object], object] | None = None,
) -> str:
    """The note in `locale` (Simplified Chinese unless English is asked for), from its rule's
    text in that language; the stored text when the rule or the language has none. `name`
    gives a value's words in that language (a code's name: `urban` → 城区)."""
    if note.key is None or book is None:
        return note.text
    texts = book.note_texts().get(note.key)
    if not texts:
        return note.text
    template = texts.get("en" if locale == "en" else "zh")
    if not template:
        return note.text
    # Only the values the note kept: a text naming another field leaves it empty.
    params = {k: name(k, v) if name is not None else v for k, v in note.params.items()}
    return fill(template, params)
