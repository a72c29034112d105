"""Language: the pages in Simplified Chinese and in English, the language switch, and a
complete zh_Hans catalogue (every string in the code and templates translated, placeholders
kept) so that a string added without a translation turns this file red, naming it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from conftest import ROOT, login
from flask.testing import FlaskClient

TRANSLATIONS = ROOT / "src" / "gridflow" / "translations"
PO = TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
PYBABEL = Path(sys.executable).with_name("pybabel")
# %(name)s, %(n)d … and positional %s; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def pybabel(*args: str) -> None:
    subprocess.run([str(PYBABEL), "-q", *args], cwd=ROOT, check=True)


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue() -> None:
    """The app reads the .mo, which is build output: `make setup` compiles it, a bare
    `pytest` may find it missing or older than the .po."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        pybabel("compile", "-d", str(TRANSLATIONS))


def load(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def texts(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text.replace("%%", "")))


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def browser(app: Any) -> FlaskClient:
    """A browser that sends only the Accept-Language each request gives (the shared `client`
    asks for English)."""
    return FlaskClient(app, app.response_class, use_cookies=True)


def test_sign_in_page_follows_the_browser_language(browser: FlaskClient) -> None:
    zh = browser.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert zh.status_code == 200
    page = zh.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page and "用户名" in page and "密码" in page
    assert "Sign in" not in page and "Password" not in page

    en = browser.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    page = en.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page and "User name" in page and "Password" in page
    assert "登录" not in page


def test_chinese_is_the_default_language(browser: FlaskClient) -> None:
    assert "登录" in browser.get("/login").get_data(as_text=True)
    assert "登录" in browser.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_choosing_english_on_a_chinese_browser(browser: FlaskClient) -> None:
    chinese = {"Accept-Language": "zh-CN"}
    switched = browser.post("/language", data={"locale": "en", "next": "/login"}, headers=chinese)
    assert switched.status_code == 302
    assert switched.headers["Location"].endswith("/login")
    page = browser.get("/login", headers=chinese).get_data(as_text=True)
    assert "Sign in" in page and "登录" not in page

    browser.post("/language", data={"locale": "zh_Hans", "next": "/login"}, headers=chinese)
    assert "登录" in browser.get("/login", headers=chinese).get_data(as_text=True)


def test_wrong_password_message_is_translated(browser: FlaskClient) -> None:
    wrong = {"username": "desk1", "password": "nope"}
    zh = browser.post("/login", data=wrong, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 401
    assert "用户名或密码错误。" in zh.get_data(as_text=True)
    en = browser.post("/login", data=wrong, headers={"Accept-Language": "en"})
    assert "Wrong user name or password." in en.get_data(as_text=True)


def test_signed_in_staff_keep_their_language(app: Any, browser: FlaskClient) -> None:
    chinese = {"Accept-Language": "zh-CN"}
    login(browser, "desk1")
    page = browser.get("/queue?scope=team", headers=chinese).get_data(as_text=True)
    assert "我的工单" in page and "班组待办" in page
    browser.post("/language", data={"locale": "en", "next": "/queue"}, headers=chinese)
    page = browser.get("/queue?scope=team", headers=chinese).get_data(as_text=True)
    assert "My work" in page and "Team queue" in page and "我的工单" not in page

    # The choice is the account's: a new session on a Chinese browser is still English.
    other = FlaskClient(app, app.response_class, use_cookies=True)
    login(other, "desk1")
    page = other.get("/queue?scope=team", headers=chinese).get_data(as_text=True)
    assert "Team queue" in page and "班组待办" not in page


# --- the catalogue -----------------------------------------------------------------------------


def test_every_string_is_translated_with_its_placeholders() -> None:
    catalogue = load(PO)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        ids, strings = texts(message.id), texts(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if not strings or not all(s.strip() for s in strings):
            problems.append(f"not translated: {ids[0]!r}")
            continue
        for text in strings:
            if placeholders(text) != placeholders(ids[-1]):
                problems.append(f"placeholders differ: {ids[0]!r} -> {text!r}")
            # Jinja's gettext always %-formats: a lone % would break the page.
            if "%" in PLACEHOLDER.sub("", text.replace("%%", "")):
                problems.append(f"stray %: {ids[0]!r} -> {text!r}")
    assert not problems, "zh_Hans/messages.po:\n" + "\n".join(problems)


def test_catalogue_has_every_string_in_the_code_and_templates(tmp_path: Path) -> None:
    """Fails when a `_()` string in src/gridflow/app or web/templates is not in the zh_Hans
    catalogue: extract, `pybabel update`, translate (see src/gridflow/translations/README.md)."""
    pot = tmp_path / "messages.pot"
    keywords = ["-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "lazy_gettext"]
    pybabel("extract", "-F", "babel.cfg", *keywords, "-o", str(pot), "src", "web/templates")
    extracted = {texts(m.id)[0]: m for m in load(pot) if m.id}
    assert "Sign in" in extracted and "%(total)d link(s)" in extracted  # the extraction works
    translated = {texts(m.id)[0] for m in load(PO) if m.id and all(texts(m.string))}
    missing = sorted(set(extracted) - translated)
    where = [
        f"{msgid!r} ({', '.join(f'{path}:{line}' for path, line in extracted[msgid].locations)})"
        for msgid in missing
    ]
    assert not missing, "not translated in zh_Hans/messages.po:\n" + "\n".join(where)
