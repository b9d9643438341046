"""A generated test source: a frame counter, a moving bar and a 440 Hz tone, optionally also as H.264.

With ``encoded=True`` it plays a publisher: it encodes its own pictures with libx264 (IDR every
``keyframe_interval`` seconds) and yields the access units too, so the ladder can remux the top rung.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from fractions import Fraction

import av
import cv2
import numpy as np

from transcode.source import AccessUnit, Picture, Sound, SourceInfo, SourceItem

SAMPLE_RATE = 48_000
AUDIO_FRAME = 1024


class PatternSource:
    def __init__(
        self,
        width: int = 720,
        height: int = 1280,
        *,
        fps: int = 30,
        duration: float = 4.0,
        realtime: bool = True,
        encoded: bool = False,
        keyframe_interval: float = 2.0,
        audio: bool = True,
    ) -> None:
        if width % 4 or height % 2:
            raise ValueError("the pattern needs a width divisible by 4 and an even height")
        self._fps = fps
        self._frames = round(duration * fps)
        self._encoded = encoded
        self._keyint = max(1, round(keyframe_interval * fps))
        self._audio = audio
        self._closed = False
        self._info = SourceInfo(width, height, Fraction(fps), audio, keyframe_interval if encoded else None, realtime)

    @property
    def info(self) -> SourceInfo:
        return self._info

    async def aclose(self) -> None:
        self._closed = True

    def _picture(self, index: int) -> av.VideoFrame:
        w, h = self._info.width, self._info.height
        y = np.full((h, w), 60, np.uint8)
        bar = int((index * 8) % w)
        y[:, bar : bar + max(4, w // 40)] = 235
        cv2.putText(y, f"{index:06d}", (w // 10, h // 2), cv2.FONT_HERSHEY_SIMPLEX, w / 300, 255, max(2, w // 200))
        u = np.full((h // 2, w // 2), 90 + (index % 60), np.uint8)
        v = np.full((h // 2, w // 2), 160, np.uint8)
        frame = av.VideoFrame.from_ndarray(np.concatenate([y, u.reshape(-1, w), v.reshape(-1, w)]), format="yuv420p")
        return frame

    def _tone(self, index: int) -> av.AudioFrame:
        t = (np.arange(AUDIO_FRAME) + index * AUDIO_FRAME) / SAMPLE_RATE
        wave = (0.2 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        return frame

    def _publisher(self) -> av.VideoCodecContext:
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = self._info.width, self._info.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, self._fps)
        ctx.framerate = Fraction(self._fps)
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": "28",
            "x264-params": f"keyint={self._keyint}:min-keyint={self._keyint}:scenecut=0",
        }
        ctx.open()
        return ctx

    async def items(self) -> AsyncIterator[SourceItem]:
        loop = asyncio.get_running_loop()
        publisher = self._publisher() if self._encoded else None
        start = time.monotonic()
        audio_index = 0
        for index in range(self._frames):
            if self._closed:
                return
            at = index / self._fps
            if self._info.realtime:
                delay = start + at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            while self._audio and audio_index * AUDIO_FRAME / SAMPLE_RATE <= at:
                yield Sound(self._tone(audio_index), audio_index * AUDIO_FRAME / SAMPLE_RATE)
                audio_index += 1
            frame = await loop.run_in_executor(None, self._picture, index)
            keyframe = index % self._keyint == 0
            if publisher is not None:
                frame.pts = index
                frame.pict_type = av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
                for packet in publisher.encode(frame):
                    pts = float(packet.pts) / self._fps if packet.pts is not None else at
                    yield AccessUnit(bytes(packet), pts, pts, packet.is_keyframe)
            yield Picture(frame, at, keyframe and publisher is not None)
