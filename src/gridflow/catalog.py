"""Deploying process definitions: each changed file becomes the next version of its process;
the same content again changes nothing. Running instances keep the version they started on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gridflow import definitions
from gridflow.definitions import ProcessDefinition
from gridflow.errors import ConflictError, DefinitionError
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
    """Deploy every BPMN file under the paths, all or nothing: one bad file deploys none."""
    files = definitions.bpmn_files(paths)
    parsed: list[ProcessDefinition] = []
    problems = []
    for path in files:
        try:
            parsed.append(definitions.load(path, rt.roles))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionError(problems)
    return deploy(rt, parsed, actor, channel)


def deploy(
    rt: Runtime, parsed: Iterable[ProcessDefinition], actor: str, channel: str = "cli"
) -> list[Deployment]:
    """Deploy linted definitions in one transaction; each request is recorded with who, when
    and how (cli, upload, modeler, api), whether it made a new version or found one.

    Two deploys of one process at once: the second to commit hits the unique version (or
    content) and is tried once more, now seeing the first; if it still collides, ConflictError.
    """
    definitions_ = list(parsed)
    try:
        return _deploy(rt, definitions_, actor, channel)
    except IntegrityError:
        try:
            return _deploy(rt, definitions_, actor, channel)
        except IntegrityError as exc:
            raise ConflictError(
                "another deploy of the same process was being made; try again"
            ) from exc


def _deploy(
    rt: Runtime, parsed: list[ProcessDefinition], actor: str, channel: str
) -> list[Deployment]:
    result = []
    now = rt.clock.now()
    with rt.db.write() as session:
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
            session.add(_record(row, True, channel, actor, now))
            result.append(Deployment(definition.process_id, row.version, row.id, True))
    return result


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
