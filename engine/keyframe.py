"""The latest complete keyframe of a video source, kept as its RTP packets so a new subscriber can start at once.

A subscriber can only start decoding on a keyframe, and a keyframe is asked of the publisher at most once per
``PLI_INTERVAL_S`` (a burst of joins would otherwise make it send an IDR per viewer). Without this cache a viewer
who arrives just after a request waits up to that interval for the next one. With it, the viewer is sent the
last keyframe at once (its first picture, at most ``max_age_s`` old), then waits as before for a fresh keyframe
to go live: the frames in between reference pictures it never got, so they are not sent. Only the one access
unit is replayed, never the group of pictures after it, so a join adds no delay to the live stream and no burst
beyond one picture.

An access unit is every packet with the keyframe's RTP timestamp, up to the one with the marker bit (RFC 6184
§5.1, RFC 7741 §4.1); it is usable only with no gap in its sequence numbers (a retransmission, unwrapped from
RTX, may fill one). Pure bookkeeping, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from engine.rtp import keyframe_start

MAX_PACKETS = 1024  # ~1.2 MB of payload: a keyframe bigger than this is not kept (nor plausible at 1080p)


@dataclass
class _AccessUnit:
    codec: RTCRtpCodecParameters
    timestamp: int
    first_seq: int
    arrived_at: float
    packets: dict[int, RtpPacket] = field(default_factory=dict)  # by offset from first_seq
    last_offset: int | None = None  # the marker packet's offset, once seen

    def add(self, packet: RtpPacket) -> None:
        offset = (packet.sequence_number - self.first_seq) & 0xFFFF
        if offset >= MAX_PACKETS:
            return
        self.packets[offset] = packet
        if packet.marker:
            self.last_offset = offset

    @property
    def complete(self) -> bool:
        return self.last_offset is not None and len(self.packets) == self.last_offset + 1


class KeyframeCache:
    """The newest complete keyframe, in sequence order, with the codec it was sent in."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._latest: _AccessUnit | None = None  # the newest keyframe seen, complete or not
        self._complete: _AccessUnit | None = None  # the newest one that was complete
        self.kept = 0  # keyframes completed (stats)

    def add(self, packet: RtpPacket, codec: RTCRtpCodecParameters, now: float) -> None:
        """Every media packet of the source, in arrival order (retransmissions unwrapped)."""
        unit = self._latest
        if keyframe_start(codec.name, packet.payload) and (unit is None or packet.timestamp != unit.timestamp):
            unit = self._latest = _AccessUnit(codec, packet.timestamp, packet.sequence_number, now)
        elif unit is None or packet.timestamp != unit.timestamp:
            return  # another picture; the latest keyframe may still be completed by its retransmissions
        elif (packet.sequence_number - unit.first_seq) & 0xFFFF >= 0x8000:
            # Earlier than its first packet seen so far (an SPS or a fragment that was late or
            # retransmitted): the access unit starts there.
            unit.packets = {(p.sequence_number - packet.sequence_number) & 0xFFFF: p for p in unit.packets.values()}
            if unit.last_offset is not None:
                unit.last_offset = (unit.first_seq + unit.last_offset - packet.sequence_number) & 0xFFFF
            unit.first_seq = packet.sequence_number
        unit.add(packet)
        if unit.complete and unit is not self._complete:
            self._complete = unit
            self.kept += 1

    def packets(self, now: float) -> tuple[RTCRtpCodecParameters, list[RtpPacket]] | None:
        """The keyframe to start a subscriber on, oldest packet first, if one is complete and recent enough."""
        unit = self._complete
        if unit is None or not unit.complete or now - unit.arrived_at > self.max_age_s:
            return None
        return unit.codec, [unit.packets[offset] for offset in range(len(unit.packets))]
