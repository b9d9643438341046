"""``mixillo bench`` against a real ``mixillo serve`` on loopback: short api and room runs write their JSON and
HTML, and ``compare`` reads both. (The media scenarios need seconds of aiortc set-up and encoding per
peer; their parts are covered by the engine and signaling tests, and ``docs/performance.md`` has their runs.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import main as listing_main
from benchmarks.toolkit.cli import main
from tests.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    data = tmp_path_factory.mktemp("bench-server")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MIXILLO_DATA_DIR": str(data), "MIXILLO_LOG_LEVEL": "WARNING",
           "MIXILLO_JWT_SECRET": "bench-test-secret-" + "x" * 32, "MIXILLO_RATE_AUTH_PER_IP": "100000",
           "MIXILLO_RATE_WRITE_PER_IP": "100000", "MIXILLO_RATE_WRITE_PER_USER": "100000"}
    seeded = subprocess.run([sys.executable, "-m", "api.cli", "seed-demo"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)  # the gift catalog
    assert seeded.returncode == 0, seeded.stderr
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 30, process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(15)


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    """``mixillo bench ...`` as a user runs it (through ``api.cli``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "api.cli", "bench", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def check_output(out: Path, url: str) -> dict[str, Any]:
    [result] = out.glob("*.json")
    [page] = out.glob("*.html")
    assert page.read_text().count("data:image/png;base64,") >= 3
    doc: dict[str, Any] = json.loads(result.read_text())
    assert doc["schema"] == "mixillo-bench/1" and doc["target"] == url and doc["duration_s"] == pytest.approx(2, 0.1)
    assert doc["metrics"]["server.cpu_s"] > 0 and len(doc["env"]["load_avg"]) == 3
    return doc


def test_api_and_room_runs_then_compare(server: tuple[str, int], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich's width when not on a terminal: one line per metric
    url, pid = server
    common = ("--target", url, "--duration", "2", "--quiet", "--server-pid", str(pid))
    done = bench("api", "--users", "2", "--concurrency", "4", *common, "--out", str(tmp_path / "api"))
    assert done.returncode == 0, done.stderr
    api = check_output(tmp_path / "api", url)
    metrics = api["metrics"]
    assert metrics["feed.count"] > 10 and metrics["feed.p50_ms"] > 0 and metrics["wallet.count"] > 0
    assert "errors.count" not in metrics, api["notes"]
    assert api["params"]["concurrency"] == 4 and api["params"]["mix"] == "feed=50,search=25,wallet=15,like=10"
    # requests in flight at the deadline land in a last second of their own: the series holds every sample
    assert sum(api["series"]["feed.per_s"]) == metrics["feed.count"]

    # The room scenario in this process (the same entry point api.cli hands over to).
    assert main(["room", "--viewers", "10", "--givers", "2", "--gift-rate", "10", "--chat-rate", "2", *common,
                 "--out", str(tmp_path / "room")]) == 0
    room = check_output(tmp_path / "room", url)
    metrics = room["metrics"]
    assert metrics["viewers.last"] == 10
    assert metrics["gift.ack.count"] >= 15 and metrics["chat.ack.count"] >= 3
    assert "gift.refused.count" not in metrics and "chat.refused.count" not in metrics, room["notes"]
    # On loopback nothing is lost: each acknowledged gift and message reached all ten viewers.
    assert metrics["gift.delivery.count"] == 10 * metrics["gift.ack.count"]
    assert metrics["chat.delivery.count"] == 10 * metrics["chat.ack.count"]
    assert "gift.undelivered.count" not in metrics

    capsys.readouterr()
    assert main(["compare", str(next((tmp_path / "api").glob("*.json"))),
                 str(next((tmp_path / "room").glob("*.json")))]) == 0
    table = capsys.readouterr().out
    assert "feed.p99_ms" in table and "gift.delivery.p50_ms" in table and "api @" in table and "room @" in table


def test_make_bench_lists_scenarios_and_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    listing_main()
    listing = capsys.readouterr().out
    for name in ("viewers", "publishers", "room", "hls", "api", "mix", "ledger", "compositor", "sfu_fanout",
                 "rooms", "api-script"):
        assert f"  {name} " in listing
