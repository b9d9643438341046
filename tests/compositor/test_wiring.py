"""The compositor wired into the engine and the HLS ladder: real aiortc publishers over WHIP and a real WHEP
``program`` viewer against the app on a loopback socket, the real transcode ladder, FFmpeg reading it."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from api.state import ENGINE, LIVES
from engine.compositor import Canvas, LayoutKind, arrange
from engine.compositor.errors import ParticipantError
from engine.engine import Engine
from engine.errors import EngineError
from engine.hls import HostStream
from engine.live import LiveStudio, StudioConfig
from engine.peer import close_peer_connection
from tests.api.helpers import Client
from tests.compositor.media import BLUE, RED, ColourTrack, ToneTrack, near, spectrum_peaks
from tests.conftest import AppFactory
from tests.engine.clients import loopback_peer_connection, prefer
from tests.signaling.clients import answer, post_sdp, whep_offer
from tests.signaling.conftest import auth, token
from transcode.service import HlsService
from transcode.storage import LocalStorage
from transcode.transcoder import HlsOptions

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

CANVAS = Canvas(360, 640)  # small: two publishers, the compositor, its encoder and a rung on 2 shared cores
SEGMENT_S = 1.0
STREAM = "live-1"
PK = arrange(LayoutKind.PK, ["hostuser", "guest"], CANVAS)
OPTIONS = HlsOptions(segment_duration=SEGMENT_S, part_duration=None, recording=False, max_rungs=1,
                     thumbnail_interval=1000)


async def whip(client: Client, slot: str, colour: tuple[int, int, int], *, stream: str = STREAM,
               codec: str = "video/H264", audio: bool = True, replace: bool = False,
               frequency: float | None = None) -> RTCPeerConnection:
    pc = loopback_peer_connection()
    pc.addTransceiver(ColourTrack(colour), direction="sendonly")
    if audio:
        pc.addTransceiver(ToneTrack(frequency) if frequency else AudioStreamTrack(), direction="sendonly")
    prefer(pc, "video", codec)
    await pc.setLocalDescription(await pc.createOffer())
    grant = auth(token(client, stream, publish=True, publisher=slot, replace=replace))
    response: Any = await post_sdp(client, f"/whip/{stream}", pc.localDescription.sdp, grant)
    assert response.status == 201, await response.text()
    await answer(pc, await response.text())
    return pc


def colour_at(frame: av.VideoFrame, x: float, y: float) -> tuple[int, int, int]:
    rgb = frame.to_ndarray(format="rgb24")
    pixel = rgb[int(frame.height * y), int(frame.width * x)]
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


def composed(frame: av.VideoFrame) -> bool:
    """The PK split: the host's red in the left tile, the other's blue in the right one."""
    if (frame.width, frame.height) != (CANVAS.width, CANVAS.height):
        return False
    left, right = (t.rect for t in PK.tiles)
    return near(colour_at(frame, (left.x + left.width / 2) / frame.width, (left.y + left.height / 2) / frame.height),
                RED, 40) and near(
        colour_at(frame, (right.x + right.width / 2) / frame.width, (right.y + right.height / 2) / frame.height),
        BLUE, 40)


async def watch(client: Client, stream: str, slot: str) -> tuple[RTCPeerConnection, list[av.VideoFrame],
                                                                 asyncio.Task[None]]:
    """A real WHEP viewer of ``slot``; the frames it decodes, and the task reading them."""
    viewer, offer = await whep_offer()
    played: Any = await post_sdp(client, f"/whep/{stream}/{slot}", offer)
    assert played.status == 201, await played.text()
    await answer(viewer, await played.text())
    video = next(t.receiver.track for t in viewer.getTransceivers() if t.kind == "video")
    frames: list[av.VideoFrame] = []

    async def read() -> None:
        while True:
            frame = await video.recv()
            assert isinstance(frame, av.VideoFrame)
            frames.append(frame)

    return viewer, frames, asyncio.create_task(read())


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def heard(sounds: list[av.AudioFrame], seconds: float) -> npt.NDArray[np.float32]:
    """The next ``seconds`` of what a viewer hears, as (channels, samples) floats."""
    del sounds[:]
    await asyncio.sleep(seconds + 0.1)
    chunks = [f.to_ndarray().reshape(-1, len(f.layout.channels)).T.astype(np.float32) for f in sounds]
    samples = np.concatenate(chunks, axis=1)
    return samples[:, -round(seconds * 48_000):]


def segments(rendition: Path) -> list[Path]:
    return sorted(rendition.glob("seg*.m4s"), key=lambda p: int(p.stem[3:]))


async def test_live_goes_solo_guest_solo_over_whep_program_and_hls(make_client: AppFactory, tmp_path: Path) -> None:
    client = await make_client()
    assert isinstance(client.app[LIVES], LiveStudio)  # the app's, closed with it (on the app's HLS settings)
    engine: Engine = client.app[ENGINE]
    hls = HlsService(LocalStorage(tmp_path / "hls"), OPTIONS)
    studio = LiveStudio(engine, hls, StudioConfig(canvas=CANVAS))
    host = await whip(client, "host", RED, frequency=440)
    guest: RTCPeerConnection | None = None
    viewer, offer = await whep_offer()
    frames: list[av.VideoFrame] = []
    sounds: list[av.AudioFrame] = []
    reader: asyncio.Task[None] | None = None
    listener: asyncio.Task[None] | None = None
    try:
        live = studio.start(STREAM, "hostuser", "Host")
        rendition = tmp_path / "hls" / "live" / STREAM / f"{CANVAS.width}p"
        await until(lambda: len(segments(rendition)) >= 1, 20, "the first HLS segment from the host")
        probe = rendition / "probe.mp4"
        probe.write_bytes((rendition / "init.mp4").read_bytes() + segments(rendition)[0].read_bytes())
        ffprobe = await asyncio.create_subprocess_exec(
            "ffprobe", "-v", "error", "-show_streams", "-of", "json", str(probe), stdout=asyncio.subprocess.PIPE)
        out, _ = await ffprobe.communicate()
        assert ffprobe.returncode == 0
        streams = json.loads(out)["streams"]
        assert [(s["codec_name"], s["width"], s["height"]) for s in streams] == [("h264", 360, 640)]

        # A WHEP viewer of "program" while solo watches the host's own stream (forwarded, not re-encoded).
        played: Any = await post_sdp(client, f"/whep/{STREAM}/program", offer)
        assert played.status == 201, await played.text()
        await answer(viewer, await played.text())
        video = next(t.receiver.track for t in viewer.getTransceivers() if t.kind == "video")

        async def read() -> None:
            while True:
                frame = await video.recv()
                assert isinstance(frame, av.VideoFrame)
                frames.append(frame)

        async def listen() -> None:
            track = next(t.receiver.track for t in viewer.getTransceivers() if t.kind == "audio")
            while True:
                sound = await track.recv()
                assert isinstance(sound, av.AudioFrame)
                sounds.append(sound)

        reader, listener = asyncio.create_task(read()), asyncio.create_task(listen())
        await until(lambda: bool(frames) and (frames[-1].width, frames[-1].height) == (180, 320), 15, "the host")
        assert near(colour_at(frames[-1], 0.5, 0.5), RED, 40)

        guest = await whip(client, "guest", BLUE, frequency=1000)
        await until(lambda: live.stage.producer("guest", "video") is not None, 10, "the guest's producer")
        live.program.set_kind(LayoutKind.PK)  # a co-host in the split layout: each half its publisher
        await live.join("guest", "Guest")
        await until(lambda: any(composed(f) for f in frames[-10:]), 20, "composed frames on WHEP program")
        guest_video = live.stage.producer("guest", "video")
        assert guest_video is not None and guest_video.decoding
        # The program's sound (Opus, packetized by the engine) mixes both voices; muting the guest's seat
        # takes theirs out.
        peaks = spectrum_peaks(await heard(sounds, 0.6))
        assert {440, 1000} <= peaks, peaks
        live.mute("guest", True)
        await asyncio.sleep(0.3)
        peaks = spectrum_peaks(await heard(sounds, 0.6), floor=0.02)
        assert 440 in peaks and not any(abs(p - 1000) <= 20 for p in peaks), peaks
        live.mute("guest", False)
        await asyncio.sleep(SEGMENT_S)

        await live.leave("guest")
        assert not guest_video.decoding  # the compositor's decoders and subscriptions are gone
        assert live.program.compositor is None
        await until(lambda: (frames[-1].width, frames[-1].height) == (180, 320), 15, "the host again on WHEP")
        await asyncio.sleep(2 * SEGMENT_S)
        host_video = live.stage.producer("hostuser", "video")
        assert host_video is not None
        await studio.close()
        assert not host_video.decoding  # the ladder's HostStream let go too
        assert engine.routers[STREAM].program == {}
    finally:
        for task in (reader, listener):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await studio.close()
        await hls.close()
        for pc in (viewer, host, guest):
            if pc is not None:
                await close_peer_connection(pc)

    # What an HLS player of the live saw: the host, the PK split, the host again, without a gap.
    shown = _played(rendition)
    gaps = [round(b - a, 3) for (a, _), (b, _) in itertools.pairwise(shown) if b - a >= SEGMENT_S]
    assert not gaps, gaps
    assert [pk for pk, _ in itertools.groupby(is_pk for _, is_pk in shown)] == [False, True, False]


def _played(rendition: Path) -> list[tuple[float, bool]]:
    video = rendition / "all.mp4"
    video.write_bytes((rendition / "init.mp4").read_bytes() + b"".join(s.read_bytes() for s in segments(rendition)))
    shown = []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            assert frame.time is not None
            shown.append((frame.time, composed(frame)))
    return shown


async def test_pk_against_another_live_in_the_viewers_codec(make_client: AppFactory, tmp_path: Path) -> None:
    """The host publishes VP8 (so its WHEP viewers negotiated VP8) without a microphone; the PK opponent is
    the host of another live. The program comes in VP8 with both halves; the ladder gets sound (silence)."""
    client = await make_client()
    engine: Engine = client.app[ENGINE]
    hls = HlsService(LocalStorage(tmp_path / "hls"), OPTIONS)
    studio = LiveStudio(engine, hls, StudioConfig(canvas=CANVAS))
    host = await whip(client, "host", RED, codec="video/VP8", audio=False)
    rival = await whip(client, "host", BLUE, stream="live-2")
    viewer, frames, reader = await watch(client, STREAM, "program")
    try:
        live = studio.start(STREAM, "hostuser", "Host")
        await until(lambda: bool(frames), 15, "the host on WHEP program")
        layout = await live.pk("rival", "live-2", ("Host", "Rival"), None)
        assert layout.kind is LayoutKind.PK
        await until(lambda: any(composed(f) for f in frames[-10:]), 20, "the PK split on WHEP program")
        assert live.stage.publication is not None and live.stage.publication.video_codec == "VP8"
        assert live.stage.publication.mismatched == 0
        live.scores(3, 1)
        assert live.program.board.score_a == 3
        live.pk_end("a")
        await live.leave("rival")
        rendition = tmp_path / "hls" / "live" / STREAM / f"{CANVAS.width}p"
        await until(lambda: len(segments(rendition)) >= 2, 20, "HLS segments")
        audio = tmp_path / "hls" / "live" / STREAM / "audio"
        assert segments(audio), "a live without a microphone still has sound (silence) in HLS"
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await studio.close()
        await hls.close()
        for pc in (viewer, host, rival):
            await close_peer_connection(pc)


async def test_publishers_coming_back_are_followed(make_client: AppFactory, tmp_path: Path) -> None:
    """A guest who takes the seat before publishing shows as a placeholder, then their picture once they
    publish; the host reconnecting (a new WHIP session replacing the old) keeps feeding the ladder."""
    client = await make_client()
    engine: Engine = client.app[ENGINE]
    hls = HlsService(LocalStorage(tmp_path / "hls"), OPTIONS)
    studio = LiveStudio(engine, hls, StudioConfig(canvas=CANVAS))
    host = await whip(client, "host", RED, audio=False)
    pcs = [host]
    try:
        live = studio.start(STREAM, "hostuser", "Host")
        first = live.program.switch.source
        assert isinstance(first, HostStream)
        await until(lambda: first.pictures > 10, 15, "the host's pictures in the ladder")
        pcs.append(await whip(client, "host", RED, audio=False, replace=True))  # the host's app reconnects
        seen = first.pictures
        await until(lambda: first.pictures > seen + 10, 15, "the new host session's pictures in the ladder")

        await live.join("guest", "Guest")  # seated, not publishing yet
        compositor = live.program.compositor
        assert compositor is not None and compositor.feeds["guest"].picture is None
        with pytest.raises(ParticipantError) as refused:  # the room sent the join twice: nothing changes
            await live.join("guest", "Again")
        assert isinstance(refused.value, EngineError) and refused.value.status == 409
        assert live.stage.seats["guest"] == (STREAM, "guest") and compositor.feeds["guest"].name == "Guest"
        pcs.append(await whip(client, "guest", BLUE, audio=False))
        await until(lambda: compositor.feeds["guest"].pictures > 5, 15, "the guest's pictures once they publish")
        guest_video = live.stage.producer("guest", "video")
        assert guest_video is not None and guest_video.decoding
        await live.leave("guest")
        assert not guest_video.decoding
    finally:
        await studio.close()
        await hls.close()
        for pc in pcs:
            await close_peer_connection(pc)
