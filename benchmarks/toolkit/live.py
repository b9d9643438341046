"""What the media scenarios share: bench users, a live on air, and a WHIP publisher of a generated pattern.

Users and lives are made through the public REST API like an app would (``benchmarks.rooms`` has the
register/post helpers); the publisher is an aiortc peer over WHIP (RFC 9725: POST the offer, DELETE the
session's Location) sending a generated picture and tone: ``sfu_fanout``'s pre-encoded 720p clip (a moving
gradient over noise) by default, or the engine tests' frame-counter pattern encoded live.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from benchmarks.rooms import _post, _register
from benchmarks.sfu_fanout import ClipTrack, make_clip
from benchmarks.toolkit.scenario import Run
from tests.compositor.media import ToneTrack
from tests.engine.clients import PatternTrack, prefer

SDP = {"Content-Type": "application/sdp"}


def tag() -> str:
    """A short random tag: bench users of several runs on one server do not collide."""
    return os.urandom(4).hex()


async def user(run: Run, name: str, creator: bool = False) -> dict[str, Any]:
    """A new account (``POST /api/auth/register``): its session (``access_token``, ``user``)."""
    extra = {"account_type": "creator"} if creator else {}
    session: dict[str, Any] = await _register(run.http, run.target.base, name, **extra)
    return session


async def go_live(run: Run, host: dict[str, Any], title: str = "bench") -> dict[str, Any]:
    """Create and start a live as ``host``: the GoLive answer (stream, ingest, playback)."""
    stream = await _post(run.http, f"{run.target.base}/api/livestreams", {"title": title}, host["access_token"])
    go: dict[str, Any] = await _post(run.http, f"{run.target.base}/api/livestreams/{stream['id']}/start", None,
                                     host["access_token"])
    return go


async def end_live(run: Run, host: dict[str, Any], stream_id: str) -> None:
    headers = {"Authorization": f"Bearer {host['access_token']}"}
    async with run.http.post(f"{run.target.base}/api/livestreams/{stream_id}/end", headers=headers):
        pass


def clip_tracks(pc: RTCPeerConnection, clip: dict[str, Any]) -> None:
    """Send ``benchmarks.sfu_fanout``'s pre-encoded clip (720p30 H.264 at ~1.5 Mbps, Opus): no encoding in
    this process, and an IDR when the server asks for a keyframe (PLI), as ``sfu_fanout``'s publisher does."""
    video = ClipTrack("video", clip)
    sender = pc.addTransceiver(video, direction="sendonly").sender
    pc.addTransceiver(ClipTrack("audio", clip), direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    pc.getTransceivers()[0].setCodecPreferences(
        [c for c in caps if c.mimeType == "video/H264" and c.parameters.get("profile-level-id") == "42e01f"])
    original = sender._send_keyframe

    def keyframe() -> None:
        video.want_keyframe = True
        original()

    setattr(sender, "_send_keyframe", keyframe)  # noqa: B010


class Publisher:
    """One WHIP publisher. ``publish`` records ``whip.post`` (offer to answer) and ``whip.connect`` (offer to
    ICE+DTLS connected). ``source`` "clip": the pre-encoded 720p clip (cheap for this process, what a phone
    sends); "pattern": the engine tests' 320x240 frame-counter pattern and a tone, encoded live by aiortc
    (``codec``), which costs this process a core for a few publishers."""

    def __init__(self, run: Run, codec: str = "video/H264", source: str = "clip") -> None:
        self.run = run
        self.codec = codec
        self.source = source
        self.pc: RTCPeerConnection | None = None
        self.location: str | None = None
        self.headers: dict[str, str] = {}

    async def publish(self, whip_url: str, token: str) -> None:
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        connected = asyncio.get_running_loop().create_future()

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected" and not connected.done():
                connected.set_result(None)

        if self.source == "clip":
            clip_tracks(pc, await asyncio.to_thread(make_clip))  # encoded once, then cached in /tmp
        else:
            pc.addTransceiver(PatternTrack(), direction="sendonly")
            pc.addTransceiver(ToneTrack(440), direction="sendonly")
            prefer(pc, "video", self.codec)
        await pc.setLocalDescription(await pc.createOffer())
        self.headers = {"Authorization": f"Bearer {token}"}
        began = time.monotonic()
        async with self.run.http.post(self.run.target.url(whip_url), data=pc.localDescription.sdp.encode(),
                                      headers={**SDP, **self.headers}) as response:
            answer = await response.text()
            if response.status != 201:
                self.run.count("whip.errors")
                raise RuntimeError(f"WHIP {response.status}: {answer[:300]}")
            self.location = response.headers.get("Location")
        self.run.observe("whip.post", time.monotonic() - began)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.wait_for(connected, 15)
        self.run.observe("whip.connect", time.monotonic() - began)

    async def bytes_sent(self) -> int:
        if self.pc is None:
            return 0
        report = await self.pc.getStats()
        return sum(int(s.bytesSent) for s in report.values() if s.type == "outbound-rtp")

    async def close(self) -> None:
        if self.location is not None:
            try:
                async with self.run.http.delete(self.run.target.url(self.location), headers=self.headers):
                    pass
            except Exception:  # the server may already have closed it; the peer is closed regardless
                pass
        if self.pc is not None:
            await self.pc.close()


class Stage:
    """A live on air with one publisher: what ``viewers`` and ``hls`` watch (``mix`` shares one)."""

    def __init__(self) -> None:
        self.host: dict[str, Any] = {}
        self.go: dict[str, Any] = {}
        self.publisher: Publisher | None = None

    @property
    def stream_id(self) -> str:
        return str(self.go["stream"]["id"])

    async def open(self, run: Run, source: str = "clip") -> Stage:
        self.host = await user(run, f"bh{tag()}", creator=True)
        self.go = await go_live(run, self.host)
        self.publisher = Publisher(run, source=source)
        await self.publisher.publish(self.go["ingest"]["whip_url"], self.go["ingest"]["publish_token"])
        return self

    async def close(self, run: Run) -> None:
        if self.publisher is not None:
            await self.publisher.close()
        if self.go:
            await end_live(run, self.host, self.stream_id)
