"""A media file as a frame source: PyAV demuxes and decodes it once, in a worker thread."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Generator
from fractions import Fraction
from pathlib import Path

import av
import av.bitstream

from transcode.errors import SourceError
from transcode.source import AccessUnit, Picture, Sound, SourceInfo, SourceItem

_SCAN_SECONDS = 12.0


def _keyframe_interval(path: Path) -> float | None:
    """The steady IDR spacing of the first seconds of the video, by demuxing only; None if irregular."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.codec_context.name != "h264" or stream.time_base is None:
            return None
        times: list[float] = []
        frame_time = 1 / float(stream.average_rate or 30)
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            t = float(packet.pts * stream.time_base)
            if packet.is_keyframe:
                times.append(t)
            if t > _SCAN_SECONDS:
                break
    gaps = [b - a for a, b in itertools.pairwise(times)]
    if not gaps or max(gaps) - min(gaps) > frame_time * 1.5:
        return None
    return sum(gaps) / len(gaps)


class FileSource:
    def __init__(self, path: Path, info: SourceInfo, rotation: int = 0) -> None:
        self._path = path
        self._info = info
        self._rotation = rotation  # degrees counterclockwise, from the display matrix
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, realtime: bool = False) -> FileSource:
        return await asyncio.get_running_loop().run_in_executor(None, cls._probe, path, realtime)

    @classmethod
    def _probe(cls, path: Path, realtime: bool) -> FileSource:
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise SourceError(f"{path.name}: no video stream")
                video = container.streams.video[0]
                rate = Fraction(video.average_rate or video.guessed_rate or 30)
                first = next(container.decode(video), None)
                if first is None:
                    raise SourceError(f"{path.name}: no decodable video frame")
                rotation = round(first.rotation / 90) * 90 % 360  # phones write multiples of 90
                width, height = (video.height, video.width) if rotation in (90, 270) else (video.width, video.height)
                has_audio = bool(container.streams.audio)
        except av.FFmpegError as exc:
            raise SourceError(f"{path.name}: {exc}") from exc
        # a phone's portrait video is landscape pixels plus a display matrix: the ladder is built upright,
        # so such a source is re-encoded, never remuxed
        interval = _keyframe_interval(path) if rotation == 0 else None
        return cls(path, SourceInfo(width, height, rate, has_audio, interval, realtime), rotation)

    @property
    def info(self) -> SourceInfo:
        return self._info

    async def aclose(self) -> None:
        self._closed = True

    def _decode(self) -> Generator[SourceItem, None, None]:
        with av.open(str(self._path)) as container:
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            streams: list[av.stream.Stream] = [video]
            if container.streams.audio:
                streams.append(container.streams.audio[0])
            annexb = None
            extradata = video.codec_context.extradata
            if video.codec_context.name == "h264" and extradata and extradata[0] == 1:
                annexb = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", video)
            upright = _Upright(video, self._rotation) if self._rotation else None
            for packet in container.demux(*streams):
                frames = packet.decode()  # before the filter, which takes the packet's data
                if packet.stream is video and packet.pts is not None and packet.size and self._info.keyframe_interval:
                    units = annexb.filter(packet) if annexb is not None else [packet]
                    for unit in units:
                        assert unit.pts is not None and unit.time_base is not None
                        dts = unit.dts if unit.dts is not None else unit.pts
                        yield AccessUnit(
                            bytes(unit),
                            float(unit.pts * unit.time_base),
                            float(dts * unit.time_base),
                            unit.is_keyframe,
                        )
                for frame in frames:
                    if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                        continue
                    if frame.pts is None or frame.time_base is None:
                        continue
                    t = float(frame.pts * frame.time_base)
                    if isinstance(frame, av.VideoFrame):
                        key = frame.key_frame
                        if upright is not None:
                            frame = upright.turn(frame)
                        yield Picture(frame, t, key)
                    else:
                        yield Sound(frame, t)

    async def items(self) -> AsyncIterator[SourceItem]:
        loop = asyncio.get_running_loop()
        decoder = self._decode()
        start = time.monotonic()
        origin: float | None = None
        try:
            while not self._closed:
                batch: list[SourceItem] = await loop.run_in_executor(None, _take, decoder, 16)
                for item in batch:
                    if self._info.realtime and isinstance(item, Picture):
                        origin = item.time if origin is None else origin
                        delay = start + item.time - origin - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    yield item
                if len(batch) < 16:
                    return
        except av.FFmpegError as exc:
            raise SourceError(f"{self._path.name}: {exc}") from exc
        finally:
            decoder.close()


class _Upright:
    """Turns frames by their display matrix, as FFmpeg's autorotate does (libavfilter transpose/flip)."""

    def __init__(self, stream: av.VideoStream, rotation: int) -> None:
        self._graph = av.filter.Graph()
        source = self._graph.add_buffer(template=stream)
        steps = {90: [("transpose", "cclock")], 270: [("transpose", "clock")], 180: [("hflip", ""), ("vflip", "")]}
        node = source
        for name, args in steps[rotation]:
            step = self._graph.add(name, args)
            node.link_to(step)
            node = step
        sink = self._graph.add("buffersink")
        node.link_to(sink)
        self._graph.configure()

    def turn(self, frame: av.VideoFrame) -> av.VideoFrame:
        self._graph.push(frame)
        turned = self._graph.pull()
        assert isinstance(turned, av.VideoFrame)
        return turned


def _take(decoder: Generator[SourceItem, None, None], count: int) -> list[SourceItem]:
    batch: list[SourceItem] = []
    for item in decoder:
        batch.append(item)
        if len(batch) >= count:
            break
    return batch
