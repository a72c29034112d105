"""Rollback: the content of an older version deployed again becomes the newest version (a new
version number, recorded as a rollback with who, when and which version it restores); new
demands start on it, running instances keep theirs. From the CLI, the API and the designer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bpmn_samples import two_lane
from click.testing import CliRunner
from conftest import STAFF_PASSWORD, complete, login, open_items, token
from sqlalchemy import select

from gridflow import catalog, users
from gridflow.cli import main
from gridflow.demands import DemandInput, create_demand
from gridflow.models import Definition, DeployRecord, Instance
from gridflow.runtime import Runtime

V1 = two_lane()
V2 = two_lane(survey_name="Site survey with drone photos")


def versions_of(rt: Runtime) -> list[tuple[int, str]]:
    with rt.db.read() as session:
        rows = session.execute(
            select(Definition.version, Definition.content_hash)
            .where(Definition.process_id == "two_lane")
            .order_by(Definition.version)
        ).all()
    return [(r.version, r.content_hash) for r in rows]


def records(rt: Runtime) -> list[tuple[int, bool, int | None, str, str]]:
    with rt.db.read() as session:
        rows = session.scalars(
            select(DeployRecord)
            .where(DeployRecord.process_id == "two_lane")
            .order_by(DeployRecord.id)
        ).all()
    return [(r.version, r.created, r.restores_version, r.channel, r.actor) for r in rows]


def survey_name_for_a_new_demand(rt: Runtime) -> tuple[int, str]:
    """Start a demand on the process and complete its first link: the survey's name shows
    which content it runs."""
    accepted = create_demand(
        rt, DemandInput("Wang Fang", "residential", "counter", "connection"), processes=["two_lane"]
    )
    started = accepted.instances[0]
    complete(rt, started.instance_id, "Activity_accept", {"approved": True})
    [survey] = open_items(rt, started.instance_id)
    return started.version, survey.link_name


@pytest.fixture
def two_versions(rt: Runtime, tmp_path: Path) -> Path:
    path = tmp_path / "two_lane.bpmn"
    path.write_text(V1)
    catalog.deploy_paths(rt, [path], "designer1")
    path.write_text(V2)
    catalog.deploy_paths(rt, [path], "designer1")
    return path


def test_cli_rollback_makes_an_older_version_the_newest_again(
    rt: Runtime, database_url: str, two_versions: Path
) -> None:
    running = create_demand(
        rt, DemandInput("Li Lei", "residential", "counter", "connection"), processes=["two_lane"]
    ).instances[0]
    assert running.version == 2
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "--rollback",
            "two_lane",
            "--to",
            "1",
            "--database",
            database_url,
            "--actor",
            "ops1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "two_lane v3 deployed: the content of v1 again (rollback)\n"
    [(_, first), (_, second), (_, third)] = versions_of(rt)
    assert third == first != second
    assert records(rt)[-1] == (3, True, 1, "cli", "ops1")
    # New demands start on the rolled-back content; the running one keeps version 2.
    assert survey_name_for_a_new_demand(rt) == (3, "Site survey")
    with rt.db.read() as session:
        instance = session.get(Instance, running.instance_id)
        assert instance is not None
        assert rt.definition(instance.definition_id).links["Activity_survey"].name == (
            "Site survey with drone photos"
        )
    # Rolling back to the content the newest version has already changes nothing.
    again = CliRunner().invoke(
        main, ["deploy", "--rollback", "two_lane", "--to", "1", "--database", database_url]
    )
    assert (again.exit_code, again.stdout) == (0, "two_lane v3 unchanged\n")
    assert len(versions_of(rt)) == 3


def test_cli_rollback_names_what_is_wrong(
    rt: Runtime, database_url: str, two_versions: Path
) -> None:
    unknown = CliRunner().invoke(
        main, ["deploy", "--rollback", "two_lane", "--to", "9", "--database", database_url]
    )
    assert unknown.exit_code == 1
    assert unknown.stderr == "process 'two_lane' has no version 9; nothing deployed\n"
    for args in (["--rollback", "two_lane"], ["--rollback", "two_lane", "--to", "1", "x.bpmn"], []):
        misuse = CliRunner().invoke(main, ["deploy", *args, "--database", database_url])
        assert misuse.exit_code == 2, args
    assert len(versions_of(rt)) == 2


def test_redeploying_the_file_of_an_older_version_is_a_rollback(
    rt: Runtime, two_versions: Path
) -> None:
    two_versions.write_text(V1)
    [deployment] = catalog.deploy_paths(rt, [two_versions], "designer1")
    assert (deployment.version, deployment.created, deployment.restores_version) == (3, True, 1)
    [again] = catalog.deploy_paths(rt, [two_versions], "designer1")
    assert (again.version, again.created, again.restores_version) == (3, False, None)
    assert [r[:3] for r in records(rt)] == [
        (1, True, None),
        (2, True, None),
        (3, True, 1),
        (3, False, None),
    ]


def test_api_deploy_of_an_older_content_is_a_rollback(
    client: Any, rt: Runtime, two_versions: Path
) -> None:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    headers = token(client, "designer1")
    response = client.post(
        "/api/definitions", data=V1.encode(), headers=headers, content_type="application/xml"
    )
    assert response.status_code == 201, response.text
    assert response.json == {
        "process_id": "two_lane",
        "version": 3,
        "definition_id": response.json["definition_id"],
        "created": True,
        "restores_version": 1,
    }
    again = client.post(
        "/api/definitions", data=V1.encode(), headers=headers, content_type="application/xml"
    )
    assert (again.status_code, again.json["version"], again.json["restores_version"]) == (
        200,
        3,
        None,
    )
    assert records(rt)[-2:] == [
        (3, True, 1, "api", "designer1"),
        (3, False, None, "api", "designer1"),
    ]
    assert survey_name_for_a_new_demand(rt) == (3, "Site survey")


def test_designer_offers_make_this_the_newest_version_again_with_a_confirmation(
    client: Any, rt: Runtime, two_versions: Path
) -> None:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    login(client, "designer1")
    page = client.get("/designer/two_lane")
    assert page.status_code == 200
    # Offered for version 1 only: version 2 is the newest.
    assert page.text.count('class="rollback"') == 1
    assert 'href="/designer/two_lane/rollback?to=1"' in page.text
    confirm = client.get("/designer/two_lane/rollback?to=1")
    assert confirm.status_code == 200
    assert "Deploy the content of version 1 (deployed" in confirm.text
    assert "again as version 3?" in confirm.text
    assert "Make version 1 the newest version again" in confirm.text
    assert len(versions_of(rt)) == 2  # asking changed nothing
    done = client.post("/designer/two_lane/rollback?to=1")
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/designer/two_lane?version=3")
    after = client.get("/designer/two_lane?version=3")
    assert "Version 3 is the content of version 1 again; new demands start on it." in after.text
    assert "rolled back: version 3 is the content of version 1 again (designer page)" in after.text
    assert records(rt)[-1] == (3, True, 1, "designer", "designer1")
    # Now versions 1 and 3 share the newest content: only version 2 can be made newest again.
    assert 'href="/designer/two_lane/rollback?to=2"' in after.text
    assert 'href="/designer/two_lane/rollback?to=1"' not in after.text
    assert survey_name_for_a_new_demand(rt) == (3, "Site survey")


def test_designer_rollback_refuses_an_unknown_version_and_non_designers(
    client: Any, rt: Runtime, two_versions: Path
) -> None:
    users.create_user(rt, "designer1", STAFF_PASSWORD, ["designer"])
    login(client, "designer1")
    assert client.get("/designer/two_lane/rollback?to=7").status_code == 404
    assert client.post("/designer/two_lane/rollback").status_code == 404
    client.get("/logout")
    login(client, "planner1")
    assert client.post("/designer/two_lane/rollback?to=1").status_code == 403
    assert len(versions_of(rt)) == 2
