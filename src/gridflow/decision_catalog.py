"""Deployed DMN decisions: deploying .dmn files (each changed file makes the next version of
each decision in it; the same content again changes nothing), checking and recording what
process versions refer to, and resolving a business-rule task's decision at run time with
Camunda's bindings.

Bindings (`camunda:decisionRefBinding`):
- `latest` (the default): the newest deployed version when the task runs;
- `version`: the version `camunda:decisionRefVersion` names;
- `deployment`: the version that was newest when the calling process version was deployed.
  A folder deploy (`gridflow deploy processes/`) deploys its .dmn files first in the same
  transaction, so a process deployed with its tables binds exactly those; a process version
  keeps its binding when tables are changed and redeployed later. This is Camunda's
  "resources deployed together" read for gridflow's per-file versions.

A decision is parsed once per version and kept (versions never change), like
`Runtime.definition` keeps process definitions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from gridflow.database import Database
from gridflow.decisions import Decision, DecisionFile, parse_dmn
from gridflow.decisions import content_hash as dmn_hash
from gridflow.definitions import ProcessDefinition
from gridflow.definitions.decision_task import DecisionRef
from gridflow.errors import DefinitionError, NotFoundError, Problem
from gridflow.models import DecisionBinding, DecisionDefinition, DecisionDeployRecord, Definition

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext


@dataclass(frozen=True)
class DecisionDeployment:
    decision_id: str
    version: int
    row_id: int
    created: bool  # False when the same content was already deployed

    def __str__(self) -> str:
        verb = "deployed" if self.created else "unchanged"
        return f"decision {self.decision_id} v{self.version} {verb}"


def deploy_files(
    session: Session, files: Iterable[DecisionFile], actor: str, channel: str, now: datetime
) -> list[DecisionDeployment]:
    """Deploy linted .dmn files in the caller's transaction, recording each request."""
    result = []
    for parsed in files:
        digest = dmn_hash(parsed.xml)
        for decision in parsed.decisions.values():
            existing = session.scalar(
                select(DecisionDefinition).where(
                    DecisionDefinition.decision_id == decision.id,
                    DecisionDefinition.content_hash == digest,
                )
            )
            if existing is not None:
                session.add(_record(existing, False, channel, actor, now))
                result.append(DecisionDeployment(decision.id, existing.version, existing.id, False))
                continue
            latest = session.scalar(
                select(func.max(DecisionDefinition.version)).where(
                    DecisionDefinition.decision_id == decision.id
                )
            )
            row = DecisionDefinition(
                decision_id=decision.id,
                version=(latest or 0) + 1,
                name=decision.name,
                file_name=Path(parsed.file).name,
                content_hash=digest,
                dmn_xml=parsed.xml,
                deployed_at=now,
                deployed_by=actor,
            )
            session.add(row)
            session.flush()
            session.add(_record(row, True, channel, actor, now))
            result.append(DecisionDeployment(decision.id, row.version, row.id, True))
    return result


def _record(
    row: DecisionDefinition, created: bool, channel: str, actor: str, at: datetime
) -> DecisionDeployRecord:
    return DecisionDeployRecord(
        decision_row_id=row.id,
        decision_id=row.decision_id,
        version=row.version,
        created=created,
        channel=channel,
        actor=actor,
        at=at,
    )


def check_references(session: Session, definition: ProcessDefinition) -> list[Problem]:
    """What a process refers to that the store lacks: a decision never deployed, or a
    bound version that does not exist."""
    problems = []
    for element_id, reference in definition.decision_refs.items():
        versions = set(
            session.scalars(
                select(DecisionDefinition.version).where(
                    DecisionDefinition.decision_id == reference.decision_id
                )
            )
        )
        if not versions:
            problems.append(
                Problem(
                    definition.file,
                    None,
                    element_id,
                    f"decision {reference.decision_id!r} is not deployed: deploy its .dmn file "
                    "first (or with the process, from one folder)",
                )
            )
        elif reference.binding == "version" and reference.version not in versions:
            problems.append(
                Problem(
                    definition.file,
                    None,
                    element_id,
                    f"decision {reference.decision_id!r} has no version {reference.version} "
                    f"(deployed: {', '.join(str(v) for v in sorted(versions))})",
                )
            )
    return problems


def bind(session: Session, definition_row_id: int, definition: ProcessDefinition) -> None:
    """Record, for a new process version, the newest version of each decision it names."""
    for element_id, reference in definition.decision_refs.items():
        row_id = session.scalar(
            select(DecisionDefinition.id)
            .where(DecisionDefinition.decision_id == reference.decision_id)
            .order_by(DecisionDefinition.version.desc())
            .limit(1)
        )
        if row_id is None:
            raise DefinitionError(check_references(session, definition))
        session.add(
            DecisionBinding(
                definition_id=definition_row_id,
                element_id=element_id,
                decision_id=reference.decision_id,
                decision_row_id=row_id,
            )
        )


_LATEST = (
    select(DecisionDefinition.id)
    .where(DecisionDefinition.decision_id == bindparam("decision_id"))
    .order_by(DecisionDefinition.version.desc())
    .limit(1)
)
_VERSION = select(DecisionDefinition.id).where(
    DecisionDefinition.decision_id == bindparam("decision_id"),
    DecisionDefinition.version == bindparam("version"),
)
_BOUND = (
    select(DecisionBinding.decision_row_id)
    .join(Definition, Definition.id == DecisionBinding.definition_id)
    .where(
        Definition.process_id == bindparam("process_id"),
        Definition.content_hash == bindparam("content_hash"),
        DecisionBinding.element_id == bindparam("element_id"),
    )
)


