"""Solo -> PK -> solo for the HLS ladder's source: one stream whose timestamps run on without a gap or a
step back across both switches, and whose pictures come from the host, then the program, then the host."""

from __future__ import annotations

import asyncio
import itertools
from fractions import Fraction
from typing import Any

import pytest

from engine.compositor import Compositor, LayoutKind, ProgramInfo, ProgramPicture, ProgramSound, ProgramSource
from engine.compositor.layout import Rect
from engine.compositor.switch import ProgramSwitch
from tests.compositor.media import GREEN, RED, ManualClock, near, picture, read_counter, rgb_at, source, tone

pytestmark = pytest.mark.timeout(60)

FPS = 30
INFO = ProgramInfo(720, 1280, Fraction(FPS), True)
FULL = Rect(0, 0, 720, 1280)


class Host:
    """The host's stream as the engine's adapter yields it: its own clock (here starting at 500 s)."""

    def __init__(self) -> None:
        self.index = 0
        self.subscriptions: list[ProgramSource] = []

    def subscribe(self) -> ProgramSource:
        sub = ProgramSource(INFO, lambda _: None, size=1000)
        self.subscriptions.append(sub)
        return sub

    def frame(self, colour: tuple[int, int, int] = GREEN) -> Any:
        return picture(colour, self.index)

    def send(self, compositor_input: Any = None) -> None:
        """One picture and its 33 ms of sound to every live subscription (and to the compositor's input)."""
        t = 500 + self.index / FPS
        frame = self.frame()
        for sub in self.subscriptions:
            if not sub.closed:
                sub.push(ProgramPicture(frame, t))
                sub.push(ProgramSound(tone(440, self.index, samples=1600), t))  # 1/30 s of sound
        if compositor_input is not None:
            compositor_input.push(frame)
        self.index += 1


async def step(clock: ManualClock, compositor: Compositor) -> None:
    """One frame on; wait for the compositor's drawing thread so it never lags the manual clock."""
    await clock.advance(Fraction(1, FPS))
    due = round((clock.now() - compositor_start) * FPS) + 1
    async with asyncio.timeout(5):
        while compositor.pictures < due:  # noqa: ASYNC110 (the drawing thread signals nothing)
            await asyncio.sleep(0.002)


compositor_start = ManualClock().now()


async def test_solo_pk_solo_is_one_gapless_stream(clock: ManualClock) -> None:
    host = Host()
    switch = ProgramSwitch(host.subscribe())
    out: list[Any] = []

    async def ladder() -> None:
        async for item in switch.items():
            out.append(item)

    reader = asyncio.create_task(ladder())
    compositor = Compositor(kind=LayoutKind.PK, clock=clock)
    try:
        for _ in range(30):  # one second solo
            host.send()
        await asyncio.sleep(0.05)
        # PK starts: the compositor gets the host's pictures and the opponent's; the ladder gets the program
        mine, theirs = source(), source()
        compositor.join("host", "Host", video=mine)
        compositor.join("rival", "Rival", video=theirs)
        switch.switch_to(compositor.program(size=1000))
        compositor.start()
        for _ in range(60):
            host.send(mine)
            theirs.push(picture(RED, host.index))
            await step(clock, compositor)
        await asyncio.wait_for(switch.settled(), 5)
        assert switch.switches == 1
        await asyncio.sleep(0.05)
        # PK over: back to the host's own stream (a new subscription), then the compositor closes
        switch.switch_to(host.subscribe())
        for _ in range(5):
            host.send(mine)
            theirs.push(picture(RED, host.index))
            await step(clock, compositor)
        await asyncio.wait_for(switch.settled(), 5)
        await compositor.close()
        for _ in range(30):
            host.send()
        await asyncio.sleep(0.1)
    finally:
        await compositor.close()
        await switch.aclose()
        reader.cancel()
    assert switch.switches == 2
    pictures = [i for i in out if isinstance(i, ProgramPicture)]
    sounds = [i for i in out if isinstance(i, ProgramSound)]
    # video: exactly one frame duration apart from the first to the last, across both switches
    steps = {round((b.time - a.time) * FPS, 6) for a, b in itertools.pairwise(pictures)}
    assert steps == {1.0}, steps
    assert pictures[0].time == 0
    # audio: each sound starts where the previous ended (no gap, no overlap)
    for a, b in itertools.pairwise(sounds):
        assert abs(b.time - (a.time + a.frame.samples / 48_000)) < 1e-6
    # and what was shown: host full screen, then the PK program, then the host again
    kinds = []
    for shot in pictures:
        frame = shot.frame
        is_pk = near(rgb_at(frame, 540, 400), RED)
        kinds.append("pk" if is_pk else "solo")
        if not is_pk:
            assert near(rgb_at(frame, 360, 300), GREEN) and read_counter(frame, FULL) >= 0
    runs = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    assert runs == ["solo", "pk", "solo"], runs
    assert kinds.count("pk") >= 50 and kinds[-1] == "solo"
    assert all(sub.closed for sub in host.subscriptions[:-1])  # the sources left were closed
