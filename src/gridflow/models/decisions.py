"""DMN decisions (issue 10): deployed decision versions, who deployed them, and the decision
version each process version's business-rule tasks are bound to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridflow.models.base import Base, Id


class DecisionDefinition(Base):
    """One deployed version of one DMN decision (a table of a .dmn file; the whole file is kept,
    so a version can be downloaded and opened in Camunda Modeler or dmn-js as it was)."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("decision_id", "version", name="uq_decision_version"),
        UniqueConstraint("decision_id", "content_hash", name="uq_decision_content"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    dmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(200))


class DecisionDeployRecord(Base):
    """Who deployed a decision and when: one row per deploy request (new version or unchanged)."""

    __tablename__ = "decision_deploy_records"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    decision_row_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    decision_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    created: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(20))  # cli | upload | modeler | api
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class DecisionBinding(Base):
    """The decision version that was newest when a process version was deployed, per
    business-rule task: what `camunda:decisionRefBinding="deployment"` runs."""

    __tablename__ = "decision_bindings"
    __table_args__ = (UniqueConstraint("definition_id", "element_id", name="uq_decision_binding"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    decision_id: Mapped[str] = mapped_column(String(200))
    decision_row_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
