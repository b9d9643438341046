"""Real servers for the tests, started on loopback ports in temporary directories and stopped after.

PostgreSQL refuses to run as root, so when the tests run as root its processes run as the ``postgres``
system user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _pg_bindir() -> Path | None:
    def version(path: str) -> list[int]:
        return [int(x) for x in path.split("/")[-2].split(".")]

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    for path in reversed(candidates):
        if Path(path, "initdb").exists():
            return Path(path)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields a URL of a database the caller may use freely."""
    bindir = _pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (initdb not found)")
    root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="mixillo-pg-"))
    data = workdir / "data"
    prefix: list[str] = []
    if root:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "mixillo", "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        check=True, stdout=subprocess.DEVNULL,
    )
    options = (
        f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start"],
        check=True, stdout=subprocess.DEVNULL,
    )
    try:
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "mixillo", "mixillo"],
            check=True,
        )
        yield f"postgresql://mixillo@127.0.0.1:{port}/mixillo"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False, stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="mixillo-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
