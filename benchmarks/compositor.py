"""Compositor: CPU per composed 720x1280 frame (2, 4, 9 guests), without and with the program encode."""

from __future__ import annotations

import argparse
import statistics
import time
from fractions import Fraction

import av
import cv2
import numpy as np

from engine.compositor import Compositor, LayoutKind, ProgramInfo, ProgramPicture, ProgramSound, ProgramSource
from engine.compositor.decoder import Decoder
from engine.compositor.encoder import EncodedPacket, EncoderSettings, ProgramEncoder, VideoCodec
from engine.compositor.painter import yuv

FPS = 30
ENCODERS = {VideoCodec.H264: "libx264 ultrafast/zerolatency", VideoCodec.VP8: "libvpx realtime cpu-used 8"}
WARMUP = 10  # frames before the measurement starts
GOAL_2_GUESTS = 0.15  # of one core, composing only (issue 9)


def _inputs(n: int, frames: int) -> list[list[av.VideoFrame]]:
    """``frames`` distinct 720x1280 camera pictures per participant (a moving bar and a counter)."""
    out = []
    for p in range(n):
        y0, u0, v0 = yuv(40 + 20 * p, 200 - 15 * p, 90 + 10 * p)
        pictures = []
        for i in range(frames):
            y = np.full((1280, 720), y0, np.uint8)
            y[:, (i * 8) % 700 : (i * 8) % 700 + 20] = 235
            cv2.putText(y, f"{p}:{i}", (80, 640), cv2.FONT_HERSHEY_SIMPLEX, 3, 255, 6)
            u = np.full((640, 360), u0, np.uint8)
            v = np.full((640, 360), v0, np.uint8)
            planes = np.concatenate([y, u.reshape(-1, 720), v.reshape(-1, 720)])
            pictures.append(av.VideoFrame.from_ndarray(planes, format="yuv420p"))
        out.append(pictures)
    return out


def _sound(index: int) -> av.AudioFrame:
    t = (np.arange(960) + index * 960) / 48_000
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
    frame.sample_rate = 48_000
    return frame


def _published(pictures: list[list[av.VideoFrame]], frames: int, codec: VideoCodec) -> list[list[EncodedPacket]]:
    """What the publishers send: each participant's pictures encoded (outside the measurement)."""
    out = []
    for own in pictures:
        encoder = ProgramEncoder(ProgramSource(ProgramInfo(720, 1280, Fraction(FPS), False), lambda _: None),
                                 EncoderSettings(video_codec=codec, video_bit_rate=1_500_000))
        out.append([p for i in range(frames) for p in encoder.encode(ProgramPicture(own[i % len(own)], i / FPS))])
    return out


def run(guests: int, frames: int, encode: bool, codec: VideoCodec, decode: bool = False) -> tuple[float, float]:
    """(CPU ms per frame, wall ms per frame). All participants send a new picture every output frame, and
    the sound of every participant is mixed, 50 times a second, alongside. With ``decode`` the pictures
    arrive encoded and the compositor's decoders decode them too."""
    compositor = Compositor(kind=LayoutKind.PK if guests == 2 else LayoutKind.GRID)
    pictures = _inputs(guests, 10)
    packets = _published(pictures, frames + WARMUP, codec) if decode else []
    decoders = [Decoder(codec.value) for _ in range(guests)] if decode else []
    for p in range(guests):
        compositor.join(f"p{p}", f"Guest number {p}")
    if guests == 2:
        compositor.board.start("Guest number 0", "Guest number 1", compositor.clock.wall_ms() + 300_000)
        compositor.board.set_scores(1200, 800)
    encoder = (ProgramEncoder(compositor.program(), EncoderSettings(video_codec=codec)) if encode else None)
    feeds = list(compositor.feeds.values())
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    sounds = 0
    for index in range(frames + WARMUP):
        if index == WARMUP:  # text sprites rasterised, codecs opened, buffers allocated
            cpu_start, wall_start = time.process_time(), time.perf_counter()
        for p, feed in enumerate(feeds):
            if decode:
                for decoded in decoders[p].decode(packets[p][index]):
                    assert isinstance(decoded, av.VideoFrame)
                    feed.show(decoded)
            else:
                feed.show(pictures[p][index % len(pictures[p])])
            compositor.mixer.push(feed.participant, _sound(index))
        frame = compositor.render(index)
        while sounds * 0.02 <= index / FPS:
            mixed = compositor.mixer.frame(compositor.mixer.mix(), sounds)
            if encoder is not None:
                encoder.encode(ProgramSound(mixed, sounds * 0.02))
            sounds += 1
        if encoder is not None:
            encoder.encode(ProgramPicture(frame, index / FPS))
    cpu = (time.process_time() - cpu_start) / frames * 1000
    wall = (time.perf_counter() - wall_start) / frames * 1000
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=60, help="frames per measurement (default 60 = 2 s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the median is shown")
    parser.add_argument("--codec", choices=[c.value for c in VideoCodec], default=VideoCodec.H264.value)
    parser.add_argument("--decode", action="store_true",
                        help="also measure the whole path from encoded inputs (decode + compose + encode)")
    args = parser.parse_args()
    codec = VideoCodec(args.codec)
    print(f"720x1280 @ {FPS} fps, {args.frames} frames x {args.repeat} runs (median), "
          f"cv2 threads {cv2.getNumThreads()}, encoder {ENCODERS[codec]} + Opus")
    header = (f"{'guests':>6} | {'compose CPU ms/frame':>20} | {'% of a core':>11} | "
              f"{'with encode ms/frame':>20} | {'% of a core':>11}")
    if args.decode:
        header += f" | {'decode+compose+encode':>21} | {'% of a core':>11}"
    print(header)
    print("-" * len(header))
    results = {}
    for guests in (2, 4, 9):
        rows = []
        for encode, decode in ((False, False), (True, False), (True, True))[: 3 if args.decode else 2]:
            cpu = statistics.median(run(guests, args.frames, encode, codec, decode)[0] for _ in range(args.repeat))
            rows.append(cpu)
        results[guests] = rows
        print(f"{guests:>6} | " + " | ".join(f"{ms:>{20 if i < 2 else 21}.2f} | {ms * FPS / 10:>10.1f}%"
                                             for i, ms in enumerate(rows)))
    share = results[2][0] * FPS / 1000
    verdict = "meets" if share < GOAL_2_GUESTS else "misses"
    print(f"composing 2 guests: {share:.1%} of one core ({verdict} the goal of < {GOAL_2_GUESTS:.0%})")


if __name__ == "__main__":
    main()
