"""What designers did (issue 5): deploy records of process versions, and running instances
moved from one version to another."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id


class DeployRecord(Base):
    """Who deployed what and when: one row per deploy request that named a version (a new
    one, or an existing one for unchanged content)."""

    __tablename__ = "deploy_records"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    created: Mapped[bool] = mapped_column(Boolean)  # False: the same content is the newest
    channel: Mapped[str] = mapped_column(String(20))  # cli | upload | modeler | api
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    # A rollback: the new version repeats this older version's content.
    restores_version: Mapped[int | None] = mapped_column(Integer)


class InstanceMigration(Base):
    """One running instance moved from one version of its process to another."""

    __tablename__ = "instance_migrations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
