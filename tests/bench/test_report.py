"""The result document (schema mixillo-bench/1) and its HTML report with embedded PNG charts."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest

from benchmarks.toolkit.recorder import Recorder
from benchmarks.toolkit.report import SCHEMA, build_result, check, environment, metric_rows, render_html

ENV = {"python": "3.11.9", "platform": "Linux", "cpu": "test", "cpu_count": 2, "load_avg": [0.5, 0.4, 0.3],
       "git_commit": "abc123"}


def result(notes: list[str] | None = None) -> dict[str, object]:
    times = iter([10.0, 10.2, 10.3, 10.4, 10.5, 11.3, 11.5, 11.9])  # start, then one reading per call
    recorder = Recorder(clock=lambda: next(times))
    for latency in (0.012, 0.015, 0.011, 0.013, 0.020):
        recorder.observe("feed", latency)
    recorder.count("errors")
    recorder.gauge("viewers", 4)
    return build_result("api", {"concurrency": 4}, "http://127.0.0.1:8080", dt.datetime(2026, 1, 2, 3, 4, 5,
                        tzinfo=dt.UTC), 2.0, recorder, 0.25, env=ENV, notes=notes)


def test_result_is_json_with_the_versioned_schema() -> None:
    doc = json.loads(json.dumps(result()))
    assert doc["schema"] == SCHEMA == "mixillo-bench/1"
    assert doc["started_at"] == "2026-01-02T03:04:05+00:00"
    assert doc["params"] == {"concurrency": 4} and doc["env"] == ENV
    assert doc["metrics"]["feed.count"] == 5 and doc["metrics"]["errors.count"] == 1
    assert len(doc["series"]["t"]) == 2 and doc["series"]["feed.per_s"] == [4.0, 1.0]
    assert sum(doc["histograms"]["feed"]["counts"]) == 5
    assert check(doc) is doc


def test_environment_names_the_machine_and_its_load() -> None:
    env = environment()
    assert env["python"].count(".") == 2 and len(env["load_avg"]) == 3 and env["cpu_count"] >= 1


@pytest.mark.parametrize("bad", [{"schema": "other/1"}, [], {"schema": SCHEMA, "scenario": "x"}])
def test_check_refuses_other_documents(bad: object) -> None:
    with pytest.raises(ValueError):
        check(bad)


def test_html_embeds_png_charts_and_escapes_text() -> None:
    page = render_html(result(notes=["<script>alert(1)</script>"]))
    assert "<script>" not in page and "&lt;script&gt;" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 5  # histograms, events per second, p50 and p99 per second, levels
    assert "<h3>Latency histograms</h3>" in page
    for image in images:
        assert base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n")
    assert "<th>feed</th>" in page and "<th>p99_ms</th>" in page and "http" not in page.split("<body>")[0]


def test_metric_rows_group_stats_by_name() -> None:
    rows = dict(metric_rows({"feed.count": 2, "feed.p99.9_ms": 3.0, "feed.p99_ms": 2.5, "viewers.last": 4,
                             "server.cpu_s": 1.5}))
    assert rows == {"feed": {"count": 2, "p99.9_ms": 3.0, "p99_ms": 2.5}, "viewers": {"last": 4},
                    "server.cpu_s": {"value": 1.5}}
