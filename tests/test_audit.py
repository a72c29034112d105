"""Auditors' figures: a hand-built history (tests/audit_history.py) gives figures worked out by
hand, on SQLite and PostgreSQL; filters; breaches with who was responsible; whole-process
figures; the JSON API; who may see what; auditors change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from audit_history import ACCEPT, BUILD, HOUR, PROCESS, History, build, local
from conftest import STAFF_PASSWORD, login, token
from sqlalchemy import select

from gridflow import audit, users
from gridflow.audit import AuditFilter
from gridflow.demands import DemandInput, create_demand
from gridflow.models import Comment, WorkItem
from gridflow.runtime import Runtime

DAY = 24 * HOUR


@pytest.fixture
def history(rt: Runtime) -> History:
    return build(rt)


def figures(rt: Runtime, flt: AuditFilter = audit.EVERYTHING, **kw: Any) -> dict[str, Any]:
    return {f.element_id: f for f in audit.link_figures(rt, flt, **kw) if f.process_id == PROCESS}


# The accept link's four executions, worked out by hand (see tests/audit_history.py).
ACCEPT_EXPECTED = {
    # calendar: waiting [0.5 h, 1 h, 2 h, 64 h]; handling [0.5 h, 1.5 h, 2 h, 120 h]
    "waiting_mean_s": 60750.0,
    "waiting_median_s": 5400.0,
    "waiting_p90_s": 7200 + 0.7 * (230400 - 7200),
    "waiting_p95_s": 7200 + 0.85 * (230400 - 7200),
    "waiting_max_s": 64 * HOUR,
    "handling_mean_s": 111600.0,
    "handling_median_s": 6300.0,
    "handling_p90_s": 7200 + 0.7 * (432000 - 7200),
    "handling_p95_s": 7200 + 0.85 * (432000 - 7200),
    "handling_max_s": 5 * DAY,
    "total_median_s": (14400 + 232200) / 2,
    # working: waiting [0.5 h, 0.5 h, 1 h, 1 h]; handling [0.5 h, 1.5 h, 1.5 h, 14 h]
    "waiting_working_mean_s": 2700.0,
    "waiting_working_median_s": 2700.0,
    "waiting_working_p95_s": 3600.0,
    "handling_working_mean_s": 15750.0,
    "handling_working_median_s": 5400.0,
    "handling_working_p90_s": 5400 + 0.7 * (50400 - 5400),
    "handling_working_p95_s": 5400 + 0.85 * (50400 - 5400),
    "handling_working_max_s": 14 * HOUR,
    "total_working_median_s": 8100.0,
    "total_working_p95_s": 9000 + 0.85 * (54000 - 9000),
}


@pytest.mark.parametrize("method", ["index", "window"])
def test_per_link_figures_match_the_hand_computed_values(
    rt: Runtime, history: History, method: str
) -> None:
    found = figures(rt, method=method)
    assert sorted(found) == [ACCEPT, BUILD]
    accept = found[ACCEPT]
    assert (accept.count, accept.breaches, accept.within_standard_share) == (4, 1, 0.75)
    assert (accept.rework_instances, accept.rework_executions) == (1, 1)
    assert (accept.standard_target, accept.standard_basis) == ("P2D", "working")
    assert accept.standard_s == 14 * HOUR  # two working days of 7 h
    for key, value in ACCEPT_EXPECTED.items():
        assert accept.durations[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
    build = found[BUILD]
    assert build.count == 1 and build.breaches == 0
    # Waiting 10:00 → 14:00 is 4 h, of which 2 h 30 min in working hours (lunch 12:00-13:30).
    assert build.durations["waiting_median_s"] == 4 * HOUR
    assert build.durations["waiting_working_median_s"] == 2.5 * HOUR
    assert build.durations["handling_working_p95_s"] == 2 * HOUR


def test_the_index_and_window_ways_give_the_same_figures(rt: Runtime, history: History) -> None:
    for flt in (audit.EVERYTHING, AuditFilter(department="construction")):
        by_index = figures(rt, flt, method="index")
        by_window = figures(rt, flt, method="window")
        assert sorted(by_index) == sorted(by_window)
        for element_id, row in by_index.items():
            other = by_window[element_id]
            assert (row.count, row.breaches, row.rework_instances) == (
                other.count,
                other.breaches,
                other.rework_instances,
            )
            for key, value in row.durations.items():
                assert value == pytest.approx(other.durations[key], rel=1e-12), key


def test_filters_by_customer_category_person_period_and_department(
    rt: Runtime, history: History
) -> None:
    business = figures(rt, AuditFilter(customer_category="business"))
    assert list(business) == [ACCEPT]
    assert business[ACCEPT].count == 2 and business[ACCEPT].rework_instances == 1
    assert business[ACCEPT].durations["handling_working_median_s"] == 5400.0

    mine = figures(rt, AuditFilter(person="manager1"))
    assert mine[ACCEPT].count == 2  # instance 1 and the second round of instance 2
    assert mine[ACCEPT].durations["handling_working_median_s"] == (5400 + 50400) / 2

    since = audit.parse_filter({"since": "2026-04-08", "until": "2026-04-30"}, rt.calendar)
    assert (since.since, since.until) == (local(8, 0), local(30, 0) + timedelta(days=1))
    assert since.as_query(rt.calendar) == {"since": "2026-04-08", "until": "2026-04-30"}
    later = figures(rt, since)
    assert list(later) == [ACCEPT] and later[ACCEPT].count == 3

    until = figures(rt, audit.parse_filter({"until": "2026-04-07"}, rt.calendar))
    assert (until[ACCEPT].count, until[BUILD].count) == (1, 1)

    assert list(figures(rt, AuditFilter(department="construction"))) == [BUILD]
    assert list(figures(rt, AuditFilter(process_id=PROCESS, version=99))) == []


def test_bad_filter_values_are_named(rt: Runtime) -> None:
    with pytest.raises(audit.AuditFilterError, match="since: '2026-13-01' is not a date"):
        audit.parse_filter({"since": "2026-13-01"}, rt.calendar)
    with pytest.raises(audit.AuditFilterError, match="version: 'two' is not a version number"):
        audit.parse_filter({"version": "two"}, rt.calendar)


def test_breaches_name_the_responsible_department_and_person(rt: Runtime, history: History) -> None:
    [breach] = audit.breaches(rt)
    assert (breach.element_id, breach.department, breach.person) == (
        ACCEPT,
        "customer_service",
        "manager1",
    )
    assert breach.due_at == local(3, 17, 30)  # two working days from Thursday 09:00
    assert breach.late_by.total_seconds() == 3 * DAY + 16.5 * HOUR
    people = {(r.department, r.person): (r.count, r.breaches) for r in audit.breaches_by_person(rt)}
    assert people == {
        ("customer_service", "manager1"): (2, 1),
        ("customer_service", "manager2"): (2, 0),
        ("construction", "builder1"): (1, 0),
    }


def test_whole_process_figures_against_the_cap(rt: Runtime, history: History) -> None:
    assert audit.refresh_instances(rt) == 1  # only instance 1 has finished
    assert audit.refresh_instances(rt) == 0  # recorded once
    [process] = [p for p in audit.process_figures(rt) if p.process_id == PROCESS]
    assert process.instances == 1
    assert (process.cap_targets, process.cap_basis, process.within_cap_share) == (
        "P5D",
        "working",
        1.0,
    )
    # Thu 09:00 → Tue 16:00: 5 days 7 h; working: Thu 7 h + Fri 7 h + Tue 5 h 30 = 19 h 30.
    assert process.durations["calendar_median_s"] == 5 * DAY + 7 * HOUR
    assert process.durations["working_median_s"] == 19.5 * HOUR
    links = rt.latest(PROCESS).definition.links
    trips = sum(1 for e in (ACCEPT, BUILD) if links[e].customer_facing)
    assert (process.links_mean, process.procedures_mean) == (2.0, float(trips))
    weekly = audit.trend(rt, audit.EVERYTHING, "week")[PROCESS]
    assert [(p.period, p.instances) for p in weekly] == [("2026-04-06", 1)]
    assert [p.period for p in audit.trend(rt, audit.EVERYTHING, "month")[PROCESS]] == ["2026-04"]
    [residential] = audit.getting_electricity(rt)
    assert residential.customer_category == "residential"
    assert residential.calendar_days_median == pytest.approx(5 + 7 / 24)
    assert residential.working_days_median == pytest.approx(19.5 / 7)


def test_active_repair_share_counts_alarms_against_customer_reports(rt: Runtime) -> None:
    for channel in ("monitoring", "call_centre", "call_centre"):
        create_demand(
            rt,
            DemandInput(
                customer_name="Li",
                customer_category="residential",
                channel=channel,
                category="repair",
                address="1 Renmin Road",
                feeder="F001",
            ),
        )
    share = audit.active_repair_share(rt)
    assert (share.active, share.reported) == (1, 2)
    assert share.active_share == pytest.approx(1 / 3)


# --- JSON API and pages ------------------------------------------------------------------------


def test_audit_api_gives_self_describing_figures_to_auditors(
    client: Any, rt: Runtime, history: History
) -> None:
    response = client.get(f"/api/audit/links?process={PROCESS}", headers=token(client, "auditor1"))
    assert response.status_code == 200
    rows = {row["element_id"]: row for row in response.json["links"]}
    accept = rows[ACCEPT]
    assert (accept["process_id"], accept["version"], accept["count"]) == (PROCESS, 1, 4)
    assert accept["handling_median_s"] == 6300.0
    assert accept["handling_working_median_s"] == 5400.0
    assert accept["waiting_p95_s"] == pytest.approx(ACCEPT_EXPECTED["waiting_p95_s"])
    assert accept["within_standard_share"] == 0.75
    assert "/api/audit/links" in client.get("/api/openapi.json").json["paths"]
    bad = client.get("/api/audit/links?since=yesterday", headers=token(client, "auditor1"))
    assert bad.status_code == 422 and "since" in bad.json["error"]["message"]


def test_a_supervisor_sees_the_links_of_their_departments_only(
    client: Any, rt: Runtime, history: History
) -> None:
    users.create_user(rt, "sup1", STAFF_PASSWORD, ["supervisor", "construction"])
    response = client.get("/api/audit/links", headers=token(client, "sup1"))
    assert response.status_code == 200
    assert response.json["departments"] == ["construction", "service_supervision"]
    assert [row["element_id"] for row in response.json["links"]] == [BUILD]
    # Asking for another department's links gives nothing, not more.
    other = client.get(
        "/api/audit/links?department=customer_service", headers=token(client, "sup1")
    )
    assert other.json["links"] == []


def test_clerks_do_not_see_audit_figures(client: Any, history: History) -> None:
    assert client.get("/api/audit/links", headers=token(client, "desk1")).status_code == 403
    login(client, "desk1")
    assert client.get("/audit/links").status_code == 403
    assert client.get("/audit/export/events.xes").status_code == 403


def test_audit_pages_render_for_an_auditor(client: Any, rt: Runtime, history: History) -> None:
    login(client, "auditor1")
    page = client.get(f"/audit/links?process={PROCESS}")
    assert page.status_code == 200
    assert history.accept_name in page.text and 'id="audit-diagram"' in page.text
    assert 'id="nav-audit"' in page.text
    chart = client.get(f"/audit/links/{history.definition_id}/{ACCEPT}")
    assert chart.status_code == 200 and 'id="distribution-chart"' in chart.text
    processes = client.get("/audit/processes?by=month")
    assert processes.status_code == 200 and "2026-04" in processes.text
    assert 'id="getting-electricity"' in processes.text
    diagram = client.get(f"/audit/instances/{history.instances[2]}")
    assert diagram.status_code == 200 and '"Activity_accept": "completed"' in diagram.text
    links_csv = client.get(f"/audit/export/links.csv?process={PROCESS}")
    assert links_csv.status_code == 200
    assert links_csv.text.splitlines()[0].startswith("process_id,version,element_id")


def test_an_auditor_cannot_claim_complete_or_comment(client: Any, rt: Runtime) -> None:
    create_demand(
        rt,
        DemandInput(
            customer_name="Zhao",
            customer_category="residential",
            channel="counter",
            category="connection",
            address="2 Heping Road",
        ),
    )
    with rt.db.read() as session:
        item = session.scalars(select(WorkItem).where(WorkItem.state == "ready")).one()
    headers = token(client, "auditor1")
    for verb in ("claim", "complete"):
        response = client.post(
            f"/api/work-items/{item.id}/{verb}",
            json={"version": item.lock_version, "data": {}},
            headers=headers,
        )
        assert response.status_code == 403, verb
    login(client, "auditor1")
    for verb in ("claim", "complete", "comment"):
        response = client.post(
            f"/work-items/{item.id}/{verb}", data={"version": item.lock_version, "body": "x"}
        )
        assert response.status_code == 403, verb
    with rt.db.read() as session:
        after = session.get(WorkItem, item.id)
        assert after is not None
        assert (after.state, after.assignee, after.lock_version) == (
            "ready",
            None,
            item.lock_version,
        )
        assert session.scalars(select(Comment)).all() == []
