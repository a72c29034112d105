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


def refusal(exc: BaseException | str, locale: str | None, **shown: object) -> str:
    """Why a verb was refused, in `locale`: a gridflow error's (or `errors.Reason`'s) catalogue
    text with its values (`shown` replaces a value with the words the page uses, e.g. a link's
    name in the reader's language); any other exception or text, or a text the catalogue does
    not have, as it was raised."""
    template = getattr(exc, "template", None)
    params = getattr(exc, "params", None)
    if not isinstance(template, str) or not template or not isinstance(params, dict):
        return str(exc)
    values = {**params, **{k: v for k, v in shown.items() if k in params}}
    try:
        return translate(template, locale, **values)
    except (KeyError, TypeError, ValueError):
        # A translation whose placeholders do not fit: the English sentence rather than none.
        return str(exc)
