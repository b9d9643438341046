"""A load scenario against a running server: its Protocol, the target it may hit and the Run it records into.

A scenario sets itself up (users, lives, publishers through the public API), calls ``run.begin()`` when the
load starts, loops while ``run.running()`` and then tears down what it made; everything it measures goes
through ``run.observe``/``count``/``gauge`` (under ``run.prefix`` when it is part of ``mix``).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from benchmarks.toolkit.recorder import Recorder

DEFAULT_TARGET = "http://127.0.0.1:8080"


class RemoteTargetRefused(ValueError):
    """A load test aimed off this machine without ``--allow-remote``."""


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Target:
    """The server under test: ``base`` is ``scheme://host[:port]`` without a trailing slash."""

    base: str

    @classmethod
    def parse(cls, url: str, allow_remote: bool = False) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--target must be an http(s) URL like {DEFAULT_TARGET}, not {url!r}")
        if not allow_remote and not is_loopback(parts.hostname):
            raise RemoteTargetRefused(
                f"refusing to load-test {parts.hostname}: it is not this machine. A load test against a shared "
                "server hurts its users; pass --allow-remote if this one is yours to load.")
        return cls(f"{parts.scheme}://{parts.netloc}")

    def url(self, path: str) -> str:
        """``path`` (or a full URL the server gave, whose path and query are kept) on this target."""
        parts = urlsplit(path)
        return self.base + parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Window:
    """When the load runs: set once by the first ``begin``, shared by every scoped view of a run."""

    began: asyncio.Event = field(default_factory=asyncio.Event)
    deadline: float = float("inf")
    parties: int = 1  # scenarios that must be set up before the clock starts (``mix`` runs several)
    ready: int = 0


@dataclass
class Run:
    """One run's shared state: where, how long, the options, the recorder and an HTTP session."""

    target: Target
    duration: float
    options: argparse.Namespace
    recorder: Recorder
    http: aiohttp.ClientSession
    prefix: str = ""
    notes: list[str] = field(default_factory=list)
    window: Window = field(default_factory=Window)

    async def begin(self) -> None:
        """This scenario is set up: once every party of the run is, the recorder's clock restarts, the
        deadline is set and the load starts (everyone returns from here together)."""
        window = self.window
        window.ready += 1
        if window.ready >= window.parties and not window.began.is_set():
            self.recorder.started = self.recorder.clock()
            window.deadline = time.monotonic() + self.duration
            window.began.set()
        await window.began.wait()

    @property
    def started(self) -> bool:
        return self.window.began.is_set()

    def running(self) -> bool:
        return time.monotonic() < self.window.deadline

    def remaining(self) -> float:
        return max(0.0, self.window.deadline - time.monotonic())

    async def until_done(self) -> None:
        await self.window.began.wait()
        await asyncio.sleep(self.remaining())

    def name(self, metric: str) -> str:
        """``metric`` under this run's prefix, once (``hls.reload`` stays itself in the ``hls.`` part)."""
        return metric if metric.startswith(self.prefix) else self.prefix + metric

    def observe(self, metric: str, seconds: float, at: float | None = None) -> None:
        self.recorder.observe(self.name(metric), seconds, at)

    def count(self, metric: str, n: int = 1, at: float | None = None) -> None:
        self.recorder.count(self.name(metric), n, at)

    def gauge(self, metric: str, value: float, at: float | None = None) -> None:
        self.recorder.gauge(self.name(metric), value, at)

    def note(self, text: str) -> None:
        self.notes.append(f"{self.prefix.rstrip('.')}: {text}" if self.prefix else text)

    def scoped(self, prefix: str, options: argparse.Namespace) -> Run:
        """The same run (one recorder, clock and deadline) for a part of it: its own options, metric names
        under ``prefix``."""
        return Run(self.target, self.duration, options, self.recorder, self.http, self.prefix + prefix,
                   self.notes, self.window)


class Scenario(Protocol):
    name: str
    summary: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    async def run(self, run: Run) -> None: ...


class Tasks:
    """Owns the tasks a scenario starts (one per viewer, player, send): ``gather`` waits for them all and
    returns their exceptions as values; leaving the ``async with`` block cancels whatever still runs."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def start(self, work: Any) -> None:
        self.tasks.append(asyncio.create_task(work))

    async def gather(self) -> list[Any]:
        return await asyncio.gather(*self.tasks, return_exceptions=True)

    async def __aenter__(self) -> Tasks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def options_dict(options: argparse.Namespace, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in sorted(vars(options).items()) if k not in skip and not k.startswith("_")}
