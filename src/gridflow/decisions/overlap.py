"""Whether two rules of a UNIQUE table can match the same input, told from their cells alone:
each cell of constants (`"a","b"`, `< 10`, `[10..100)`) is a set of points and intervals, and
two rules overlap when every column's sets meet. A cell that reads a variable or negates
(`not(...)`) cannot be told statically and never counts as overlapping (the run-time check
of UNIQUE still holds)."""

from __future__ import annotations

from gridflow.decisions.feel import Literal, Negate, Node, feel_compare, feel_equal, kind_of
from gridflow.decisions.unary import UnaryTests

__all__ = ["cells_meet", "constant"]


def constant(node: Node | None) -> tuple[bool, object]:
    if isinstance(node, Literal):
        return True, node.value
    if isinstance(node, Negate) and isinstance(node.operand, Literal):
        value = node.operand.value
        if kind_of(value) == "number":
            return True, -value  # type: ignore[operator]
    return False, None


# An atom of a cell: ("eq", value) or ("range", low, low_closed, high, high_closed), None = open.
Atom = tuple[object, ...]


def _atoms(cell: UnaryTests) -> list[Atom] | None:
    """The values a cell accepts as constants, or None when that cannot be told statically."""
    if cell.negated:
        return None
    atoms: list[Atom] = []
    for test in cell.tests:
        if test.kind == "equal":
            known, value = constant(test.value)
            if not known:
                return None
            atoms.append(("eq", value))
        elif test.kind == "compare":
            known, value = constant(test.value)
            if not known:
                return None
            if test.operator in ("<", "<="):
                atoms.append(("range", None, False, value, test.operator == "<="))
            else:
                atoms.append(("range", value, test.operator == ">=", None, False))
        else:
            low_known, low = constant(test.low)
            high_known, high = constant(test.high)
            if not (low_known and high_known):
                return None
            atoms.append(("range", low, test.low_closed, high, test.high_closed))
    return atoms


def _inside(value: object, atom: Atom) -> bool:
    _, low, low_closed, high, high_closed = atom
    if low is not None and feel_compare(">=" if low_closed else ">", value, low) is not True:
        return False
    return high is None or feel_compare("<=" if high_closed else "<", value, high) is True


def _atoms_meet(a: Atom, b: Atom) -> bool:
    if a[0] == "eq" and b[0] == "eq":
        return feel_equal(a[1], b[1]) is True
    if a[0] == "eq":
        return _inside(a[1], b)
    if b[0] == "eq":
        return _inside(b[1], a)
    # Two ranges meet when each one's low end lies below the other's high end.
    for first, second in ((a, b), (b, a)):
        low, low_closed = first[1], first[2]
        high, high_closed = second[3], second[4]
        if low is None or high is None:
            continue
        closed = low_closed and high_closed
        if feel_compare("<=" if closed else "<", low, high) is not True:
            return False
    return True


def cells_meet(a: UnaryTests, b: UnaryTests) -> bool:
    """Whether some input value surely satisfies both cells (False when unsure)."""
    if a.any or b.any:
        return True
    if a.source == b.source:
        return True
    first, second = _atoms(a), _atoms(b)
    if first is None or second is None:
        return False
    return any(_atoms_meet(x, y) for x in first for y in second)
