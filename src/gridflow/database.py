"""Database access: the engine for the configured URL, sessions for reading and for writing,
and schema migrations (Alembic)."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, CursorResult, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from gridflow import partitions
from gridflow.errors import ConflictError

DEFAULT_URL = "sqlite:///gridflow.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url() -> str:
    """GRIDFLOW_DATABASE_URL, or the embedded SQLite file in the working folder."""
    return os.environ.get("GRIDFLOW_DATABASE_URL", DEFAULT_URL)


def read_database_url() -> str | None:
    """GRIDFLOW_READ_DATABASE_URL: a replica for audit, export and report reads, if set."""
    return os.environ.get("GRIDFLOW_READ_DATABASE_URL") or None


class Database:
    """One SQLAlchemy engine and its two kinds of session; a second engine on a read replica
    for the audit, export and report reads when a read URL is given (else they use the first).

    The read URL comes from GRIDFLOW_READ_DATABASE_URL only when the database URL comes from
    the environment too, so a database named in code never reads another one's replica."""

    def __init__(self, url: str | None = None, read_url: str | None = None, **engine_options: Any):
        if url is None and read_url is None:
            read_url = read_database_url()
        self.url = url or database_url()
        self.read_url = read_url
        self.is_sqlite = self.url.startswith("sqlite")
        self._writers = _WriterTurns() if self.is_sqlite else None
        self.engine: Engine = _engine(self.url, engine_options)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        if self.is_sqlite:
            _sqlite_setup(self.engine, self._writer, self._reader)
        # On PostgreSQL through psycopg, transactions run in pipeline mode unless
        # GRIDFLOW_PG_PIPELINE=0: 45% fewer round trips; on a quiet two-core machine 10-25%
        # more instances/s on PostgreSQL (bench/engine.py, issue 14).
        if os.environ.get("GRIDFLOW_PG_PIPELINE", "1").strip() != "0":
            self._pipelined = _pipeline_setup(self.engine)
        else:
            self._pipelined = False
        self.replica_engine: Engine = self.engine
        self._replica_reader = self._reader
        if read_url is not None and read_url != self.url:
            self.replica_engine = _engine(read_url, dict(engine_options))
            self._replica_reader = sessionmaker(self.replica_engine, expire_on_commit=False)
            if read_url.startswith("sqlite"):
                _sqlite_setup(self.replica_engine, None, self._replica_reader)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction that commits when the block ends and rolls back on any error.

        On SQLite it begins IMMEDIATE, so two writers queue instead of failing mid-way.
        """
        try:
            with self._write_turn(), self._writer() as session, session.begin():
                yield session
        except StaleDataError as exc:
            # A row's version moved under us: someone else saved first; we saved nothing.
            raise ConflictError("someone else changed this first; nothing was saved") from exc

    @contextmanager
    def transaction(self, *, pipeline: bool = True) -> Iterator[Connection]:
        """A write transaction on a bare connection, for SQLAlchemy Core statements: begun as
        `write` begins (IMMEDIATE on SQLite), committed when the block ends, rolled back on any
        error. The engine's verbs use it; they check row versions themselves. `pipeline=False`
        for a transaction that streams rows through a server-side cursor (PostgreSQL's
        pipeline mode cannot hold one)."""
        with self._write_turn(), self.engine.connect() as connection:
            if self._pipelined and pipeline:
                with _pipelined(connection):
                    yield connection
                return
            with connection.begin():
                if self.is_sqlite:
                    _sqlite_begin(connection, "BEGIN IMMEDIATE")
                yield connection

    @contextmanager
    def snapshot(self, *, replica: bool = False) -> Iterator[Connection]:
        """A read-only transaction on a bare connection, for Core SELECTs on hot paths; on the
        read replica with `replica=True` (audit, export, reports), when one is configured."""
        engine = self.replica_engine if replica else self.engine
        with engine.connect() as connection:
            # Not for the replica's reads: an export streams through a server-side cursor,
            # which pipeline mode cannot hold.
            if not replica and self._pipelined:
                # READ COMMITTED, PostgreSQL's level here: each statement reads a snapshot of
                # its own, in a transaction or not. Outside one, a read is one round trip per
                # statement instead of BEGIN with the first and a COMMIT to wait for at the
                # end (on an idle virtual machine a round trip costs 120-170 us).
                connection.execution_options(isolation_level="AUTOCOMMIT")
                yield connection
                return
            with connection.begin():
                if engine.dialect.name == "sqlite":
                    _sqlite_begin(connection, "BEGIN")
                yield connection

    @contextmanager
    def read(self, *, replica: bool = False) -> Iterator[Session]:
        """A read session; on the read replica with `replica=True` (audit, export, reports),
        when one is configured. What it reads may lag the primary by the replication delay."""
        with (self._replica_reader if replica else self._reader)() as session:
            yield session

    def _write_turn(self) -> AbstractContextManager[object]:
        return self._writers if self._writers is not None else nullcontext()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creating it on an empty database)."""
        with self.engine.begin() as connection:
            if self.is_sqlite:
                _sqlite_begin(connection, "BEGIN")
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            # The task events' monthly partitions around today (PostgreSQL).
            partitions.ensure(connection, datetime.now(UTC))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica_engine is not self.engine:
            self.replica_engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _engine(url: str, options: dict[str, Any]) -> Engine:
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 30})
    elif url.startswith("postgresql+psycopg:") or url.startswith("postgresql:"):
        from gridflow.pg_cursor import PlainDescriptionCursor

        connect_args = options.setdefault("connect_args", {})
        connect_args.setdefault("cursor_factory", PlainDescriptionCursor)
    return create_engine(url, **options)


