"""Language: Simplified Chinese and English through Flask-Babel. The signed-in user's choice
wins, then the choice made on the sign-in page, then the browser's Accept-Language."""

from __future__ import annotations

from flask import Flask, g, request, session
from flask_babel import Babel

LANGUAGES = {"zh_Hans": "简体中文", "en": "English"}
DEFAULT = "zh_Hans"


def select_locale() -> str:
    staff = getattr(g, "staff", None)
    if staff is not None and staff.locale in LANGUAGES:
        return str(staff.locale)
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return str(chosen)
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best is None:
        return DEFAULT
    return "en" if best == "en" else "zh_Hans"


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def languages() -> dict[str, object]:
        return {"LANGUAGES": LANGUAGES, "current_locale": select_locale()}
