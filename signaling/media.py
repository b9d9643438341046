"""Settings to engine and edge configuration (kept out of the composition root to keep it short)."""

from __future__ import annotations

from aiortc import RTCIceServer

from api.config import Settings
from engine.engine import EngineConfig
from signaling.sdp import IceServer
from signaling.whip import SignalingConfig


def ice_servers(settings: Settings) -> list[IceServer]:
    credential = settings.turn_credential.get_secret_value() if settings.turn_credential else None
    servers = []
    for url in filter(None, (u.strip() for u in settings.ice_servers.split(","))):
        if url.startswith(("turn:", "turns:")):
            servers.append(IceServer(url, settings.turn_username, credential))
        else:
            servers.append(IceServer(url))
    return servers


def engine_config(settings: Settings) -> EngineConfig:
    servers = tuple(RTCIceServer(s.url, s.username, s.credential) for s in ice_servers(settings))
    ports = None
    if settings.media_udp_port_min is not None and settings.media_udp_port_max is not None:
        ports = (settings.media_udp_port_min, settings.media_udp_port_max)
    return EngineConfig(ice_servers=servers, media_timeout_s=settings.media_timeout_s, udp_ports=ports)


def signaling_config(settings: Settings) -> SignalingConfig:
    return SignalingConfig(ice_servers(settings), settings.media_public_ip, settings.media_anonymous_whep)
