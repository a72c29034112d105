"""What a business-rule task's decision costs: parsing a .dmn file (once per deployed version),
evaluating each shipped table (inputs, every rule's cells, hit policy, result mapping), and
resolving the decision in the store (binding latest: one indexed query per evaluation;
version and deployment bindings are resolved once and cached).

Usage:  python bench/decisions.py [--evaluations 20000]

A script, not a test: it prints microseconds per operation, measured in this one run.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a script named queue.py: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import tempfile
import time
from collections.abc import Callable

from gridflow import catalog
from gridflow.decisions import evaluate, map_result, parse_dmn
from gridflow.definitions import load
from gridflow.runtime import Runtime, load_roles

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
CASES: dict[str, dict[str, object]] = {
    # a row near the bottom of each table, so most rules are tried before the match
    "supply_voltage": {"customer_category": "business", "area": "urban", "capacity_kw": 45000},
    "supply_scheme": {"customer_importance": "second", "supply": "dual"},
    "repair_priority": {"fault_type": "meter_fault", "customer_importance": "none"},
}


def per_call_us(action: Callable[[], object], n: int) -> float:
    action()
    started = time.perf_counter()
    for _ in range(n):
        action()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=20000)
    n = parser.parse_args().evaluations
    print(f"{'what':58} {'µs each':>10}")
    for decision_id, variables in CASES.items():
        xml = (PROCESSES / f"{decision_id}.dmn").read_bytes()
        parse_us = per_call_us(lambda xml=xml: parse_dmn(xml, "bench.dmn"), max(n // 100, 20))
        decision = parse_dmn(xml, "bench.dmn").decisions[decision_id]

        def once(decision=decision, variables=variables) -> object:
            return map_result(decision, evaluate(decision, variables), "singleEntry")

        rules = len(decision.rules)
        print(f"{'parse ' + decision_id + '.dmn (once per version)':58} {parse_us:10.1f}")
        label = f"evaluate {decision_id} ({rules} rules, singleEntry)"
        print(f"{label:58} {per_call_us(once, n):10.1f}")
    with tempfile.TemporaryDirectory() as folder:
        rt = Runtime.create(
            f"sqlite:///{folder}/bench.db", roles=load_roles(PROCESSES / "roles.yaml")
        )
        rt.db.migrate()
        catalog.deploy_paths(rt, [PROCESSES], "bench")
        process = load(PROCESSES / "hv_connection.bpmn", rt.roles)
        reference = process.decision_refs["Activity_decide_voltage"]
        resolve_us = per_call_us(
            lambda: rt.decisions.decision(reference, process, "Activity_decide_voltage"), n // 10
        )
        print(f"{'resolve supply_voltage in SQLite (binding latest)':58} {resolve_us:10.1f}")
        rt.db.dispose()


if __name__ == "__main__":
    main()
