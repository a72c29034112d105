"""Deploying process definitions: each changed file becomes the next version of its process;
the content of the newest version again changes nothing; the content of an older version
again makes it the newest version once more (a rollback). Running instances keep the version
they started on; new ones start on the newest. A folder's .dmn files are deployed with its
processes, in the same transaction (see `decision_catalog`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gridflow import decision_catalog, decisions, definitions
from gridflow.decision_catalog import DecisionDeployment
from gridflow.decisions import DecisionFile
from gridflow.definitions import ProcessDefinition
from gridflow.definitions.calls import call_problems
from gridflow.errors import ConflictError, DefinitionError, NotFoundError
from gridflow.models import Definition, DeployRecord
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext


@dataclass(frozen=True)
class Deployment:
    process_id: str
    version: int
    definition_id: int
    created: bool  # False when the content is the newest version's
    restores_version: int | None = None  # a rollback: the older version whose content it is

    def __str__(self) -> str:
        if self.restores_version is not None:
            return (
                f"{self.process_id} v{self.version} deployed: the content of "
                f"v{self.restores_version} again (rollback)"
            )
        verb = "deployed" if self.created else "unchanged"
        return f"{self.process_id} v{self.version} {verb}"


def deploy_paths(
    rt: Runtime, paths: Iterable[Path], actor: str, channel: str = "cli"
) -> list[Deployment]:
    """Deploy every BPMN and DMN file under the paths, all or nothing: one bad file deploys
    none. The processes' deployments (see `deploy_all` for the decisions' too)."""
    return deploy_all(rt, paths, actor, channel)[1]


def deploy_all(
    rt: Runtime, paths: Iterable[Path], actor: str, channel: str = "cli"
) -> tuple[list[DecisionDeployment], list[Deployment]]:
    """Deploy every BPMN and DMN file under the paths, all or nothing: one bad file deploys
    none. Decisions are deployed first, so processes deployed with them bind them."""
    paths = list(paths)
    tables: list[DecisionFile] = []
    problems = []
    for path in decisions.dmn_files(paths):
        try:
            tables.append(decisions.load_dmn(path))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    parsed: list[ProcessDefinition] = []
    for path in definitions.bpmn_files(paths):
        try:
            parsed.append(definitions.load(path, rt.roles))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionError(problems)
    return _deploy(rt, parsed, actor, channel, tables)


def deploy(
    rt: Runtime, parsed: Iterable[ProcessDefinition], actor: str, channel: str = "cli"
) -> list[Deployment]:
    """Deploy linted definitions in one transaction; each request is recorded with who, when
    and how (cli, upload, modeler, api), whether it made a new version or found the newest.
    A process naming a decision the store lacks deploys nothing.

    Only the newest version's content is "unchanged": the content of an older version makes a
    new version that repeats it (a rollback, recorded with the version it restores), so new
    demands start on it again.
    """
    return _deploy(rt, parsed, actor, channel, ())[1]


def deploy_decisions(
    rt: Runtime, tables: Iterable[DecisionFile], actor: str, channel: str = "cli"
) -> list[DecisionDeployment]:
    """Deploy linted .dmn files on their own (upload, the decision editor, the API)."""
    return _deploy(rt, (), actor, channel, tables)[0]


def _deploy(
    rt: Runtime,
    parsed: Iterable[ProcessDefinition],
    actor: str,
    channel: str,
    tables: Iterable[DecisionFile],
) -> tuple[list[DecisionDeployment], list[Deployment]]:
    """Two deploys of one process at once: the second to commit hits the unique version and
    is tried once more, now seeing the first (unchanged content, or the next version); if it
    still collides, ConflictError (409), never a server error."""
    parsed, tables = list(parsed), list(tables)
    try:
        return _deploy_once(rt, parsed, actor, channel, tables)
    except IntegrityError:
        try:
            return _deploy_once(rt, parsed, actor, channel, tables)
        except IntegrityError as exc:
            raise ConflictError(
                gettext("another deploy of the same process was being made; try again")
            ) from exc


def _deploy_once(
    rt: Runtime,
    parsed: list[ProcessDefinition],
    actor: str,
    channel: str,
    tables: list[DecisionFile],
) -> tuple[list[DecisionDeployment], list[Deployment]]:
    result = []
    now = rt.clock.now()
    with rt.db.write() as session:
        decided = decision_catalog.deploy_files(session, tables, actor, channel, now)
        problems = [p for d in parsed for p in decision_catalog.check_references(session, d)]
        # Callers and the processes they call, deployed together, must agree (camunda:in/out).
        batch = {d.process_id: d for d in parsed}
        problems += [p for d in parsed for p in call_problems(d, batch)]
        if problems:
            raise DefinitionError(problems)
        for definition in parsed:
            newest = session.scalar(
                select(Definition)
                .where(Definition.process_id == definition.process_id)
                .order_by(Definition.version.desc())
                .limit(1)
            )
            if newest is not None and newest.content_hash == definition.content_hash:
                result.append(Deployment(definition.process_id, newest.version, newest.id, False))
                session.add(_record(newest, False, channel, actor, now))
                continue
            restores = session.scalar(
                select(func.max(Definition.version)).where(
                    Definition.process_id == definition.process_id,
                    Definition.content_hash == definition.content_hash,
                )
            )
            row = Definition(
                process_id=definition.process_id,
                version=(newest.version if newest is not None else 0) + 1,
                name=definition.name,
                category=definition.category,
                content_hash=definition.content_hash,
                file_name=Path(definition.file).name,
                bpmn_xml=definition.xml,
                deployed_at=now,
                deployed_by=actor,
            )
            session.add(row)
            session.flush()
            decision_catalog.bind(session, row.id, definition)
            session.add(_record(row, True, channel, actor, now, restores))
            result.append(Deployment(definition.process_id, row.version, row.id, True, restores))
    return decided, result


def rollback(
    rt: Runtime, process_id: str, to_version: int, actor: str, channel: str = "cli"
) -> Deployment:
    """Make an older version the newest again: its content, linted as any deploy is, becomes
    the next version (or nothing changes when it is the newest's content already). New demands
    start on it; running instances keep their version. NotFoundError for an unknown version,
    DefinitionError when today's lint refuses that content."""
    with rt.db.read() as session:
        row = session.scalar(
            select(Definition).where(
                Definition.process_id == process_id, Definition.version == to_version
            )
        )
        if row is None:
            raise NotFoundError(
                gettext("process %(process)s has no version %(version)s"),
                process=repr(process_id),
                version=to_version,
            )
        xml, file_name = row.bpmn_xml, row.file_name
    definition = definitions.parse(xml, file_name, rt.roles)
    return deploy(rt, [definition], actor, channel)[0]


def _record(
    row: Definition,
    created: bool,
    channel: str,
    actor: str,
    at: datetime,
    restores_version: int | None = None,
) -> DeployRecord:
    return DeployRecord(
        definition_id=row.id,
        process_id=row.process_id,
        version=row.version,
        created=created,
        channel=channel,
        actor=actor,
        at=at,
        restores_version=restores_version,
    )
