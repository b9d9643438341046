"""In-process aiortc clients for the engine tests: a publisher with a counting test pattern and a viewer."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

from engine.engine import Engine
from engine.peer import close_peer_connection

WIDTH, HEIGHT = 320, 240
BITS = 12
CELL = 20  # each bit of the frame counter is a CELLxCELL black or white square in the top rows
VIDEO_CLOCK = 90000


class PatternTrack(MediaStreamTrack):
    """A test pattern that writes its frame number into the picture as 12 black/white squares."""

    kind = "video"

    def __init__(self, fps: int = 30, first: int = 0) -> None:
        super().__init__()
        self.fps = fps
        self.first = first
        self.count = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self.count / self.fps
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame.from_ndarray(draw_counter(self.first + self.count), format="bgr24")
        frame.pts = self.count * (VIDEO_CLOCK // self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.count += 1
        return frame


def draw_counter(n: int) -> np.ndarray:
    img = np.full((HEIGHT, WIDTH, 3), 128, dtype=np.uint8)
    img[CELL * 2 :, :, 1] = (n * 5) % 255  # something that moves, for the encoder
    for bit in range(BITS):
        value = 255 if (n >> bit) & 1 else 0
        img[0:CELL, bit * CELL : (bit + 1) * CELL] = value
    return img


def read_counter(frame: av.VideoFrame) -> int | None:
    """The counter drawn by :func:`draw_counter`, or None if any square is not clearly black or white."""
    img = frame.to_ndarray(format="bgr24")
    if img.shape[0] != HEIGHT or img.shape[1] != WIDTH:
        return None
    n = 0
    for bit in range(BITS):
        cell = img[4 : CELL - 4, bit * CELL + 4 : (bit + 1) * CELL - 4]
        mean = float(cell.mean())
        if mean > 200:
            n |= 1 << bit
        elif mean > 55:
            return None
    return n


def prefer(pc: RTCPeerConnection, kind: str, mime: str | None) -> None:
    for t in pc.getTransceivers():
        if t.kind == kind and mime is not None:
            caps = RTCRtpSender.getCapabilities(kind).codecs
            t.setCodecPreferences([c for c in caps if c.mimeType.lower() == mime.lower()])


def loopback_peer_connection() -> RTCPeerConnection:
    """A client connection with no ICE servers: host candidates only, nothing leaves the machine.

    ``RTCPeerConnection()`` falls back to aiortc's default STUN server (stun.l.google.com), so every offer
    resolved that name in the loop's executor and waited for a server-reflexive candidate; offline, the
    gathering then now and then waited out aioice's 5 s timeout (and held a resolver socket meanwhile).
    """
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


@contextlib.asynccontextmanager
async def closing_on_error(pc: RTCPeerConnection) -> AsyncIterator[None]:
    """Close the client's connection if the engine refuses it (StreamNotLive, PublisherExists, ...).

    The offer is made first, so by then aiortc has bound the client's UDP sockets (one IPv4 and one IPv6
    host candidate per transceiver, before BUNDLE is negotiated): a refused client left open would hold
    them until the loop closes, which the leak census counts as the engine's.
    """
    try:
        yield
    except BaseException:
        await close_peer_connection(pc)
        raise


@dataclass
class Publisher:
    pc: RTCPeerConnection
    video: PatternTrack
    session_id: str

    async def close(self) -> None:
        await close_peer_connection(self.pc)


async def publish(
    engine: Engine,
    stream_id: str,
    *,
    codec: str | None = "video/H264",
    audio: bool = True,
    replace: bool = False,
    publisher: str = "host",
    first: int = 0,
) -> Publisher:
    pc = loopback_peer_connection()
    video = PatternTrack(first=first)
    pc.addTransceiver(video, direction="sendonly")
    if audio:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    prefer(pc, "video", codec)
    async with closing_on_error(pc):
        await pc.setLocalDescription(await pc.createOffer())
        session = await engine.publish(stream_id, pc.localDescription.sdp, publisher=publisher, replace=replace)
        await pc.setRemoteDescription(RTCSessionDescription(session.answer, "answer"))
    return Publisher(pc, video, session.id)


@dataclass
class Viewer:
    pc: RTCPeerConnection
    session_id: str
    counters: list[int] = field(default_factory=list)
    bad_frames: int = 0
    audio_frames: int = 0
    first_frame_at: float | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await close_peer_connection(self.pc)

    async def wait_frames(self, n: int, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while len(self.counters) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.counters)} frames ({self.bad_frames} unreadable)")
            await asyncio.sleep(0.05)


async def subscribe(engine: Engine, stream_id: str, *, publisher: str = "host", audio: bool = True) -> Viewer:
    pc = loopback_peer_connection()
    pc.addTransceiver("video", direction="recvonly")
    if audio:
        pc.addTransceiver("audio", direction="recvonly")
    async with closing_on_error(pc):
        await pc.setLocalDescription(await pc.createOffer())
        session = await engine.subscribe(stream_id, pc.localDescription.sdp, publisher=publisher)
        await pc.setRemoteDescription(RTCSessionDescription(session.answer, "answer"))
    viewer = Viewer(pc, session.id)
    for t in pc.getTransceivers():
        viewer.tasks.append(asyncio.create_task(_drain(viewer, t.receiver.track)))
    return viewer


async def _drain(viewer: Viewer, track: Any) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if track.kind == "audio":
            viewer.audio_frames += 1
            continue
        n = read_counter(frame)
        if n is None:
            viewer.bad_frames += 1
        else:
            if viewer.first_frame_at is None:
                viewer.first_frame_at = time.monotonic()
            viewer.counters.append(n)
