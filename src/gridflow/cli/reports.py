"""Figures from the command line: counts, the per-link summary table, and the exports (task
events as XES or CSV, the per-link figures as CSV)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gridflow.cli.base import _runtime, database_option, main


@main.command()
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(database: str | None, as_json: bool) -> None:
    """Counts of instances by status, open work items and task events by lifecycle."""
    from gridflow.reports import counts

    figures = counts(_runtime(database))
    if as_json:
        click.echo(json.dumps(figures, indent=2, sort_keys=True))
        return
    for section, values in figures.items():
        click.echo(f"{section}:")
        for key, value in sorted(values.items()):
            click.echo(f"  {key:<20} {value}")


@main.command()
@database_option
def summary(database: str | None) -> None:
    """Per-link table: count, median waiting and handling time, share within standard."""
    from gridflow.reports import format_link_summary, link_summary

    click.echo(format_link_summary(link_summary(_runtime(database))))


@main.command("export")
@database_option
@click.option(
    "--format", "fmt", type=click.Choice(["xes", "csv"]), default="xes", show_default=True
)
@click.option(
    "--what",
    type=click.Choice(["events", "links"]),
    default="events",
    show_default=True,
    help="Task events (XES or CSV) or the per-link figures (CSV).",
)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--process", default=None, help="Process id.")
@click.option("--version", "version", type=int, default=None, help="Process version.")
@click.option("--since", default=None, help="First local day (YYYY-MM-DD).")
@click.option("--until", default=None, help="Last local day (YYYY-MM-DD), inclusive.")
@click.option("--department", default=None, help="Department id.")
@click.option("--person", default=None, help="User name of the person who acted.")
@click.option("--customer-category", default=None, help="residential, business, small_micro.")
def export_command(
    database: str | None,
    fmt: str,
    what: str,
    output: Path,
    **filters: str | int | None,
) -> None:
    """Export the task events as an XES or CSV event log, or the per-link figures as CSV."""
    from gridflow import export
    from gridflow.audit import AuditFilterError, parse_filter

    rt = _runtime(database)
    args = {("process" if k == "process" else k): v for k, v in filters.items()}
    try:
        flt = parse_filter({k: str(v) for k, v in args.items() if v is not None}, rt.calendar, None)
    except AuditFilterError as exc:
        raise click.UsageError(str(exc)) from exc
    if what == "links":
        if fmt != "csv":
            raise click.UsageError("the per-link figures export as CSV: use --format csv")
        with output.open("w", encoding="utf-8", newline="") as file:
            for chunk in export.links_csv(rt, flt):
                file.write(chunk)
        click.echo(f"wrote the per-link figures to {output}")
        return
    total = export.count_events(rt, flt, xes=fmt == "xes")
    writer = export.events_xes if fmt == "xes" else export.events_csv
    with (
        output.open("w", encoding="utf-8", newline="") as file,
        click.progressbar(length=total, label="task events") as bar,
    ):
        for chunk in writer(rt, flt, bar.update):
            file.write(chunk)
    click.echo(f"wrote {total} task events to {output} ({fmt.upper()})")
