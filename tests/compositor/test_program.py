"""The program path beyond drawing: participants' encoded media decoded by decoders the compositor owns,
the program encoded once (H.264 or VP8, Opus) into packets for the engine, and close() cascading."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest

from engine.compositor import Compositor, LayoutKind, ProgramInfo, ProgramPicture, ProgramSound, ProgramSource
from engine.compositor.encoder import EncodedPacket, EncoderSettings, ProgramEncoder, VideoCodec
from engine.compositor.mixer import AudioMixer
from tests.compositor.media import (
    BLUE,
    RED,
    ManualClock,
    near,
    picture,
    read_counter,
    rgb_at,
    source,
    spectrum_peaks,
    tone,
)

pytestmark = pytest.mark.timeout(60)

FPS = 30


def encode_publisher(codec: VideoCodec, pictures: int, sounds: int) -> tuple[list[EncodedPacket], list[EncodedPacket]]:
    """A publisher's media as the engine hands it over: encoded frames (made here by the program encoder)."""
    encoder = ProgramEncoder(ProgramSource(ProgramInfo(720, 1280, Fraction(FPS), True), lambda _: None),
                             EncoderSettings(video_codec=codec))
    video = [p for i in range(pictures) for p in encoder.encode(ProgramPicture(picture(RED, i), i / FPS))]
    audio = [p for i in range(sounds) for p in encoder.encode(ProgramSound(_fltp(tone(440, i)), i * 0.02))]
    return video, audio


def _fltp(frame: av.AudioFrame) -> av.AudioFrame:
    return av.AudioResampler(format="fltp", layout="stereo", rate=48_000).resample(frame)[0]


