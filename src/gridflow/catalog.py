"""Deploying process definitions: each changed file becomes the next version of its process;
the same content again changes nothing. Running instances keep the version they started on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from gridflow import definitions
from gridflow.definitions import ProcessDefinition
from gridflow.errors import DefinitionError
from gridflow.models import Definition
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


def deploy_paths(rt: Runtime, paths: Iterable[Path], actor: str) -> list[Deployment]:
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
    return deploy(rt, parsed, actor)


def deploy(rt: Runtime, parsed: Iterable[ProcessDefinition], actor: str) -> list[Deployment]:
    result = []
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
                deployed_at=rt.clock.now(),
                deployed_by=actor,
            )
            session.add(row)
            session.flush()
            result.append(Deployment(definition.process_id, row.version, row.id, True))
    return result
