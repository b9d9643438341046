"""Batched delivery on ``/live`` (``join {room, batch: true}``) with python-socketio's AsyncClient over real
loopback sockets: one ``events`` frame per tick, ``seq`` ascending, the same events as per-event delivery,
gaps found by ``seq`` and filled by resume; and across two app instances sharing a real redis-server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from api.app import SOCKETS
from api.economy.catalog import seed_catalog
from api.state import DATABASE
from benchmarks.raw_givers import RawGivers
from benchmarks.raw_viewers import RawAudience
from benchmarks.rooms import LightAudience
from rooms.events import RoomEvent, decode_batch, seq_gaps
from signaling.frames import FrameRedisManager, PreparedFrames
from tests.api.helpers import Client
from tests.conftest import AppFactory
from tests.live.conftest import Viewer, creator, fan, go_live, url_of
from tests.services import redis_server


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


class BatchViewer:
    """A python-socketio client that opts in to batches and records each ``events`` frame as it came."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.frames: list[list[dict[str, Any]]] = []
        self.singles: list[str] = []  # per-event deliveries: there must be none
        self.sio.on("*", self._record, namespace="/live")

    async def _record(self, event: str, data: Any) -> None:
        if event == "events":
            # Through the pure decoder, as a client would: it refuses a batch whose seq does not ascend.
            decode_batch(json.dumps(data).encode())
            self.frames.append(data)
        else:
            self.singles.append(event)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [envelope for frame in self.frames for envelope in frame]

    async def connect(self, url: str, session: dict[str, Any] | None = None,
                      transports: list[str] | None = None) -> BatchViewer:
        auth = {"token": session["access_token"]} if session else None
        await self.sio.connect(url, namespaces=["/live"], auth=auth, transports=transports or ["websocket"],
                               wait_timeout=10)
        return self

    async def call(self, event: str, payload: Any) -> dict[str, Any]:
        answer: dict[str, Any] = await self.sio.call(event, payload, namespace="/live", timeout=10)
        return answer

    async def close(self) -> None:
        await self.sio.disconnect()


def _gift(stream: str, host: dict[str, Any], key: str) -> dict[str, Any]:
    return {"room": stream, "receiver_id": host["user"]["id"], "gift_id": "heart", "key": key}


