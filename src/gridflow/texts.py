"""Texts written outside a web request (notifications, the customer's words for links), kept
in the application's gettext catalogue and translated into a chosen language when used.

`_` only marks a text for extraction (pybabel finds `_("…")`); `translate` looks it up."""

from __future__ import annotations

import functools
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "zh_Hans"  # customers read Chinese first
LOCALES = ("zh_Hans", "en")


def _(text: str) -> str:
    """Mark a text for the catalogue; it stays English until `translate`."""
    return text


@functools.cache
def _catalogue(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [locale])


def translate(text: str, locale: str | None, **values: object) -> str:
    """`text` in `locale` (Simplified Chinese unless English is asked for), with its
    %(name)s placeholders filled."""
    chosen = locale if locale in LOCALES else DEFAULT_LOCALE
    found = _catalogue(chosen).gettext(text)
    return found % values if values else found
