"""Real WebRTC in: two aiortc publishers (VP8 pictures, Opus tones) over loopback, received and decoded by
aiortc as the engine's publisher legs do, composed on the real clock into a PK program."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from engine.compositor import Compositor, LayoutKind, ProgramPicture, ProgramSound
from tests.compositor.media import BLUE, RED, ColourTrack, ToneTrack, near, rgb_at, spectrum_peaks
from tests.engine.clients import loopback_peer_connection

pytestmark = pytest.mark.timeout(60)

W, H = 320, 568  # small cameras: the machine is shared; the compositor scales them up to 360x640 halves


class TrackSource:
    """A received track as a compositor input (what the engine's decoded-frame subscription provides)."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track

    async def get(self) -> Any:
        try:
            return await self.track.recv()
        except MediaStreamError:
            return None

    def close(self) -> None:
        self.track.stop()


async def publish(colour: tuple[int, int, int], pitch: float) -> AsyncGenerator[dict[str, TrackSource]]:
    sender, receiver = loopback_peer_connection(), loopback_peer_connection()
    sender.addTrack(ColourTrack(colour, W, H))
    sender.addTrack(ToneTrack(pitch))
    tracks: dict[str, TrackSource] = {}

    @receiver.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        tracks[track.kind] = TrackSource(track)

    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    try:
        yield tracks
    finally:
        await sender.close()
        await receiver.close()


async def test_two_webrtc_publishers_composed_live() -> None:
    alice_peer, bob_peer = publish(RED, 440), publish(BLUE, 1000)
    alice, bob = await anext(alice_peer), await anext(bob_peer)
    compositor = Compositor(kind=LayoutKind.PK)
    try:
        compositor.join("alice", "Alice", video=alice["video"], audio=alice["audio"])
        compositor.join("bob", "Bob", video=bob["video"], audio=bob["audio"])
        program = compositor.program(size=1000)
        compositor.start()

        async def record(seconds: float) -> tuple[list[ProgramPicture], np.ndarray]:
            pictures, sounds = [], []
            end = asyncio.get_running_loop().time() + seconds
            async for item in program.items():
                if isinstance(item, ProgramPicture):
                    pictures.append(item)
                elif isinstance(item, ProgramSound):
                    sounds.append(item.frame.to_ndarray())
                if asyncio.get_running_loop().time() >= end:
                    break
            return pictures, np.concatenate(sounds, axis=1)

        async with asyncio.timeout(20):  # ICE, DTLS, first keyframes (a loaded machine takes longer)
            while not all(f.pictures and compositor.mixer.buffered(p) for p, f in compositor.feeds.items()):
                await record(0.1)
        await record(0.5)  # jitter buffers settle
        pictures, sound = await record(1.0)
        assert len(pictures) >= 15  # ~30 a second; fewer only if a starved machine makes the clock skip
        layout = compositor.layout
        assert layout is not None
        left, right = (t.rect for t in layout.tiles)
        last = pictures[-1].frame
        assert near(rgb_at(last, left.x + left.width // 2, left.y + left.height // 3), RED, 40)
        assert near(rgb_at(last, right.x + right.width // 2, right.y + right.height // 3), BLUE, 40)
        assert {440, 1000} <= spectrum_peaks(sound)
        compositor.mute("bob")
        await record(0.3)
        _, sound = await record(1.0)
        peaks = spectrum_peaks(sound, floor=0.02)
        assert 440 in peaks and not any(abs(p - 1000) <= 20 for p in peaks), peaks
        times = [p.time for p in pictures]
        assert all(b > a for a, b in itertools.pairwise(times))
    finally:
        await compositor.close()
        for peer in (alice_peer, bob_peer):
            await peer.aclose()
