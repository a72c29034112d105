"""The notes linkage rules write on demands' timelines are kept as a message key and values
and said in the reader's language: on the staff timeline and in the API (key, values and the
text in the request's language); a note written before, as plain English, still shows."""

from __future__ import annotations

import html
from typing import Any

from conftest import CHINESE, item_for, login, token
from flask.testing import FlaskClient
from sqlalchemy import select
from test_events_api import ALARM, _demand_id, crew, customer_on

from gridflow.models import Comment, Demand, Instance
from gridflow.runtime import Runtime

ENGLISH_NOTE = (
    "Outage alarm on feeder F007 (urban): an active repair has started; the crew is on its way."
)
CHINESE_NOTE = "线路 F007（城区）停电告警：主动抢修已启动，抢修队正在赶往现场。"


def _alarm(rt: Runtime, client: Any) -> int:
    crew(rt)
    affected = customer_on(rt, "Wang household", "F007")
    posted = client.post("/api/events", json=ALARM, headers=token(client, "integration1"))
    assert posted.status_code == 201, posted.text
    return _demand_id(rt, affected)


def _page(app: Any, username: str, url: str, headers: dict[str, str]) -> str:
    browser = FlaskClient(app, app.response_class, use_cookies=True)
    login(browser, username)
    response = browser.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def test_a_chinese_supervisor_reads_the_outage_alarms_note_on_the_timeline_in_chinese(
    app: Any, rt: Runtime, client: Any
) -> None:
    demand_id = _alarm(rt, client)
    page = _page(app, "supervisor1", f"/demands/{demand_id}", CHINESE)
    assert "gridflow · " in page and CHINESE_NOTE in page
    assert "Outage alarm on feeder" not in page and '"key"' not in page
    english = _page(app, "supervisor1", f"/demands/{demand_id}", {"Accept-Language": "en"})
    assert ENGLISH_NOTE in english and CHINESE_NOTE not in english
    # The note is stored as its key and values, not as a sentence in one language.
    with rt.db.read() as session:
        [body] = session.scalars(select(Comment.body).where(Comment.author == "gridflow"))
    assert '"key": "rule:outage_starts_active_repair:note_demands"' in body


def test_the_api_gives_the_notes_key_values_and_text_in_the_requests_language(
    rt: Runtime, client: Any
) -> None:
    demand_id = _alarm(rt, client)
    desk = token(client, "desk1")
    for language, text in (("zh-CN", CHINESE_NOTE), ("en", ENGLISH_NOTE)):
        view = client.get(
            f"/api/demands/{demand_id}", headers={**desk, "Accept-Language": language}
        ).json
        [note] = [c for i in view["instances"] for link in i["links"] for c in link["comments"]]
        assert note == {
            "author": "gridflow",
            "at": note["at"],
            "text": text,
            "key": "rule:outage_starts_active_repair:note_demands",
            "params": {"area": "urban", "feeder": "F007"},
        }


def test_a_note_written_before_notes_had_keys_still_shows_as_written(app: Any, rt: Runtime) -> None:
    reference = customer_on(rt, "Zhao household", "F009")
    with rt.db.write() as session:
        demand_id, instance_id = session.execute(
            select(Demand.id, Instance.id)
            .join(Instance, Instance.demand_id == Demand.id)
            .where(Demand.reference == reference)
        ).one()
    link = item_for(rt, instance_id, "Activity_accept")
    old = (
        "Outage alarm on feeder F009 (rural): an active repair has started; the crew is on its way."
    )
    with rt.db.write() as session:
        session.add(
            Comment(
                instance_id=instance_id,
                work_item_id=link.id,
                author="gridflow",
                body=old,
                at=rt.clock.now(),
            )
        )
    page = _page(app, "supervisor1", f"/demands/{demand_id}", CHINESE)
    assert old in page
