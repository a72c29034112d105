"""Deploying process definitions: each changed file becomes the next version of its process;
the same content again changes nothing. Running instances keep the version they started on.
A folder's .dmn files are deployed with its processes, in the same transaction (see
`decision_catalog`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from gridflow import decision_catalog, decisions, definitions
from gridflow.decision_catalog import DecisionDeployment
from gridflow.decisions import DecisionFile
from gridflow.definitions import ProcessDefinition
from gridflow.errors import DefinitionError
from gridflow.models import Definition, DeployRecord
from gridflow.runtime import Runtime


@dataclass(frozen=True)
class Deployment:
    process_id: str
    version: int
    definition_id: int
    created: bool  # False when the same content was already deployed

    def __str__(self) -> str:
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
    and how (cli, upload, modeler, api), whether it made a new version or found one. A process
    naming a decision the store lacks deploys nothing."""
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
    parsed = list(parsed)
    result = []
    now = rt.clock.now()
    with rt.db.write() as session:
        decided = decision_catalog.deploy_files(session, tables, actor, channel, now)
        problems = [p for d in parsed for p in decision_catalog.check_references(session, d)]
        if problems:
            raise DefinitionError(problems)
        for definition in parsed:
            existing = session.scalar(
                select(Definition).where(
                    Definition.process_id == definition.process_id,
                    Definition.content_hash == definition.content_hash,
                )
            )
            if existing is not None:
                result.append(
                    Deployment(definition.process_id, existing.version, existing.id, False)
                )
                session.add(_record(existing, False, channel, actor, now))
                continue
            latest = session.scalar(
                select(func.max(Definition.version)).where(
                    Definition.process_id == definition.process_id
                )
            )
            row = Definition(
                process_id=definition.process_id,
                version=(latest or 0) + 1,
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
            session.add(_record(row, True, channel, actor, now))
            result.append(Deployment(definition.process_id, row.version, row.id, True))
    return decided, result


def _record(row: Definition, created: bool, channel: str, actor: str, at: datetime) -> DeployRecord:
    return DeployRecord(
        definition_id=row.id,
        process_id=row.process_id,
        version=row.version,
        created=created,
        channel=channel,
        actor=actor,
        at=at,
    )
