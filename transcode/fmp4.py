"""A CMAF / fragmented-MP4 box writer (ISO/IEC 14496-12, ISO/IEC 23000-19): pure functions, no I/O.

One track per file: an init segment (``ftyp`` + ``moov`` with ``mvex``) and fragments (``moof`` + ``mdat``).
Writing the boxes ourselves lets a partial segment be emitted the moment its last frame is encoded; FFmpeg's
mp4 muxer holds a fragment back until the next packet arrives and would need one muxer per rendition.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_LANGUAGE_UND = 0x55C4  # ISO-639-2/T "und", 5 bits per letter
SYNC_FLAGS = 0x02000000  # sample_depends_on=2 (depends on no other sample)
NON_SYNC_FLAGS = 0x01010000  # sample_depends_on=1, sample_is_non_sync_sample=1


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True)
class VideoTrack:
    width: int
    height: int
    avcc: bytes  # AVCDecoderConfigurationRecord
    timescale: int = 90_000


@dataclass(frozen=True)
class AudioTrack:
    sample_rate: int
    channels: int
    audio_specific_config: bytes  # ISO/IEC 14496-3 AudioSpecificConfig
    bit_rate: int
    timescale: int = 48_000


@dataclass(frozen=True)
class Sample:
    data: bytes
    duration: int  # in the track's timescale
    sync: bool = True
    composition_offset: int = 0  # pts - dts


def _ftyp() -> bytes:
    return box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"cmfc", b"mp41")


def _descriptor(tag: int, payload: bytes) -> bytes:
    # ISO/IEC 14496-1 §8.3.3: sizes under 128 fit in one byte.
    assert len(payload) < 128
    return bytes([tag, len(payload)]) + payload


def _esds(track: AudioTrack) -> bytes:
    decoder_specific = _descriptor(0x05, track.audio_specific_config)
    decoder_config = _descriptor(
        0x04,
        bytes([0x40, 0x15]) + b"\x00\x00\x00" + struct.pack(">II", track.bit_rate, track.bit_rate) + decoder_specific,
    )
    es = _descriptor(0x03, struct.pack(">HB", 1, 0) + decoder_config + _descriptor(0x06, b"\x02"))
    return full_box(b"esds", 0, 0, es)


def _sample_entry(track: VideoTrack | AudioTrack) -> bytes:
    if isinstance(track, VideoTrack):
        return box(
            b"avc1",
            b"\x00" * 6 + struct.pack(">H", 1),
            b"\x00" * 16,
            struct.pack(">HHIIIH", track.width, track.height, 0x00480000, 0x00480000, 0, 1),
            b"\x00" * 32,
            struct.pack(">Hh", 0x0018, -1),
            box(b"avcC", track.avcc),
        )
    return box(
        b"mp4a",
        b"\x00" * 6 + struct.pack(">H", 1),
        b"\x00" * 8,
        struct.pack(">HHHHI", track.channels, 16, 0, 0, track.sample_rate << 16),
        _esds(track),
    )


def init_segment(track: VideoTrack | AudioTrack, track_id: int = 1) -> bytes:
    """``ftyp`` + ``moov`` for one track, with ``mvex``/``trex`` so fragments may follow."""
    video = isinstance(track, VideoTrack)
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, 1000, 0),
        struct.pack(">IH", 0x00010000, 0x0100),
        b"\x00" * 10,
        _MATRIX,
        b"\x00" * 24,
        struct.pack(">I", track_id + 1),
    )
    width, height = (track.width, track.height) if isinstance(track, VideoTrack) else (0, 0)
    tkhd = full_box(
        b"tkhd",
        0,
        3,
        struct.pack(">IIIII", 0, 0, track_id, 0, 0),
        b"\x00" * 8,
        struct.pack(">HHHH", 0, 0, 0 if video else 0x0100, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, track.timescale, 0, _LANGUAGE_UND, 0))
    handler, name = (b"vide", b"VideoHandler\x00") if video else (b"soun", b"SoundHandler\x00")
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I", 0), handler, b"\x00" * 12, name)
    media_header = full_box(b"vmhd", 0, 1, b"\x00" * 8) if video else full_box(b"smhd", 0, 0, b"\x00" * 4)
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), _sample_entry(track)),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", media_header, dinf, stbl)))
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack(">IIIII", track_id, 1, 0, 0, 0)))
    return _ftyp() + box(b"moov", mvhd, trak, mvex)


def fragment(sequence: int, base_decode_time: int, samples: Sequence[Sample], track_id: int = 1) -> bytes:
    """One ``moof`` + ``mdat`` (a CMAF chunk): ``tfdt`` carries the first sample's decode time and
    ``default-base-is-moof`` makes the trun data offset relative to the moof (14496-12 §8.8.7)."""
    with_offsets = any(s.composition_offset for s in samples)
    flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | (0x000800 if with_offsets else 0)
    entries = b"".join(
        struct.pack(">III", s.duration, len(s.data), SYNC_FLAGS if s.sync else NON_SYNC_FLAGS)
        + (struct.pack(">i", s.composition_offset) if with_offsets else b"")
        for s in samples
    )

    def moof(data_offset: int) -> bytes:
        trun = full_box(b"trun", 1, flags, struct.pack(">Ii", len(samples), data_offset), entries)
        traf = box(
            b"traf",
            full_box(b"tfhd", 0, 0x020000, struct.pack(">I", track_id)),
            full_box(b"tfdt", 1, 0, struct.pack(">Q", base_decode_time)),
            trun,
        )
        return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), traf)

    size = len(moof(0))
    return moof(size + 8) + box(b"mdat", *(s.data for s in samples))


def audio_specific_config(sample_rate: int, channels: int) -> bytes:
    """AAC-LC AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) for a standard sampling frequency."""
    rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
    index = rates.index(sample_rate)
    value = (2 << 11) | (index << 7) | (channels << 3)
    return struct.pack(">H", value)
