"""``make test``: start a throwaway PostgreSQL so the storage tests run on both backends, then run pytest.

``MIXILLO_TEST_POSTGRES_URL`` already set means a server is provided; the harness then only runs pytest.
Arguments are passed to pytest, after the harness's own: pytest keeps the last value of an option, so
``-n 0`` runs the suite serially and ``-n 4`` with more workers.

The suite runs on pytest-xdist workers (``MIXILLO_TEST_WORKERS``, default 3): most tests wait on real time
(RTP pacing, HLS segment durations, Socket.IO round trips) rather than burn CPU, so on CI's 2 cores a third
worker still shortens the run. ``--dist loadfile`` keeps each test module on one worker, so a module's
fixtures (a redis-server, an S3 server, generated media) start once and its tests run in their order.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.services import postgres

WORKERS = os.environ.get("MIXILLO_TEST_WORKERS", "3")


def main(argv: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "-n", WORKERS, "--dist", "loadfile", *argv]
    if os.environ.get("MIXILLO_TEST_POSTGRES_URL"):
        return subprocess.call(command)
    with postgres() as url:
        print(f"harness: PostgreSQL for the tests at {url}", flush=True)
        return subprocess.call(command, env={**os.environ, "MIXILLO_TEST_POSTGRES_URL": url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
