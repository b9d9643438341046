"""The ``mixillo`` command as a user runs it: serve, migrate, seed-demo, and configuration errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import socketio

from tests.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "MIXILLO_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_serve_answers_healthz_and_keeps_its_secret(tmp_path: Path, loop: str) -> None:
    port = free_port()
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "MIXILLO_PORT": str(port), "MIXILLO_EVENT_LOOP": loop}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(tmp_path)],
        cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for_port(port, timeout=30, process=process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200 and b'"ok"' in response.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert (tmp_path / "mixillo.db").exists()
    secret = (tmp_path / "jwt_secret").read_text().strip()
    assert len(secret) == 64 and oct((tmp_path / "jwt_secret").stat().st_mode)[-3:] == "600"
    assert secret not in output
    assert "0001_accounts" in output  # migrations ran at start
    assert f"{loop} loop" in output


async def test_serve_stops_promptly_with_socketio_clients_connected(tmp_path: Path) -> None:
    """SIGTERM with WebSocket clients connected: each is told to close (Engine.IO CLOSE) and the process exits
    in seconds; aiohttp alone would wait for the WebSocket handlers up to its 60 s shutdown timeout."""
    port = free_port()
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "MIXILLO_PORT": str(port)}
    process = await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(tmp_path)],
        cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients = [socketio.AsyncClient(reconnection=False) for _ in range(3)]
    gone = asyncio.Event()
    told: list[object] = []

    def disconnected(*reason: object) -> None:
        told.append(reason)
        if len(told) == len(clients):
            gone.set()

    try:
        await asyncio.to_thread(wait_for_port, port, 30, process)
        for client in clients:
            client.on("disconnect", disconnected, namespace="/live")
            await client.connect(f"http://127.0.0.1:{port}", namespaces=["/live"], transports=["websocket"])
        started = time.monotonic()
        process.terminate()
        await asyncio.wait_for(gone.wait(), 10)
        assert await asyncio.to_thread(process.wait, 15) == 0
        assert time.monotonic() - started < 15
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for client in clients:
            await client.disconnect()


def test_bad_configuration_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    for env, name in (
        ({"MIXILLO_PORT": "eighty"}, "MIXILLO_PORT"),
        ({"MIXILLO_PORT": "70000"}, "MIXILLO_PORT"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"MIXILLO_LOG_LEVEL": "LOUD"}, "MIXILLO_LOG_LEVEL"),
        ({"MIXILLO_JWT_SECRET": "short"}, "MIXILLO_JWT_SECRET"),
        ({"MIXILLO_EVENT_LOOP": "trio"}, "MIXILLO_EVENT_LOOP"),
    ):
        result = run_cli("migrate", data_dir=tmp_path, env=env)
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], result.stderr
    result = run_cli("migrate", data_dir=tmp_path, env={"DATABASE_URL": "mysql://u@h/db"})
    assert result.returncode == 2 and "unsupported database backend" in result.stderr


def test_migrate_and_seed_demo_are_repeatable(tmp_path: Path) -> None:
    assert run_cli("migrate", data_dir=tmp_path).returncode == 0
    first = run_cli("seed-demo", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "user alice (creator) created" in first.stdout
    second = run_cli("seed-demo", data_dir=tmp_path)
    assert second.returncode == 0 and "user alice exists" in second.stdout
