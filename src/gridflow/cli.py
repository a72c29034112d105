"""The `gridflow` command: database, lint, deploy, demo data, statistics and the summary table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import select

from gridflow import catalog, definitions
from gridflow.errors import DefinitionError, GridflowError, NotFoundError
from gridflow.labels.commands import translations
from gridflow.runtime import Runtime, load_roles, processes_dir


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


@main.command("init-db")
@database_option
def init_db(database: str | None) -> None:
    """Create or upgrade the database schema."""
    rt = _runtime(database)
    rt.db.migrate()
    click.echo(f"database ready: {_safe_url(rt.db.url)}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--roles",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Roles file (default: processes/roles.yaml).",
)
def lint(paths: tuple[Path, ...], roles: Path | None) -> None:
    """Check BPMN and DMN files (and a folder's rules.yaml, packages.yaml and calendar.yaml), and
    that every label has its translations; one line per problem, exit status 1 when there is any."""
    from gridflow import company_calendar, linkage, packages, rules
    from gridflow.labels import lint as label_lint

    book = load_roles(roles)
    results = definitions.lint_paths(paths, book)
    for folder in (p for p in paths if p.is_dir() and (p / rules.RULES_FILE).exists()):
        path = folder / rules.RULES_FILE
        try:
            text = rules.read(path)
        except DefinitionError as exc:
            results[path] = exc.problems
            continue
        results[path] = rules.lint(text, str(path), linkage.catalogue_for(folder, book))
    for folder in (p for p in paths if p.is_dir() and (p / packages.PACKAGES_FILE).exists()):
        known = frozenset(linkage.catalogue_for(folder, book).processes)
        results[folder / packages.PACKAGES_FILE] = packages.lint(
            folder / packages.PACKAGES_FILE, known
        )
    for folder in (p for p in paths if p.is_dir()):
        calendar_path = folder / company_calendar.CALENDAR_FILE
        if calendar_path.is_file():
            results[calendar_path] = company_calendar.read(calendar_path)[1]
        _warn_coming_year(folder)
    # every label in every language (docs/translations.md)
    for path, untranslated in label_lint.lint_paths(paths).items():
        results.setdefault(path, []).extend(untranslated)
    problems = [p for found in results.values() for p in found]
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(results)} file(s) checked, {len(problems)} problem(s)", err=True)
    sys.exit(1 if problems else 0)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@database_option
@click.option("--actor", default="cli", help="Who deploys (recorded with the version).")
@click.option(
    "--rollback",
    "rollback_process",
    metavar="PROC",
    default=None,
    help="Make an older version of process PROC the newest again (with --to N).",
)
@click.option("--to", "to_version", type=int, default=None, help="The version to roll back to.")
def deploy(
    paths: tuple[Path, ...],
    database: str | None,
    actor: str,
    rollback_process: str | None,
    to_version: int | None,
) -> None:
    """Deploy BPMN and DMN files: changed content becomes the next version, the newest
    version's content again is a no-op, an older version's content again is a rollback. Or roll
    back without a file: `gridflow deploy --rollback PROC --to N`."""
    if rollback_process is not None:
        if paths or to_version is None:
            raise click.UsageError("--rollback PROC takes --to N and no files")
    elif not paths or to_version is not None:
        raise click.UsageError(
            "give the BPMN or DMN files or folders to deploy (--to goes with --rollback)"
        )
    rt = _runtime(database)
    try:
        if rollback_process is not None:
            assert to_version is not None
            deployments: list[object] = [catalog.rollback(rt, rollback_process, to_version, actor)]
        else:
            tables, processes = catalog.deploy_all(rt, paths, actor)
            deployments = [*tables, *processes]
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo("nothing deployed", err=True)
        sys.exit(1)
    except NotFoundError as exc:
        click.echo(f"{exc}; nothing deployed", err=True)
        sys.exit(1)
    for deployment in deployments:
        click.echo(str(deployment))


@main.command()
@click.argument("process_id")
@click.option("--from", "from_version", type=int, required=True, help="Version to move from.")
@click.option("--to", "to_version", type=int, required=True, help="Version to move to.")
@click.option("--instance", "instance_ids", type=int, multiple=True, help="Only these instances.")
@click.option("--move", is_flag=True, help="Move the movable ones (default: a dry run).")
@click.option("--actor", default="cli", help="Who moves them (recorded with each move).")
@database_option
def migrate(
    process_id: str,
    from_version: int,
    to_version: int,
    instance_ids: tuple[int, ...],
    move: bool,
    actor: str,
    database: str | None,
) -> None:
    """Move running instances to another version: a dry run unless --move."""
    from gridflow import migration, versions
    from gridflow.roles import Actor

    rt = _runtime(database)
    try:
        process = versions.process(rt, process_id)
        source = process.version(from_version).definition_id
        target = process.version(to_version).definition_id
        plan = migration.dry_run(rt, source, target, instance_ids or None)
        if move:
            movable = [c.instance_id for c in plan if c.movable]
            moved = {
                c.instance_id: c
                for c in migration.migrate(rt, source, target, movable, Actor(actor))
            }
            plan = [moved.get(c.instance_id, c) for c in plan]
    except GridflowError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for candidate in plan:
        verdict = "moved" if candidate.moved else "can move" if candidate.movable else "stays"
        why = f": {'; '.join(candidate.reasons)}" if candidate.reasons else ""
        click.echo(f"instance {candidate.instance_id} {candidate.business_key} {verdict}{why}")


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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace existing diagram information.")
def layout(files: tuple[Path, ...], replace: bool) -> None:
    """Add diagram information (BPMNDI) to BPMN files that have none."""
    from gridflow.layout import layout_file

    for path in files:
        changed = layout_file(path, replace=replace)
        click.echo(f"{path}: {'laid out' if changed else 'unchanged (has a diagram)'}")


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


@main.command()
def roles() -> None:
    """List role ids (from the roles file) with their department and side."""
    book = load_roles()
    for role in book.roles.values():
        click.echo(f"{role.id:<18} {role.side:<11} {role.department.id:<20} {role.name}")


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "role_ids", multiple=True, required=True, help="Role id (repeatable).")
@click.option("--display-name", default="", help="Name shown on pages.")
@click.option("--display-name-zh", default="", help="Name shown on Chinese pages.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    help="For integration accounts: event:<type> or topic:<topic> (repeatable).",
)
@database_option
def user_add(
    name: str,
    password: str,
    role_ids: tuple[str, ...],
    display_name: str,
    display_name_zh: str,
    grants: tuple[str, ...],
    database: str | None,
) -> None:
    """Create a user: gridflow user add NAME --password P --role ROLE [--role ROLE…]
    [--grant event:TYPE --grant topic:TOPIC …]."""
    from gridflow.users import UserError, create_user

    rt = _runtime(database)
    try:
        _check_event_grants(rt, grants)
        staff = create_user(
            rt,
            name,
            password,
            role_ids,
            display_name=display_name,
            display_name_zh=display_name_zh,
            grants=grants,
        )
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    granted = f"; grants {', '.join(sorted(staff.grants))}" if staff.grants else ""
    click.echo(f"created {staff.username} with roles {', '.join(sorted(staff.roles))}{granted}")


def _check_event_grants(rt: Runtime, grants: tuple[str, ...]) -> None:
    """An event grant must name an event type of the linkage rules (a typo grants nothing)."""
    from gridflow import linkage, rules
    from gridflow.users import UserError

    events = [g.split(":", 1)[1] for g in grants if g.startswith("event:")]
    if not events or not (processes_dir() / rules.RULES_FILE).exists():
        return
    book = linkage.rulebook(rt.roles)
    unknown = [e for e in events if e not in book.events or book.events[e].internal]
    if unknown:
        known = ", ".join(sorted(n for n, e in book.events.items() if not e.internal))
        raise UserError(f"no event type {', '.join(unknown)} to post; known: {known}")


@user.command("list")
@database_option
def user_list(database: str | None) -> None:
    """List users, their roles and grants; disabled accounts are marked."""
    from gridflow.models import User
    from gridflow.users import list_users

    rt = _runtime(database)
    with rt.db.read() as session:
        active = dict(session.execute(select(User.username, User.active)).all())
    for staff in list_users(rt):
        grants = f"  [{', '.join(sorted(staff.grants))}]" if staff.grants else ""
        off = "  (disabled)" if not active.get(staff.username, True) else ""
        click.echo(f"{staff.username:<20} {', '.join(sorted(staff.roles))}{grants}{off}")


@user.command("grant")
@click.argument("name")
@click.argument("grants", nargs=-1, required=True)
@database_option
def user_grant(name: str, grants: tuple[str, ...], database: str | None) -> None:
    """Let an integration account post an event type or serve a topic:
    gridflow user grant NAME event:outage_alarm topic:meter_order."""
    from gridflow.users import UserError, change_grants

    rt = _runtime(database)
    try:
        _check_event_grants(rt, grants)
        staff = change_grants(rt, name, add=grants)
    except (UserError, NotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{staff.username}: {', '.join(sorted(staff.grants)) or 'no grants'}")


@user.command("revoke")
@click.argument("name")
@click.argument("grants", nargs=-1, required=True)
@database_option
def user_revoke(name: str, grants: tuple[str, ...], database: str | None) -> None:
    """Take grants away from an integration account (effective on its next request)."""
    from gridflow.users import UserError, change_grants

    try:
        staff = change_grants(_runtime(database), name, remove=grants)
    except (UserError, NotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{staff.username}: {', '.join(sorted(staff.grants)) or 'no grants'}")


@user.command("disable")
@click.argument("name")
@database_option
def user_disable(name: str, database: str | None) -> None:
    """Disable an account: it cannot sign in, and its sessions and tokens end at once."""
    from gridflow.users import disable

    try:
        ended = disable(_runtime(database), name)
    except NotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"disabled {name}; ended {ended} session(s) and token(s)")


@user.command("enable")
@click.argument("name")
@database_option
def user_enable(name: str, database: str | None) -> None:
    """Let a disabled account sign in again (its old sessions and tokens stay ended)."""
    from gridflow.users import enable

    try:
        enable(_runtime(database), name)
    except NotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"enabled {name}")


@main.group()
def token() -> None:
    """API bearer tokens (made with POST /api/tokens; shown only then)."""


@token.command("list")
@click.option("--user", "username", default=None, help="Only this account's tokens.")
@database_option
def token_list(username: str | None, database: str | None) -> None:
    """Tokens with their account, times and state (never the token itself)."""
    from gridflow import tokens

    rt = _runtime(database)
    now = rt.clock.now()
    for info in tokens.listed(rt, username):
        state = (
            "revoked"
            if info.revoked
            else "expired"
            if info.expires_at <= now
            else f"valid until {info.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        used = f", last used {info.last_used_at:%Y-%m-%d %H:%M} UTC" if info.last_used_at else ""
        click.echo(
            f"{info.id:>6} {info.username:<20} made {info.created_at:%Y-%m-%d %H:%M} UTC, "
            f"{state}{used}"
        )


@token.command("revoke")
@click.option("--user", "username", default=None, help="Revoke every token of this account.")
@click.option("--id", "token_id", type=int, default=None, help="Revoke this token (see list).")
@database_option
def token_revoke(username: str | None, token_id: int | None, database: str | None) -> None:
    """Revoke tokens: they stop working at once, on every app process."""
    from gridflow import tokens

    if (username is None) == (token_id is None):
        raise click.UsageError("give --user NAME or --id N")
    rt = _runtime(database)
    try:
        if username is not None:
            click.echo(f"revoked {tokens.revoke_all(rt, username)} token(s) of {username}")
        else:
            assert token_id is not None
            tokens.revoke_id(rt, token_id)
            click.echo(f"revoked token {token_id}")
    except NotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


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


main.add_command(translations)


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


if __name__ == "__main__":
    run()
