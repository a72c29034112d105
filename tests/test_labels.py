"""Process content in the reader's language: the translations inside the files, the lint of
missing ones, and the translators' PO round trip (docs/translations.md)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner

from gridflow.cli import main
from gridflow.labels import lint as label_lint
from gridflow.labels import read_xml

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES, folder)
    return folder


def test_the_shipped_processes_have_every_label_in_chinese() -> None:
    problems = label_lint.lint_paths([PROCESSES])
    assert {str(p): v for p, v in problems.items() if v} == {}
    book = read_xml((PROCESSES / "hv_connection.bpmn").read_bytes())
    assert book.text("zh_Hans", "hv_connection", "?") == "高压新装"
    assert book.text("zh_Hans", "Activity_countersign", "?") == "会签供电方案"
    assert book.text("zh_Hans", "Activity_reply_scheme", "?") == "供电方案答复"
    assert book.text("en", "Activity_reply_scheme", "?") == "Reply supply scheme"
    assert book.text("zh_Hans", "Activity_accept", "?", field="supply", value="dual") == "双电源"


def test_each_missing_translation_is_a_problem_naming_element_file_line_and_language(
    tmp_path: Path,
) -> None:
    folder = _copy(tmp_path)
    path = folder / "lv_residential_connection.bpmn"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        '<gridflow:label lang="zh-Hans">受理申请并确认供电方案</gridflow:label>', ""
    )
    text = text.replace(
        '<gridflow:label lang="zh-Hans" field="supply_scheme" value="existing_line">'
        "由现有线路供电</gridflow:label>",
        "",
    )
    path.write_text(text, encoding="utf-8")
    roles = folder / "roles.yaml"
    roles.write_text(
        roles.read_text(encoding="utf-8").replace(", name_zh: 财务,", ","), encoding="utf-8"
    )
    line = next(n for n, t in enumerate(text.splitlines(), 1) if 'id="Activity_accept" name=' in t)
    found = label_lint.lint_paths([folder])
    assert [str(p) for p in found[path]] == [
        f"{path}:{line}: [Activity_accept] no zh-Hans label for name "
        "'Accept application and confirm supply scheme'",
        f"{path}:{line}: [Activity_accept] no zh-Hans label for choice existing_line of field "
        "supply_scheme 'Supply from existing line'",
    ]
    [problem] = found[roles]
    assert problem.element_id == "role:finance" and "zh-Hans" in problem.message
    result = CliRunner().invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    assert "[Activity_accept] no zh-Hans label for name" in result.output


def test_po_export_then_import_writes_the_translators_work_into_the_files(
    tmp_path: Path,
) -> None:
    folder = _copy(tmp_path)
    out = tmp_path / "zh.po"
    runner = CliRunner()
    result = runner.invoke(
        main, ["translations", "export", "--lang", "zh_Hans", "--processes", str(folder), str(out)]
    )
    assert result.exit_code == 0, result.output
    catalog = read_po(out.open("rb"))
    by_context = {m.context: m for m in catalog if m.id}
    accept = by_context["lv_residential_connection.bpmn#Activity_accept"]
    assert (accept.id, accept.string) == (
        "Accept application and confirm supply scheme",
        "受理申请并确认供电方案",
    )
    assert by_context["roles.yaml#role:metering"].string == "计量装表"
    assert by_context["rules.yaml#event:outage_alarm"].string == "停电告警"
    # the translator changes three labels, one of each kind of file
    accept.string = "受理用电申请并确认供电方案"
    by_context[
        "lv_residential_connection.bpmn#Activity_accept/supply_scheme=existing_line"
    ].string = "利用现有线路供电"
    by_context["roles.yaml#role:metering"].string = "计量中心装表"
    by_context["rules.yaml#rule:repair_arrival_breached"].string = "抢修超时督办"
    buffer = io.BytesIO()
    write_po(buffer, catalog)
    out.write_bytes(buffer.getvalue())
    result = runner.invoke(
        main, ["translations", "import", "--lang", "zh_Hans", "--processes", str(folder), str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "lv_residential_connection.bpmn: 2 label(s) written",
        "roles.yaml: 1 label(s) written",
        "rules.yaml: 1 label(s) written",
    ]
    book = read_xml((folder / "lv_residential_connection.bpmn").read_bytes())
    assert book.text("zh_Hans", "Activity_accept", "?") == "受理用电申请并确认供电方案"
    assert (
        book.text("zh_Hans", "Activity_accept", "?", field="supply_scheme", value="existing_line")
        == "利用现有线路供电"
    )
    assert "metering: {name: Metering, name_zh: 计量中心装表," in (folder / "roles.yaml").read_text(
        encoding="utf-8"
    )
    assert "zh: 抢修超时督办}" in (folder / "rules.yaml").read_text(encoding="utf-8")
    # the files still lint clean, and a second export gives back what was imported
    assert all(not v for v in label_lint.lint_paths([folder]).values())
    assert CliRunner().invoke(main, ["lint", str(folder)]).exit_code == 0
    again = tmp_path / "again.po"
    runner.invoke(
        main,
        ["translations", "export", "--lang", "zh_Hans", "--processes", str(folder), str(again)],
    )
    strings = {m.context: m.string for m in read_po(again.open("rb")) if m.id}
    assert strings == {m.context: m.string for m in catalog if m.id}


def test_pybabel_extract_reads_the_labels_of_the_processes_folder(tmp_path: Path) -> None:
    pot = tmp_path / "labels.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            str(PROCESSES / "babel.cfg"),
            "-o",
            str(pot),
            str(PROCESSES),
        ],
        check=True,
    )
    contexts = {m.context for m in read_po(pot.open("rb")) if m.id}
    assert "hv_connection.bpmn#Activity_countersign" in contexts
    assert "supply_voltage.dmn#supply_voltage" in contexts
    assert "roles.yaml#department:metering" in contexts
    assert "rules.yaml#rule:outage_starts_active_repair" in contexts
    exported = io.BytesIO()
    from gridflow.labels.po import export

    export([PROCESSES], "zh_Hans", exported)
    exported.seek(0)
    assert contexts == {m.context for m in read_po(exported) if m.id}


def test_lint_warns_of_an_untranslated_lane_name_and_flow_name_with_their_lines(
    tmp_path: Path,
) -> None:
    folder = _copy(tmp_path)
    path = folder / "lv_residential_connection.bpmn"
    text = path.read_text(encoding="utf-8")
    lane = '<gridflow:label lang="zh-Hans">计量装表</gridflow:label>'
    flow = '<gridflow:label lang="zh-Hans">是</gridflow:label>'
    assert text.count(lane) == 1 and text.count(flow) == 1
    path.write_text(text.replace(lane, "").replace(flow, ""), encoding="utf-8")
    lines = text.splitlines()
    lane_line = next(n for n, t in enumerate(lines, 1) if '<bpmn:lane id="Lane_metering"' in t)
    flow_line = next(n for n, t in enumerate(lines, 1) if 'id="Flow_external_works"' in t)
    result = CliRunner().invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    found = [line for line in result.output.splitlines() if "no zh-Hans label" in line]
    assert found == [
        f"{path}:{lane_line}: [Lane_metering] no zh-Hans label for name 'Metering'",
        f"{path}:{flow_line}: [Flow_external_works] no zh-Hans label for name 'Yes'",
    ]


def test_lint_warns_of_a_rule_note_without_its_chinese_text(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rules = folder / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    zh = '            zh: "线路 {feeder}（{area}）停电告警：主动抢修已启动，抢修队正在赶往现场。"\n'
    assert text.count(zh) == 1
    rules.write_text(text.replace(zh, ""), encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.strip() == "text:")
    [problem] = label_lint.lint_paths([folder])[rules]
    assert str(problem) == (
        f"{rules}:{line}: [rule:outage_starts_active_repair:note_demands] no zh-Hans label for "
        "name 'Outage alarm on feeder {feeder} ({area}): an active repair has started; the crew "
        "is on its way.'"
    )
    # A bare English text has no place for its Chinese: said so, with how to write it.
    english = "Outage alarm on feeder {feeder} ({area}): an active repair has started; the crew is on its way."
    bare = text.replace(zh, "").replace(
        f'          text:\n            en: "{english}"\n', f'          text: "{english}"\n'
    )
    assert bare != text.replace(zh, "")
    rules.write_text(bare, encoding="utf-8")
    [problem] = label_lint.lint_paths([folder])[rules]
    assert problem.line == line and problem.message.endswith("(write the text as {en: …, zh: …})")
