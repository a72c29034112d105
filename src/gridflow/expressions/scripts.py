"""Script tasks: lines of `name = expression`, each a Python-style expression, run in order over
the instance's variables; any other statement is refused, naming its line."""

from __future__ import annotations

import ast
import functools
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from gridflow.errors import ExpressionError, UndefinedVariableError
from gridflow.expressions.python_style import (
    _ast_parse,
    _bracket_depth,
    _PythonConverter,
    _PythonSyntax,
    _unplaced,
)
from gridflow.expressions.refusals import _check_name, _refuse, _too_deep
from gridflow.expressions.tree import Expression, _check_depth
from gridflow.expressions.values import _CONSTANT_NAMES, MAX_DEPTH, MAX_LENGTH, MAX_SCRIPT_LENGTH


@dataclass(frozen=True, slots=True)
class Assignment:
    """One script line: `name = expression`."""

    line: int
    name: str
    expression: Expression


class _ScriptScope(Mapping[str, object]):
    """The instance's variables seen through the script's own assignments, without copying."""

    def __init__(self, assigned: Mapping[str, object], variables: Mapping[str, object]) -> None:
        self._assigned = assigned
        self._variables = variables

    def __getitem__(self, key: str) -> object:
        if key in self._assigned:
            return self._assigned[key]
        return self._variables[key]

    def __contains__(self, key: object) -> bool:
        return key in self._assigned or key in self._variables

    def __iter__(self) -> Iterator[str]:
        yield from self._assigned
        yield from (key for key in self._variables if key not in self._assigned)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _at_line(error: ExpressionError, line: int) -> ExpressionError:
    message = f"line {line}: {error.message}"
    located: ExpressionError
    if isinstance(error, UndefinedVariableError):
        located = UndefinedVariableError(error.expression, error.name)
        ExpressionError.__init__(located, error.expression, message)
    else:
        located = ExpressionError(error.expression, message)
    return located


@dataclass(frozen=True)
class Script:
    """A compiled script task: lines of `name = expression`, run in order."""

    source: str
    assignments: tuple[Assignment, ...] = field(repr=False)

    def run(
        self,
        variables: Mapping[str, object],
        functions: Mapping[str, Callable[..., object]] | None = None,
    ) -> dict[str, object]:
        """Run the lines in order; return the assigned values (`variables` is not changed)."""
        assigned: dict[str, object] = {}
        scope = _ScriptScope(assigned, variables)
        for assignment in self.assignments:
            try:
                assigned[assignment.name] = assignment.expression.evaluate(scope, functions)
            except ExpressionError as exc:
                raise _at_line(exc, assignment.line) from exc
        return assigned

    @property
    def names(self) -> frozenset[str]:
        """Variables the script reads from the instance (not those it assigned first)."""
        read: set[str] = set()
        assigned: set[str] = set()
        for assignment in self.assignments:
            read |= assignment.expression.names - assigned
            assigned.add(assignment.name)
        return frozenset(read)

    @property
    def assigned(self) -> frozenset[str]:
        """Variables the script sets."""
        return frozenset(assignment.name for assignment in self.assignments)

    @property
    def function_names(self) -> frozenset[str]:
        """Functions the script calls."""
        return frozenset().union(*(a.expression.function_names for a in self.assignments))


_STATEMENT_PROBLEMS: Mapping[type[ast.stmt], str] = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.FunctionDef: "function definitions ('def') are not allowed",
    ast.AsyncFunctionDef: "function definitions ('def') are not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.For: "loops ('for') are not allowed",
    ast.AsyncFor: "loops ('for') are not allowed",
    ast.While: "loops ('while') are not allowed",
    ast.If: "'if' statements are not allowed; write 'x = a if condition else b'",
    ast.With: "'with' is not allowed",
    ast.AsyncWith: "'with' is not allowed",
    ast.Try: "'try' is not allowed",
    ast.Raise: "'raise' is not allowed",
    ast.Assert: "'assert' is not allowed",
    ast.Delete: "'del' is not allowed",
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.Return: "'return' is not allowed",
    ast.Pass: "'pass' is not allowed",
    ast.Break: "'break' is not allowed",
    ast.Continue: "'continue' is not allowed",
    ast.Match: "'match' is not allowed",
    ast.AnnAssign: "type annotations are not allowed",
    ast.Expr: "a line with only an expression does nothing",
}


