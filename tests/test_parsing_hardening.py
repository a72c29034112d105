"""Parsing hostile or odd files: other encodings, ids with quotes and brackets, unusual lanes,
and special files given to `gridflow lint`. Each is refused or read with a clear problem; none
crashes, hangs or reads without bound."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from bpmn_samples import two_lane
from click.testing import CliRunner, Result
from conftest import PROCESSES, STAFF_PASSWORD, login, token

from gridflow import definitions, users
from gridflow.cli import main
from gridflow.errors import Problem
from gridflow.roles import RoleBook
from gridflow.runtime import Runtime

ENTITY = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
UTF8_ONLY = (
    "gridflow reads BPMN files in UTF-8 only (as Camunda Modeler and bpmn.io save them): save "
    "it again as UTF-8"
)


def lint(xml: bytes, roles: RoleBook) -> list[Problem]:
    return definitions.lint(xml, "sample.bpmn", roles)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def declared(encoding: str, *, doctype: bool) -> str:
    text = two_lane().replace('encoding="UTF-8"', f'encoding="{encoding}"')
    if doctype:
        text = text.replace("?>\n", "?>\n" + ENTITY, 1).replace('name="Two lanes"', 'name="&xxe;"')
    return text


@pytest.mark.parametrize(
    ("encoding", "codec"),
    [
        ("UTF-16", "utf-16"),  # with a byte order mark
        ("UTF-16", "utf-16-be"),  # without one
        ("UTF-16LE", "utf-16-le"),
        ("UTF-32", "utf-32"),
        ("UTF-7", "ascii"),  # '<' written as '+ADw-': the bytes never show '<!DOCTYPE'
    ],
)
def test_a_doctype_in_another_encoding_is_found_after_decoding(
    roles: RoleBook, encoding: str, codec: str
) -> None:
    text = declared(encoding, doctype=True)
    if encoding == "UTF-7":
        text = text.replace("<!", "+ADw-!")
    xml = text.encode(codec)
    assert b"<!DOCTYPE" not in xml
    problem = only(lint(xml, roles))
    assert (problem.line, problem.element_id) == (2, None)
    assert problem.message.startswith("DOCTYPE and entity declarations are not allowed")


@pytest.mark.parametrize(
    ("encoding", "codec"), [("UTF-16", "utf-16"), ("UTF-32", "utf-32"), ("ISO-8859-1", "latin-1")]
)
def test_a_clean_file_in_another_encoding_is_refused_with_a_clear_message(
    roles: RoleBook, encoding: str, codec: str
) -> None:
    problem = only(lint(declared(encoding, doctype=False).encode(codec), roles))
    assert (problem.line, problem.message) == (1, f"the file is in {encoding}; {UTF8_ONLY}")


def test_utf8_with_or_without_a_byte_order_mark_is_read(roles: RoleBook) -> None:
    assert lint(two_lane().encode("utf-8"), roles) == []
    assert lint(two_lane().encode("utf-8-sig"), roles) == []
    contradicting = declared("UTF-16", doctype=False).encode("utf-8-sig")
    assert only(lint(contradicting, roles)).message == f"the file is in UTF-16; {UTF8_ONLY}"


def test_a_deployed_version_in_utf16_still_loads_for_its_instances(roles: RoleBook) -> None:
    xml = declared("UTF-16", doctype=False).encode("utf-16")
    definition = definitions.parse_deployed(xml, "old.bpmn", roles)
    assert set(definition.links) == {"Activity_accept", "Activity_survey"}
    assert definition.spiff_specs[0].name == "two_lane"


# --- ids with quotes and brackets ---------------------------------------------------------------

ODD_IDS = ["Activity_o'brien", 'Activity_"quoted"', "Activity_[1]", "Activity_a']|//*[@id='b"]


def with_odd_id(odd: str) -> bytes:
    escaped = odd.replace('"', "&quot;")
    breach = f"""
    <bpmn:boundaryEvent id="Timer_breach" attachedToRef="{escaped}" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDate>${{standard_due()}}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_breach" sourceRef="Timer_breach" targetRef="End_breach" />
    <bpmn:endEvent id="End_breach" />"""
    text = (
        two_lane(extra_elements=breach)
        .replace('"Activity_accept"', f'"{escaped}"')
        .replace(">Activity_accept<", f">{odd.replace('<', '&lt;')}<")
        .replace(
            "<bpmn:flowNodeRef>End_declined</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>End_declined</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>Timer_breach</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>End_breach</bpmn:flowNodeRef>",
        )
    )
    return text.encode()


@pytest.mark.parametrize("odd", ODD_IDS)
def test_ids_with_quotes_or_brackets_are_named_not_crashed_on(roles: RoleBook, odd: str) -> None:
    problem = only(lint(with_odd_id(odd), roles))
    assert problem.element_id == odd
    assert problem.message.startswith(f"id {odd!r} is not a valid BPMN id")


def test_an_upload_with_such_ids_is_a_422_naming_them(client: Any, rt: Runtime) -> None:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    odd = "Activity_a']|//*[@id='b"
    response = client.post(
        "/api/definitions",
        data=with_odd_id(odd),
        headers=token(client, "designer1"),
        content_type="application/xml",
    )
    assert response.status_code == 422
    assert [p["element_id"] for p in response.json["problems"]] == [odd]
    login(client, "designer1")
    page = client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(with_odd_id(odd)), "odd.bpmn")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert "is not a valid BPMN id" in page.text


# --- lanes ------------------------------------------------------------------------------------


def test_a_lane_with_an_empty_child_lane_set_keeps_its_flow_nodes(roles: RoleBook) -> None:
    text = two_lane().replace(
        '<bpmn:lane id="Lane_back" name="Planning and design">',
        '<bpmn:lane id="Lane_back" name="Planning and design"><bpmn:childLaneSet id="Empty" />',
    )
    definition = definitions.parse(text.encode(), "sample.bpmn", roles)
    assert definition.links["Activity_survey"].role.id == "planning_design"


def test_a_lane_split_into_child_lanes_leaves_its_nodes_to_them(roles: RoleBook) -> None:
    text = (
        two_lane()
        .replace(
            '<bpmn:lane id="Lane_back" name="Planning and design">',
            '<bpmn:lane id="Lane_back" name="Back office"><bpmn:childLaneSet id="Children">'
            '<bpmn:lane id="Lane_child" name="Planning and design">'
            "<bpmn:flowNodeRef>Activity_survey</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef></bpmn:lane></bpmn:childLaneSet>",
        )
        .replace(
            "<bpmn:flowNodeRef>Activity_survey</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>End_done",
            "<bpmn:flowNodeRef>End_done",
        )
    )
    definition = definitions.parse(text.encode(), "sample.bpmn", roles)
    assert definition.links["Activity_survey"].lane == "Planning and design"


def test_a_lane_without_a_name_or_with_a_missing_node_is_reported(roles: RoleBook) -> None:
    text = (
        two_lane()
        .replace('name="Planning and design"', "")
        .replace(
            "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>Activity_gone</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef> End_declined </bpmn:flowNodeRef>",
        )
        .replace("<bpmn:flowNodeRef>End_declined</bpmn:flowNodeRef>", "")
    )
    problems = [(p.element_id, p.message) for p in lint(text.encode(), roles)]
    assert problems == [
        ("Lane_back", "lane has no name: name it after the role that owns it"),
        (
            "Lane_back",
            "lane 'Lane_back' refers to 'Activity_gone', which is not an element of this process",
        ),
        (
            "Lane_back",
            "lane 'Lane_back' refers to ' End_declined ' with spaces around the id: the engine "
            "would not place 'End_declined' in this lane",
        ),
    ]


# --- special files ----------------------------------------------------------------------------


def lint_cli(*args: str) -> Result:
    """`gridflow lint`, bounded: a call that blocks fails the test instead of hanging it."""
    outcome: list[Result] = []
    worker = threading.Thread(
        target=lambda: outcome.append(
            CliRunner().invoke(main, ["lint", *args, "--roles", str(PROCESSES / "roles.yaml")])
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "gridflow lint blocked"
    return outcome[0]


def test_lint_refuses_a_fifo_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.bpmn"
    os.mkfifo(fifo)
    result = lint_cli(str(fifo))
    assert result.exit_code == 1
    assert (
        result.stdout
        == f"{fifo}: not a regular file (a device, FIFO or socket); nothing was read\n"
    )


def test_lint_refuses_a_device_and_a_fifo_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "good.bpmn").write_text(two_lane())
    os.mkfifo(tmp_path / "stuck.bpmn")
    os.mkfifo(tmp_path / "rules.yaml")
    result = lint_cli(str(tmp_path), "/dev/zero")
    assert result.exit_code == 1
    # (good.bpmn, a test sample, has no Chinese labels: those lines are not about the files)
    refused = [line for line in result.stdout.splitlines() if " no zh-Hans label " not in line]
    assert sorted(refused) == sorted(
        f"{path}: not a regular file (a device, FIFO or socket); nothing was read"
        for path in (tmp_path / "stuck.bpmn", tmp_path / "rules.yaml", Path("/dev/zero"))
    )


def test_lint_reads_at_most_the_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.bpmn"
    big.write_bytes(b"<a>" + b" " * definitions.MAX_FILE_BYTES + b"</a>")
    result = lint_cli(str(big))
    assert result.stdout == (
        f"{big}: file is {definitions.MAX_FILE_BYTES + 7} bytes; the limit is "
        f"{definitions.MAX_FILE_BYTES} bytes\n"
    )
