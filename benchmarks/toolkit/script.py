"""``mixillo bench <script>``: a benchmark script run as ``python -m benchmarks.<name>``, its output shown live
and kept, and its printed tables stored as a ``mixillo-bench/1`` result (``tables``, ``output``) with the same
environment block as a load scenario's, so ``report`` and ``compare`` read both kinds."""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import time
from typing import Any, TextIO

from benchmarks.toolkit.registry import Script
from benchmarks.toolkit.report import SCHEMA, environment
from benchmarks.toolkit.tables import parse_tables


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_script(script: Script, argv: list[str], echo: TextIO | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``script`` with ``argv`` to its end, copying each line it prints to ``echo`` (stdout) as it comes;
    return its exit status and its result document. Its stderr is left to the terminal."""
    echo = echo or sys.stdout
    started_at = dt.datetime.now(dt.UTC)
    began, cpu_before = time.monotonic(), _children_cpu_s()
    lines: list[str] = []
    # unbuffered: a script's progress lines reach the terminal as it prints them, not when its buffer fills
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([sys.executable, "-m", script.module, *argv], stdout=subprocess.PIPE, text=True,
                          env=env) as process:
        assert process.stdout is not None
        for line in process.stdout:
            echo.write(line)
            echo.flush()
            lines.append(line)
    output = "".join(lines)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "scenario": script.name,
        "params": {"module": script.module, "argv": argv},
        "target": None,  # a script starts what it measures, in its own processes
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - began, 3),
        "env": environment(),
        "client_cpu_s": round(_children_cpu_s() - cpu_before, 3),  # the script and the processes it waited for
        "metrics": {},
        "series": {"t": []},
        "histograms": {},
        "notes": [] if process.returncode == 0 else [f"exit status {process.returncode}"],
        "tables": [t.to_json() for t in parse_tables(output)],
        "output": output,
    }
    return process.returncode, result
