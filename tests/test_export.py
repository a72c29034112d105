"""Event-log exports: the XES log of the hand-built history (tests/audit_history.py) is
well-formed, maps lifecycles to the XES standard model, escapes what it must, loads in PM4Py,
and PM4Py's per-activity durations equal gridflow's figures; CSV exports; `gridflow export`."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from typing import Any

import pytest
from audit_history import ACCEPT, BUILD, PROCESS, History, build
from click.testing import CliRunner
from conftest import login
from lxml import etree

from gridflow import audit, export
from gridflow.cli import main
from gridflow.runtime import Runtime

XES_NS = "{http://www.xes-standard.org/}"


@pytest.fixture
def history(rt: Runtime) -> History:
    return build(rt)


def xes_text(rt: Runtime, flt: audit.AuditFilter = audit.EVERYTHING) -> str:
    return "".join(export.events_xes(rt, flt))


def test_xes_has_one_trace_per_instance_and_standard_lifecycles(
    rt: Runtime, history: History
) -> None:
    root = etree.fromstring(xes_text(rt).encode("utf-8"))
    traces = root.findall(f"{XES_NS}trace")
    assert len(traces) == 3

    def value(element: Any, key: str) -> str | None:
        for child in element:
            if child.get("key") == key:
                return str(child.get("value"))
        return None

    assert [value(t, "concept:name") for t in traces] == [str(i) for i in history.instances]
    # Names with &, <, > and quotes survive the round trip.
    assert value(traces[0], "gridflow:business_key") == "D-AUDIT-1"
    third = [
        (value(e, "concept:name"), value(e, "lifecycle:transition"), value(e, "org:resource"))
        for e in traces[2].findall(f"{XES_NS}event")
    ]
    assert third == [
        (history.accept_name, "schedule", None),
        (history.accept_name, "assign", "manager1"),
        (history.accept_name, "reassign", "manager1"),
        (history.accept_name, "assign", "manager2"),
        (history.accept_name, "complete", "manager2"),
    ]
    first_events = traces[0].findall(f"{XES_NS}event")
    # The escalation has no standard lifecycle: it is in the CSV, not in the XES log.
    assert [value(e, "lifecycle:transition") for e in first_events] == [
        "schedule",
        "assign",
        "complete",
        "schedule",
        "assign",
        "complete",
    ]
    event = first_events[1]
    assert (value(event, "org:role"), value(event, "org:group")) == (
        "account_manager",
        "customer_service",
    )
    assert [c.get("value") for c in event if c.get("key") == "time:timestamp"] == [
        "2026-04-02T02:00:00.000+00:00"
    ]


def test_xes_escapes_attribute_values() -> None:
    assert export._attr('Wang & Sons <"1">\x01\n') == "Wang &amp; Sons &lt;&quot;1&quot;&gt;&#10;"


def test_xes_streams_in_chunks(
    rt: Runtime, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "CHUNK", 2)
    progress: list[int] = []
    chunks = list(export.events_xes(rt, on_progress=progress.append))
    assert sum(progress) == export.count_events(rt, xes=True) == 17
    assert len(chunks) > 9  # head, one chunk per two events, closing tags
    assert max(len(c) for c in chunks[1:-2]) < 3000


def test_pm4py_reads_the_log_and_its_durations_equal_gridflows(
    rt: Runtime, history: History, tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

    path = tmp_path / "log.xes"
    path.write_text(xes_text(rt), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = pm4py.read_xes(str(path))
    assert len(log) == 17 and log["case:concept:name"].nunique() == 3
    by_item = log.groupby(["gridflow:work_item", "lifecycle:transition"])["time:timestamp"]
    # Each execution: scheduled at its first schedule, started at its last assign.
    first = by_item.min().unstack()
    last = by_item.max().unstack()
    done = log[log["lifecycle:transition"] == "complete"].copy()
    done["scheduled"] = done["gridflow:work_item"].map(first["schedule"])
    done["assigned"] = done["gridflow:work_item"].map(last["assign"])
    handling = pm4py.get_service_time(
        done, aggregation_measure="median", start_timestamp_key="assigned"
    )
    waiting_log = done.assign(**{"time:timestamp": done["assigned"]})
    waiting = pm4py.get_service_time(
        waiting_log, aggregation_measure="median", start_timestamp_key="scheduled"
    )
    handling_mean = pm4py.get_service_time(
        done, aggregation_measure="mean", start_timestamp_key="assigned"
    )
    ours = {f.link_name: f for f in audit.link_figures(rt) if f.process_id == PROCESS}
    assert sorted(handling) == sorted(ours) == sorted([history.accept_name, history.build_name])
    for name, row in ours.items():
        assert handling[name] == row.durations["handling_median_s"]
        assert waiting[name] == row.durations["waiting_median_s"]
        assert handling_mean[name] == pytest.approx(row.durations["handling_mean_s"])
    assert handling[history.accept_name] == 6300.0  # the hand-computed median


def test_csv_of_events_keeps_every_lifecycle(rt: Runtime, history: History) -> None:
    rows = list(csv.DictReader(io.StringIO("".join(export.events_csv(rt)))))
    assert len(rows) == 18  # the 17 XES events and the escalation
    assert rows[0]["lifecycle"] == "ready" and rows[0]["process_id"] == PROCESS
    assert [r["lifecycle"] for r in rows if r["lifecycle"] == "escalated"] == ["escalated"]
    assert rows[0]["at"] == "2026-04-02T01:00:00.000+00:00"
    construction = list(
        csv.DictReader(
            io.StringIO(
                "".join(export.events_csv(rt, audit.AuditFilter(department="construction")))
            )
        )
    )
    assert {r["element_id"] for r in construction} == {BUILD}


def test_csv_of_link_figures(rt: Runtime, history: History) -> None:
    rows = list(csv.DictReader(io.StringIO("".join(export.links_csv(rt)))))
    accept = next(r for r in rows if r["element_id"] == ACCEPT)
    assert (accept["count"], accept["breaches"], accept["handling_median_s"]) == (
        "4",
        "1",
        "6300.0",
    )
    assert float(accept["handling_working_median_s"]) == 5400.0


def test_gridflow_export_writes_xes_and_csv_with_filters(
    rt: Runtime, history: History, tmp_path: Path
) -> None:
    runner = CliRunner()
    url = str(rt.db.url)
    xes = tmp_path / "log.xes"
    result = runner.invoke(
        main, ["export", "--database", url, "--format", "xes", "--output", str(xes)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 17 task events" in result.output
    assert etree.parse(str(xes)).getroot().tag == f"{XES_NS}log"
    events = tmp_path / "events.csv"
    result = runner.invoke(
        main,
        [
            "export",
            "--database",
            url,
            "--format",
            "csv",
            "--output",
            str(events),
            "--person",
            "manager2",
            "--since",
            "2026-04-08",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(events.read_text().splitlines()) == 1 + 4  # claims and completions of manager2
    links = tmp_path / "links.csv"
    result = runner.invoke(
        main,
        ["export", "--database", url, "--format", "csv", "--what", "links", "--output", str(links)],
    )
    assert result.exit_code == 0, result.output
    assert links.read_text().startswith("process_id,version,element_id")
    bad = runner.invoke(
        main,
        ["export", "--database", url, "--what", "links", "--output", str(links)],
    )
    assert bad.exit_code == 2 and "use --format csv" in bad.output


def test_exports_download_from_the_audit_page(client: Any, history: History) -> None:
    login(client, "auditor1")
    response = client.get(f"/audit/export/events.xes?process={PROCESS}")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="gridflow-events.xes"'
    assert response.get_data(as_text=True).count("<trace>") == 3
    response = client.get("/audit/export/events.csv?department=construction")
    assert len(response.get_data(as_text=True).splitlines()) == 1 + 3
