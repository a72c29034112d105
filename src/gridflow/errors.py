"""The errors gridflow raises: each says what went wrong and where (file, line, element)."""

from __future__ import annotations

from gridflow.texts import _


class GridflowError(Exception):
    """Base of every error gridflow raises on purpose.

    A refusal people read is raised with a catalogue text (marked with `gridflow.texts._`) and
    its %(name)s values apart: `str(exc)` is the English sentence, and a page shows
    `template` translated with `params` in the reader's language (`gridflow.texts.refusal`)."""

    def __init__(self, message: str = "", /, **params: object):
        self.template = message
        self.params = params
        super().__init__(message % params if params else message)


class Reason(str):
    """One of several reasons given as text (a migration's: why an instance cannot move): it is
    its English sentence wherever text is used (logs, the command line, equality), and keeps its
    catalogue text and values so that a page says it in the reader's language
    (`gridflow.texts.refusal`)."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, /, **params: object) -> Reason:
        reason = super().__new__(cls, template % params if params else template)
        reason.template = template
        reason.params = params
        return reason


class ExpressionError(GridflowError):
    """An expression or script that the safe evaluator refuses or cannot evaluate."""

    def __init__(self, expression: str, message: str):
        self.expression = expression
        self.message = message
        super().__init__(f"{message} in expression {expression!r}")


class UndefinedVariableError(ExpressionError):
    """An expression used a variable that the instance does not have (JUEL's rule)."""

    def __init__(self, expression: str, name: str):
        self.name = name
        super().__init__(expression, f"undefined variable {name!r}")
        # What a clerk reads when a condition after their link needs a value nobody set.
        self.template = _("the variable %(name)s is not set (expression %(expression)s)")
        self.params = {"name": name, "expression": expression}


class Problem:
    """One lint problem: a file, a line where known, an element id where known, a message."""

    __slots__ = ("file", "line", "element_id", "message")

    def __init__(self, file: str, line: int | None, element_id: str | None, message: str):
        self.file = file
        self.line = line
        self.element_id = element_id
        self.message = message

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        element = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}:{element} {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self!s})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class DefinitionError(GridflowError):
    """A BPMN file that cannot be deployed; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigurationError(GridflowError):
    """A roles file, calendar or settings value that is missing or malformed."""


class NotFoundError(GridflowError):
    """A demand, instance, work item or definition that does not exist."""


class ConflictError(GridflowError):
    """Someone else changed the instance or work item first; nothing was changed."""


class InvalidStateError(GridflowError):
    """The action does not fit the current state (completing a finished link, for example)."""


class FormError(GridflowError):
    """Form data that does not match the link's form; field id → message."""

    def __init__(
        self, field_errors: dict[str, str], refusals: dict[str, GridflowError] | None = None
    ):
        self.field_errors = field_errors
        # Field id → the refusal as a catalogue text with its values (texts.refusal), for the
        # page to say in the reader's language; `field_errors` keeps the English.
        self.refusals = refusals or {}
        super().__init__(
            "invalid form data: " + "; ".join(f"{k}: {v}" for k, v in field_errors.items())
        )


class ForbiddenError(GridflowError):
    """The actor's roles do not allow this action; nothing was changed."""
