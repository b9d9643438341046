"""Compositor wiring: CPU per frame of packetizing the program for WHEP and of feeding the host to the ladder.

What the wiring adds on top of the compositor (``benchmarks/compositor.py``) and the ladder
(``benchmarks/hls_ladder.py``), both measured there:

* program -> RTP: a :class:`ProgramPublication` reading the real program encoder's packets (720x1280 30 fps,
  H.264 2.5 Mbit/s or VP8) and packetizing each once (aiortc's packers, ``RtpPacket``s); the fan-out to
  viewers is the SFU's per-packet cost (``benchmarks/sfu_fanout.py``);
* host -> ladder: :class:`HostStream`'s work per decoded picture and per 20 ms of sound (time anchoring,
  keyframe marking, resampling the sound to the ladder's format, the push).

    python -m benchmarks.program_feed               # ~10 s
    python -m benchmarks.program_feed --frames 600
"""

from __future__ import annotations

import argparse
import asyncio
import time
from fractions import Fraction

import av
import numpy as np
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from benchmarks.toolkit.tables import markdown_header, markdown_row
from engine.compositor.encoder import EncodedPacket, EncoderSettings, ProgramEncoder, VideoCodec
from engine.compositor.program import ProgramInfo, ProgramPicture, ProgramSource
from engine.engine import Engine
from engine.hls import HostStream, _Anchor
from engine.program import ProgramPublication
from engine.stage import EngineStage

FPS = 30
W, H = 720, 1280


def _pictures(n: int) -> list[av.VideoFrame]:
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 40, (H, W, 3), dtype=np.uint8)
    out = []
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        img[:, :, 0] = (np.arange(W) + 8 * i) % 256
        img[:, :, 1] = ((np.arange(H) + 3 * i) % 256)[:, None]
        img += np.roll(noise, i * 7, axis=1)
        out.append(av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p"))
    return out


async def _encoded(codec: VideoCodec, pictures: list[av.VideoFrame]) -> list[EncodedPacket]:
    info = ProgramInfo(W, H, Fraction(FPS), False)
    encoder = ProgramEncoder(ProgramSource(info, lambda _s: None), EncoderSettings(video_codec=codec))
    packets = []
    for i, frame in enumerate(pictures):
        packets += encoder.encode(ProgramPicture(frame, i / FPS))
    await encoder.close()
    return packets


async def _packetize(codec: VideoCodec, packets: list[EncodedPacket]) -> tuple[float, int]:
    """CPU seconds per frame to packetize the program once, and RTP packets made."""
    engine = Engine()
    stage = EngineStage(engine, "bench")
    info = ProgramInfo(W, H, Fraction(FPS), False)
    encoder = ProgramEncoder(ProgramSource(info, lambda _s: None), EncoderSettings(video_codec=codec))
    codecs = stage.program_codecs()  # no host here: the engine's first choices (H.264, Opus)
    if codec is VideoCodec.VP8:
        codecs["video"] = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=97)
    publication = ProgramPublication("bench", encoder, codecs)
    subscription = next(iter(encoder._subscriptions))
    start = time.process_time()
    for packet in packets:
        subscription.push(packet)
        await asyncio.sleep(0)
    subscription.close()
    await publication._task
    spent = time.process_time() - start
    made = publication.producers["video"].packets
    await publication.close()
    await encoder.close()
    return spent / len(packets), made


async def _host(pictures: list[av.VideoFrame]) -> tuple[float, float]:
    """CPU seconds per picture and per 20 ms sound frame of HostStream's own work."""
    stream = HostStream(Engine(), "bench", width=W, height=H)
    anchor = _Anchor()
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48_000)
    for i, frame in enumerate(pictures):
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90_000)
    start = time.process_time()
    for i, frame in enumerate(pictures):
        stream._picture(frame, anchor.time(i / FPS, i / FPS), i % 60 == 0)
        if i % 100 == 99:
            await _drain(stream)
    per_picture = (time.process_time() - start) / len(pictures)
    sounds = []
    for i in range(len(pictures)):
        sound = av.AudioFrame.from_ndarray(np.zeros((1, 1920), np.int16), format="s16", layout="stereo")
        sound.sample_rate, sound.pts, sound.time_base = 48_000, i * 960, Fraction(1, 48_000)
        sounds.append(sound)
    start = time.process_time()
    for i, sound in enumerate(sounds):
        for out in resampler.resample(sound):
            stream._sound(out, anchor.time(i * 0.02, i * 0.02), anchor)
        if i % 100 == 99:
            await _drain(stream)
    per_sound = (time.process_time() - start) / len(sounds)
    await stream.aclose()
    return per_picture, per_sound


async def _drain(stream: HostStream) -> None:
    items = stream.items()
    while stream._source._items:
        await anext(items)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    pictures = _pictures(args.frames)
    print(f"program -> RTP, {W}x{H} {FPS} fps, {args.frames} frames")
    print(markdown_header(["codec", "µs/frame", "RTP pkts/frame", "% of a core"]))
    for codec in (VideoCodec.H264, VideoCodec.VP8):
        packets = await _encoded(codec, pictures)
        per_frame, made = await _packetize(codec, packets)
        print(markdown_row([codec.value, f"{per_frame * 1e6:.0f}", f"{made / len(packets):.1f}",
                            f"{100 * per_frame * FPS:.2f}%"]))
    per_picture, per_sound = await _host(pictures)
    print(f"\nhost -> ladder (HostStream), per item: picture {per_picture * 1e6:.0f} µs, "
          f"20 ms of sound {per_sound * 1e6:.0f} µs; at 30 fps + 50 sound frames/s: "
          f"{100 * (per_picture * FPS + per_sound * 50):.2f}% of a core")


if __name__ == "__main__":
    asyncio.run(main())
