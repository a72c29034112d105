"""Process content on pages in the reader's language: template helpers that look a label up in
the version it belongs to (so an old instance shows its own version's labels), and the
diagram text served for reading."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from gridflow import linkage, linkage_notes
from gridflow.app import wording
from gridflow.app.auth import runtime
from gridflow.app.i18n import select_locale
from gridflow.errors import GridflowError
from gridflow.labels.book import localized_xml
from gridflow.models import Definition, WorkItem


def label(
    definition_id: int | None,
    element_id: str | None,
    fallback: str | None,
    field: str = "",
    value: str = "",
    property: str = "",
) -> str:
    """The label of an element (or of one of its form fields, choices or properties) of a
    process version, in the page's language; `fallback` (the English text kept with the row)
    when the version has none."""
    if definition_id is None or not element_id:
        return fallback or ""
    book = runtime().labels(int(definition_id))
    return book.text(
        select_locale(), element_id, fallback or "", field=field, value=value, property=property
    )


def link_label(work_item_id: int | None, fallback: str) -> str:
    """A work item's link name in the page's language, from its own version."""
    if work_item_id is None:
        return fallback
    rt = runtime()
    with rt.db.read() as session:
        row = session.execute(
            select(WorkItem.definition_id, WorkItem.element_id).where(WorkItem.id == work_item_id)
        ).first()
    return label(row.definition_id, row.element_id, fallback) if row else fallback


def process_label(process_id: str, fallback: str) -> str:
    """A process's name in the page's language, as its newest version names it (for figures
    that span its versions)."""
    rt = runtime()
    with rt.db.read() as session:
        newest = session.scalar(
            select(func.max(Definition.id)).where(Definition.process_id == process_id)
        )
    return label(newest, process_id, fallback)


def decision_label(decision_definition_id: int | None, element_id: str, fallback: str) -> str:
    """The label of a decision table's element in the page's language."""
    if decision_definition_id is None:
        return fallback
    book = runtime().decision_labels(int(decision_definition_id))
    return book.text(select_locale(), element_id, fallback)


def for_reading(xml: bytes) -> bytes:
    """A process or decision file with its labels in the page's language, to draw."""
    return localized_xml(xml, select_locale())


def person_name(person: object) -> str:
    """A member of staff's display name in the page's language (Chinese when they have one)."""
    english = str(getattr(person, "display_name", "") or getattr(person, "username", ""))
    if select_locale() == "zh_Hans":
        return str(getattr(person, "display_name_zh", "") or "") or english
    return english


def say_note(note: linkage_notes.Note) -> str:
    """A linkage rule's note in the page's (or request's) language; as stored otherwise."""
    if note.key is None:
        return note.text
    try:
        book = linkage.rulebook(runtime().roles)
    except (GridflowError, OSError):
        book = None  # rules.yaml unreadable now: the note as it was written
    return linkage_notes.say(note, select_locale(), book, _code_name)


def _code_name(field: str, value: object) -> object:
    """A payload value that is a code of the demand's enumerations (area, voltage, …) by its
    name in the reader's language; any other value as it is."""
    return wording.code_name(field, value) if field in wording.CODE_NAMES else value


def comment_text(author: str, body: str) -> str:
    """A comment as the page shows it: a linkage rule's note in the reader's language."""
    return say_note(linkage_notes.read(author, body))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        comment_text=comment_text,
        label=label,
        process_label=process_label,
        link_label=link_label,
        decision_label=decision_label,
        person_name=person_name,
    )
