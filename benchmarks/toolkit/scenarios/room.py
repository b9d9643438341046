"""``room``: one live room with N Socket.IO viewers, chat and a gift storm from signed-in givers.

Viewers are anonymous ``/live`` clients (``benchmarks.rooms.Audience``: python-socketio over WebSocket) and
join the host's live; ``--givers`` signed-in clients, topped up with coins, send ``gift`` at ``--gift-rate``
and ``chat`` at ``--chat-rate`` (all givers together; the server allows each user
``MIXILLO_ROOM_CHAT_PER_MINUTE`` messages, 60 by default, so keep the chat rate under one per giver per
second). Measured: ``join`` (connect + join ack), ``gift.ack``/``chat.ack`` (send to the ack), and
``gift.delivery``/``chat.delivery`` (send to the event's arrival at each viewer, filed under the second it
arrived). Deliveries still missing 2 s after the load stopped count as ``gift.undelivered``/``chat.undelivered``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from benchmarks.rooms import Audience, _post
from benchmarks.toolkit.live import end_live, go_live, tag, user
from benchmarks.toolkit.scenario import Run, Tasks

GRACE_S = 2.0


class RoomScenario:
    name = "room"
    summary = "Socket.IO viewers in one live room, with chat and a gift storm"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--viewers", type=int, default=50, help="anonymous viewers in the room (default 50)")
        parser.add_argument("--givers", type=int, default=5, help="signed-in senders (default 5)")
        parser.add_argument("--gift-rate", type=float, default=20.0, help="gifts per second, all givers")
        parser.add_argument("--chat-rate", type=float, default=4.0, help="chat messages per second, all givers")
        parser.add_argument("--gift", help="gift id to send (default: the catalog's cheapest)")

    async def run(self, run: Run, room: str | None = None, receiver: str | None = None) -> None:
        """With ``room``/``receiver`` (``mix``) the scenario uses that live instead of making its own."""
        options = run.options
        base = run.target.base
        stamp = tag()
        host: dict[str, Any] | None = None
        if room is None or receiver is None:
            host = await user(run, f"br{stamp}", creator=True)
            go = await go_live(run, host, "bench room")
            room, receiver = go["stream"]["id"], host["user"]["id"]
        gift_id = options.gift or await self._cheapest_gift(run)
        senders = []
        for n in range(max(1, options.givers)):
            fan = await user(run, f"bg{stamp}{n}")
            await _post(run.http, f"{base}/api/wallets/top-up", {"coins": 1_000_000, "payment_token": "tok_visa"},
                        fan["access_token"])
            senders.append(fan)
        audience, givers = Audience(), Audience()
        chats: dict[str, list[float]] = {}

        async def on_chat(event: dict[str, Any]) -> None:
            chats.setdefault(event["data"]["message_id"], []).append(time.monotonic())

        try:
            for start in range(0, options.viewers, 25):  # a crowd arriving, 25 at a time
                async def join() -> None:
                    began = time.monotonic()
                    client = await audience.add(base, room)
                    run.observe("join", time.monotonic() - began)
                    client.on("chat.message", on_chat, namespace="/live")

                await asyncio.gather(*(join() for _ in range(start, min(options.viewers, start + 25))))
            run.gauge("viewers", len(audience.clients))
            sockets = [await givers.add(base, room, {"token": s["access_token"]}) for s in senders]
            await run.begin()
            run.gauge("viewers", len(audience.clients))
            gifts: dict[str, float] = {}
            reasons: set[tuple[str, str]] = set()

            def refused(kind: str, answer: dict[str, Any]) -> None:
                run.count(f"{kind}.refused")
                reason = str(answer.get("error", {}).get("type", answer))
                if (kind, reason) not in reasons:  # each distinct refusal once, with its detail
                    reasons.add((kind, reason))
                    run.note(f"{kind} refused: {answer.get('error', answer)}")
            messages: dict[str, float] = {}

            async def gift(n: int) -> None:
                payload = {"room": room, "receiver_id": receiver, "gift_id": gift_id, "key": f"b{stamp}-{n}"}
                began = time.monotonic()
                answer = await sockets[n % len(sockets)].call("gift", payload, namespace="/live", timeout=30)
                run.observe("gift.ack", time.monotonic() - began)
                if answer.get("ok"):
                    gifts[answer["transfer_id"]] = began
                else:
                    refused("gift", answer)

            async def chat(n: int) -> None:
                payload = {"room": room, "text": f"bench message {n}"}
                began = time.monotonic()
                answer = await sockets[n % len(sockets)].call("chat", payload, namespace="/live", timeout=30)
                run.observe("chat.ack", time.monotonic() - began)
                if answer.get("ok") and answer.get("message_id"):
                    messages[answer["message_id"]] = began
                else:
                    refused("chat", answer)

            await asyncio.gather(self._paced(run, options.gift_rate, gift), self._paced(run, options.chat_rate, chat))
            await asyncio.sleep(GRACE_S)
            for kind, sent, arrivals in (("gift", gifts, audience.arrivals), ("chat", messages, chats)):
                delivered = 0
                for key, at in sent.items():
                    for arrived in arrivals.get(key, []):
                        run.observe(f"{kind}.delivery", arrived - at, at=arrived)
                        delivered += 1
                if missing := len(sent) * len(audience.clients) - delivered:
                    run.count(f"{kind}.undelivered", missing)
        finally:
            await audience.close()
            await givers.close()
            if host is not None:
                await end_live(run, host, room)

    async def _cheapest_gift(self, run: Run) -> str:
        async with run.http.get(f"{run.target.base}/api/gifts") as response:
            catalog = await response.json() if response.status == 200 else []
        if not catalog:
            raise RuntimeError(f"{run.target.base} has no gifts in its catalog: run `mixillo seed-demo` there")
        return str(min(catalog, key=lambda g: g["coin_price"])["id"])

    async def _paced(self, run: Run, rate: float, send: Any) -> None:
        """Open loop: call ``send(n)`` at ``rate`` per second until the deadline, whatever the answers do."""
        if rate <= 0:
            return
        began, n = time.monotonic(), 0
        async with Tasks() as sends:
            while run.running():
                delay = began + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(min(delay, run.remaining()))
                    if not run.running():
                        break
                sends.start(send(n))
                n += 1
            results = await sends.gather()
        if failed := [r for r in results if isinstance(r, BaseException)]:
            run.count("errors", len(failed))
            run.note(f"{len(failed)} sends failed, first: {type(failed[0]).__name__}: {failed[0]}")
