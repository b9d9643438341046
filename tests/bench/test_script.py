"""A real benchmark script (``analytics_feed`` at a tiny size, about a second) run through ``mixillo bench``:
its output still shows, a ``mixillo-bench/1`` result with its table and an HTML report with the table and a
bar chart are written, and ``compare`` lines up the rows of two runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.toolkit.cli import main
from benchmarks.toolkit.report import check


def run(out: Path, events: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str, str]:
    assert main(["analytics_feed", "--events", events, "--clients", "2", "--bench-out", str(out)]) == 0
    printed = capsys.readouterr().out
    [result] = out.glob("*.json")
    [page] = out.glob("*.html")
    return check(json.loads(result.read_text())), page.read_text(), printed


def test_script_writes_a_result_and_compare_lines_up_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich's width off a terminal: one line per row
    a, page, printed = run(tmp_path / "a", "200", capsys)
    assert "| SQLite | feed | 200 |" in printed and "result: " in printed  # the script's own lines, live
    assert a["schema"] == "mixillo-bench/1" and a["scenario"] == "analytics_feed"
    assert a["params"] == {"module": "benchmarks.analytics_feed", "argv": ["--events", "200", "--clients", "2"]}
    assert len(a["env"]["load_avg"]) == 3 and a["env"]["git_commit"] and a["client_cpu_s"] > 0
    [table] = a["tables"]
    assert table["columns"][:4] == ["backend", "mode", "events", "events/s"]
    assert [row[:3] for row in table["rows"]] == [["SQLite", "direct", "20"], ["SQLite", "feed", "200"]]
    assert a["output"] == printed[: len(a["output"])]
    assert "<h2>Tables</h2>" in page and "<td>SQLite</td>" in page and "µs/event on the request path" in page
    assert page.count("data:image/png;base64,") == 1  # the table's bar chart

    b, _, _ = run(tmp_path / "b", "400", capsys)
    assert [row[2] for row in b["tables"][0]["rows"]] == ["40", "400"]
    assert main(["compare", str(next((tmp_path / "a").glob("*.json"))),
                 str(next((tmp_path / "b").glob("*.json")))]) == 0
    shown = capsys.readouterr().out
    # rows lined up by backend and mode; events went 20 → 40 and 200 → 400: +100 %
    assert "20.00 → 40.00 (+100.00 %)" in shown and "200.00 → 400.00 (+100.00 %)" in shown
    assert "events/s" in shown and "metric" not in shown  # no empty metrics table for two script results


def test_a_failing_script_writes_no_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analytics_feed", "--no-such-option", "--bench-out", str(tmp_path)]) == 2
    assert "no result written" in capsys.readouterr().err and not list(tmp_path.iterdir())
