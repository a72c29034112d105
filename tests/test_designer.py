"""Designers: a file from Camunda Modeler deploys unchanged; lint problems name elements and
lines and deploy nothing; hostile files are refused; versions, downloads, the catalog and the
diff of two versions; only designers and admins reach the pages and the definitions API; a
changed standard gives new instances the new due time while old ones keep theirs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from conftest import MONDAY_9AM, STAFF_PASSWORD, login, open_items, token
from sqlalchemy import func, select

from gridflow import instances, users, versions
from gridflow.models import Definition, DeployRecord
from gridflow.runtime import Runtime

SAMPLE = Path(__file__).resolve().parent / "designer" / "meter_check.bpmn"
XML = SAMPLE.read_bytes()


@pytest.fixture
def designer(app: Any, rt: Runtime) -> str:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    return "designer1"


def definitions_count(rt: Runtime, process_id: str = "meter_check") -> int:
    with rt.db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Definition)
                .where(Definition.process_id == process_id)
            )
            or 0
        )


def upload(client: Any, headers: dict[str, str], xml: bytes, name: str = "meter_check.bpmn") -> Any:
    return client.post(
        "/api/definitions",
        data={"file": (io.BytesIO(xml), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_a_camunda_modeler_file_deploys_unchanged_and_again_is_a_no_op(
    client: Any, rt: Runtime, designer: str
) -> None:
    headers = token(client, designer)
    first = upload(client, headers, XML)
    assert first.status_code == 201, first.text
    assert first.json == {
        "process_id": "meter_check",
        "version": 1,
        "definition_id": first.json["definition_id"],
        "created": True,
        "restores_version": None,
    }
    # The stored file is byte for byte the one Camunda Modeler wrote.
    login(client, designer)
    download = client.get("/designer/meter_check/1.bpmn")
    assert download.status_code == 200
    assert download.data == XML
    assert download.headers["Content-Disposition"] == 'attachment; filename="meter_check_v1.bpmn"'
    # Its forms and standards are what the extension elements say.
    definition = rt.definition(first.json["definition_id"])
    check = definition.links["Activity_check"]
    assert (check.standard.target, check.standard.basis) == ("P3D", "working")
    assert [(f.id, f.type, f.required) for f in check.form.fields] == [
        ("error_percent", "long", True),
        ("replaced", "boolean", False),
    ]
    assert definition.links["Activity_record"].form.field("doubt").option_ids() == [  # type: ignore[union-attr]
        "runs_fast",
        "stopped",
    ]
    # The same content again (raw XML body this time) names the same version.
    again = client.post(
        "/api/definitions", data=XML, headers=headers, content_type="application/xml"
    )
    assert again.status_code == 200
    assert again.json["version"] == 1 and again.json["created"] is False
    assert definitions_count(rt) == 1
    with rt.db.read() as session:
        records = session.execute(
            select(
                DeployRecord.version, DeployRecord.created, DeployRecord.channel, DeployRecord.actor
            )
            .where(DeployRecord.process_id == "meter_check")
            .order_by(DeployRecord.id)
        ).all()
    assert [tuple(r) for r in records] == [(1, True, "api", designer), (1, False, "api", designer)]


def test_lint_problems_carry_element_ids_and_lines_and_deploy_nothing(
    client: Any, rt: Runtime, designer: str
) -> None:
    headers = token(client, designer)
    broken = XML.replace(b'name="Metering">', b'name="">').replace(
        b'<camunda:property name="standard_target" value="P3D" />', b""
    )
    response = upload(client, headers, broken)
    assert response.status_code == 422
    problems = {(p["element_id"], p["message"]) for p in response.json["problems"]}
    assert ("Lane_metering", "lane has no name: name it after the role that owns it") in problems
    assert (
        "Activity_check",
        "service standard: property 'standard_target' is missing (an ISO duration like P5D)",
    ) in problems
    lines = {p["element_id"]: p["line"] for p in response.json["problems"]}
    assert lines["Lane_metering"] == 19  # the line of <bpmn:lane id="Lane_metering">
    assert response.json["error"]["code"] == "invalid"
    assert definitions_count(rt) == 0


HOSTILE = {
    "entity expansion": (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<bpmn:definitions>&lol2;</bpmn:definitions>',
        "DOCTYPE and entity declarations are not allowed",
    ),
    "external entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b"<d>&xxe;</d>",
        "DOCTYPE and entity declarations are not allowed",
    ),
    "huge file": (
        XML.replace(
            b"</bpmn:definitions>", b"<!--" + b"x" * (5 * 1024 * 1024) + b"-->\n</bpmn:definitions>"
        ),
        "bytes; the limit is 5242880 bytes",
    ),
    "code in a script": (
        XML.replace(
            b'<bpmn:sequenceFlow id="Flow_0a1b2c3" sourceRef="StartEvent_1" targetRef="Activity_record" />',
            b'<bpmn:sequenceFlow id="Flow_0a1b2c3" sourceRef="StartEvent_1" targetRef="Script_x" />'
            b'<bpmn:scriptTask id="Script_x" scriptFormat="python"><bpmn:script>'
            b"x = __import__('os').system('id')</bpmn:script></bpmn:scriptTask>"
            b'<bpmn:sequenceFlow id="Flow_x" sourceRef="Script_x" targetRef="Activity_record" />',
        ),
        "script refused",
    ),
    "code in a condition": (
        XML.replace(
            b'<bpmn:sequenceFlow id="Flow_3j4k5l6" sourceRef="Activity_call_back" targetRef="Event_done" />',
            b'<bpmn:sequenceFlow id="Flow_3j4k5l6" sourceRef="Activity_call_back" targetRef="Event_done">'
            b'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
            b"${open('/etc/passwd').read()}</bpmn:conditionExpression></bpmn:sequenceFlow>",
        ),
        "condition refused",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_clear_message(
    client: Any, rt: Runtime, designer: str, case: str
) -> None:
    xml, message = HOSTILE[case]
    response = upload(client, token(client, designer), xml)
    assert response.status_code == 422, response.text
    assert any(message in p["message"] for p in response.json["problems"]), response.json
    assert definitions_count(rt) == 0


def test_a_huge_body_is_refused_before_it_is_read(client: Any, rt: Runtime, designer: str) -> None:
    body = XML + b" " * (6 * 1024 * 1024)
    response = client.post(
        "/api/definitions",
        data=body,
        headers=token(client, designer),
        content_type="application/xml",
    )
    assert response.status_code == 422
    assert response.json["problems"] == [
        {
            "element_id": None,
            "line": None,
            "message": f"the request is {len(body)} bytes; a BPMN file may have at most "
            "5242880 bytes",
        }
    ]
    assert definitions_count(rt) == 0


def test_a_staff_user_cannot_reach_the_designer_pages_or_the_definitions_api(
    client: Any, rt: Runtime, designer: str
) -> None:
    headers = token(client, "desk1")
    assert client.get("/api/definitions", headers=headers).status_code == 403
    refused = upload(client, headers, XML)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    login(client, "desk1")
    for path in (
        "/designer/",
        "/designer/lv_residential_connection",
        "/designer/lv_residential_connection/1.bpmn",
        "/designer/lv_residential_connection/modeler",
        "/designer/lv_residential_connection/diff",
        "/designer/lv_residential_connection/migrate",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post("/designer/upload", data={}).status_code == 403
    assert client.post("/designer/lv_residential_connection/deploy", data=XML).status_code == 403
    assert definitions_count(rt) == 0
    assert b'id="nav-designer"' not in client.get("/consultations").data
    # Designers and admins get in.
    users.create_user(rt, "admin1", STAFF_PASSWORD, ["admin"])
    for username in (designer, "admin1"):
        login(client, username)
        assert client.get("/designer/").status_code == 200
        assert b'id="nav-designer"' in client.get("/consultations").data
        assert client.get("/api/definitions", headers=token(client, username)).status_code == 200


def test_the_catalog_lists_versions_instances_and_standards_per_link(
    client: Any, rt: Runtime, designer: str
) -> None:
    headers = token(client, designer)
    assert upload(client, headers, XML).status_code == 201
    started = instances.start_instance(rt, "meter_check", {}, business_key="MC-1")
    assert started.version == 1
    listed = client.get("/api/definitions", headers=headers).json["processes"]
    meter = next(p for p in listed if p["process_id"] == "meter_check")
    assert meter["name"] == "Meter check"
    assert [
        (v["version"], v["running"], v["finished"], v["deployed_by"]) for v in meter["versions"]
    ] == [(1, 1, 0, designer)]
    assert meter["versions"][0]["content_hash"] == versions.definitions.content_hash(XML)
    assert meter["versions"][0]["deployed_at"] == MONDAY_9AM.isoformat()
    login(client, designer)
    index = client.get("/designer/").text
    assert 'data-process="meter_check"' in index
    page = client.get("/designer/meter_check").text
    assert versions.definitions.content_hash(XML)[:12] in page
    assert '<td class="running">1</td>' in page
    assert '<tr data-element="Activity_check">' in page
    assert '<td class="standard">3 working days</td>' in page
    assert "Metering code: on-site check within 3 working days" in page
    assert 'data-bpmn-url="/designer/meter_check/1.bpmn?labels=reader"' in page
    assert "deployed version 1 (API)" in page
    modeler = client.get("/designer/meter_check/modeler?version=1").text
    assert '"xmlUrl": "/designer/meter_check/1.bpmn"' in modeler
    assert '"deployUrl": "/designer/meter_check/deploy"' in modeler
    assert "Deployed version {version}." in modeler
    assert client.get("/designer/meter_check?version=7").status_code == 404
    assert client.get("/designer/no_such_process").status_code == 404


def test_uploading_on_the_page_deploys_or_lists_the_problems_with_the_diagram_marked(
    client: Any, rt: Runtime, designer: str
) -> None:
    login(client, designer)
    broken = XML.replace(b'name="Metering">', b'name="Meter readers">')
    refused = client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(broken), "meter_check.bpmn")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert (
        '<li class="list-group-item list-group-item-danger" data-element="Lane_metering">'
        in refused.text
    )
    assert "&#34;Lane_metering&#34;: &#34;gf-problem&#34;" in refused.text
    assert 'class="gf-diagram' in refused.text
    # A hostile file is refused with its message and never drawn.
    hostile = client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(HOSTILE["external entity"][0]), "evil.bpmn")},
        content_type="multipart/form-data",
    )
    assert hostile.status_code == 422
    assert "DOCTYPE and entity declarations are not allowed in BPMN files" in hostile.text
    assert 'class="gf-diagram' not in hostile.text
    assert definitions_count(rt) == 0
    deployed = client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(XML), "meter_check.bpmn")},
        content_type="multipart/form-data",
    )
    assert deployed.status_code == 302
    assert deployed.headers["Location"] == "/designer/meter_check?version=1"
    assert "Deployed version 1." in client.get(deployed.headers["Location"]).text


def test_the_diff_of_two_versions_names_added_removed_and_changed_elements(
    client: Any, rt: Runtime, designer: str
) -> None:
    headers = token(client, designer)
    first = upload(client, headers, XML).json
    changed = (
        XML.replace(b'value="P3D"', b'value="P5D"')
        .replace(b'label="Meter replaced" type="boolean"', b'label="Meter swapped" type="boolean"')
        .replace(b'name="Call customer back"', b'name="Phone the customer"')
        .replace(
            b'<bpmn:boundaryEvent id="Event_check_overdue"',
            b'<bpmn:boundaryEvent id="Event_check_late"',
        )
        .replace(b'bpmnElement="Event_check_overdue"', b'bpmnElement="Event_check_late"')
        .replace(b"<bpmn:flowNodeRef>Event_check_overdue<", b"<bpmn:flowNodeRef>Event_check_late<")
    )
    second = upload(client, headers, changed)
    assert second.status_code == 201, second.text
    diff = versions.diff(
        rt.definition(first["definition_id"]), rt.definition(second.json["definition_id"])
    )
    assert [(c.element_id, c.kind) for c in diff.added] == [("Event_check_late", "boundaryEvent")]
    assert [(c.element_id, c.kind) for c in diff.removed] == [
        ("Event_check_overdue", "boundaryEvent")
    ]
    assert [(c.element_id, c.aspects) for c in diff.changed] == [
        ("Activity_check", ("standard", "form")),
        ("Activity_call_back", ("name",)),
    ]
    # Moving shapes on the diagram is no change to the process.
    moved = XML.replace(b'<dc:Bounds x="330" y="120"', b'<dc:Bounds x="340" y="120"')
    assert versions.diff(
        rt.definition(first["definition_id"]), versions.definitions.parse(moved, "m.bpmn", rt.roles)
    ).empty
    login(client, designer)
    page = client.get("/designer/meter_check/diff?a=1&b=2").text
    assert '<tr class="changed" data-element="Activity_check">' in page
    assert "<td>standard, form</td>" in page
    assert '<tr class="added" data-element="Event_check_late">' in page
    assert '<tr class="removed" data-element="Event_check_overdue">' in page
    assert "&#34;Event_check_late&#34;: &#34;gf-added&#34;" in page
    assert "&#34;Event_check_overdue&#34;: &#34;gf-removed&#34;" in page


def test_a_changed_standard_gives_new_instances_the_new_due_time_and_old_ones_keep_theirs(
    client: Any, rt: Runtime, designer: str
) -> None:
    """The "done when" of issue 5 through the designer's own save (the modeler posts here)."""
    login(client, designer)
    headers = token(client, designer)
    assert upload(client, headers, XML).status_code == 201
    old = instances.start_instance(rt, "meter_check", {}, business_key="OLD")
    faster = XML.replace(
        b'<camunda:property name="standard_target" value="PT4H" />',
        b'<camunda:property name="standard_target" value="PT2H" />',
    )
    saved = client.post("/designer/meter_check/deploy", data=faster, content_type="application/xml")
    assert saved.status_code == 201, saved.text
    assert saved.json["version"] == 2
    assert saved.json["url"] == "/designer/meter_check?version=2"
    new = instances.start_instance(rt, "meter_check", {}, business_key="NEW")
    assert (old.version, new.version) == (1, 2)
    # Monday 09:00 in Beijing: 4 working hours end at 14:30 (lunch 12:00-13:30), 2 at 11:00.
    assert [i.due_at for i in open_items(rt, old.instance_id)] == [
        MONDAY_9AM.replace(hour=6, minute=30)
    ]
    assert [i.due_at for i in open_items(rt, new.instance_id)] == [MONDAY_9AM.replace(hour=3)]
    refused = client.post(
        "/designer/meter_check/deploy",
        data=faster.replace(b'value="PT2H"', b'value="soon"'),
        content_type="application/xml",
    )
    assert refused.status_code == 422
    assert refused.json["problems"][0]["element_id"] == "Activity_record"
    assert definitions_count(rt) == 2