async def _until(condition: Any) -> None:
    """Wait for work done in the compositor's threads (decoders, encoder), which signal nothing."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 (polling threads' counters)
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("codec", [VideoCodec.H264, VideoCodec.VP8])
async def test_encoded_inputs_are_decoded_by_the_compositor(codec: VideoCodec) -> None:
    video, audio = encode_publisher(codec, pictures=10, sounds=30)
    assert video[0].keyframe and all(p.codec == codec.value for p in video)
    assert [p.timestamp for p in audio[:3]] == [0, 960, 1920]  # 20 ms Opus in the 48 kHz RTP clock
    compositor = Compositor(kind=LayoutKind.GRID)
    try:
        v, a = source(), source()
        compositor.join("host", "Host", video=v, audio=a)
        compositor.join("guest", "Guest")
        for packet in video:
            v.push(packet)
        for packet in audio:
            a.push(packet)
        feed = compositor.feeds["host"]
        await _until(lambda: feed.pictures >= 10 and compositor.mixer.buffered("host") >= 9 * 960)
        assert set(feed.decoders) == {"video", "audio"}
        assert feed.decoders["video"].codec == codec.value.lower()
        layout = compositor.layout
        assert layout is not None
        tile = layout.tiles[0].rect
        frame = compositor.render(0)
        assert near(rgb_at(frame, tile.x + tile.width // 2, tile.y + tile.height // 3), RED, 32)
        assert read_counter(frame, tile) == 9  # the last picture sent
        sound = np.concatenate([compositor.mixer.mix() for _ in range(9)], axis=1)
        assert 440 in spectrum_peaks(sound)
        decoders = list(feed.decoders.values())
        await compositor.leave("host")
        assert v.closed and a.closed and all(d.closed for d in decoders)  # gone with the participant
    finally:
        await compositor.close()


def _nal_types(access_unit: bytes) -> set[int]:
    types = set()
    pos = access_unit.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(access_unit):
        types.add(access_unit[pos + 3] & 0x1F)
        pos = access_unit.find(b"\x00\x00\x01", pos + 3)
    return types


async def test_program_is_encoded_once_for_the_engine(clock: ManualClock) -> None:
    compositor = Compositor(kind=LayoutKind.PK, clock=clock)
    try:
        a, b = source(), source()
        compositor.join("alice", "Alice", video=a, audio=source())
        compositor.join("bob", "Bob", video=b)
        encoder = compositor.encoder(EncoderSettings(keyframe_interval=1.0))
        packets = encoder.packets()
        got: list[EncodedPacket] = []

        async def collect() -> None:
            async for packet in packets:
                got.append(packet)

        collector = asyncio.create_task(collect())
        compositor.start()
        for i in range(45):
            a.push(picture(RED, i))
            b.push(picture(BLUE, i))
            await clock.advance(Fraction(1, FPS))
            await _until(lambda i=i: encoder.pictures >= i + 2)  # x264 keeps up; nothing is dropped
            if i == 39:
                encoder.request_keyframe()
        await _until(lambda: len([p for p in got if p.codec == "H264"]) >= 46)
        collector.cancel()
        video = [p for p in got if p.codec == "H264"]
        audio = [p for p in got if p.codec == "opus"]
        assert len(video) == 46 and len(audio) >= 70
        assert [p.timestamp for p in video] == [i * 3000 for i in range(46)]  # 90 kHz, no gap
        assert [p.timestamp for p in audio] == [i * 960 for i in range(len(audio))]
        keys = [i for i, p in enumerate(video) if p.keyframe]
        assert keys == [0, 30, 41]  # every second, and the next picture after a request (a viewer's PLI)
        assert all({7, 8, 5} <= _nal_types(video[k].data) for k in keys)  # SPS/PPS with every IDR
        decoder = av.CodecContext.create("h264", "r")
        assert isinstance(decoder, av.VideoCodecContext)
        frames = [f for p in video for f in decoder.decode(av.Packet(p.data))]
        layout = compositor.layout
        assert layout is not None
        left, right = (t.rect for t in layout.tiles)
        last = frames[-1]
        assert near(rgb_at(last, left.x + left.width // 2, left.y + left.height // 3), RED, 40)
        assert near(rgb_at(last, right.x + right.width // 2, right.y + right.height // 3), BLUE, 40)
    finally:
        await compositor.close()


async def test_close_cascades(clock: ManualClock) -> None:
    compositor = Compositor(kind=LayoutKind.GRID, clock=clock)
    video, audio = encode_publisher(VideoCodec.H264, pictures=2, sounds=3)
    v, a = source(), source()
    compositor.join("host", "Host", video=v, audio=a)
    compositor.join("guest", "Guest", video=source())
    for packet in (*video, *audio):
        (v if packet.codec == "H264" else a).push(packet)
    await _until(lambda: len(compositor.feeds["host"].decoders) == 2)
    decoders = list(compositor.feeds["host"].decoders.values())
    program = compositor.program()
    encoder = compositor.encoder()
    packets = encoder.packets()
    compositor.start()
    await clock.advance(Fraction(1, FPS))
    await compositor.close()
    assert compositor.feeds == {} and v.closed and a.closed
    assert all(d.closed for d in decoders)
    assert encoder.closed and packets.closed and program.closed
    async with asyncio.timeout(1):  # what was queued can still be read, then the readers end
        [_ async for _ in packets]
        [_ async for _ in program.items()]
    leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("compositor")]
    assert leftovers == []
    await compositor.close()  # idempotent


def test_program_source_has_the_frame_source_shape() -> None:
    """The HLS ladder's FrameSource: ``info`` (width, height, frame_rate, has_audio, keyframe_interval,
    realtime), ``items()`` of pictures and sounds with ``frame``/``time``, ``aclose()``."""
    info = ProgramInfo(720, 1280, Fraction(30), True)
    assert (info.keyframe_interval, info.realtime) == (None, True)
    mixer_frame = AudioMixer.frame(np.zeros((2, 960), np.float32), 3)
    assert (mixer_frame.pts, mixer_frame.sample_rate, mixer_frame.format.name) == (2880, 48_000, "fltp")
    assert ProgramPicture.__dataclass_fields__.keys() == {"frame", "time", "keyframe"}
    assert ProgramSound.__dataclass_fields__.keys() == {"frame", "time"}
