"""The bottom of a subscriber leg's send path: SRTP-protect a clear RTP packet and write one UDP datagram.

aiortc sends a forwarded packet through ``RTCDtlsTransport._send_rtp`` (SRTP, RFC 3711 §3.3), then
``RTCIceTransport``, the aioice ``Connection`` and the candidate pair's protocol: four coroutine layers
before a ``sendto``. An SFU pays that once per packet per viewer, so :class:`SrtpSender` does the same work
in one synchronous call: it protects with the leg's own pylibsrtp session (the one aiortc derived from the
DTLS-SRTP keying material, RFC 5764 §4.2, so sequence/rollover state and RTCP stay in step) and writes the
result on the nominated pair's datagram socket (RFC 8445 §12.1: media goes on the selected pair).

It only takes that shortcut when the leg is in the state it understands: DTLS connected, a nominated pair
on a local UDP host or server-reflexive candidate with an open asyncio datagram transport. Otherwise (not yet
nominated, relayed through TURN, TCP, closing) ``send_now`` returns False and the caller uses aiortc's path,
which also raises the ``ConnectionError`` a closed leg should produce.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pylibsrtp
from aioice.ice import CandidatePair, StunProtocol
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from pylibsrtp import SRTP_MAX_TRAILER_LEN
from pylibsrtp._binding import ffi, lib

# pylibsrtp's Session owns a 1500-byte work buffer; its ``protect`` accepts only ``bytes`` and allocates a
# length cell per call. The packet is copied into the same buffer here, so the limit is the same.
MAX_CLEAR_PACKET = 1500 - SRTP_MAX_TRAILER_LEN
_ICE_COMPONENT_RTP = 1  # RTP and RTCP are multiplexed on component 1 (RFC 5761, BUNDLE in WebRTC)


class SrtpSender:
    """Sends a subscriber leg's clear RTP packets straight to its socket; see the module docstring."""

    __slots__ = ("_addr", "_dtls", "_dtls_fields", "_length", "_nominated", "_pair", "_sendto", "_transport",
                 "fast_packets")

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        self._dtls_fields: dict[str, Any] = vars(dtls)  # its private byte/packet counters (getStats)
        self._nominated: dict[int, CandidatePair] = dtls.transport._connection._nominated
        self._pair: CandidatePair | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._sendto: Any = None
        self._addr: tuple[str, int] = ("", 0)
        self._length = ffi.new("int *")
        self.fast_packets = 0

    def send_now(self, packet: bytearray) -> bool:
        """Protect and send ``packet``; False (nothing sent, nothing changed) if the leg is not in a state
        this path handles."""
        dtls = self._dtls
        if dtls._state is not State.CONNECTED or len(packet) > MAX_CLEAR_PACKET:
            return False
        pair = self._nominated.get(_ICE_COMPONENT_RTP)
        if pair is not self._pair:
            self._adopt(pair)
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        session = dtls._tx_srtp
        size = len(packet)
        session._buffer[0:size] = packet
        self._length[0] = size
        status = lib.srtp_protect(session._srtp[0], session._cdata, self._length)
        if status != lib.srtp_err_status_ok:
            raise pylibsrtp.Error(f"srtp_protect failed ({status})")
        protected = session._buffer[0 : self._length[0]]
        self._sendto(protected, self._addr)
        fields = self._dtls_fields
        fields["_RTCDtlsTransport__tx_bytes"] += len(protected)
        fields["_RTCDtlsTransport__tx_packets"] += 1
        self.fast_packets += 1
        return True

    def _adopt(self, pair: CandidatePair | None) -> None:
        """Remember the nominated pair, and its socket if it is a plain UDP one this path may write to."""
        self._pair = pair
        self._transport = None
        if pair is None or type(pair.protocol) is not StunProtocol:
            return
        candidate = pair.local_candidate
        transport = getattr(pair.protocol, "transport", None)
        # A TURN allocation wraps the socket in aioice's TurnTransport (data must go in Send indications or
        # ChannelData, RFC 8656 §11-12), which is not an asyncio transport; a TCP one has no ``sendto``.
        # (asyncio's selector datagram transport does not derive from DatagramTransport, hence the duck test.)
        if (
            candidate.type in ("host", "srflx")
            and candidate.transport.lower() == "udp"
            and isinstance(transport, asyncio.BaseTransport)
            and callable(sendto := getattr(transport, "sendto", None))
        ):
            self._transport = transport
            self._sendto = sendto
            self._addr = pair.remote_addr
