"""H.264 bitstream helpers (ITU-T H.264 Annex B and ISO/IEC 14496-15): pure functions, no I/O.

Encoders and WebRTC deliver access units in Annex B form (start codes); fMP4 wants length-prefixed NAL
units and the parameter sets in an ``avcC`` record instead.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from transcode.errors import BitstreamError

NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
_PARAMETER_SETS = frozenset({NAL_SPS, NAL_PPS, NAL_AUD})


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (B.2: start codes 00 00 01 or 00 00 00 01)."""
    units: list[bytes] = []
    at = data.find(b"\x00\x00\x01")
    while at >= 0:
        begin = at + 3
        at = data.find(b"\x00\x00\x01", begin)
        end = len(data) if at < 0 else at
        while end > begin and data[end - 1] == 0:  # trailing_zero_8bits, or the 4-byte start code's zero
            end -= 1
        if end > begin:
            units.append(data[begin:end])
    return units


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F


@dataclass(frozen=True)
class ParameterSets:
    sps: bytes
    pps: bytes

    @property
    def codec(self) -> str:
        """The RFC 6381 ``avc1.PPCCLL`` string: profile_idc, constraint flags and level_idc of the SPS."""
        return "avc1." + self.sps[1:4].hex().upper()

    def avcc(self) -> bytes:
        """The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1), 4-byte NAL lengths."""
        return (
            bytes([1, self.sps[1], self.sps[2], self.sps[3], 0xFF, 0xE1])
            + struct.pack(">H", len(self.sps))
            + self.sps
            + b"\x01"
            + struct.pack(">H", len(self.pps))
            + self.pps
        )


def parameter_sets(units: Iterable[bytes]) -> ParameterSets | None:
    sps = pps = None
    for unit in units:
        kind = nal_type(unit)
        if kind == NAL_SPS and sps is None:
            sps = unit
        elif kind == NAL_PPS and pps is None:
            pps = unit
    if sps is None or pps is None:
        return None
    if len(sps) < 4:
        raise BitstreamError("SPS shorter than 4 bytes")
    return ParameterSets(sps, pps)


def to_sample(units: Iterable[bytes], *, keep_parameter_sets: bool = False) -> bytes:
    """An fMP4 ``avc1`` sample: 4-byte length-prefixed NAL units; AUDs left out, and parameter sets too (they
    belong in the sample entry) unless they changed mid-stream (ISO/IEC 14496-15 allows them in-band)."""
    dropped = {NAL_AUD} if keep_parameter_sets else _PARAMETER_SETS
    return b"".join(struct.pack(">I", len(u)) + u for u in units if nal_type(u) not in dropped)


def is_idr(units: Iterable[bytes]) -> bool:
    return any(nal_type(u) == NAL_IDR for u in units)
