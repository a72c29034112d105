"""Process content on the staff's pages in their language, from the version each instance
runs: a relabelled deploy changes the labels of new instances only; staff names per language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import login
from sqlalchemy import select
from test_pages import intake

from gridflow import catalog, users
from gridflow.models import WorkItem
from gridflow.runtime import Runtime

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


def _accept_items(rt: Runtime) -> list[WorkItem]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                select(WorkItem)
                .where(WorkItem.element_id == "Activity_accept")
                .order_by(WorkItem.id)
            )
        )


def _client(app: Any, username: str, language: str) -> Any:  # noqa: ANN401
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    login(client, username)
    return client


def test_an_old_instance_keeps_its_versions_labels_after_a_relabelled_deploy(
    app: Any, rt: Runtime, tmp_path: Path
) -> None:
    first_demand = intake(app)
    text = (PROCESSES / "hv_connection.bpmn").read_text(encoding="utf-8")
    relabelled = text.replace(
        '<bpmn:userTask id="Activity_accept" name="Accept application">',
        '<bpmn:userTask id="Activity_accept" name="Take in the application">',
    ).replace(
        '<gridflow:label lang="zh-Hans">受理申请</gridflow:label>',
        '<gridflow:label lang="zh-Hans">受理高压用电申请</gridflow:label>',
        1,
    )
    assert relabelled.count("受理高压用电申请") == 1 and "Take in the application" in relabelled
    (tmp_path / "hv_connection.bpmn").write_text(relabelled, encoding="utf-8")
    [deployed] = catalog.deploy_paths(rt, [tmp_path / "hv_connection.bpmn"], "designer1")
    assert deployed.version == 2
    intake(app)
    old, new = _accept_items(rt)
    assert (old.link_name, new.link_name) == ("Accept application", "Take in the application")

    chinese = _client(app, "manager1", "zh-CN")
    old_page, new_page = (chinese.get(f"/work-items/{i.id}").text for i in (old, new))
    assert '<h1 class="h4" id="link-name">受理申请</h1>' in old_page
    assert '<h1 class="h4" id="link-name">受理高压用电申请</h1>' in new_page
    assert "受理高压用电申请" not in old_page
    assert ">营业执照、身份及产权证明已核验" in old_page  # a form field's label
    assert ">双电源</option>" in old_page  # a choice
    queue = chinese.get("/queue?scope=team").text
    assert queue.count(">受理申请</a>") == 1 and queue.count(">受理高压用电申请</a>") == 1
    assert "Accept application" not in queue and "High-voltage connection" not in queue
    assert "<strong>高压新装</strong>" in chinese.get(f"/demands/{first_demand}").text

    english = _client(app, "manager1", "en")
    assert (
        '<h1 class="h4" id="link-name">Accept application</h1>'
        in english.get(f"/work-items/{old.id}").text
    )
    assert (
        '<h1 class="h4" id="link-name">Take in the application</h1>'
        in english.get(f"/work-items/{new.id}").text
    )


def test_the_audit_diagram_is_drawn_with_the_readers_labels(app: Any, rt: Runtime) -> None:
    with rt.db.read() as session:
        definition_id = (
            session.scalar(select(WorkItem.definition_id).limit(1))
            or rt.latest("hv_connection").definition_id
        )
    auditor_zh = _client(app, "auditor1", "zh-CN")
    chinese = auditor_zh.get(f"/audit/diagram/{definition_id}.bpmn").text
    assert 'name="受理申请"' in chinese and 'name="Accept application"' not in chinese
    auditor_en = _client(app, "auditor1", "en")
    assert (
        'name="Accept application"' in auditor_en.get(f"/audit/diagram/{definition_id}.bpmn").text
    )


def test_staff_names_are_shown_in_the_readers_language(app: Any, rt: Runtime) -> None:
    users.create_user(
        rt,
        "manager7",
        "a-long-password",
        ["account_manager"],
        display_name="Li Ming",
        display_name_zh="李明",
    )
    from conftest import STAFF_PASSWORD

    users.create_user(rt, "manager8", STAFF_PASSWORD, ["account_manager"], display_name="Wang")
    chinese = app.test_client()
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = chinese.post("/login", data={"username": "manager7", "password": "a-long-password"})
    assert response.status_code == 302
    assert 'id="whoami" title="李明">李明</span>' in chinese.get("/queue").text
    english = app.test_client()
    english.post("/login", data={"username": "manager7", "password": "a-long-password"})
    assert 'id="whoami" title="Li Ming">Li Ming</span>' in english.get("/queue").text
    # without a Chinese name, the one name serves both languages
    other = _client(app, "manager8", "zh-CN")
    assert 'id="whoami" title="Wang">Wang</span>' in other.get("/queue").text