def test_the_openapi_document_describes_the_definitions_api(client: Any) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    assert set(paths["/api/definitions"]) == {"get", "post"}
    assert set(paths["/api/definitions"]["post"]["responses"]) >= {"200", "201", "403", "422"}


def test_an_unchanged_modeler_save_deploys_nothing_and_a_change_asks_to_confirm(
    client: Any, rt: Runtime, designer: str
) -> None:
    """The modeler writes the file anew (other prefixes, indentation, exporter, layout): the
    same content is not a new version; a real change is previewed with its version number and
    the running instances that stay, and deployed only by the second request."""
    versions.deploy_bpmn(rt, XML, "meter_check.bpmn", "test", "cli")
    instances.start_instance(rt, "meter_check", {}, business_key="RUNNING-1")
    instances.start_instance(rt, "meter_check", {}, business_key="RUNNING-2")
    login(client, designer)
    rewritten = (
        XML.replace(b'exporter="Camunda Modeler"', b'exporter="bpmn-js (https://demo.bpmn.io)"')
        .replace(b"<bpmn:", b"<semantic:")
        .replace(b"</bpmn:", b"</semantic:")
        .replace(b"xmlns:bpmn=", b"xmlns:semantic=")
        .replace(b"\n      ", b"\n  ")
    )
    assert rewritten != XML
    headers = {"Content-Type": "application/xml"}
    preview = client.post("/designer/meter_check/deploy/preview", data=rewritten, headers=headers)
    assert preview.status_code == 200, preview.text
    body = preview.json
    warnings = body.pop("warnings")
    assert body == {"unchanged": True, "version": 1, "latest_version": 1, "running_stay": 2}
    # meter_check.bpmn has no Chinese labels: each is a warning naming the element and line
    # (the lane's, in the file as uploaded).
    lines = rewritten.decode().splitlines()
    lane_line = next(n for n, t in enumerate(lines, 1) if 'id="Lane_metering"' in t)
    assert {
        "element_id": "Lane_metering",
        "line": lane_line,
        "message": "no zh-Hans label for name 'Metering'",
    } in warnings
    saved = client.post("/designer/meter_check/deploy", data=rewritten, headers=headers)
    assert (saved.status_code, saved.json["version"]) == (200, 1)
    assert definitions_count(rt) == 1

    changed = XML.replace(b'value="P3D"', b'value="P2D"')
    preview = client.post("/designer/meter_check/deploy/preview", data=changed, headers=headers)
    body = preview.json
    body.pop("warnings")
    assert body == {
        "unchanged": False,
        "version": 2,
        "latest_version": 1,
        "running_stay": 2,
    }
    assert definitions_count(rt) == 1  # the preview deploys nothing
    deployed = client.post("/designer/meter_check/deploy", data=changed, headers=headers)
    assert (deployed.status_code, deployed.json["version"]) == (201, 2)
    assert definitions_count(rt) == 2
