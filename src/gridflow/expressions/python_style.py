"""The Python-style form (`voltage == 'high'`): Python's parser (`ast.parse`, used only as a
parser, never compiled) and a converter that turns only whitelisted node types into the shared
tree; also the parse-error and bracket-depth helpers that scripts use."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from collections.abc import Mapping

from gridflow.errors import ExpressionError
from gridflow.expressions.refusals import (
    _check_function,
    _check_int_literal,
    _check_name,
    _refuse,
    _too_deep,
)
from gridflow.expressions.tree import (
    Arithmetic,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Display,
    Literal,
    Name,
    Node,
    Subscript,
    Unary,
)
from gridflow.expressions.values import _CONSTANT_NAMES, MAX_DEPTH

_PY_ARITHMETIC: Mapping[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}
_PY_REFUSED_OPERATORS: Mapping[type[ast.operator], str] = {
    ast.Pow: "'**' (power) is not supported; multiply instead",
    ast.MatMult: "operator '@' is not supported",
    ast.BitAnd: "operator '&' is not supported; use 'and'",
    ast.BitOr: "operator '|' is not supported; use 'or'",
    ast.BitXor: "operator '^' is not supported",
    ast.LShift: "operator '<<' is not supported",
    ast.RShift: "operator '>>' is not supported",
}
_PY_COMPARE: Mapping[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_PY_UNARY: Mapping[type[ast.unaryop], str] = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+"}
_PY_REFUSED: Mapping[type[ast.AST], str] = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions (generator expressions) are not allowed",
    ast.NamedExpr: "assignment expressions (walrus ':=') are not allowed",
    ast.Starred: "starred expressions ('*x') are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Dict: "dict literals ('{...}') are not supported",
    ast.Set: "set literals ('{...}') are not supported; use a tuple like ('a', 'b')",
    ast.Slice: "slices like x[1:3] are not allowed",
}


class _PythonConverter:
    """Turns a Python AST into the shared tree, accepting only whitelisted node types."""

    def __init__(self, source: str, allowed: frozenset[str]) -> None:
        self._source = source
        self._allowed = allowed

    def convert(self, expression: ast.expr) -> Node:
        # Names first: `__import__('os').system(...)` is best reported by its dangerous name.
        for node in ast.walk(expression):
            if isinstance(node, ast.Name):
                _check_name(node.id, self._source)
        return self._convert(expression, 1)

    def _refuse(self, message: str) -> ExpressionError:
        return _refuse(self._source, message)

    def _convert(self, node: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _too_deep(self._source)
        inner = depth + 1
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.Name):
            if node.id in _CONSTANT_NAMES:
                return Literal(_CONSTANT_NAMES[node.id])
            return Name(node.id)
        if isinstance(node, (ast.Tuple, ast.List)):
            items = tuple(self._convert(item, inner) for item in node.elts)
            return Display(items, is_list=isinstance(node, ast.List))
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp(op, tuple(self._convert(value, inner) for value in node.values))
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in _PY_UNARY:
                raise self._refuse("operator '~' is not supported")
            return Unary(_PY_UNARY[type(node.op)], self._convert(node.operand, inner))
        if isinstance(node, ast.BinOp):
            return self._arithmetic(node, inner)
        if isinstance(node, ast.Compare):
            rest: list[tuple[str, Node]] = []
            for comparison, right in zip(node.ops, node.comparators, strict=True):
                if type(comparison) not in _PY_COMPARE:
                    raise self._refuse(
                        "'is' is not supported; compare with '==' or '!=' (for example x == None)"
                    )
                rest.append((_PY_COMPARE[type(comparison)], self._convert(right, inner)))
            return Compare(self._convert(node.left, inner), tuple(rest))
        if isinstance(node, ast.IfExp):
            return Conditional(
                self._convert(node.test, inner),
                self._convert(node.body, inner),
                self._convert(node.orelse, inner),
            )
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                raise self._refuse(_PY_REFUSED[ast.Slice])
            return Subscript(self._convert(node.value, inner), self._convert(node.slice, inner))
        if isinstance(node, ast.Call):
            return self._call(node, inner)
        if isinstance(node, ast.Attribute):
            raise self._refuse(
                f"attribute access '.{node.attr}' is not allowed "
                f"(to read a key of a dict write x['{node.attr}'])"
            )
        message = _PY_REFUSED.get(type(node), f"{type(node).__name__} is not allowed")
        raise self._refuse(message)

    def _constant(self, value: object) -> Node:
        if value is None or isinstance(value, (bool, float, str)):
            return Literal(value)
        if isinstance(value, int):
            _check_int_literal(value, self._source)
            return Literal(value)
        kind = {bytes: "bytes", complex: "complex number"}.get(type(value), type(value).__name__)
        raise self._refuse(f"{kind} literals are not supported")

    def _arithmetic(self, node: ast.BinOp, depth: int) -> Node:
        # Flatten the left-leaning chain `((a + b) - c) * d` so long sums stay shallow;
        # evaluating the chain left to right gives the same result.
        parts: list[tuple[str, ast.expr]] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp):
            op = type(left.op)
            if op in _PY_REFUSED_OPERATORS:
                raise self._refuse(_PY_REFUSED_OPERATORS[op])
            parts.append((_PY_ARITHMETIC[op], left.right))
            left = left.left
        first = self._convert(left, depth)
        rest = tuple((op, self._convert(right, depth)) for op, right in reversed(parts))
        return Arithmetic(first, rest)

    def _call(self, node: ast.Call, depth: int) -> Node:
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            hint = f"; write {method}(x) instead" if method in ("lower", "upper") else ""
            raise self._refuse(f"method calls are not allowed ('.{method}(...)'){hint}")
        if not isinstance(node.func, ast.Name):
            raise self._refuse("only functions called by name can be called")
        name = node.func.id
        _check_function(name, self._source, self._allowed)
        if node.keywords:
            raise self._refuse(f"keyword arguments are not allowed in the call to {name!r}")
        return Call(name, tuple(self._convert(arg, depth) for arg in node.args))


_TOO_DEEP = "too deep"  # ast.parse ran out of stack: a place-less _PythonSyntax


class _PythonSyntax(Exception):
    """A problem ast.parse found; line and column are 1-based, 0 when it has no place."""

    def __init__(self, line: int, column: int, detail: str, indentation: bool = False) -> None:
        super().__init__(detail)
        self.line = line
        self.column = column
        self.detail = detail
        self.indentation = indentation


def _ast_parse(text: str, mode: str) -> ast.AST:
    """ast.parse used only as a parser; its output is converted, never compiled."""
    try:
        with warnings.catch_warnings():
            # Invalid escapes like "\d" only warn; they need not reach the engine's log.
            warnings.simplefilter("ignore")
            return ast.parse(text, mode=mode)
    except SyntaxError as exc:
        detail = exc.msg
        if re.search(r"&&|\|\||!(?!=)|\$\{|#\{", text):
            detail += "; JUEL operators like '&&', '||' and '!' need the whole condition in ${...}"
        elif mode == "eval" and re.search(r"(?<![=!<>])=(?!=)", text):
            detail += "; to compare, write '=='"
        line, column = max(exc.lineno or 1, 1), max(exc.offset or 1, 1)
        indentation = isinstance(exc, IndentationError)
        raise _PythonSyntax(line, column, detail, indentation) from None
    except (RecursionError, MemoryError):
        raise _PythonSyntax(0, 0, _TOO_DEEP) from None
    except ValueError as exc:  # for example a NUL character
        raise _PythonSyntax(0, 0, str(exc)) from None


def _unplaced(problem: _PythonSyntax, source: str) -> ExpressionError:
    return _too_deep(source) if problem.detail == _TOO_DEEP else _refuse(source, problem.detail)


def _bracket_depth(text: str) -> int:
    """The deepest nesting of brackets in Python text that already parsed.

    Brackets leave no trace in the AST, yet JUEL counts them (its parser recurses on them), so
    both forms refuse the same nesting.
    """
    depth = deepest = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
                deepest = max(deepest, depth)
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
    except (tokenize.TokenError, SyntaxError):
        pass  # the parser accepted the text; the AST depth check still applies
    return deepest
