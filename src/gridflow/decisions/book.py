"""Decision tables held in memory by id, without a store: what simulations, benchmarks and
tests give the engine when nothing is deployed (every binding resolves to the table held)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gridflow.decisions.model import Decision
from gridflow.decisions.parse import dmn_files, load_dmn
from gridflow.errors import NotFoundError


class DecisionBook:
    """The decisions of some .dmn files, by id; `decision` answers the engine's question."""

    def __init__(self, decisions: Iterable[Decision] = ()):
        self.decisions = {decision.id: decision for decision in decisions}

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> DecisionBook:
        """Every decision of the .dmn files under the given files and folders."""
        found = [d for path in dmn_files(paths) for d in load_dmn(path).decisions.values()]
        return cls(found)

    def decision(self, reference: Any, process: Any, element_id: str) -> Decision:  # noqa: ANN401
        found = self.decisions.get(reference.decision_id)
        if found is None:
            raise NotFoundError(f"decision {reference.decision_id!r} is not in this book")
        return found
