"""The company calendar (processes/calendar.yaml): declared holidays and make-up working days
override the holidays package, the file is linted, and a year not yet declared is warned
about on the command line and on the admin page."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import STAFF_PASSWORD, login

from gridflow import company_calendar, users
from gridflow.cli import main
from gridflow.runtime import Runtime, configured_calendar
from gridflow.working_time import WorkingCalendar

PROCESSES = Path(__file__).resolve().parent.parent / "processes"

DECLARED_2027 = """
  2027:
    published: true
    source: a notice for the test
    holidays:
      - {from: 2027-02-05, to: 2027-02-11, name: 春节}
      - {from: 2027-03-03, to: 2027-03-03, name: a company holiday on a Wednesday}
    workdays: [2027-02-20]
"""


def _folder(tmp_path: Path, year_2027: str = DECLARED_2027) -> Path:
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES, folder)
    text = (folder / "calendar.yaml").read_text(encoding="utf-8")
    start = text.index("  2027:")
    (folder / "calendar.yaml").write_text(text[:start] + year_2027.lstrip("\n"), encoding="utf-8")
    return folder


def test_a_make_up_saturday_in_the_calendar_file_is_a_working_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saturday, wednesday = date(2027, 2, 20), date(2027, 3, 3)
    assert saturday.weekday() == 5
    package_only = WorkingCalendar()
    assert not package_only.is_working_day(saturday)
    assert package_only.is_working_day(wednesday)
    monkeypatch.setenv("GRIDFLOW_PROCESSES", str(_folder(tmp_path)))
    calendar = configured_calendar()
    assert calendar.is_working_day(saturday)
    assert not calendar.is_working_day(wednesday)
    assert not calendar.is_working_day(date(2027, 2, 8))  # the Spring Festival break
    # a standard of one working day started on Friday evening falls due on the make-up
    # Saturday's working hours, not on Monday
    friday_evening = datetime(2027, 2, 19, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    due = calendar.add(friday_evening, timedelta(hours=7), "working")
    assert calendar.to_local(due).date() == saturday


def test_2026_as_declared_is_the_state_councils_arrangement() -> None:
    calendar = company_calendar.load(PROCESSES / "calendar.yaml")
    year = calendar.declared[2026]
    assert sorted(year.workdays) == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    assert date(2026, 2, 23) in year.holidays and date(2026, 10, 7) in year.holidays
    assert calendar.pending == frozenset({2027})


def test_lint_names_each_bad_date_of_the_calendar(tmp_path: Path) -> None:
    bad = """
  2027:
    published: true
    holidays:
      - {from: 2027-02-30, to: 2027-03-01, name: 春节}
      - {from: 2028-01-01, to: 2028-01-01, name: 元旦}
      - {from: 2027-05-01, to: 2027-05-03, name: 劳动节}
    workdays: [2027-05-02, 2027-06-31]
"""
    folder = _folder(tmp_path, bad)
    path = folder / "calendar.yaml"
    result = CliRunner().invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    text = path.read_text(encoding="utf-8").splitlines()

    def line_of(fragment: str) -> int:
        return next(n for n, t in enumerate(text, 1) if fragment in t)

    calendar_problems = [line for line in result.stdout.splitlines() if "calendar.yaml" in line]
    assert calendar_problems == [
        f"{path}:{line_of('2027-02-30')}: [2027] holiday '春节': 'from' and 'to' must be dates",
        f"{path}:{line_of('2028-01-01')}: [2027] holiday '元旦': 2028-01-01 is not in 2027",
        f"{path}:{line_of('workdays: [2027')}: [2027] 2027-05-02 is both a holiday and a make-up "
        "working day",
        f"{path}:{line_of('workdays: [2027')}: [2027] make-up working day '2027-06-31' is not a date",
    ]


def test_lint_and_serve_warn_while_the_coming_year_is_not_declared(tmp_path: Path) -> None:
    shipped = company_calendar.coming_year_warning(PROCESSES / "calendar.yaml", date(2026, 12, 1))
    assert shipped == (
        f"{PROCESSES / 'calendar.yaml'}: 2027 is not declared yet: the State Council's notice "
        "on the 2027 holidays is not published (or not entered); until it is, 2027 follows "
        "the holidays package, without make-up working days"
    )
    declared = _folder(tmp_path) / "calendar.yaml"
    assert company_calendar.coming_year_warning(declared, date(2026, 12, 1)) is None
    assert "2028 is not declared:" in (
        company_calendar.coming_year_warning(declared, date(2027, 1, 4)) or ""
    )
    result = CliRunner().invoke(main, ["lint", str(PROCESSES)])
    assert result.exit_code == 0, result.output
    coming = datetime.now(UTC).year + 1
    expected = company_calendar.coming_year_warning(
        PROCESSES / "calendar.yaml", date(coming - 1, 12, 1)
    )
    if expected is not None:
        assert f"warning: {expected}" in result.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_admin_page_warns_while_the_coming_year_is_not_declared(
    rt: Runtime, app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    rt.clock.advance(datetime(2026, 12, 1, 2, 0, tzinfo=UTC) - rt.clock.now())  # type: ignore[attr-defined]
    users.create_user(rt, "admin1", STAFF_PASSWORD, ["admin"])
    admin = app.test_client()
    login(admin, "admin1")
    monkeypatch.setenv("GRIDFLOW_PROCESSES", str(PROCESSES))
    page = admin.get("/admin/sign-ins")
    assert 'id="calendar-warning"' in page.text
    assert "does not declare 2027 yet" in page.text
    monkeypatch.setenv("GRIDFLOW_PROCESSES", str(_folder(tmp_path)))
    assert 'id="calendar-warning"' not in admin.get("/admin/sign-ins").text