def _sqlite_setup(
    engine: Engine, writer: sessionmaker[Session] | None, reader: sessionmaker[Session]
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver starts no transaction of its own: gridflow begins each one (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Sessions begin as they start a transaction on a connection, not through an engine event:
    # an engine with a listener of its own runs SQLAlchemy's event dispatch around every
    # statement of every connection.
    if writer is not None:

        @event.listens_for(writer, "after_begin")
        def _on_write_begin(_session: Session, _transaction: Any, connection: Connection) -> None:
            _sqlite_begin(connection, "BEGIN IMMEDIATE")

    @event.listens_for(reader, "after_begin")
    def _on_read_begin(_session: Session, _transaction: Any, connection: Connection) -> None:
        _sqlite_begin(connection, "BEGIN")


def _sqlite_begin(connection: Connection, statement: str) -> None:
    """BEGIN (IMMEDIATE for writers, so two writers queue instead of failing mid-way), unless
    the connection is in a transaction already (a savepoint's begin)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    if not driver.in_transaction:
        connection.exec_driver_sql(statement)


class _WriterTurns:
    """SQLite: this process's writers take turns on a lock before BEGIN IMMEDIATE.

    Without it, threads that find the database locked wait in SQLite's busy handler, which
    sleeps 1, 2, 5, 10, ... up to 100 ms between tries: measured with four threads on one
    process, a BEGIN IMMEDIATE waited 8 ms at the median, 138 ms at p95 and up to 0.7 s, while
    each write holds the lock for a few ms. A lock hands the turn over as soon as the writer
    before commits. Reentrant, as a verb may open a transaction inside its own; after
    `timeout` it goes on without its turn (the busy timeout applies, as before). Other
    processes on the same file still queue in the busy handler."""

    def __init__(self, timeout: float = 30.0):
        self._lock = threading.RLock()
        self._timeout = timeout
        self._held = threading.local()

    def __enter__(self) -> object:
        self._held.turns = getattr(self._held, "turns", [])
        self._held.turns.append(self._lock.acquire(timeout=self._timeout))
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._held.turns.pop():
            self._lock.release()


# --- PostgreSQL: a transaction's statements in psycopg's pipeline mode --------------------------

# An execution option: an UPDATE whose row count is checked with `expect_rows` need not be
# synced at once on PostgreSQL (the check runs at the next sync, before the COMMIT).
DEFER_ROWCOUNT = {"gridflow_defer_rowcount": True}


@dataclass
class _Pipelined:
    pipeline: Any
    # Row-count checks of deferred UPDATEs: (psycopg cursor, rows expected, the error).
    checks: list[tuple[Any, int, Callable[[], Exception]]] = field(default_factory=list)

    def sync(self) -> None:
        self.pipeline.sync()
        checks, self.checks = self.checks, []
        for cursor, expected, error in checks:
            if cursor.rowcount != expected:
                raise error()


# The pipeline each psycopg connection is in, while `transaction` or `snapshot` runs on it.
_PIPELINES: weakref.WeakKeyDictionary[Any, _Pipelined] = weakref.WeakKeyDictionary()


def expect_rows(result: CursorResult[Any], expected: int, error: Callable[[], Exception]) -> None:
    """Raise `error()` unless the statement changed `expected` rows: at once, or, for an
    UPDATE run with DEFER_ROWCOUNT in a pipelined transaction, at the next sync (before the
    COMMIT at the latest, so the transaction rolls back all the same)."""
    count = result.rowcount
    if count == -1:
        cursor = result.context.cursor
        state = _PIPELINES.get(cursor.connection)
        if state is not None:
            state.checks.append((cursor, expected, error))
            return
    if count != expected:
        raise error()


def _pipeline_setup(engine: Engine) -> bool:
    """On PostgreSQL through psycopg, `transaction` and `snapshot` run in pipeline mode (see
    `_pipelined`). Every statement that returns rows or changes rows is synced at once, so its
    rows, its row count and its errors are where SQLAlchemy and the verbs expect them; an
    INSERT whose result nobody reads (task events, waits, outbox rows) travels with the next
    statement or the COMMIT instead of a round trip of its own."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return False

    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:  # noqa: ANN401
        cursor.execute(statement, parameters)
        _sync_unless_deferred(cursor, context)
        return True

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:  # noqa: ANN401
        cursor.executemany(statement, parameters)
        _sync_unless_deferred(cursor, context)
        return True

    return True


def _sync_unless_deferred(cursor: Any, context: Any) -> None:  # noqa: ANN401 - psycopg, SQLAlchemy
    state = _PIPELINES.get(cursor.connection)
    if state is None:
        return
    compiled = context.compiled
    if context.isinsert and compiled is not None and not compiled.effective_returning:
        return  # nothing to read back: it goes with the next statement or the COMMIT
    if context.isupdate and context.execution_options.get("gridflow_defer_rowcount"):
        return  # its row count is checked at the next sync (expect_rows)
    state.sync()


@contextmanager
def _pipelined(connection: Connection) -> Iterator[None]:
    """One transaction on a psycopg connection in pipeline mode, begun and ended by gridflow:
    BEGIN travels with the first statement, and COMMIT with the INSERTs still queued, one round
    trip each instead of BEGIN, COMMIT and every INSERT alone. The driver is in autocommit
    mode for it (else psycopg would send BEGIN on a round trip of its own); COMMIT still waits
    for the server's flush, so nothing about durability changes. Any error rolls back."""
    connection.execution_options(isolation_level="AUTOCOMMIT")
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.pipeline() as pipeline:
            state = _PIPELINES[driver] = _Pipelined(pipeline)
            try:
                driver.execute("BEGIN")
                yield
                if state.checks:
                    state.sync()
                driver.execute("COMMIT")
            finally:
                _PIPELINES.pop(driver, None)
    except connection.dialect.loaded_dbapi.Error as exc:
        # Raised by the pipeline's last sync (a queued INSERT or the COMMIT failed): as
        # SQLAlchemy would have raised it (an IntegrityError for a unique key, ...).
        _rollback(driver)
        raise DBAPIError.instance(
            "COMMIT", None, exc, connection.dialect.loaded_dbapi.Error
        ) from exc
    except BaseException:
        _rollback(driver)
        raise


def _rollback(driver: Any) -> None:  # noqa: ANN401 - a psycopg connection
    """Roll back what the failed transaction left open (nothing to do if it never began)."""
    try:
        driver.rollback()
    except Exception:  # noqa: BLE001 - a broken connection: the pool discards it
        driver.close()
