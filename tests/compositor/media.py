"""Test media made by the tests: solid-colour pictures with a frame counter drawn in, sine tones, and a
manual clock that the tests step frame by frame."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack

from engine.compositor.layout import Rect
from engine.compositor.painter import yuv
from engine.compositor.program import Subscription

WIDTH, HEIGHT = 720, 1280
BITS = 8
BIT_SIZE = 80  # counter squares, source pixels
BIT_TOP = 1000
BIT_LEFT = 40

RED = (230, 20, 20)
BLUE = (20, 40, 230)
GREEN = (20, 200, 40)


def picture(colour: tuple[int, int, int], counter: int, width: int = WIDTH, height: int = HEIGHT) -> av.VideoFrame:
    """A solid picture with ``counter`` drawn twice: as digits (for people) and as eight black/white
    squares along the bottom (for pixel checks that survive scaling)."""
    y0, u0, v0 = yuv(*colour)
    y = np.full((height, width), y0, np.uint8)
    u = np.full((height // 2, width // 2), u0, np.uint8)
    v = np.full((height // 2, width // 2), v0, np.uint8)
    cv2.putText(y, f"{counter:05d}", (width // 8, height // 2), cv2.FONT_HERSHEY_SIMPLEX, width / 240, 255, 6)
    size = BIT_SIZE * width // WIDTH
    top, left = BIT_TOP * height // HEIGHT, BIT_LEFT * width // WIDTH
    for bit in range(BITS):
        on = (counter >> (BITS - 1 - bit)) & 1
        x = left + bit * size
        y[top : top + size, x : x + size] = 235 if on else 16
        u[top // 2 : (top + size) // 2, x // 2 : (x + size) // 2] = 128
        v[top // 2 : (top + size) // 2, x // 2 : (x + size) // 2] = 128
    return av.VideoFrame.from_ndarray(np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)]),
                                      format="yuv420p")


def read_counter(frame: av.VideoFrame, tile: Rect) -> int:
    """The counter squares of a :func:`picture` shown (scaled to cover) in ``tile`` of ``frame``."""
    luma = frame.to_ndarray(format="yuv420p")[: frame.height]
    scale = max(tile.width / WIDTH, tile.height / HEIGHT)
    crop_x = (WIDTH * scale - tile.width) / 2
    crop_y = (HEIGHT * scale - tile.height) / 2
    value = 0
    for bit in range(BITS):
        sx, sy = BIT_LEFT + bit * BIT_SIZE + BIT_SIZE / 2, BIT_TOP + BIT_SIZE / 2
        x, y = int(tile.x + sx * scale - crop_x), int(tile.y + sy * scale - crop_y)
        value = value << 1 | int(luma[y, x] > 128)
    return value


def rgb_at(frame: av.VideoFrame, x: int, y: int) -> tuple[int, int, int]:
    pixel = frame.to_ndarray(format="rgb24")[y, x]
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


def near(actual: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def tone(frequency: float, index: int, *, rate: int = 48_000, samples: int = 960, layout: str = "stereo",
         amplitude: float = 0.3) -> av.AudioFrame:
    """The ``index``-th chunk of a continuous sine, as s16 (what aiortc's Opus decoder hands out)."""
    t = (np.arange(samples) + index * samples) / rate
    wave = (amplitude * 32767 * np.sin(2 * math.pi * frequency * t)).astype(np.int16)
    channels = 2 if layout == "stereo" else 1
    packed = np.repeat(wave, channels).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="s16", layout=layout)
    frame.sample_rate = rate
    frame.pts = index * samples
    frame.time_base = Fraction(1, rate)
    return frame


def spectrum_peaks(samples: npt.NDArray[np.float32], rate: int = 48_000, floor: float = 0.1) -> set[int]:
    """Frequencies (Hz, rounded to 10) whose magnitude is above ``floor`` x the strongest."""
    mono = samples.mean(axis=0) * np.hanning(samples.shape[1])
    magnitude = np.abs(np.fft.rfft(mono))
    freqs = np.fft.rfftfreq(samples.shape[1], 1 / rate)
    strong = magnitude > floor * magnitude.max()
    # local maxima only
    peaks = strong & (magnitude >= np.roll(magnitude, 1)) & (magnitude >= np.roll(magnitude, -1))
    return {int(round(f / 10) * 10) for f in freqs[peaks]}


def source() -> Subscription[Any]:
    """A participant's source the test pushes frames into (the same queue type the program uses)."""
    return Subscription(lambda _: None)


class ManualClock:
    """Monotonic time that moves only when the test says so; sleepers wake in deadline order."""

    def __init__(self, start: float = 100.0, wall_ms: int = 1_800_000_000_000) -> None:
        self._start = start
        self._elapsed = Fraction(0)  # exact, so "now" lands exactly on start + n/fps like the deadlines do
        self._wall = wall_ms
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._start + float(self._elapsed)

    def wall_ms(self) -> int:
        return self._wall + round(self._elapsed * 1000)

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self.now():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), future))
        await future

    async def advance(self, seconds: Fraction) -> None:
        for _ in range(5):  # let readers take what the test pushed before time moves
            await asyncio.sleep(0)
        self._elapsed += seconds
        while self._sleepers and self._sleepers[0][0] <= self.now():
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


class ColourTrack(MediaStreamTrack):
    """A camera showing one solid colour at 30 fps, paced in real time (an aiortc publisher's video)."""

    kind = "video"

    def __init__(self, colour: tuple[int, int, int], width: int = 180, height: int = 320) -> None:
        super().__init__()
        self.image = np.zeros((height, width, 3), np.uint8)
        self.image[:, :] = colour
        self.count = 0
        self.start: float | None = None

    async def recv(self) -> av.VideoFrame:
        self.start = self.start or time.monotonic()
        await asyncio.sleep(max(0.0, self.start + self.count / 30 - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(self.image, format="rgb24")
        frame.pts, frame.time_base = self.count * 3000, Fraction(1, 90_000)
        self.count += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A microphone playing a sine tone in 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float) -> None:
        super().__init__()
        self.frequency = frequency
        self.count = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        self.start = self.start or time.monotonic()
        await asyncio.sleep(max(0.0, self.start + self.count * 0.02 - time.monotonic()))
        frame = tone(self.frequency, self.count)
        self.count += 1
        return frame
