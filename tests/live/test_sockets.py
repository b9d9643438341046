"""The ``/live`` namespace with python-socketio's AsyncClient over a real loopback socket: join, chat,
gifts (charged once, shown once, never shown uncharged), resume by seq, kicks, and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import socketio

from api.live.sockets import LiveNamespace
from api.state import LIVE_SOCKETS, ROOMS
from tests.api.helpers import Client
from tests.live.conftest import Viewer, coins, creator, fan, go_live, url_of


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_join_chat_gift_and_resume(live_app: Client) -> None:
    client = live_app
    host, giver, reader = await creator(client), await fan(client, coins=100), await fan(client)
    stream = (await go_live(client, host))["stream"]["id"]
    url = url_of(client)
    a = await Viewer().connect(url, giver)
    b = await Viewer().connect(url, reader)
    anon = await Viewer().connect(url)
    try:
        joined = await a.call("join", {"room": stream})
        assert joined["ok"] and joined["snapshot"]["host_id"] == host["user"]["id"]
        assert (await b.call("join", {"room": stream}))["ok"]
        assert (await anon.call("join", {"room": stream}))["ok"]
        twice = await anon.call("join", {"room": stream})  # a second join on one socket counts once
        assert twice["ok"] and twice["snapshot"]["viewers"] == 3

        said = await a.call("chat", {"room": stream, "text": "hello"})
        assert said["ok"], said
        gift = {"room": stream, "receiver_id": host["user"]["id"], "gift_id": "heart", "key": "k-1"}
        sent = await a.call("gift", gift)
        assert sent["ok"] and sent["coins"] == 5 and sent["balance"] == 95, sent
        await until(lambda: len(b.of("gift.sent")) == 1 and len(anon.of("gift.sent")) == 1)
        assert b.of("chat.message")[0]["data"]["text"] == "hello"
        seqs = [e["seq"] for e in b.events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

        # Anonymous viewers read, nothing more.
        refused = await anon.call("chat", {"room": stream, "text": "hi"})
        assert not refused["ok"] and refused["error"]["status"] == 401

        # b drops; events go on; b comes back with its last seq and gets exactly what it missed.
        last = b.events[-1]["seq"]
        await b.close()
        for n in range(3):
            assert (await a.call("chat", {"room": stream, "text": f"while away {n}"}))["ok"]
        b = await Viewer().connect(url, reader)
        resumed = await b.call("join", {"room": stream, "last_seq": last})
        missed = resumed["resume"]["events"]
        assert [e["data"]["text"] for e in missed if e["data"]["type"] == "chat.message"] == [
            "while away 0", "while away 1", "while away 2"]
        assert missed[0]["seq"] == last + 1 and [e["seq"] for e in missed] == list(
            range(last + 1, last + 1 + len(missed)))
    finally:
        for v in (a, b, anon):
            await v.close()


async def test_gift_retry_charged_once_shown_once_and_refused_charge_not_shown(live_app: Client) -> None:
    client = live_app
    host, giver, watcher = await creator(client), await fan(client, coins=40), await fan(client)
    stream = (await go_live(client, host))["stream"]["id"]
    url = url_of(client)
    a, w = await Viewer().connect(url, giver), await Viewer().connect(url, watcher)
    try:
        await a.call("join", {"room": stream})
        await w.call("join", {"room": stream})
        gift = {"room": stream, "receiver_id": host["user"]["id"], "gift_id": "doughnut", "key": "same-key"}
        answers = await asyncio.gather(*(a.call("gift", gift) for _ in range(5)))
        assert all(x["ok"] for x in answers), answers
        assert len({x["transfer_id"] for x in answers}) == 1
        assert sum(1 for x in answers if x["seq"] is not None) == 1
        assert await coins(client, giver) == 10
        # 10 coins left: a 30-coin gift is refused by the ledger and never shown.
        refused = await a.call("gift", {**gift, "key": "other"})
        assert not refused["ok"] and refused["error"]["status"] == 402
        marker = await a.call("chat", {"room": stream, "text": "after"})
        await until(lambda: any(e["seq"] == marker["seq"] for e in w.events))
        assert len(w.of("gift.sent")) == 1
        room = client.app[ROOMS].rooms.room(stream)
        logged = [e for e in await room.events_since(0) or [] if e.type == "gift.sent"]
        assert len(logged) == 1
    finally:
        await a.close()
        await w.close()


async def test_bad_payloads_unknown_rooms_oversize_and_floods(live_app: Client) -> None:
    client = live_app
    host, user = await creator(client), await fan(client)
    stream = (await go_live(client, host))["stream"]["id"]
    v = await Viewer().connect(url_of(client), user)
    try:
        assert (await v.call("join", {"room": stream}))["ok"]
        cases = [
            ("join", {"room": "no-such-room"}, 404),
            ("join", {}, 422),
            ("join", "not an object", 422),
            ("chat", {"room": stream, "text": 5}, 422),
            ("chat", {"room": stream, "text": "x" * 301}, 422),  # over the room's cap
            ("chat", {"room": stream, "text": "x" * 9000}, 413),  # over the event size limit
            ("gift", {"room": stream, "receiver_id": host["user"]["id"], "gift_id": "rose"}, 422),
            ("kick", {"room": stream, "user_id": host["user"]["id"]}, 403),
            ("chat", {"room": "bad room!", "text": "hi"}, 422),
        ]
        for event, payload, status in cases:
            answer = await v.call(event, payload)
            assert not answer["ok"] and answer["error"]["status"] == status, (event, answer)
            assert answer["error"]["type"].startswith("https://mixillo.live/problems/")
        big = await v.call("chat", {"room": stream, "text": "x" * 301})
        assert big["error"]["type"].endswith("/message-too-long")

        # A flood: refused with 429 acks, then the socket is disconnected.
        namespace = client.app[LIVE_SOCKETS]
        assert isinstance(namespace, LiveNamespace)
        statuses = []
        try:
            for _ in range(200):
                answer = await v.call("like", {"room": stream, "taps": 1}, wait_s=1)
                statuses.append(answer["ok"] or answer["error"]["status"])
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError):
            pass
        assert 429 in statuses
        await until(lambda: not v.sio.namespaces)
    finally:
        await v.close()


async def test_kick_disconnects_the_users_sockets(live_app: Client) -> None:
    client = live_app
    host, troll = await creator(client), await fan(client)
    stream = (await go_live(client, host))["stream"]["id"]
    url = url_of(client)
    h, t1, t2 = (await Viewer().connect(url, host), await Viewer().connect(url, troll),
                 await Viewer().connect(url, troll))
    try:
        for v in (h, t1, t2):
            assert (await v.call("join", {"room": stream}))["ok"]
        kicked = await h.call("kick", {"room": stream, "user_id": troll["user"]["id"]})
        assert kicked["ok"], kicked
        await until(lambda: not t1.sio.namespaces and not t2.sio.namespaces)
        again = await Viewer().connect(url, troll)
        refused = await again.call("join", {"room": stream})
        assert not refused["ok"] and refused["error"]["type"].endswith("/banned")
        await again.close()
        muted = await h.call("mute", {"room": stream, "user_id": troll["user"]["id"], "duration_s": 60})
        assert muted["ok"]
        slow = await h.call("slow_mode", {"room": stream, "interval_s": 10})
        assert slow["ok"], slow
        await until(lambda: any(e["seq"] == slow["seq"] for e in h.events))
        assert h.of("chat.slow_mode")[-1]["data"]["interval_s"] == 10
        viewer = await Viewer().connect(url, await fan(client))
        assert (await viewer.call("join", {"room": stream}))["ok"]
        refused = await viewer.call("slow_mode", {"room": stream, "interval_s": 0})
        assert not refused["ok"] and refused["error"]["status"] == 403
        await viewer.close()
    finally:
        for v in (h, t1, t2):
            await v.close()


async def test_connect_with_a_bad_token_is_refused(live_app: Client) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(url_of(live_app), namespaces=["/live"], auth={"token": "garbage"},
                          transports=["websocket"], wait_timeout=5)
        raise AssertionError("connected with a bad token")
    except socketio.exceptions.ConnectionError:
        pass
    finally:
        await sio.disconnect()
