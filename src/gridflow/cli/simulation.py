"""The demo: demands simulated through the real engine, and the stand-in systems that answer
the demo's external tasks."""

from __future__ import annotations

from pathlib import Path

import click

from gridflow.cli.base import database_option, main
from gridflow.runtime import processes_dir


@main.command()
@database_option
@click.option("--instances", "count", default=200, show_default=True, help="Demands to simulate.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same data).")
@click.option("--weeks", default=4, show_default=True, help="Weeks over which demands arrive.")
@click.option(
    "--processes",
    "processes_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Folder of BPMN files to deploy first (default: processes/).",
)
@click.option(
    "--leave-open",
    is_flag=True,
    help="Arrivals over the weeks before now; stop at now with work in flight.",
)
@click.option("--accounts", is_flag=True, help="Create the demo staff accounts.")
def demo(
    database: str | None,
    count: int,
    seed: int,
    weeks: int,
    processes_path: Path | None,
    leave_open: bool,
    accounts: bool,
) -> None:
    """Simulate demands arriving over weeks, run through the real engine on a simulated clock."""
    from gridflow.demo import demo_accounts_text, run_demo

    result = run_demo(
        database,
        instances=count,
        seed=seed,
        weeks=weeks,
        processes=processes_path or processes_dir(),
        progress=True,
        leave_open=leave_open,
        accounts=accounts,
    )
    click.echo(result.describe())
    if accounts:
        click.echo(demo_accounts_text())


@main.command("demo-worker")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="The server.")
@click.option("--username", default="integration1", show_default=True)
@click.option("--password", default="gridflow-demo", show_default=True)
@click.option("--seed", default=1, show_default=True, help="Random seed of the stand-ins.")
@click.option("--once", is_flag=True, help="Answer what is there now and exit.")
def demo_worker(url: str, username: str, password: str, seed: int, once: bool) -> None:
    """Serve external tasks as the demo's stand-in marketing, metering and finance systems,
    over the REST API (completing, failing, retrying, throwing business errors)."""
    from gridflow.demo_systems import StandInSystems
    from gridflow.demo_worker import Client, serve

    answered = serve(
        Client(url, username, password),
        StandInSystems(seed),
        once=once,
        say=lambda line: click.echo(f"demo-worker: {line}"),
    )
    click.echo(f"demo-worker: answered {answered} task(s)")
