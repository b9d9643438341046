"""Runs one load scenario: progress while it runs, a hard stop if it overruns, then its result document."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.toolkit import progress
from benchmarks.toolkit.recorder import Recorder
from benchmarks.toolkit.report import build_result
from benchmarks.toolkit.scenario import Run, Scenario, Target, options_dict

SETUP_LIMIT_S = 120.0  # users, lives and publishers are made before the clock starts
TEARDOWN_LIMIT_S = 30.0
GENERIC = ("target", "allow_remote", "duration", "out", "quiet", "server_pid", "scenario")

log = logging.getLogger("mixillo.bench")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/<pid>/stat`` fields 14 and 15, Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def execute(scenario: Scenario, target: Target, options: argparse.Namespace) -> dict[str, Any]:
    """Run ``scenario`` for ``options.duration`` seconds of load and return its result document."""
    recorder = Recorder()
    started_at = dt.datetime.now(dt.UTC)
    cpu_before = time.process_time()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        run = Run(target, options.duration, options, recorder, http)
        server_cpu: list[float] = []

        async def watch_server() -> None:
            await run.window.began.wait()
            server_cpu.append(proc_cpu_s(options.server_pid))
            await asyncio.sleep(run.remaining())
            server_cpu.append(proc_cpu_s(options.server_pid))

        shown = asyncio.create_task(progress.show(run, options.quiet))
        watcher = asyncio.create_task(watch_server()) if options.server_pid else None
        try:
            limit = SETUP_LIMIT_S + options.duration + TEARDOWN_LIMIT_S
            await asyncio.wait_for(scenario.run(run), limit)
            if watcher is not None and run.started:
                await watcher
        finally:
            for task in (shown, watcher):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
    duration = min(options.duration, recorder.elapsed()) if run.started else 0.0
    result = build_result(scenario.name, options_dict(options, GENERIC), target.base, started_at, duration,
                          recorder, time.process_time() - cpu_before, notes=run.notes)
    if len(server_cpu) == 2 and duration:
        result["metrics"]["server.cpu_s"] = server_cpu[1] - server_cpu[0]
        result["metrics"]["server.cpu_pct"] = 100 * (server_cpu[1] - server_cpu[0]) / duration
    return result
