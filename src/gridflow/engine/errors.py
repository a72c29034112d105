"""The engine's failures: a process that failed (`EngineError`, naming the element) and a run
that cannot move to another version (`MigrationRefused`)."""

from __future__ import annotations

from gridflow.errors import GridflowError


class MigrationRefused(GridflowError):
    """A run that cannot move to another version; each reason names the element."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class EngineError(GridflowError):
    """The process itself failed (a condition on undefined data, for example); names the element.

    `instance_id` is the stored instance it happened in, once known (the verb that restored the
    run sets it), so the failure can be recorded as an incident."""

    def __init__(
        self,
        element_id: str | None,
        message: str,
        instance_id: int | None = None,
        cause: GridflowError | None = None,
    ):
        self.element_id = element_id
        self.detail = message
        self.instance_id = instance_id
        self.incident_id: int | None = None
        super().__init__(f"{element_id or 'process'}: {message}")
        # The detail people read, translatable (texts.refusal): the cause's own catalogue text.
        self.template, self.params = message, {}
        if cause is not None:
            self.template, self.params = cause.template, dict(cause.params)
