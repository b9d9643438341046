"""aiortc clients that talk WHIP and WHEP over real HTTP."""

from __future__ import annotations

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from tests.api.helpers import Client
from tests.engine.clients import PatternTrack, loopback_peer_connection, prefer


async def whip_offer(codec: str = "video/H264") -> tuple[RTCPeerConnection, str]:
    pc = loopback_peer_connection()
    pc.addTransceiver(PatternTrack(), direction="sendonly")
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    prefer(pc, "video", codec)
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def whep_offer() -> tuple[RTCPeerConnection, str]:
    pc = loopback_peer_connection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def answer(pc: RTCPeerConnection, sdp: str) -> None:
    await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))


async def post_sdp(client: Client, path: str, sdp: str, headers: dict[str, str] | None = None) -> object:
    return await client.post(
        path, data=sdp.encode(), headers={"Content-Type": "application/sdp", **(headers or {})}
    )
