"""A live's program over its lifetime: passthrough, a PK opponent joins (compositor, encoded program,
ladder switched), leaves (back to the host's stream, program withdrawn, compositor and decoders closed)."""

from __future__ import annotations

import asyncio
import itertools
from fractions import Fraction
from typing import Any

import pytest

from engine.compositor import LayoutError, LayoutKind, ProgramInfo, ProgramPicture, ProgramSource
from engine.compositor.encoder import EncodedPacket, ProgramEncoder
from engine.compositor.live import LiveProgram
from engine.compositor.program import Subscription
from engine.compositor.switch import Source
from tests.compositor.media import GREEN, RED, ManualClock, near, picture, rgb_at, source

pytestmark = pytest.mark.timeout(60)

FPS = 30
INFO = ProgramInfo(720, 1280, Fraction(FPS), True)
START = ManualClock().now()


class Stage:
    """The media engine in memory: who publishes what, subscriptions handed out, the program producer."""

    def __init__(self) -> None:
        self.publishing: set[str] = {"host", "rival", "third"}
        self.subscriptions: dict[str, list[Subscription[Any]]] = {}
        self.host_streams: list[ProgramSource] = []
        self.program: Subscription[EncodedPacket] | None = None
        self.published = 0
        self.index = 0

    def subscribe(self, participant: str, kind: str) -> Subscription[Any] | None:
        if kind != "video" or participant not in self.publishing:
            return None
        sub = source()
        self.subscriptions.setdefault(participant, []).append(sub)
        return sub

    def host_stream(self) -> Source:
        stream = ProgramSource(INFO, lambda _: None, size=1000)
        self.host_streams.append(stream)
        return stream

    def program_stream(self, program: ProgramSource) -> Source:
        return program

    def publish_program(self, encoder: ProgramEncoder) -> None:
        self.program, self.published = encoder.packets(), self.published + 1

    def unpublish_program(self) -> None:
        self.program = None

    def send(self) -> None:
        """One picture from each publisher, to every open subscription."""
        host, rival = picture(GREEN, self.index), picture(RED, self.index)
        for stream in self.host_streams:
            if not stream.closed:
                stream.push(ProgramPicture(host, 900 + self.index / FPS))
        for participant, frame in (("host", host), ("rival", rival)):
            for sub in self.subscriptions.get(participant, []):
                sub.push(frame)
        self.index += 1


async def step(clock: ManualClock, live: LiveProgram) -> None:
    await clock.advance(Fraction(1, FPS))
    compositor = live.compositor
    if compositor is None:
        return
    async with asyncio.timeout(5):
        while compositor.pictures < round((clock.now() - compositor_start[0]) * FPS) + 1:  # noqa: ASYNC110
            await asyncio.sleep(0.002)


compositor_start = [START]


async def test_passthrough_pk_passthrough(clock: ManualClock) -> None:
    stage = Stage()
    live = LiveProgram("host", "Host", stage, kind=LayoutKind.PK, clock=clock)
    out: list[Any] = []

    async def ladder() -> None:
        async for item in live.source.items():
            out.append(item)

    reader = asyncio.create_task(ladder())
    try:
        for _ in range(10):
            stage.send()
        await asyncio.sleep(0.05)
        assert live.layout.passthrough and live.compositor is None and stage.program is None
        live.mute("rival")  # the rival's seat was muted before they arrived
        layout = await live.join("rival", "Rival")
        assert layout.kind is LayoutKind.PK and stage.published == 1 and stage.program is not None
        compositor = live.compositor
        assert compositor is not None and compositor.feeds["rival"].muted
        compositor_start[0] = clock.now()
        with pytest.raises(LayoutError):
            await live.join("third", "Third")  # a PK has two sides; nothing changes
        assert list(compositor.feeds) == ["host", "rival"] and "third" not in live.names
        assert all(sub.closed for sub in stage.subscriptions["third"])  # and nothing is left decoding
        for _ in range(20):
            stage.send()
            await step(clock, live)
        await asyncio.wait_for(live.switch.settled(), 5)
        # the rival reconnects: new subscriptions replace the old ones
        old = stage.subscriptions["rival"][-1]
        await live.republished("rival")
        assert old.closed and not stage.subscriptions["rival"][-1].closed
        for _ in range(10):
            stage.send()
            await step(clock, live)
        # the rival turns the camera off: their placeholder, not their last picture
        stage.publishing.discard("rival")
        await live.republished("rival")
        await step(clock, live)
        assert compositor.feeds["rival"].picture is None and stage.subscriptions["rival"][-1].closed
        stage.publishing.add("rival")
        await live.republished("rival")
        for _ in range(5):
            stage.send()
            await step(clock, live)
        packets = stage.program
        leaving = asyncio.create_task(live.leave("rival"))
        while not leaving.done():  # the ladder switches back on the host stream's first picture
            stage.send()
            await step(clock, live)
        assert (await leaving).passthrough
        assert live.compositor is None and compositor.closed and stage.program is None
        assert all(sub.closed for subs in stage.subscriptions.values() for sub in subs)  # decoding stopped
        assert packets is not None and packets.closed
        for _ in range(5):
            stage.send()
        await asyncio.sleep(0.05)
        await live.republished("host")  # the host reconnects while solo: a new stream for the ladder
        for _ in range(5):
            stage.send()
        await asyncio.wait_for(live.switch.settled(), 5)
        assert live.switch.switches == 3 and len(stage.host_streams) == 3
        await asyncio.sleep(0.05)
    finally:
        await live.close()
        reader.cancel()
    pictures = [i for i in out if isinstance(i, ProgramPicture)]
    steps = {round((b.time - a.time) * FPS, 6) for a, b in itertools.pairwise(pictures)}
    assert steps == {1.0}, steps  # one stream for the ladder, no gap, no jump back
    # solo: the host fills the picture; PK: the right half is the rival (or their placeholder, camera off)
    shown = ["solo" if near(rgb_at(p.frame, 540, 400), GREEN) else "pk" for p in pictures]
    assert sum(near(rgb_at(p.frame, 540, 400), RED) for p in pictures) >= 30
    assert [k for k, _ in itertools.groupby(shown)] == ["solo", "pk", "solo"]
    assert all(near(rgb_at(p.frame, 360, 300), GREEN) for p, k in zip(pictures, shown, strict=True) if k == "solo")
    assert live.closed and all(stream.closed for stream in stage.host_streams)
