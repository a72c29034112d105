"""What every verb needs: the database, the engine, the clock, the calendar, the roles and the
definitions deployed so far (parsed once per process, cached by version)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from gridflow import company_calendar, definitions
from gridflow.clock import Clock, SystemClock
from gridflow.database import Database
from gridflow.decision_catalog import StoredDecisions
from gridflow.definitions import ProcessDefinition
from gridflow.engine import Engine, EngineError
from gridflow.errors import ConfigurationError, DefinitionError, NotFoundError
from gridflow.labels import EMPTY, LabelBook, read_xml
from gridflow.models import DecisionDefinition, Definition
from gridflow.roles import RoleBook
from gridflow.working_time import WorkingCalendar, WorkingHours

DEFAULT_PROCESSES = Path("processes")


def processes_dir() -> Path:
    return Path(os.environ.get("GRIDFLOW_PROCESSES", str(DEFAULT_PROCESSES)))


def load_roles(path: Path | None = None) -> RoleBook:
    return RoleBook.load(path or processes_dir() / "roles.yaml")


def configured_calendar() -> WorkingCalendar:
    """The working-day calendar from GRIDFLOW_TIMEZONE and GRIDFLOW_WORKING_HOURS
    (defaults: Asia/Shanghai, 09:00-12:00,13:30-17:30), with the years the processes
    folder's calendar.yaml declares."""
    hours = os.environ.get("GRIDFLOW_WORKING_HOURS")
    declared = company_calendar.load(processes_dir() / company_calendar.CALENDAR_FILE).declared
    try:
        return WorkingCalendar(
            timezone=os.environ.get("GRIDFLOW_TIMEZONE", "Asia/Shanghai"),
            hours=WorkingHours.parse(hours) if hours else WorkingHours(),
            declared=declared,
        )
    except ValueError as exc:
        raise ConfigurationError(f"working calendar settings: {exc}") from exc


_LATEST = (
    select(Definition.id, Definition.version)
    .where(Definition.process_id == bindparam("process_id"))
    .order_by(Definition.version.desc())
    .limit(1)
)


@dataclass(frozen=True)
class Deployed:
    """A deployed version: its row id, its version number and its parsed definition."""

    definition_id: int
    version: int
    definition: ProcessDefinition


@dataclass
class Runtime:
    db: Database
    clock: Clock
    calendar: WorkingCalendar
    roles: RoleBook
    engine: Engine = field(init=False)
    decisions: StoredDecisions = field(init=False)
    _definitions: dict[int, ProcessDefinition] = field(default_factory=dict, init=False)
    # Labels in every language, by version (a version's file never changes).
    _labels: dict[tuple[str, int], LabelBook] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.decisions = StoredDecisions(self.db)
        self.engine = Engine(self.clock, self.calendar, self.decisions)

    @classmethod
    def create(
        cls,
        url: str | None = None,
        clock: Clock | None = None,
        calendar: WorkingCalendar | None = None,
        roles: RoleBook | None = None,
        read_url: str | None = None,
    ) -> Runtime:
        """A runtime on the database URL (GRIDFLOW_DATABASE_URL when None), with audit, export
        and report reads on `read_url` (GRIDFLOW_READ_DATABASE_URL) when given."""
        return cls(
            db=Database(url, read_url),
            clock=clock or SystemClock(),
            calendar=calendar or configured_calendar(),
            roles=roles or load_roles(),
        )

    def definition(self, definition_id: int) -> ProcessDefinition:
        """The parsed definition of a deployed version (parsed once, then cached)."""
        cached = self._definitions.get(definition_id)
        if cached is not None:
            return cached
        with self.db.read() as session:
            row = session.get(Definition, definition_id)
            if row is None:
                raise NotFoundError(f"definition {definition_id} does not exist")
            try:
                parsed = definitions.parse_deployed(row.bpmn_xml, row.file_name, self.roles)
            except DefinitionError as exc:
                # A stored version that cannot run (forced past the lint, or refused by a newer
                # SpiffWorkflow): the verb fails naming the element, as an engine error does.
                first = exc.problems[0] if exc.problems else None
                raise EngineError(
                    first.element_id if first else None,
                    f"version {row.version} of {row.process_id!r} cannot run: "
                    + (first.message if first else str(exc)),
                ) from exc
        with self._lock:
            self._definitions[definition_id] = parsed
        return parsed

    def labels(self, definition_id: int) -> LabelBook:
        """The labels of a deployed process version in every language (read once, cached)."""
        return self._label_book("process", definition_id)

    def decision_labels(self, decision_definition_id: int) -> LabelBook:
        """The labels of a deployed decision table version."""
        return self._label_book("decision", decision_definition_id)

    def _label_book(self, kind: str, row_id: int) -> LabelBook:
        cached = self._labels.get((kind, row_id))
        if cached is not None:
            return cached
        with self.db.read() as session:
            if kind == "process":
                xml = session.scalar(select(Definition.bpmn_xml).where(Definition.id == row_id))
            else:
                xml = session.scalar(
                    select(DecisionDefinition.dmn_xml).where(DecisionDefinition.id == row_id)
                )
        book = read_xml(xml) if xml else EMPTY
        with self._lock:
            self._labels[(kind, row_id)] = book
        return book

    def latest(self, process_id: str, connection: Connection | Session | None = None) -> Deployed:
        """The newest deployed version of a process, read on the caller's connection or
        session when given (so a start sees its own transaction)."""
        if connection is None:
            with self.db.snapshot() as own:
                row = own.execute(_LATEST, {"process_id": process_id}).first()
        else:
            row = connection.execute(_LATEST, {"process_id": process_id}).first()
        if row is None:
            raise NotFoundError(f"process {process_id!r} is not deployed")
        return Deployed(row.id, row.version, self.definition(row.id))
