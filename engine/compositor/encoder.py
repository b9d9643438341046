"""The program encoder: one encode of the program for every WHEP viewer of ``program``.

H.264 (libx264 ultrafast/zerolatency: no B-frames, no lookahead, SPS/PPS repeated on every IDR so a viewer
joining at any keyframe can decode) or VP8 (libvpx realtime), and Opus in 20 ms packets. Packets carry what
the engine's ``EncodedFrame`` carries -- Annex B access units or codec frames with a timestamp in the RTP
clock (90 kHz video, RFC 6184 §5.1 / RFC 7741 §4.1; 48 kHz Opus, RFC 7587 §4.1) -- so the engine can
packetize them once and fan them out as the ``program`` producer. Encoding runs in the encoder's own
thread; a keyframe can be asked for at any time (a viewer's PLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

import av

from engine.compositor.painter import Planes
from engine.compositor.program import ProgramItem, ProgramPicture, ProgramSource, Subscription, close_all

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000


class VideoCodec(StrEnum):
    H264 = "H264"
    VP8 = "VP8"


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """The shape of the engine's ``EncodedFrame`` (data, timestamp, keyframe, codec)."""

    data: bytes
    timestamp: int  # RTP clock units since the program started
    keyframe: bool
    codec: str  # "H264", "VP8" or "opus"


@dataclass(frozen=True, slots=True)
class EncoderSettings:
    video_codec: VideoCodec = VideoCodec.H264
    video_bit_rate: int = 2_500_000
    keyframe_interval: float = 2.0  # seconds; also the HLS segment length the program might feed
    audio_bit_rate: int = 96_000
    threads: int = 1  # encoder threads; the machine is shared with decoders and the HLS ladder


class ProgramEncoder:
    def __init__(self, program: ProgramSource, settings: EncoderSettings = EncoderSettings()) -> None:
        self.settings = settings
        self._program = program
        self._fps = program.info.frame_rate
        self._video: av.VideoCodecContext | None = None
        self._audio: av.AudioCodecContext | None = None
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_CLOCK)
        self._keyframe_wanted = True
        self._audio_next: int | None = None
        self._subscriptions: set[Subscription[EncodedPacket]] = set()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="compositor-encode")
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        # stats
        self.pictures = 0
        self.keyframes = 0
        self.video_bytes = 0
        self.audio_packets = 0

    def packets(self) -> Subscription[EncodedPacket]:
        sub: Subscription[EncodedPacket] = Subscription(self._subscriptions.discard)
        self._subscriptions.add(sub)
        return sub

    def request_keyframe(self) -> None:
        """The next picture is encoded as a keyframe (IDR)."""
        self._keyframe_wanted = True

    def start(self) -> None:
        if self._task is None and not self.closed:
            self._task = asyncio.create_task(self._run(), name="compositor-encoder")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        async for item in self._program.items():
            for packet in await loop.run_in_executor(self._thread, self.encode, item):
                for sub in tuple(self._subscriptions):
                    sub.push(packet)
        close_all(self._subscriptions)

    # --- codecs (encoder thread) ----------------------------------------------------------------------

    def encode(self, item: ProgramItem) -> list[EncodedPacket]:
        if isinstance(item, ProgramPicture):
            return self._encode_picture(item.frame, item.time)
        return self._encode_sound(item.frame, item.time)

    def _open_video(self, width: int, height: int) -> av.VideoCodecContext:
        keyint = max(1, round(self.settings.keyframe_interval * float(self._fps)))
        if self.settings.video_codec is VideoCodec.H264:
            ctx = av.CodecContext.create("libx264", "w")
            options = {"preset": "ultrafast", "tune": "zerolatency",
                       "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0:"
                                      f"repeat-headers=1:threads={self.settings.threads}"}
        else:
            ctx = av.CodecContext.create("libvpx", "w")
            options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                       "threads": str(self.settings.threads)}
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = 1 / self._fps
        ctx.framerate = self._fps
        ctx.bit_rate = self.settings.video_bit_rate
        ctx.gop_size = keyint
        ctx.options = options
        ctx.open()
        return ctx

    def _encode_picture(self, frame: av.VideoFrame, time: float) -> list[EncodedPacket]:
        if self._video is None:
            self._video = self._open_video(frame.width, frame.height)
        # The program's frames are shared with other readers (the HLS ladder): never mutate one. The
        # compositor stamps them in 1/fps, the context's time base, so usually only a forced keyframe
        # needs a copy.
        pts = round(time * self._fps)
        key = self._keyframe_wanted
        self._keyframe_wanted = False
        out = frame
        if key or frame.pts != pts or frame.time_base != 1 / self._fps:
            out = _copy(frame)
            out.pts, out.time_base = pts, 1 / self._fps
            out.pict_type = av.video.frame.PictureType.I if key else av.video.frame.PictureType.NONE
        packets = []
        for packet in self._video.encode(out):
            assert packet.pts is not None
            data = bytes(packet)
            self.video_bytes += len(data)
            self.keyframes += packet.is_keyframe
            timestamp = round(packet.pts * VIDEO_CLOCK / self._fps)
            packets.append(EncodedPacket(data, timestamp, packet.is_keyframe, self.settings.video_codec.value))
        self.pictures += 1
        return packets

    def _encode_sound(self, frame: av.AudioFrame, time: float) -> list[EncodedPacket]:
        if self._audio is None:
            ctx = av.CodecContext.create("libopus", "w")
            assert isinstance(ctx, av.AudioCodecContext)
            ctx.sample_rate = AUDIO_CLOCK
            ctx.layout = "stereo"
            ctx.format = "s16"
            ctx.bit_rate = self.settings.audio_bit_rate
            ctx.time_base = Fraction(1, AUDIO_CLOCK)
            ctx.open()
            self._audio = ctx
        packets = []
        pts = round(time * AUDIO_CLOCK)
        frame.pts = None
        for resampled in self._resampler.resample(frame):
            resampled.pts = pts
            resampled.time_base = Fraction(1, AUDIO_CLOCK)
            pts += resampled.samples
            for packet in self._audio.encode(resampled):
                # libopus stamps packets 312 samples early (its pre-skip, RFC 7845 §4.2, an Ogg notion);
                # the RTP timestamp is the capture time of the packet's first sample, so count from ours.
                if self._audio_next is None:
                    self._audio_next = round(time * AUDIO_CLOCK)
                packets.append(EncodedPacket(bytes(packet), self._audio_next, True, "opus"))
                self._audio_next += packet.duration or 960
                self.audio_packets += 1
        return packets

    # --- lifetime -------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Idempotent: stops reading the program, ends the packet subscriptions, frees the codecs."""
        if self.closed:
            return
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._program.aclose()
        close_all(self._subscriptions)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.shutdown, True)
        self._video = self._audio = None


def _copy(frame: av.VideoFrame) -> av.VideoFrame:
    copy = av.VideoFrame(frame.width, frame.height, "yuv420p")
    src, dst = Planes.of(frame), Planes.of(copy)
    dst.y[:], dst.u[:], dst.v[:] = src.y, src.u, src.v
    return copy
