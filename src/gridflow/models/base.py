"""The declarative base every table is registered on, and the column types they share: UTC
times kept to the millisecond (`UTCDateTime`, `to_ms`) and ids (`Id`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, milliseconds kept, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: gridflow stores UTC only")
        value = value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def to_ms(moment: datetime) -> datetime:
    """A moment as storage keeps it (milliseconds), so in-memory values equal stored ones."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# BIGINT on PostgreSQL, INTEGER on SQLite (which only autoincrements INTEGER PRIMARY KEY).
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}
