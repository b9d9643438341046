"""Encoders of one rendition each: a rung's scaler and x264, the AAC audio, or the source's H.264 remuxed.

Each runs in its own worker thread (PyAV releases the GIL inside libswscale and libx264) and turns input
into :class:`EncodedSample` in its track's timescale, plus the track description for the init segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.video.reformatter

from transcode import h264
from transcode.errors import BitstreamError
from transcode.fmp4 import AudioTrack, VideoTrack, audio_specific_config
from transcode.ladder import Rung

VIDEO_TIMESCALE = 90_000
AUDIO_RATE = 48_000
AAC_FRAME = 1024


@dataclass(frozen=True)
class EncodedSample:
    data: bytes
    dts: int  # track timescale
    pts: int
    sync: bool


@dataclass(frozen=True)
class X264Settings:
    """The x264 settings shared by every encoded rung (and by the benchmark's ffmpeg command line)."""

    preset: str = "veryfast"
    threads: int = 1
    # Keyframes only where the ladder forces them (segment starts), never on scene cuts; no B-frames and no
    # lookahead so a frame leaves the encoder as soon as it went in (LL-HLS latency).
    params: str = "scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0"

    def x264_params(self, keyint: int) -> str:
        return f"keyint={keyint}:min-keyint=1:{self.params}:threads={self.threads}"


class VideoEncoder:
    """One encoded rung: one scale (a reused reformatter) and one x264 encode per source frame."""

    def __init__(self, rung: Rung, frame_rate: Fraction, settings: X264Settings, keyint: int) -> None:
        self.rung = rung
        self._scaler = av.video.reformatter.VideoReformatter()
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height = rung.width, rung.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, VIDEO_TIMESCALE)
        ctx.framerate = frame_rate
        ctx.options = {
            "preset": settings.preset,
            "b": str(rung.bit_rate),
            "maxrate": str(rung.maxrate),
            "bufsize": str(rung.bufsize),
            "x264-params": settings.x264_params(keyint),
        }
        self._ctx = ctx
        self.parameter_sets: h264.ParameterSets | None = None

    def encode(self, frame: av.VideoFrame | None, pts: int, force_idr: bool) -> list[EncodedSample]:
        if frame is None:
            return self._collect(self._ctx.encode(None))
        scaled = self._scaler.reformat(
            frame, width=self.rung.width, height=self.rung.height, format="yuv420p", interpolation="BILINEAR"
        )
        if scaled is frame:
            # A no-op reformat hands back the source frame itself, which other threads also read (the
            # compositor's program encoder, the other rungs): stamping our pts and picture type on it would
            # race with theirs and can send timestamps backwards. Encode a private copy instead.
            scaled = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        scaled.pts = pts
        scaled.time_base = Fraction(1, VIDEO_TIMESCALE)
        scaled.pict_type = av.video.frame.PictureType.I if force_idr else av.video.frame.PictureType.NONE
        return self._collect(self._ctx.encode(scaled))

    def _collect(self, packets: list[av.Packet[Any]]) -> list[EncodedSample]:
        out = []
        for packet in packets:
            units = h264.split_annexb(bytes(packet))
            if self.parameter_sets is None:
                self.parameter_sets = h264.parameter_sets(units)
            assert packet.pts is not None
            dts = packet.dts if packet.dts is not None else packet.pts
            out.append(EncodedSample(h264.to_sample(units), dts, packet.pts, h264.is_idr(units)))
        return out

    def track(self) -> VideoTrack:
        if self.parameter_sets is None:
            raise BitstreamError(f"{self.rung.name}: no SPS/PPS yet")
        return VideoTrack(self.rung.width, self.rung.height, self.parameter_sets.avcc())


class VideoCopy:
    """The top rung when the source is H.264 at a suitable keyframe interval: its access units, remuxed."""

    def __init__(self, rung: Rung) -> None:
        self.rung = rung
        self.parameter_sets: h264.ParameterSets | None = None
        self.changed = False  # the publisher changed SPS/PPS (a WebRTC sender adapting its resolution)

    def remux(self, data: bytes, pts: int, dts: int) -> list[EncodedSample]:
        units = h264.split_annexb(data)
        found = h264.parameter_sets(units)
        if found is not None and self.parameter_sets is None:
            self.parameter_sets = found
        elif found is not None and found != self.parameter_sets:
            self.changed = True
        if self.parameter_sets is None:
            return []  # nothing decodable before the first SPS/PPS
        # after a change the new parameter sets travel in-band, so decoders switch with the stream
        sample = h264.to_sample(units, keep_parameter_sets=self.changed)
        return [EncodedSample(sample, dts, pts, h264.is_idr(units))] if sample else []

    def track(self) -> VideoTrack:
        if self.parameter_sets is None:
            raise BitstreamError(f"{self.rung.name}: the source sent no SPS/PPS")
        return VideoTrack(self.rung.width, self.rung.height, self.parameter_sets.avcc())


class AudioEncoder:
    """AAC-LC 48 kHz stereo; resampled and cut into 1024-sample frames first."""

    def __init__(self, bit_rate: int) -> None:
        ctx = av.CodecContext.create("aac", "w")
        assert isinstance(ctx, av.AudioCodecContext)
        ctx.sample_rate = AUDIO_RATE
        ctx.layout = "stereo"
        ctx.format = "fltp"
        ctx.bit_rate = bit_rate
        ctx.time_base = Fraction(1, AUDIO_RATE)
        ctx.open()
        self._ctx = ctx
        self._bit_rate = bit_rate
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        self._fifo = av.AudioFifo()
        self._next: int | None = None  # timestamp of the next AAC frame, in samples

    def encode(self, frame: av.AudioFrame | None, start: int) -> list[EncodedSample]:
        """``start``: the frame's time in samples at 48 kHz, used for the first frame only (then counted)."""
        if self._next is None and frame is not None:
            self._next = start
        packets: list[av.Packet[Any]] = []
        if frame is not None:
            frame.pts = None
            for resampled in self._resampler.resample(frame):
                self._fifo.write(resampled)
            while self._fifo.samples >= AAC_FRAME:
                chunk = self._fifo.read(AAC_FRAME)
                assert chunk is not None
                chunk.pts = None
                packets.extend(self._ctx.encode(chunk))
        else:
            packets.extend(self._ctx.encode(None))
        out = []
        for packet in packets:
            assert self._next is not None
            out.append(EncodedSample(bytes(packet), self._next, self._next, True))
            self._next += AAC_FRAME
        return out

    def track(self) -> AudioTrack:
        return AudioTrack(AUDIO_RATE, 2, audio_specific_config(AUDIO_RATE, 2), self._bit_rate)
