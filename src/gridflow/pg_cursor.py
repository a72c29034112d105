"""PostgreSQL through psycopg: the cursor gridflow's engines use, whose `description` costs
little.

SQLAlchemy reads `cursor.description` once for every statement that returns rows. psycopg
builds it afresh on every read, a `psycopg.Column` per column, each looking up its type's
details for display: about 4 us a column, so 100-130 us for a work item's row (29 columns),
more than the whole round trip to the server on a busy machine, and twice the CPU an SQLite
read of the same row costs altogether. Neither SQLAlchemy nor gridflow reads more than a
column's name and type OID, so this cursor gives each column as a named 7-tuple (DB-API 2.0's
shape: name, type_code, and five fields left None), built once per process for each set
of columns.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import psycopg
from psycopg import pq

# DB-API 2.0's description entry; psycopg's own leaves display_size and the others to be
# worked out from the type, which nothing here reads.
ColumnInfo = namedtuple(
    "ColumnInfo", "name type_code display_size internal_size precision scale null_ok"
)

_WITH_ROWS = frozenset(
    status
    for status in (
        pq.ExecStatus.TUPLES_OK,
        pq.ExecStatus.SINGLE_TUPLE,
        getattr(pq.ExecStatus, "TUPLES_CHUNK", None),
    )
    if status is not None
)


# The descriptions seen, by the connection's encoding and their columns' (name, type OID): a
# statement's description is the same at every run, so each is built once per process.
# Bounded: emptied when full.
_SEEN: dict[tuple[str, tuple[tuple[bytes | None, int], ...]], tuple[ColumnInfo, ...]] = {}
_SEEN_MAX = 4096


def _described(result: pq.abc.PGresult, encoding: str) -> tuple[ColumnInfo, ...]:
    columns = tuple((result.fname(i), result.ftype(i)) for i in range(result.nfields))
    key = (encoding, columns)
    found = _SEEN.get(key)
    if found is None:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        found = _SEEN[key] = tuple(
            ColumnInfo(
                (name or b"").decode(encoding) or f"column_{i + 1}",
                oid,
                None,
                None,
                None,
                None,
                None,
            )
            for i, (name, oid) in enumerate(columns)
        )
    return found


class PlainDescriptionCursor(psycopg.Cursor[Any]):
    """A client-side cursor whose `description` is a tuple of `ColumnInfo`, shared by every
    result with the same columns (psycopg makes a `Column` per column at every read)."""

    def __init__(self, *args: Any, **kwargs: Any):  # noqa: ANN401 - psycopg's own signature
        super().__init__(*args, **kwargs)
        self._described: pq.abc.PGresult | None = None
        self._description: tuple[ColumnInfo, ...] | None = None

    @property
    def description(self) -> tuple[ColumnInfo, ...] | None:  # type: ignore[override]
        result = self.pgresult
        if result is None:
            return None
        if result is not self._described:
            with_rows = result.nfields or result.status in _WITH_ROWS
            self._description = _described(result, self._encoding) if with_rows else None
            self._described = result
        return self._description
