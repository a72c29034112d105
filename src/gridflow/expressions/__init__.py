"""gridflow's safe expression language for BPMN conditions, timer expressions and script tasks.

Camunda JUEL (`${approved}`) and Python-style (`voltage == 'high'`) text are parsed into one small
tree of dataclasses and evaluated by walking it; nothing is ever passed to eval, exec or compile.

One set of value rules holds for both forms: Python's (`"1" == 1` is false, `+` joins strings,
non-empty strings are true), except that an undefined variable is an error (JUEL's rule) and
`and`/`or`/`&&`/`||` always give a boolean. JUEL keeps its own precedence (`!`, `not` and `empty`
bind tighter than comparisons); Python style keeps Python's.

The package, by concern: `values` (limits and value rules), `functions` (the safe functions),
`tree` (the nodes and how they evaluate; `Expression`), `refusals` (how a refused expression is
reported), `juel` and `python_style` (the two forms' parsers), `parse` (`compile_expression`)
and `scripts` (script tasks, `compile_script`).
"""

from gridflow.expressions.functions import SAFE_FUNCTIONS
from gridflow.expressions.parse import compile_expression
from gridflow.expressions.scripts import Assignment, Script, compile_script
from gridflow.expressions.tree import (
    Arithmetic,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Display,
    Expression,
    FunctionMap,
    Literal,
    Name,
    Node,
    Subscript,
    Unary,
)
from gridflow.expressions.values import (
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_LENGTH,
    MAX_ROUND_DIGITS,
    MAX_SCRIPT_LENGTH,
    MAX_SIZE,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "MAX_LENGTH",
    "MAX_ROUND_DIGITS",
    "MAX_SCRIPT_LENGTH",
    "MAX_SIZE",
    "SAFE_FUNCTIONS",
    "Arithmetic",
    "Assignment",
    "BoolOp",
    "Call",
    "Compare",
    "Conditional",
    "Display",
    "Expression",
    "FunctionMap",
    "Literal",
    "Name",
    "Node",
    "Script",
    "Subscript",
    "Unary",
    "compile_expression",
    "compile_script",
]
