"""Service standards: a link's (or a whole process's) target time, its basis and its source.

Designers write them as Camunda extension properties (`standard_target`, `standard_basis`,
`standard_source`, optionally `standard_by` and `standard_target.<value>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gridflow.working_time import WorkingCalendar, parse_iso_duration

BASES = ("working", "calendar")


class StandardError(ValueError):
    """A standard's properties are missing or malformed; the message names the property."""


@dataclass(frozen=True)
class Standard:
    target: str
    basis: str
    source: str
    by: str | None = None
    variants: tuple[tuple[str, str], ...] = field(default=())

    def target_for(self, variables: Mapping[str, object]) -> str:
        """The ISO duration that applies to an instance with these variables."""
        if self.by is not None:
            value = variables.get(self.by)
            for key, target in self.variants:
                if key == str(value):
                    return target
        return self.target

    def due(
        self, start: datetime, variables: Mapping[str, object], calendar: WorkingCalendar
    ) -> datetime:
        return calendar.due(start, self.target_for(variables), self.basis)

    def describe(self, variables: Mapping[str, object] | None = None) -> str:
        target = self.target_for(variables or {})
        return f"{target} ({self.basis})"


def parse_standard(properties: Mapping[str, str]) -> Standard | None:
    """The standard written in these extension properties, None when there is none."""
    if not any(k.startswith("standard_") or k.startswith("standard.") for k in properties):
        return None
    target = properties.get("standard_target", "").strip()
    if not target:
        raise StandardError("property 'standard_target' is missing (an ISO duration like P5D)")
    basis = properties.get("standard_basis", "").strip()
    if basis not in BASES:
        raise StandardError(
            f"property 'standard_basis' is {basis!r}; expected 'working' or 'calendar'"
        )
    source = properties.get("standard_source", "").strip()
    if not source:
        raise StandardError(
            "property 'standard_source' is missing: say where the number comes from"
        )
    by = properties.get("standard_by", "").strip() or None
    variants = tuple(
        sorted(
            (key.removeprefix("standard_target."), value.strip())
            for key, value in properties.items()
            if key.startswith("standard_target.")
        )
    )
    if variants and by is None:
        raise StandardError("'standard_target.<value>' properties need 'standard_by' (a variable)")
    for name, duration in [("standard_target", target)] + [
        (f"standard_target.{k}", v) for k, v in variants
    ]:
        try:
            parsed = parse_iso_duration(duration)
        except ValueError as exc:
            raise StandardError(f"property {name!r}: {exc}") from exc
        if parsed.calendar_timedelta() <= timedelta(0):
            raise StandardError(f"property {name!r}: the target must be longer than zero")
    return Standard(target=target, basis=basis, source=source, by=by, variants=variants)
