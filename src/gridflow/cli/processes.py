"""Process and decision files: lint, deploy (and roll back), move running instances to another
version, and lay out diagrams."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gridflow import catalog, definitions
from gridflow.cli.base import _runtime, _warn_coming_year, database_option, main
from gridflow.errors import DefinitionError, GridflowError, NotFoundError
from gridflow.runtime import load_roles


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
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace existing diagram information.")
def layout(files: tuple[Path, ...], replace: bool) -> None:
    """Add diagram information (BPMNDI) to BPMN files that have none."""
    from gridflow.layout import layout_file

    for path in files:
        changed = layout_file(path, replace=replace)
        click.echo(f"{path}: {'laid out' if changed else 'unchanged (has a diagram)'}")
