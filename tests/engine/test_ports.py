"""The UDP port range for ICE host candidates."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.engine import Engine
from tests.engine.clients import publish, subscribe


async def test_candidates_use_the_configured_ports(make_engine: Callable[..., Any]) -> None:
    engine: Engine = await make_engine(udp_ports=(41700, 41719))
    pub = await publish(engine, "ports")
    answer = engine.session(pub.session_id).answer_sdp
    ports = {int(m) for m in re.findall(r"a=candidate:\S+ 1 udp \d+ \S+ (\d+) typ host", answer)}
    assert ports and all(41700 <= p <= 41719 for p in ports), ports
    viewer = await subscribe(engine, "ports")
    await viewer.wait_frames(3)  # media flows through the ranged sockets
    await viewer.close()
    await pub.close()
