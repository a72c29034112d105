"""Process content in the reader's language: the labels of process and decision files, and of
roles.yaml and rules.yaml, in every language, versioned with the files (docs/translations.md)."""

from gridflow.labels.book import (
    EMPTY,
    LABELS_NS,
    SOURCE_LANGUAGE,
    TARGET_LANGUAGES,
    Label,
    LabelBook,
    LabelKey,
    language_tag,
    read,
    read_xml,
)

__all__ = [
    "EMPTY",
    "LABELS_NS",
    "SOURCE_LANGUAGE",
    "TARGET_LANGUAGES",
    "Label",
    "LabelBook",
    "LabelKey",
    "language_tag",
    "read",
    "read_xml",
]
