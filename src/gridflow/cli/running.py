"""Running gridflow: create or upgrade the database, serve the web application, and the
worker's rounds (timers, dispatch, linkage, the notification outbox)."""

from __future__ import annotations

import click

from gridflow.cli.base import _runtime, _safe_url, _warn_coming_year, database_option, main
from gridflow.runtime import Runtime, processes_dir


@main.command("init-db")
@database_option
def init_db(database: str | None) -> None:
    """Create or upgrade the database schema."""
    rt = _runtime(database)
    rt.db.migrate()
    click.echo(f"database ready: {_safe_url(rt.db.url)}")


@main.command()
@database_option
@click.option(
    "--once", is_flag=True, help="Do what is due now (rounds until one finds nothing) and exit."
)
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.")
@click.option(
    "--lock-time",
    default=60.0,
    show_default=True,
    help="Seconds a claimed batch of timers stays this worker's; after that (the worker died)"
    " another worker takes it over.",
)
@click.option("--batch", default=100, show_default=True, help="Timers claimed at once.")
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve this worker's own Prometheus metrics (job durations) on this port.",
)
def worker(
    database: str | None,
    once: bool,
    interval: float,
    lock_time: float,
    batch: int,
    metrics_port: int | None,
) -> None:
    """Fire due timers, feed breached standards to the linkage rules and run dispatch rounds,
    round after round, beside any number of other workers on the same database. SIGTERM
    finishes the round in progress, then stops."""
    from datetime import timedelta

    from gridflow import logs
    from gridflow.worker import Worker

    if not 0.05 <= interval <= 3600 or not 1 <= lock_time <= 86400 or not 1 <= batch <= 10_000:
        raise click.UsageError(
            "--interval 0.05 to 3600 s, --lock-time 1 to 86400 s, --batch 1 to 10000"
        )
    logs.configure()
    rt = _runtime(database)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    looping = Worker(
        rt,
        interval=interval,
        lock_time=timedelta(seconds=lock_time),
        batch=batch,
        say=click.echo,
    )
    looping.on_signals()
    click.echo(f"worker {looping.worker_id} started", err=True)
    rounds = looping.run(once=once)
    click.echo(f"worker {looping.worker_id} stopped after {rounds} round(s)", err=True)


def work_round(rt: Runtime) -> list[str]:
    """One worker round (every job once), as `gridflow worker` runs it; what it did."""
    from gridflow.worker import Worker

    said: list[str] = []
    Worker(rt, worker_id="round", say=said.append).run_round()
    return said


def notify_round(rt: Runtime) -> list[str]:
    """Tell customers of links gone late, then deliver the outbox (SMTP and the SMS gateway
    as the environment configures them; messages of an unconfigured channel are held)."""
    import os

    from gridflow.notifications import delivery, senders, triggers

    said = []
    late = triggers.late_links(rt)
    if late:
        said.append(f"told customers of {late} late link(s)")
    done = delivery.deliver_all(rt, senders.from_environment(os.environ))
    if done.claimed:
        said.append(
            f"outbox: {done.sent} sent, {done.retrying} to retry, {done.failed} failed, "
            f"{done.held} held (no sender configured)"
        )
    return said


@main.command("notify-deliver")
@database_option
@click.option("--watch", type=float, default=None, help="Repeat every this many seconds.")
def notify_deliver(database: str | None, watch: float | None) -> None:
    """Deliver the notification outbox once (or every --watch seconds): late links are told,
    due messages are sent through SMTP / the SMS gateway and retried when they fail."""
    import time

    rt = _runtime(database)
    while True:
        for line in notify_round(rt):
            click.echo(line)
        if watch is None:
            return
        time.sleep(max(watch, 0.5))


@main.command()
@database_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--debug", is_flag=True, help="Reload on code changes (development only).")
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Also fire due timers and run dispatch rounds every 30 s in this process.",
)
def serve(database: str | None, host: str, port: int, debug: bool, worker: bool) -> None:
    """Run the web application (development server; see the README for gunicorn)."""
    import threading

    from gridflow.app import create_app

    app = create_app({"DATABASE_URL": database} if database else None)
    click.echo(f"gridflow is serving on http://{host}:{port}/ (Ctrl+C stops it)")
    _warn_coming_year(processes_dir())
    from gridflow.demo import DEMO_PASSWORD
    from gridflow.users import authenticate

    rt = app.extensions["gridflow"]
    if authenticate(rt, "desk1", DEMO_PASSWORD) is not None:
        from gridflow.demo import demo_accounts_text

        click.echo(demo_accounts_text())
    if worker:
        from gridflow.worker import Worker

        # A worker of its own beside the development server (production runs `gridflow worker`).
        beside = Worker(rt, interval=30, say=lambda line: click.echo(f"worker: {line}"))
        thread = threading.Thread(target=beside.run, name="worker", daemon=True)
        thread.start()
    app.run(host=host, port=port, debug=debug, threaded=True)
    if worker:  # Ctrl+C: the worker finishes its round and says it stopped
        beside.stop()
        thread.join(timeout=60)
