"""Cuts one track's samples into CMAF chunks (LL-HLS parts) and segments: pure, no I/O.

Segment starts are decided by the caller (the same frames on every video rung, so boundaries align); parts
are cut by duration inside a segment. A part is emitted as soon as its last sample is in, so its latency is
the encoder's alone; the segment is the concatenation of its parts (one CMAF fragment per part).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transcode.encoder import EncodedSample
from transcode.fmp4 import Sample, fragment


@dataclass(frozen=True)
class ChunkOut:
    """A finished part: its fragment bytes."""

    msn: int
    index: int  # part number within the segment
    data: bytes
    start: int  # decode time of its first sample, track timescale
    duration: int
    independent: bool


@dataclass(frozen=True)
class SegmentOut:
    msn: int
    data: bytes
    start: int
    duration: int
    parts: tuple[ChunkOut, ...]


@dataclass
class Segmenter:
    timescale: int
    sample_duration: int  # nominal duration of one sample (the last one of a chunk has no successor yet)
    part_duration: int  # in timescale units; a segment's length when parts are off
    msn: int = 0
    _samples: list[EncodedSample] = field(default_factory=list)
    _parts: list[ChunkOut] = field(default_factory=list)
    _sequence: int = 1
    _started: bool = False

    def push(self, sample: EncodedSample, starts_segment: bool) -> list[ChunkOut | SegmentOut]:
        out: list[ChunkOut | SegmentOut] = []
        if starts_segment and self._started:
            out.extend(self.flush())
        if not self._started and not starts_segment:
            return out  # nothing before the first segment start (it begins with an IDR)
        self._started = True
        self._samples.append(sample)
        # close before the next sample would overrun the target: parts never exceed PART-TARGET
        # (RFC 8216bis §4.4.4.9), at 29.97 fps too
        if self._span(self._samples) + self.sample_duration > self.part_duration:
            out.append(self._close_part())
        return out

    def flush(self) -> list[ChunkOut | SegmentOut]:
        """Close the open part and segment (a segment start follows, or the stream ended)."""
        out: list[ChunkOut | SegmentOut] = []
        if self._samples:
            out.append(self._close_part())
        if self._parts:
            out.append(self._close_segment())
        return out

    def _span(self, samples: list[EncodedSample]) -> int:
        return samples[-1].dts - samples[0].dts + self.sample_duration

    def _close_part(self) -> ChunkOut:
        samples = self._samples
        self._samples = []
        entries = [
            Sample(
                s.data,
                (samples[i + 1].dts - s.dts) if i + 1 < len(samples) else self.sample_duration,
                s.sync,
                s.pts - s.dts,
            )
            for i, s in enumerate(samples)
        ]
        data = fragment(self._sequence, samples[0].dts, entries)
        self._sequence += 1
        part = ChunkOut(
            self.msn,
            len(self._parts),
            data,
            samples[0].dts,
            sum(e.duration for e in entries),
            samples[0].sync,
        )
        self._parts.append(part)
        return part

    def _close_segment(self) -> SegmentOut:
        parts = tuple(self._parts)
        self._parts = []
        segment = SegmentOut(
            self.msn, b"".join(p.data for p in parts), parts[0].start, sum(p.duration for p in parts), parts
        )
        self.msn += 1
        return segment
