"""``make test``: start a throwaway PostgreSQL so the storage tests run on both backends, then run pytest.

``MIXILLO_TEST_POSTGRES_URL`` already set means a server is provided; the harness then only runs pytest.
Arguments are passed to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.services import postgres


def main(argv: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", *argv]
    if os.environ.get("MIXILLO_TEST_POSTGRES_URL"):
        return subprocess.call(command)
    with postgres() as url:
        print(f"harness: PostgreSQL for the tests at {url}", flush=True)
        return subprocess.call(command, env={**os.environ, "MIXILLO_TEST_POSTGRES_URL": url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