async def test_batches_carry_a_ticks_events_in_seq_order_and_resume_fills_gaps(live_app: Client) -> None:
    client = live_app
    host, giver, reader = await creator(client), await fan(client, coins=200), await fan(client)
    stream = (await go_live(client, host))["stream"]["id"]
    url = url_of(client)
    g, single, batched = (await Viewer().connect(url, giver), await Viewer().connect(url),
                          await BatchViewer().connect(url, reader))
    try:
        assert (await g.call("join", {"room": stream}))["ok"]
        assert (await single.call("join", {"room": stream}))["ok"]
        joined = await batched.call("join", {"room": stream, "batch": True})
        assert joined["ok"] and joined["snapshot"]["viewers"] == 3
        # Ten gifts at once: charged and appended within a tick or two, so they arrive in few frames.
        answers = await asyncio.gather(*(g.call("gift", _gift(stream, host, f"k{n}")) for n in range(10)))
        assert all(a["ok"] for a in answers), answers
        last = max(a["seq"] for a in answers)
        await until(lambda: any(e["seq"] == last for e in batched.events)
                    and any(e["seq"] == last for e in single.events))
        assert batched.singles == []
        seqs = [e["seq"] for e in batched.events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        # The same envelopes as per-event delivery, batched (from when both listened): fewer frames than events.
        since = max(seqs[0], single.events[0]["seq"])
        assert [e for e in batched.events if e["seq"] >= since] == [e for e in single.events if e["seq"] >= since]
        gifts = [e for e in batched.events if e["data"]["type"] == "gift.sent"]
        assert len(gifts) == 10 and len(batched.frames) < len(batched.events)

        # The batched reader drops; the room goes on; it comes back with its last seq and gets what it missed.
        await batched.close()
        for n in range(3):
            assert (await g.call("chat", {"room": stream, "text": f"away {n}"}))["ok"]
        back = await BatchViewer().connect(url, reader)
        batched = back
        resumed = await back.call("join", {"room": stream, "last_seq": last, "batch": True})
        missed = resumed["resume"]["events"]
        assert [e["data"]["text"] for e in missed if e["data"]["type"] == "chat.message"] == [
            "away 0", "away 1", "away 2"]
        after = await g.call("chat", {"room": stream, "text": "back"})
        await until(lambda: any(e["seq"] == after["seq"] for e in back.events))
        # Without the resume the client would see exactly the missed seqs as a gap; with it, none.
        received = [RoomEvent.model_validate(e) for e in back.events]
        missed_seqs = [e["seq"] for e in missed]
        assert seq_gaps(last, [e for e in received if e.seq > missed_seqs[-1]]) == missed_seqs
        assert seq_gaps(last, [*(RoomEvent.model_validate(e) for e in missed), *received]) == []
    finally:
        for v in (g, single, batched):
            await v.close()


async def test_a_polling_and_a_websocket_client_get_identical_ordered_events(live_app: Client) -> None:
    """One room, clients on both Engine.IO transports, per-event and batched: the same events, in order."""
    client = live_app
    host, giver = await creator(client), await fan(client, coins=200)
    stream = (await go_live(client, host))["stream"]["id"]
    url = url_of(client)
    g = await Viewer().connect(url, giver)
    ws_single = await Viewer().connect(url)
    poll_single = Viewer()
    await poll_single.sio.connect(url, namespaces=["/live"], transports=["polling"], wait_timeout=10)
    deflate = Viewer()  # offers permessage-deflate (RFC 7692), accepted without server context takeover
    deflate.sio = socketio.AsyncClient(reconnection=False, websocket_extra_options={"compress": 15})
    deflate.sio.on("*", deflate._record, namespace="/live")
    await deflate.connect(url)
    ws_batch = await BatchViewer().connect(url)
    poll_batch = await BatchViewer().connect(url, transports=["polling"])
    viewers: list[Viewer | BatchViewer] = [g, ws_single, poll_single, deflate, ws_batch, poll_batch]
    try:
        assert poll_single.sio.transport() == "polling" and poll_batch.sio.transport() == "polling"
        for v in (g, ws_single, poll_single, deflate):
            assert (await v.call("join", {"room": stream}))["ok"]
        for b in (ws_batch, poll_batch):
            assert (await b.call("join", {"room": stream, "batch": True}))["ok"]
        manager = client.app[SOCKETS].sio.manager
        assert isinstance(manager, PreparedFrames)
        assert sum(1 for ws in manager.websockets.values() if ws.window_bits) == 1
        prepared, deflated, queued = manager.prepared, manager.deflated, manager.queued
        answers = []
        for burst in range(4):
            # Five at once: events queue on every transport together. (python-engineio's client refuses a
            # polling payload of over 16 packets, Payload.max_decode_packets, so bursts stay below that.)
            answers += await asyncio.gather(*(g.call("gift", _gift(stream, host, f"p{burst}-{n}"))
                                              for n in range(5)))
        assert all(a["ok"] for a in answers), answers
        last = max(a["seq"] for a in answers)
        await until(lambda: all(any(e["seq"] == last for e in v.events) for v in viewers[1:]))
        first = min(a["seq"] for a in answers)
        def tail(v: Viewer | BatchViewer) -> list[dict[str, Any]]:
            return [e for e in v.events if first <= e["seq"] <= last]
        expected = tail(ws_single)
        assert [e["seq"] for e in expected] == list(range(first, last + 1))
        for other in viewers[2:]:
            assert tail(other) == expected
        # Both paths ran: prepared frames to the WebSocket clients (compressed once for the one that offered
        # permessage-deflate), the Engine.IO queue for the polling ones.
        assert manager.prepared > prepared and manager.deflated > deflated and manager.queued > queued
    finally:
        for each in viewers:
            if each.sio.transport() == "polling":
                # Engine.IO's client would wait out the pending long-poll GET (up to the ping interval).
                await each.sio.eio.disconnect(abort=True)
            else:
                await each.close()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def test_batches_cross_nodes_through_redis(make_client: AppFactory, tmp_path: Path, redis_url: str) -> None:
    """Two app instances on one database and one redis-server: gifts sent through A reach a batched viewer
    on B (and one on A) once each, in seq order, in fewer frames than events."""
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = await make_client(database_url=database_url, redis_url=redis_url, pk_countdown_s=0)
    async with a.app[DATABASE].write() as conn:
        await seed_catalog(conn)
    b = await make_client(database_url=database_url, redis_url=redis_url, pk_countdown_s=0)
    host, giver = await creator(a), await fan(a, coins=200)
    stream = (await go_live(a, host))["stream"]["id"]
    g = await Viewer().connect(url_of(a), giver)
    on_a, on_b = await BatchViewer().connect(url_of(a)), await BatchViewer().connect(url_of(b))
    try:
        assert (await g.call("join", {"room": stream}))["ok"]
        for v in (on_a, on_b):
            assert (await v.call("join", {"room": stream, "batch": True}))["ok"]
        answers = await asyncio.gather(*(g.call("gift", _gift(stream, host, f"r{n}")) for n in range(10)))
        assert all(x["ok"] for x in answers), answers
        last = max(x["seq"] for x in answers)
        await until(lambda: all(any(e["seq"] == last for e in v.events) for v in (on_a, on_b)))
        for v in (on_a, on_b):
            gifts = [e["seq"] for e in v.events if e["data"]["type"] == "gift.sent"]
            assert sorted(gifts) == sorted(x["seq"] for x in answers)
            seqs = [e["seq"] for e in v.events]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            assert len(v.frames) < len(v.events) and v.singles == []
        # Events before both viewers' joins landed in a tick may reach one and not the other; the storm may not.
        first = min(x["seq"] for x in answers)
        assert [e for e in on_a.events if e["seq"] >= first] == [e for e in on_b.events if e["seq"] >= first]
        for node in (a, b):  # each node wrote its own viewer's batches as prepared frames
            manager = node.app[SOCKETS].sio.manager
            assert isinstance(manager, FrameRedisManager) and manager.prepared > 0
    finally:
        for each in (g, on_a, on_b):
            await each.close()


async def test_the_benchmarks_light_viewers_speak_engine_io_and_socket_io(live_app: Client) -> None:
    """``benchmarks.rooms.LightAudience`` (the benchmark's minimal client) against the real server: it
    connects, joins per-event and batched, answers for its arrivals by transfer id, and sees seq order."""
    client = live_app
    host, giver = await creator(client), await fan(client, coins=100)
    stream = (await go_live(client, host))["stream"]["id"]
    g = await Viewer().connect(url_of(client), giver)
    audience = LightAudience()
    try:
        await audience.add(url_of(client), stream)
        await audience.add(url_of(client), stream, batch=True)
        assert (await g.call("join", {"room": stream}))["ok"]
        sent = await asyncio.gather(*(g.call("gift", _gift(stream, host, f"l{n}")) for n in range(3)))
        transfers = {answer["transfer_id"] for answer in sent}
        await until(lambda: all(len(audience.arrivals.get(t, [])) == 2 for t in transfers))
        assert audience.disorder == 0
    finally:
        await g.close()
        await audience.close()


@pytest.mark.parametrize("deflate", [True, False])
async def test_the_benchmarks_raw_viewers_and_givers_speak_engine_io_and_socket_io(live_app: Client,
                                                                                   deflate: bool) -> None:
    """``benchmarks.raw_viewers`` / ``raw_givers`` (the benchmark's append-only clients) against the real
    server: they connect and join (batched and per-event), the givers' gifts are acked, and the streams
    the viewers only recorded decode afterwards to every gift, in seq order, with nothing cut. Offering
    permessage-deflate, the viewers get the shared compressed frames."""
    client = live_app
    host, giver = await creator(client), await fan(client, coins=100)
    stream = (await go_live(client, host))["stream"]["id"]
    manager = client.app[SOCKETS].sio.manager
    assert isinstance(manager, PreparedFrames)
    deflated = manager.deflated
    audience = RawAudience(deflate=deflate)
    givers = RawGivers()
    try:
        await audience.add(url_of(client), stream, batch=True)
        await audience.add(url_of(client), stream)
        audience.record()
        await givers.add(url_of(client), giver["access_token"])
        payloads = [_gift(stream, host, f"r{n}") for n in range(3)]
        sent, _ = await givers.storm(payloads, rate=100, patience_s=5)
        assert sorted(givers.acks) == [0, 1, 2] and all(body["ok"] for _, body in givers.acks.values())
        timings = {body["transfer_id"]: [sent[n], at] for n, (at, body) in givers.acks.items()}
        await until(lambda: all(len(v.chunks) >= 1 for v in audience.viewers))
        await asyncio.sleep(0.2)  # a batch tick
        report = audience.report(timings)
        assert report["delivered"] == 2 * 3
        assert (report["disorder"], report["partial"], report["pong_mismatch"]) == (0, 0, 0)
        assert sum(report["ack"].values()) == sum(report["send"].values()) == 6
        assert (manager.deflated > deflated) == deflate
    finally:
        await givers.close()
        await audience.close()


async def test_with_deflate_off_every_websocket_gets_plain_shared_frames(make_client: AppFactory, db_url: str) -> None:
    """``MIXILLO_SOCKETIO_DEFLATE=false``: an offer of permessage-deflate is declined, so the client reads
    plain frames, the same prepared bytes as everyone's."""
    client = await make_client(database_url=db_url, socketio_deflate=False)
    async with client.app[DATABASE].write() as conn:
        await seed_catalog(conn)
    host, giver = await creator(client), await fan(client, coins=10)
    stream = (await go_live(client, host))["stream"]["id"]
    offering = Viewer()
    offering.sio = socketio.AsyncClient(reconnection=False, websocket_extra_options={"compress": 15})
    offering.sio.on("*", offering._record, namespace="/live")
    g = await Viewer().connect(url_of(client), giver)
    await offering.connect(url_of(client))
    try:
        manager = client.app[SOCKETS].sio.manager
        assert isinstance(manager, PreparedFrames)
        assert not any(ws.window_bits for ws in manager.websockets.values())
        assert (await offering.call("join", {"room": stream}))["ok"] and (await g.call("join", {"room": stream}))["ok"]
        prepared = manager.prepared
        sent = await g.call("gift", _gift(stream, host, "plain"))
        assert sent["ok"]
        await until(lambda: any(e["seq"] == sent["seq"] for e in offering.events))
        assert manager.prepared > prepared and manager.deflated == 0
    finally:
        await g.close()
        await offering.close()
