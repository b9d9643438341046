"""Issue 9's HLS proof: a live that goes solo -> PK -> solo through the real transcode ladder plays on without
a gap. Runs once the transcode branch is merged (it needs ``transcode.transcoder``); checked with ffprobe."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.compositor import LayoutKind, LiveProgram, ProgramPicture, ProgramSource
from engine.compositor.encoder import EncodedPacket
from engine.compositor.program import Subscription
from tests.compositor.media import RED, near, picture

transcoder = pytest.importorskip("transcode.transcoder", reason="needs the transcode branch (issue 7)")
pattern = pytest.importorskip("transcode.pattern")
source_types = pytest.importorskip("transcode.source")
storage = pytest.importorskip("transcode.storage")

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

SOLO_S, PK_S = 2.0, 3.0
SEGMENT_S = 1.0


class ProgramForLadder:
    """The program as the ladder's FrameSource (the adapter the app's wiring provides)."""

    def __init__(self, program: ProgramSource) -> None:
        self.program = program

    @property
    def info(self) -> Any:
        return self.program.info

    async def items(self) -> AsyncIterator[Any]:
        async for item in self.program.items():
            kind = source_types.Picture if isinstance(item, ProgramPicture) else source_types.Sound
            yield kind(item.frame, item.time)

    async def aclose(self) -> None:
        await self.program.aclose()


class PatternFrames:
    """The host's pattern, decoded frames only, as a compositor input."""

    def __init__(self) -> None:
        self.pattern = pattern.PatternSource(720, 1280, duration=60, audio=False)
        self.items = self.pattern.items()

    async def get(self) -> Any:
        async for item in self.items:
            if isinstance(item, source_types.Picture):
                return item.frame
        return None

    def close(self) -> None:
        asyncio.get_running_loop().create_task(self.pattern.aclose())


class Rival:
    def __init__(self) -> None:
        self.count, self.start, self.closed = 0, time.monotonic(), False

    async def get(self) -> Any:
        await asyncio.sleep(max(0.0, self.start + self.count / 30 - time.monotonic()))
        self.count += 1
        return None if self.closed else picture(RED, self.count)

    def close(self) -> None:
        self.closed = True


class Media:
    def __init__(self) -> None:
        self.program: Subscription[EncodedPacket] | None = None

    def subscribe(self, participant: str, kind: str) -> Any:
        if kind != "video":
            return None
        return PatternFrames() if participant == "host" else Rival()

    def host_stream(self) -> Any:
        return pattern.PatternSource(720, 1280, duration=60, audio=True)

    def program_stream(self, program: ProgramSource) -> Any:
        return ProgramForLadder(program)

    def publish_program(self, packets: Subscription[EncodedPacket]) -> None:
        self.program = packets

    def unpublish_program(self) -> None:
        self.program = None


async def test_hls_plays_on_across_solo_pk_solo(tmp_path: Path) -> None:
    live = LiveProgram("host", "Host", Media(), kind=LayoutKind.PK)
    options = transcoder.HlsOptions(segment_duration=SEGMENT_S, part_duration=None, recording=False, max_rungs=1,
                                    thumbnail_interval=1000)
    ladder = transcoder.Transcoder(live.source, storage.LocalStorage(tmp_path), "live/x", options)
    ladder.start()
    try:
        await asyncio.sleep(SOLO_S)
        await live.join("rival", "Rival")
        await asyncio.sleep(PK_S)
        await live.leave("rival")
        await asyncio.sleep(SOLO_S)
    finally:
        await ladder.stop()
        await live.close()
    assert live.switch.switches == 2
    times, pixel = _played(tmp_path / "live/x")
    # The bar: no gap longer than a segment. The switches themselves add none (the restamping is exact,
    # see test_live.py); an overloaded machine can make the compositor's clock skip a few ticks (``skipped``).
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times) if b - a >= SEGMENT_S]
    assert len(times) >= 20 * (2 * SOLO_S + PK_S) and not gaps, gaps
    assert near(pixel, RED, 40)  # and the PK is in there: its middle has the rival's red right half


def _played(live: Path) -> tuple[list[float], tuple[int, int, int]]:
    """The top rendition's picture times (ffprobe) and one pixel of the PK's right half, mid-PK (ffmpeg)."""
    rendition = next(p for p in live.iterdir() if p.is_dir() and p.name.endswith("p"))
    segments = sorted(rendition.glob("seg*.m4s"), key=lambda p: int(p.stem[3:]))
    video = live / "all.mp4"
    video.write_bytes((rendition / "init.mp4").read_bytes() + b"".join(s.read_bytes() for s in segments))
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
                            "-of", "csv=p=0", str(video)], capture_output=True, text=True, check=True)
    times = [float(line.strip(",")) for line in probe.stdout.split() if line.strip(",")]
    grab = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(SOLO_S + PK_S / 2), "-i", str(video),
                           "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          capture_output=True, check=True).stdout
    offset = (500 * 720 + 540) * 3
    return times, (grab[offset], grab[offset + 1], grab[offset + 2])
