"""``api``: signed-in users in a closed loop over a REST mix (feed, search, wallet balance, like).

Each of ``--concurrency`` virtual users picks its next request by weight (``--mix``), waits for the answer,
thinks ``--think`` seconds and goes again; a request's latency is from send to the body read. Likes go to
posts the feed listed (a 409 for an already-liked post counts as ``like.conflict``, not an error); with an
empty feed the like share goes to the feed. The search words are those ``benchmarks.api`` seeds captions with.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import aiohttp

from benchmarks.api import WORDS
from benchmarks.toolkit.live import tag, user
from benchmarks.toolkit.scenario import Run

DEFAULT_MIX = "feed=50,search=25,wallet=15,like=10"


def parse_mix(text: str) -> dict[str, float]:
    """``feed=50,search=25`` → weights; unknown names or non-positive totals are a ValueError."""
    weights: dict[str, float] = {}
    for item in text.split(","):
        name, _, weight = item.partition("=")
        if name.strip() not in ("feed", "search", "wallet", "like"):
            raise ValueError(f"unknown request kind {name!r} in --mix (feed, search, wallet, like)")
        weights[name.strip()] = float(weight or 1)
    if sum(weights.values()) <= 0:
        raise ValueError("--mix weights must add up to more than 0")
    return weights


class ApiScenario:
    name = "api"
    summary = "REST mix (feed, search, wallet balance, like) from signed-in users, closed loop"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--users", type=int, default=8, help="accounts registered for the run (default 8)")
        parser.add_argument("--concurrency", type=int, default=16, help="virtual users in flight (default 16)")
        parser.add_argument("--think", type=float, default=0.0, help="seconds between a user's requests")
        parser.add_argument("--mix", default=DEFAULT_MIX, help=f"request weights (default {DEFAULT_MIX})")

    async def run(self, run: Run) -> None:
        options = run.options
        weights = parse_mix(options.mix)
        stamp = tag()
        sessions = [await user(run, f"ba{stamp}{n}") for n in range(max(1, options.users))]
        posts = await self._posts(run, sessions[0])
        if not posts and "like" in weights:
            run.note("the feed is empty: likes were sent as feed requests (seed content, e.g. mixillo seed-demo)")
        await run.begin()
        await asyncio.gather(*(self._user(run, n, sessions[n % len(sessions)], weights, posts)
                               for n in range(options.concurrency)))

    async def _posts(self, run: Run, session: dict[str, Any]) -> list[str]:
        headers = {"Authorization": f"Bearer {session['access_token']}"}
        async with run.http.get(f"{run.target.base}/api/feed?limit=50", headers=headers) as response:
            body = await response.json() if response.status == 200 else {}
        return [item["id"] for item in body.get("items", [])]

    async def _user(self, run: Run, n: int, session: dict[str, Any], weights: dict[str, float],
                    posts: list[str]) -> None:
        rng = random.Random(n)
        kinds, shares = list(weights), list(weights.values())
        headers = {"Authorization": f"Bearer {session['access_token']}"}
        unliked = rng.sample(posts, len(posts))
        me = session["user"]["id"]
        base = run.target.base
        while run.running():
            kind = rng.choices(kinds, shares)[0]
            if kind == "like" and not unliked:
                kind = "feed"
            method, path, ok = "GET", "/api/feed?limit=20", {200}
            if kind == "search":
                path = f"/api/search?q={rng.choice(WORDS)}"
            elif kind == "wallet":
                path = f"/api/wallets/{me}/balance"
            elif kind == "like":
                method, path, ok = "POST", f"/api/content/{unliked.pop()}/like", {200, 409}
            began = time.monotonic()
            try:
                async with run.http.request(method, base + path, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                run.count("errors")
                if run.recorder.total(run.name("errors")) <= 3:  # the first few say what went wrong
                    run.note(f"{kind}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(0.1)
                continue
            run.observe(kind, time.monotonic() - began)
            if status == 409 and kind == "like":
                run.count("like.conflict")
            elif status not in ok:
                run.count("errors")
                run.count(f"errors.{status}")
            if run.options.think:
                await asyncio.sleep(run.options.think)
