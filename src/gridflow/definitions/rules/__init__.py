"""The lint rules, by concern: `linter` walks a file and checks its elements, lanes, forms and
flows; the other modules check what breaks at run time (timers, gateways, the variables a
condition reads and their types) before a file is deployed."""

from gridflow.definitions.rules.linter import ISO_LITERAL, TIMER_FUNCTIONS, Linter

__all__ = ["ISO_LITERAL", "TIMER_FUNCTIONS", "Linter"]
