"""processes/rules.yaml is read and checked like a BPMN file: a malformed rule is refused with
its file, line and rule id, and `gridflow lint processes/` checks it with the BPMN files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROCESSES

from gridflow import linkage
from gridflow.cli import main
from gridflow.errors import DefinitionError
from gridflow.roles import RoleBook
from gridflow.rules import Catalogue, EventError, fill, parse

CATALOGUE = Catalogue(
    processes=frozenset({"active_repair", "escalation"}),
    messages=frozenset({"meter_connected"}),
    escalation_roles=frozenset({"supervisor"}),
)
EVENTS = """\
events:
  outage_alarm:
    payload:
      feeder: {type: string, required: true}
      area: {type: string, required: true, enum: [urban, rural, remote]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        parse(text, "rules.yaml", CATALOGUE)
    return [str(p) for p in raised.value.problems]


def test_the_shipped_rules_load(roles: RoleBook) -> None:
    book = linkage.rulebook(roles, PROCESSES)
    assert [(r.id, r.on, [a.describe() for a in r.actions]) for r in book.rules] == [
        (
            "outage_starts_active_repair",
            "outage_alarm",
            ["start active_repair", "note_demands feeder"],
        ),
        ("repair_arrival_breached", "standard_breached", ["escalate supervisor"]),
        ("meter_connected_completes_connection", "meter_connected", ["correlate meter_connected"]),
        ("low_rating_return_visit", "service_rated", ["start return_visit"]),
    ]


def test_a_malformed_rule_is_refused_naming_file_line_and_rule() -> None:
    text = (
        EVENTS
        + """\
rules:
  - id: starts_something
    on: outage_alarm
    when: "voltage == 'high'"
    do:
      - start: {process: no_such_process, variables: {feeder: feeder}}
      - launch: {process: active_repair}
  - id: escalates_to_nobody
    on: grid_on_fire
    do:
      - escalate: {role: finance, subject: "'x'"}
  - id: bad_condition
    on: outage_alarm
    when: "__import__('os')"
    do:
      - escalate: {role: finance, subject: "'x'"}
"""
    )
    assert problems(text) == [
        "rules.yaml:7: [starts_something] condition \"voltage == 'high'\" reads voltage, "
        "not in the outage_alarm payload (feeder, area)",
        "rules.yaml:11: [starts_something] start: no process 'no_such_process' in the "
        "processes folder",
        "rules.yaml:12: [starts_something] action ['launch']: expected exactly one of start, "
        "correlate, signal, escalate, note_demands",
        "rules.yaml:13: [escalates_to_nobody] 'on' names unknown event type 'grid_on_fire'; "
        "declared: outage_alarm",
        "rules.yaml:17: [bad_condition] condition refused: name '__import__' is not allowed: "
        "names starting with '__' are reserved in \"__import__('os')\"",
        "rules.yaml:21: [bad_condition] escalate: role 'finance' has no escalation link "
        "(process 'escalation' has links for: supervisor)",
    ]


def test_bad_yaml_and_bad_schemas_are_refused() -> None:
    assert problems("events: [\n") == [
        "rules.yaml:2: not valid YAML: expected the node content, but found '<stream end>'"
    ]
    schema = """\
events:
  outage_alarm:
    payload:
      feeder: {type: text}
rules: []
"""
    assert problems(schema) == [
        "rules.yaml:4: [outage_alarm] payload field 'feeder' has type 'text'; expected one of "
        "string, integer, number, boolean"
    ]


def test_a_payload_is_checked_against_its_schema() -> None:
    book = parse(EVENTS + "rules: []\n", "rules.yaml", CATALOGUE)
    kind = book.event_type("outage_alarm")
    assert kind.check({"feeder": "F1", "area": "rural"}) == {"feeder": "F1", "area": "rural"}
    with pytest.raises(EventError) as raised:
        kind.check({"area": "moon", "colour": "red"})
    assert raised.value.fields == {
        "feeder": "is required",
        "area": "'moon' is not one of: urban, rural, remote",
        "colour": "is not a field of this event type",
    }
    with pytest.raises(EventError, match="unknown event type 'x'; known: outage_alarm"):
        book.event_type("x")


def test_note_text_fills_only_payload_fields() -> None:
    assert fill("feeder {feeder} in {area}", {"feeder": "F7", "area": "rural"}) == (
        "feeder F7 in rural"
    )
    assert fill("{feeder.__class__}", {"feeder": "F7"}) == "{feeder.__class__}"


def test_lint_checks_the_rules_beside_the_processes(tmp_path: Path) -> None:
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES, folder)
    runner = CliRunner()
    clean = runner.invoke(main, ["lint", str(folder)])
    assert clean.exit_code == 0, clean.output
    assert "18 file(s) checked, 0 problem(s)" in clean.stderr
    rules = folder / "rules.yaml"
    rules.write_text(rules.read_text().replace("process: active_repair", "process: active_repaer"))
    broken = runner.invoke(main, ["lint", str(folder)])
    assert broken.exit_code == 1
    assert (
        f"{rules}:63: [outage_starts_active_repair] start: no process 'active_repaer' in the "
        "processes folder"
    ) in broken.stdout
