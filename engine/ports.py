"""A UDP port range for ICE host candidates, for firewalls that open only a range.

aioice binds each host candidate with ``loop.create_datagram_endpoint(local_addr=(address, 0))`` and has no
port option, so while a range is configured the Engine wraps that method on its own event loop: a bind to
port 0 is retried over the range (next-fit, so ports are reused only after the range wraps) and fails with
``OSError`` if every port is taken. Explicit ports and other loops are untouched.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Any


class UdpPortRange:
    def __init__(self, low: int, high: int) -> None:
        if not 0 < low <= high <= 65535:
            raise ValueError(f"bad UDP port range {low}-{high}")
        self.low, self.high = low, high
        self._next = low
        self._loop: asyncio.AbstractEventLoop | None = None
        self._original: Any = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._original = loop.create_datagram_endpoint

        async def create_datagram_endpoint(protocol_factory: Any, local_addr: Any = None, **kw: Any) -> Any:
            if local_addr is None or local_addr[1] != 0:
                return await self._original(protocol_factory, local_addr=local_addr, **kw)
            size = self.high - self.low + 1
            for _ in range(size):
                port = self._next
                self._next = self.low if port >= self.high else port + 1
                try:
                    return await self._original(protocol_factory, local_addr=(local_addr[0], port), **kw)
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise
            raise OSError(errno.EADDRINUSE, f"no free UDP port in {self.low}-{self.high}")

        setattr(loop, "create_datagram_endpoint", create_datagram_endpoint)  # noqa: B010

    def uninstall(self) -> None:
        if self._loop is not None:
            delattr(self._loop, "create_datagram_endpoint")
            self._loop = None