def _target_problem(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        if target.id in _CONSTANT_NAMES:
            return f"cannot assign to {target.id!r}"
        return None
    if isinstance(target, ast.Attribute):
        return f"assignment to an attribute ('.{target.attr} = ...') is not allowed"
    if isinstance(target, ast.Subscript):
        return "assignment to an item ('x[...] = ...') is not allowed"
    if isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
        return "unpacking ('a, b = ...') is not allowed; assign one name per line"
    return f"cannot assign to {type(target).__name__}"


def _statement_problem(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign):
        if len(statement.targets) != 1:
            return "assign one name per line ('a = b = 1' is not allowed)"
        return _target_problem(statement.targets[0])
    if isinstance(statement, ast.AugAssign):
        problem = _target_problem(statement.target)
        if problem is not None:
            return problem
        assert isinstance(statement.target, ast.Name)
        name = statement.target.id
        return f"augmented assignment is not allowed; write '{name} = {name} + ...'"
    return _STATEMENT_PROBLEMS.get(type(statement), f"{type(statement).__name__} is not allowed")


def _parse_script(text: str, lines: list[str]) -> tuple[ast.Module, str]:
    """Parse script text as Python, forgiving the indentation a BPMN file's XML gives it."""
    # Most scripts are indented as a block; the dedented text keeps blocks ('for', 'if') whole,
    # so they are refused by name. When the first line hugs <bpmn:script> and the rest are
    # indented, dedent is not enough: strip every line (lines are statements, never blocks).
    attempts = (textwrap.dedent(text), "\n".join(line.lstrip() for line in lines))
    errors: list[tuple[_PythonSyntax, str]] = []
    for clean in attempts:
        try:
            module = _ast_parse(clean, "exec")
        except _PythonSyntax as exc:
            errors.append((exc, clean))
            continue
        assert isinstance(module, ast.Module)
        return module, clean
    first, second = errors
    problem, clean = second if first[0].indentation else first
    if problem.line == 0:
        raise _unplaced(problem, text)
    line = min(problem.line, len(lines))
    # Put back what dedenting removed, so the column is the one the designer sees.
    column = problem.column + len(lines[line - 1]) - len(clean.split("\n")[line - 1])
    raise _refuse(
        lines[line - 1].strip(), f"line {line}: syntax error at column {column}: {problem.detail}"
    )


@functools.lru_cache(maxsize=1024)
def _compile_script_cached(text: str, allowed: frozenset[str]) -> Script:
    if len(text) > MAX_SCRIPT_LENGTH:
        raise _refuse(
            text[:60] + "...",
            f"the script is too long ({len(text)} characters; the limit is {MAX_SCRIPT_LENGTH})",
        )
    lines = text.split("\n")
    module, clean = _parse_script(text, lines)
    assert isinstance(module, ast.Module)
    assignments: list[Assignment] = []
    for statement in module.body:
        line = statement.lineno
        line_text = lines[line - 1].strip()
        problem = _statement_problem(statement)
        if problem is not None:
            raise _refuse(
                line_text,
                f"line {line}: only assignments 'name = expression' are allowed; {problem}",
            )
        assert isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
        name = statement.targets[0].id
        value_source = ast.get_source_segment(clean, statement.value) or line_text
        try:
            _check_name(name, line_text)
            if len(value_source) > MAX_LENGTH:
                raise _refuse(
                    line_text,
                    f"the expression is too long ({len(value_source)} characters; "
                    f"the limit is {MAX_LENGTH})",
                )
            if _bracket_depth(value_source) > MAX_DEPTH:
                raise _too_deep(value_source)
            tree = _PythonConverter(value_source, allowed).convert(statement.value)
            _check_depth(tree, value_source)
        except ExpressionError as exc:
            raise _refuse(line_text, f"line {line}: {exc.message}") from None
        assignments.append(Assignment(line, name, Expression(value_source, tree)))
    if not assignments:
        raise _refuse(text, "the script is empty; write lines of 'name = expression'")
    return Script(text, tuple(assignments))


def compile_script(text: str, allowed_functions: Iterable[str] = ()) -> Script:
    """Parse a Python script task: lines of `name = expression` (blank lines and # comments).

    Anything else is refused with an ExpressionError whose message starts with the line number.
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), "a script must be text")
    return _compile_script_cached(text, frozenset(allowed_functions))