@dataclass
class StoredDecisions:
    """Resolves a business-rule task's decision in the store (what the engine asks for)."""

    db: Database
    _parsed: dict[int, Decision] = field(default_factory=dict, init=False)
    _fixed: dict[tuple[object, ...], int] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def decision(
        self, reference: DecisionRef, process: ProcessDefinition, element_id: str
    ) -> Decision:
        """The decision a task of `process` runs, or NotFoundError saying which is missing."""
        row_id = self._row_id(reference, process, element_id)
        return self.parsed(row_id, reference.decision_id)

    def _row_id(self, reference: DecisionRef, process: ProcessDefinition, element_id: str) -> int:
        if reference.binding == "latest":
            with self.db.snapshot() as connection:
                row_id = connection.execute(
                    _LATEST, {"decision_id": reference.decision_id}
                ).scalar()
            if row_id is None:
                raise NotFoundError(f"decision {reference.decision_id!r} is not deployed")
            return int(row_id)
        # version and deployment bindings never change once found: resolve them once.
        key: tuple[object, ...]
        if reference.binding == "version":
            key = ("version", reference.decision_id, reference.version)
        else:
            key = ("deployment", process.process_id, process.content_hash, element_id)
        cached = self._fixed.get(key)
        if cached is not None:
            return cached
        with self.db.snapshot() as connection:
            if reference.binding == "version":
                found = connection.execute(
                    _VERSION, {"decision_id": reference.decision_id, "version": reference.version}
                ).scalar()
                missing = f"decision {reference.decision_id!r} has no version {reference.version}"
            else:
                found = connection.execute(
                    _BOUND,
                    {
                        "process_id": process.process_id,
                        "content_hash": process.content_hash,
                        "element_id": element_id,
                    },
                ).scalar()
                missing = (
                    f"no version of decision {reference.decision_id!r} was bound when this "
                    "process version was deployed"
                )
        if found is None:
            raise NotFoundError(missing)
        with self._lock:
            self._fixed[key] = int(found)
        return int(found)

    def parsed(self, row_id: int, decision_id: str) -> Decision:
        """A deployed version's decision, parsed once."""
        cached = self._parsed.get(row_id)
        if cached is not None:
            return cached
        with self.db.read() as session:
            row = session.get(DecisionDefinition, row_id)
            if row is None:
                raise NotFoundError(f"decision version {row_id} does not exist")
            decision = parse_dmn(row.dmn_xml, row.file_name).decisions[decision_id]
        with self._lock:
            self._parsed[row_id] = decision
        return decision


# --- what designers see -----------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionVersion:
    row_id: int
    decision_id: str
    version: int
    name: str
    file_name: str
    content_hash: str
    deployed_at: datetime
    deployed_by: str


@dataclass(frozen=True)
class DecisionEntry:
    decision_id: str
    name: str
    versions: Sequence[DecisionVersion]  # newest first

    @property
    def latest(self) -> DecisionVersion:
        return self.versions[0]

    def version(self, number: int) -> DecisionVersion:
        for version in self.versions:
            if version.version == number:
                return version
        raise NotFoundError(
            gettext("decision %(decision)s has no version %(version)s"),
            decision=repr(self.decision_id),
            version=number,
        )


def catalog(db: Database) -> list[DecisionEntry]:
    """Every deployed decision with its versions, newest first, by name."""
    with db.read() as session:
        rows = session.execute(
            select(
                DecisionDefinition.id,
                DecisionDefinition.decision_id,
                DecisionDefinition.version,
                DecisionDefinition.name,
                DecisionDefinition.file_name,
                DecisionDefinition.content_hash,
                DecisionDefinition.deployed_at,
                DecisionDefinition.deployed_by,
            ).order_by(DecisionDefinition.decision_id, DecisionDefinition.version.desc())
        ).all()
    grouped: dict[str, list[DecisionVersion]] = {}
    for row in rows:
        grouped.setdefault(row.decision_id, []).append(
            DecisionVersion(
                row.id,
                row.decision_id,
                row.version,
                row.name,
                row.file_name,
                row.content_hash,
                row.deployed_at,
                row.deployed_by,
            )
        )
    entries = [DecisionEntry(d, versions[0].name, versions) for d, versions in grouped.items()]
    return sorted(entries, key=lambda e: e.name.casefold())


def entry(db: Database, decision_id: str) -> DecisionEntry:
    for found in catalog(db):
        if found.decision_id == decision_id:
            return found
    raise NotFoundError(
        gettext("decision %(decision)s is not deployed"), decision=repr(decision_id)
    )


def dmn_of(db: Database, row_id: int) -> tuple[str, bytes]:
    """The file name and exact bytes of a deployed decision version."""
    with db.read() as session:
        row = session.get(DecisionDefinition, row_id)
        if row is None:
            raise NotFoundError(f"decision version {row_id} does not exist")
        return row.file_name, row.dmn_xml


def parse_upload(xml: bytes, file_name: str) -> DecisionFile:
    """A .dmn upload linted as `gridflow lint` does; DefinitionError listing the problems."""
    return parse_dmn(xml, file_name)
