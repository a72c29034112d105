"""The `gridflow` group itself: the --database option every command shares, the runtime it
opens, the warnings and printing helpers the commands share, and run(), the console script."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gridflow.errors import GridflowError
from gridflow.labels.commands import translations
from gridflow.runtime import Runtime


def _runtime(database: str | None) -> Runtime:
    return Runtime.create(url=database)


database_option = click.option(
    "--database",
    envvar="GRIDFLOW_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (default: GRIDFLOW_DATABASE_URL or sqlite:///gridflow.db).",
)


@click.group()
@click.version_option(package_name="gridflow")
def main() -> None:
    """gridflow: customer-centred business processes for a power grid company."""


main.add_command(translations)


def _warn_coming_year(folder: Path) -> None:
    """Warn (on stderr) when the company calendar does not declare next year yet."""
    from gridflow import company_calendar
    from gridflow.clock import SystemClock
    from gridflow.runtime import configured_calendar

    today = configured_calendar().local_date(SystemClock().now())
    warning = company_calendar.coming_year_warning(folder / company_calendar.CALENDAR_FILE, today)
    if warning:
        click.echo(f"warning: {warning}", err=True)


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        main()
    except GridflowError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        hint = (
            " (run `gridflow init-db` first)"
            if "no such table" in reason or ("does not exist" in reason and "relation" in reason)
            else ""
        )
        click.echo(f"error: database: {reason}{hint}", err=True)
        sys.exit(2)
