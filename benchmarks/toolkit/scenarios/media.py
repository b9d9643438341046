"""``publishers`` (M WHIP publishers, each on its own live) and ``viewers`` (N WHEP subscribers of one live).

Publishers are aiortc peers sending a generated pattern and a tone (``benchmarks.toolkit.live.Publisher``):
``whip.post`` is offer→answer, ``whip.connect`` offer→connected; ``rtp.bytes`` is what all of them sent per
second (their outbound-rtp stats). Each live also runs its HLS ladder on the server, so this is the ingest
cost as a real evening has it.

Viewers are the light subscribers of ``benchmarks.sfu_fanout`` (they count complete frames and decode
nothing), joining ``--join-interval`` apart like an arriving audience: ``whep.first_frame`` is offer to first
complete video frame; ``video.frames``/``audio.frames`` count what they all received per second. A live with
one publisher is made first. Viewers leave by closing their peer (no DELETE: the server reaps the session).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from benchmarks.sfu_fanout import Joined, one_subscriber
from benchmarks.toolkit.live import SDP, Publisher, Stage, go_live, tag, user
from benchmarks.toolkit.scenario import Run


class PublishersScenario:
    name = "publishers"
    summary = "WHIP publishers (aiortc, generated pattern + tone), one live each"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--publishers", type=int, default=2, help="publishers, one live each (default 2)")
        parser.add_argument("--codec", default="video/H264", choices=["video/H264", "video/VP8"])

    async def run(self, run: Run) -> None:
        stamp = tag()
        hosts = [await user(run, f"bp{stamp}{n}", creator=True) for n in range(run.options.publishers)]
        lives = [await go_live(run, h) for h in hosts]
        publishers = [Publisher(run, run.options.codec) for _ in lives]
        try:
            await asyncio.gather(*(p.publish(go["ingest"]["whip_url"], go["ingest"]["publish_token"])
                                   for p, go in zip(publishers, lives, strict=True)))
            await run.begin()
            sent = sum(await asyncio.gather(*(p.bytes_sent() for p in publishers)))
            while run.running():
                await asyncio.sleep(min(1.0, run.remaining()))
                now = sum(await asyncio.gather(*(p.bytes_sent() for p in publishers)))
                run.count("rtp.bytes", now - sent)
                sent = now
                run.gauge("publishers.connected", sum(p.pc is not None and p.pc.connectionState == "connected"
                                            for p in publishers))
        finally:
            await asyncio.gather(*(p.close() for p in publishers), return_exceptions=True)
            for host, go in zip(hosts, lives, strict=False):
                async with run.http.post(f"{run.target.base}/api/livestreams/{go['stream']['id']}/end",
                                         headers={"Authorization": f"Bearer {host['access_token']}"}):
                    pass


class ViewersScenario:
    name = "viewers"
    summary = "WHEP subscribers that do not decode, of one live with a generated publisher"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--viewers", type=int, default=10, help="WHEP subscribers (default 10)")
        parser.add_argument("--join-interval", type=float, default=0.05, help="seconds between joins")
        parser.add_argument("--program", action="store_true", help="watch /whep/<id>/program (the composited "
                            "feed) instead of the host")

    async def run(self, run: Run, stage: Stage | None = None) -> None:
        """With ``stage`` (``mix``) the viewers watch that live instead of one of their own."""
        own = stage is None
        stage = stage or Stage()
        try:
            if own:
                await stage.open(run)
            url = run.target.url(stage.go["playback"]["whep_url"]) + ("/program" if run.options.program else "")
            joined: list[Joined] = []

            async def join() -> None:
                result = await one_subscriber("", run.http, url, SDP)
                if result[0] is None:
                    run.count("whep.no_frame")
                else:
                    run.observe("whep.first_frame", result[0])
                joined.append(result)

            tasks = []
            for _ in range(run.options.viewers):
                tasks.append(asyncio.create_task(join()))
                await asyncio.sleep(run.options.join_interval)
            failures = [r for r in await asyncio.gather(*tasks, return_exceptions=True) if isinstance(r, BaseException)]
            if failures:
                run.count("whep.errors", len(failures))
                run.note(f"{len(failures)} viewers failed to join, first: {failures[0]!r}")
            await run.begin()
            await self._watch(run, joined)
        finally:
            if own:
                await stage.close(run)

    async def _watch(self, run: Run, joined: list[Joined]) -> None:
        try:
            before = self._frames(joined)
            while run.running():
                await asyncio.sleep(min(1.0, run.remaining()))
                now = self._frames(joined)
                run.count("video.frames", now["video"] - before["video"])
                run.count("audio.frames", now["audio"] - before["audio"])
                before = now
                run.gauge("viewers.connected", sum(pc.connectionState == "connected" for _, pc, _ in joined))
        finally:
            await asyncio.gather(*(pc.close() for _, pc, _ in joined), return_exceptions=True)

    @staticmethod
    def _frames(joined: list[Joined]) -> dict[str, Any]:
        return {kind: sum(counts[kind] for _, _, counts in joined) for kind in ("video", "audio")}


