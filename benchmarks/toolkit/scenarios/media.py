"""``publishers`` (M WHIP publishers, each on its own live) and ``viewers`` (N WHEP subscribers of one live).

Publishers are aiortc peers sending a generated picture and a tone (``benchmarks.toolkit.live.Publisher``:
a pre-encoded 720p clip, or ``--source pattern`` encoded live):
``whip.post`` is offer→answer, ``whip.connect`` offer→connected; ``rtp.bytes`` is what all of them sent per
second (their outbound-rtp stats). Each live also runs its HLS ladder on the server, so this is the ingest
cost as a real evening has it.

Viewers are ``benchmarks.light_subscriber``'s light subscribers (real ICE and DTLS, RTP headers read in the
clear, nothing decrypted or decoded: a few hundred fit on one machine) or, with ``--receiver full``,
``sfu_fanout``'s aiortc subscribers; they join ``--join-interval`` apart like an arriving audience.
``whep.first_frame`` is offer to first complete video frame (light: also ``whep.answer``, ``whep.dtls``,
``whep.rtp``, offer to each step); ``video.frames`` and ``audio.packets`` count what they all received per
second. A live with one publisher is made first. Viewers leave by closing their peer (no DELETE: the server
reaps the session).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection

from benchmarks.light_subscriber import LightSubscriber
from benchmarks.sfu_fanout import one_subscriber
from benchmarks.toolkit.live import SDP, Publisher, Stage, go_live, tag, user
from benchmarks.toolkit.scenario import Run, Tasks

FIRST_FRAME_S = 15.0


class PublishersScenario:
    name = "publishers"
    summary = "WHIP publishers (aiortc, generated pattern + tone), one live each"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--publishers", type=int, default=2, help="publishers, one live each (default 2)")
        parser.add_argument("--source", choices=["clip", "pattern"], default="clip", help="clip: a pre-encoded "
                            "720p H.264 clip (default); pattern: 320x240 encoded live here (costs client CPU)")
        parser.add_argument("--codec", default="video/H264", choices=["video/H264", "video/VP8"],
                            help="the pattern's codec")

    async def run(self, run: Run) -> None:
        stamp = tag()
        hosts = [await user(run, f"bp{stamp}{n}", creator=True) for n in range(run.options.publishers)]
        lives = [await go_live(run, h) for h in hosts]
        publishers = [Publisher(run, run.options.codec, run.options.source) for _ in lives]
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


@dataclass(frozen=True)
class Viewer:
    pc: RTCPeerConnection
    counts: Callable[[], dict[str, int]]  # "video": complete frames so far, "audio": packets so far
    close: Callable[[], Awaitable[None]]


class ViewersScenario:
    name = "viewers"
    summary = "WHEP subscribers that do not decode, of one live with a generated publisher"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--viewers", type=int, default=10, help="WHEP subscribers (default 10)")
        parser.add_argument("--join-interval", type=float, default=0.05, help="seconds between joins")
        parser.add_argument("--receiver", choices=["light", "full"], default="light",
                            help="light: benchmarks.light_subscriber (real ICE/DTLS, RTP headers read in the "
                            "clear, no SRTP decrypt); full: aiortc's whole receive path, frames not decoded")
        parser.add_argument("--source", choices=["clip", "pattern"], default="clip",
                            help="what the live's publisher sends (see publishers --source)")
        parser.add_argument("--program", action="store_true", help="watch /whep/<id>/program (the composited "
                            "feed) instead of the host")

    async def run(self, run: Run, stage: Stage | None = None) -> None:
        """With ``stage`` (``mix``) the viewers watch that live instead of one of their own."""
        own = stage is None
        stage = stage or Stage()
        try:
            if own:
                await stage.open(run, run.options.source)
            url = run.target.url(stage.go["playback"]["whep_url"]) + ("/program" if run.options.program else "")
            viewers: list[Viewer] = []
            join = self._light if run.options.receiver == "light" else self._full
            try:
                async with Tasks() as joins:
                    for _ in range(run.options.viewers):
                        joins.start(join(run, url, viewers))
                        await asyncio.sleep(run.options.join_interval)
                    failures = [r for r in await joins.gather() if isinstance(r, BaseException)]
                if failures:
                    run.count("whep.errors", len(failures))
                    run.note(f"{len(failures)} viewers failed to join, first: {failures[0]!r}")
                await run.begin()
                await self._watch(run, viewers)
            finally:
                await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)
        finally:
            if own:
                await stage.close(run)

    async def _light(self, run: Run, url: str, viewers: list[Viewer]) -> None:
        sub = LightSubscriber()
        offer = await sub.offer()
        async with run.http.post(url, data=offer.encode(), headers=SDP) as response:
            answer = await response.text()
            if response.status != 201:
                raise RuntimeError(f"WHEP {response.status}: {answer[:300]}")
        viewers.append(Viewer(sub.pc, lambda: {"video": sub.frames, "audio": sub.counts()["audio"]}, sub.close))
        await sub.answer(answer)
        assert sub.first_frame is not None
        try:
            run.observe("whep.first_frame", await asyncio.wait_for(asyncio.shield(sub.first_frame), FIRST_FRAME_S))
        except TimeoutError:
            run.count("whep.no_frame")
        for step in ("answer", "dtls", "rtp"):  # offer → answer, → DTLS connected, → first RTP packet
            if step in sub.marks:
                run.observe(f"whep.{step}", sub.marks[step])

    async def _full(self, run: Run, url: str, viewers: list[Viewer]) -> None:
        first, pc, counts = await one_subscriber("", run.http, url, SDP)
        viewers.append(Viewer(pc, lambda: dict(counts), pc.close))
        if first is None:
            run.count("whep.no_frame")
        else:
            run.observe("whep.first_frame", first)

    async def _watch(self, run: Run, viewers: list[Viewer]) -> None:
        before = self._totals(viewers)
        while run.running():
            await asyncio.sleep(min(1.0, run.remaining()))
            now = self._totals(viewers)
            run.count("video.frames", now["video"] - before["video"])
            run.count("audio.packets", now["audio"] - before["audio"])
            before = now
            run.gauge("viewers.connected", sum(v.pc.connectionState == "connected" for v in viewers))

    @staticmethod
    def _totals(viewers: list[Viewer]) -> dict[str, int]:
        counts = [v.counts() for v in viewers]
        return {kind: sum(c.get(kind, 0) for c in counts) for kind in ("video", "audio")}
