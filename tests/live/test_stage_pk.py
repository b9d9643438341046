"""The stage and PK battles exclude each other (over real HTTP, with a Socket.IO viewer in the room): a refused
invitation, request or accept is a 409 problem and changes nothing — seats, pending invitations and requests,
the battle, the room's event log and the live's picture are as they were."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from api.state import LIVES, ROOMS
from engine.compositor.layout import LayoutKind
from rooms.pk import PK_LOCK
from rooms.store import SEATS, STAGE_INVITES, STAGE_REQUESTS
from tests.api.helpers import Client, bearer, problem
from tests.live.conftest import Viewer, creator, fan, go_live, url_of
from tests.live.test_sockets import until


async def tickets(client: Client, session: dict[str, Any]) -> tuple[socketio.AsyncClient, list[dict[str, Any]]]:
    """A socket on the default namespace (the user's own room) recording the ``cohost.ticket`` messages (WHIP
    URL and publish token) the server sends this user."""
    got: list[dict[str, Any]] = []
    sio = socketio.AsyncClient(reconnection=False)

    async def record(data: dict[str, Any]) -> None:
        got.append(data)

    sio.on("cohost.ticket", record)
    await sio.connect(url_of(client), auth={"token": session["access_token"]}, transports=["websocket"],
                      wait_timeout=10)
    return sio, got


async def state(client: Client, *rooms: str) -> dict[str, Any]:
    """Everything a stage or battle action could change, per room: the seats as the REST API shows them,
    the boards and the battle lock in the store, the battle the snapshot shows, the event log, and who is in
    the live's program."""
    store = client.app[ROOMS].rooms.store
    whole: dict[str, Any] = {}
    for room in rooms:
        seats = await (await client.get(f"/api/multi-host/{room}/co-hosts")).json()
        snapshot = await client.app[ROOMS].rooms.room(room).snapshot()
        program = client.app[LIVES].get(room)
        whole[room] = {
            "seats": seats, "store_seats": await store.top(room, SEATS),
            "invites": await store.top(room, STAGE_INVITES), "requests": await store.top(room, STAGE_REQUESTS),
            "lock": await store.get(room, PK_LOCK), "pk": snapshot.pk, "seq": snapshot.seq,
            "program": sorted(program.program.names) if program is not None else None,
        }
    return whole


async def test_no_guest_joins_the_stage_during_a_pk_battle(live_app: Client) -> None:
    client = live_app
    host_a, host_b, asker, invitee = await creator(client), await creator(client), await fan(client), await fan(client)
    room_a = (await go_live(client, host_a))["stream"]["id"]
    room_b = (await go_live(client, host_b))["stream"]["id"]
    watcher = await Viewer().connect(url_of(client), asker)
    inbox, asker_tickets = await tickets(client, asker)
    try:
        assert (await watcher.call("join", {"room": room_a}))["ok"] is True
        # A request from before the battle is pending in A, an invitation in B; then the battle starts.
        assert (await client.post(f"/api/multi-host/{room_a}/request", headers=bearer(asker))).status == 200
        assert (await client.post(f"/api/multi-host/{room_b}/invite", json={"user_id": invitee["user"]["id"]},
                                  headers=bearer(host_b))).status == 200
        invited = await client.post("/api/pk-battles", json={"room_id": room_a, "opponent_room_id": room_b,
                                                             "duration_s": 30}, headers=bearer(host_a))
        battle_id = (await invited.json())["battle"]["battle_id"]
        # While only invited, the battle already holds the stage.
        await problem(await client.post(f"/api/multi-host/{room_b}/invite", json={"user_id": invitee["user"]["id"]},
                                        headers=bearer(host_b)), 409)
        assert (await client.post(f"/api/pk-battles/{battle_id}/accept", headers=bearer(host_b))).status == 200
        await client.app[ROOMS].referee.tick()  # countdown 0 s: the referee starts it
        both = sorted([host_a["user"]["id"], host_b["user"]["id"]])
        await until(lambda: all(sorted(client.app[LIVES].get(r).program.names) == both  # type: ignore[union-attr]
                                for r in (room_a, room_b)))  # the split screen is up on both programs
        before = await state(client, room_a, room_b)
        assert before[room_a]["pk"].state == "active"
        # Accepting the battle withdrew both: they could not be accepted while it lasts.
        assert before[room_a]["requests"] == [] and before[room_b]["invites"] == []
        assert [(e["data"]["user_id"], e["data"]["reason"]) for e in watcher.of("cohost.declined")] == [
            (asker["user"]["id"], "pk_started")]

        # The host accepting the withdrawn request (once a reported 500), inviting, and a viewer asking: all 409.
        body = await problem(await client.post(f"/api/multi-host/{room_a}/accept",
                                               json={"user_id": asker["user"]["id"]}, headers=bearer(host_a)), 409)
        assert body["type"].endswith("/pk-in-progress") and "PK battle" in body["detail"]
        body = await problem(await client.post(f"/api/multi-host/{room_a}/invite",
                                               json={"user_id": invitee["user"]["id"]}, headers=bearer(host_a)), 409)
        assert body["type"].endswith("/pk-in-progress")
        await problem(await client.post(f"/api/multi-host/{room_b}/request", headers=bearer(invitee)), 409)
        await asyncio.sleep(0.1)  # anything wrongly broadcast would have reached the socket by now
        assert await state(client, room_a, room_b) == before
        assert watcher.of("cohost.joined") == [] and watcher.of("cohost.invited") == [] and asker_tickets == []
        assert watcher.events[-1]["seq"] == before[room_a]["seq"]
    finally:
        await inbox.disconnect()
        await watcher.close()


async def test_no_pk_battle_while_guests_are_on_stage(live_app: Client) -> None:
    client = live_app
    host_a, host_b, guest = await creator(client), await creator(client), await fan(client)
    room_a = (await go_live(client, host_a))["stream"]["id"]
    room_b = (await go_live(client, host_b))["stream"]["id"]
    inbox, guest_tickets = await tickets(client, guest)
    try:
        assert (await client.post(f"/api/multi-host/{room_a}/request", headers=bearer(guest))).status == 200
        assert (await client.post(f"/api/multi-host/{room_a}/accept", json={"user_id": guest["user"]["id"]},
                                  headers=bearer(host_a))).status == 200
        await until(lambda: len(guest_tickets) == 1)  # the socket path the refused accept above must not take
        assert guest_tickets[0]["room"] == room_a and guest_tickets[0]["publish_token"]
    finally:
        await inbox.disconnect()
    before = await state(client, room_a, room_b)
    assert before[room_a]["program"] == sorted([host_a["user"]["id"], guest["user"]["id"]])

    # Either side inviting: refused, and neither live is left locked (both could still battle others).
    for inviter, mine, theirs in ((host_a, room_a, room_b), (host_b, room_b, room_a)):
        body = await problem(await client.post("/api/pk-battles", json={"room_id": mine, "opponent_room_id": theirs},
                                               headers=bearer(inviter)), 409)
        assert body["type"].endswith("/pk-stage-busy") and body["room_id"] == room_a
    assert await state(client, room_a, room_b) == before

    # Once the guest leaves, the same battle may be invited.
    assert (await client.post(f"/api/multi-host/{room_a}/kick", json={"user_id": guest["user"]["id"]},
                              headers=bearer(host_a))).status == 200
    invited = await client.post("/api/pk-battles", json={"room_id": room_b, "opponent_room_id": room_a},
                                headers=bearer(host_b))
    assert invited.status == 201, await invited.text()


async def test_a_layout_that_cannot_take_the_guest_is_a_409_and_nothing_is_consumed(live_app: Client) -> None:
    client = live_app
    host, first, second = await creator(client), await fan(client), await fan(client)
    room = (await go_live(client, host))["stream"]["id"]
    await client.post(f"/api/multi-host/{room}/invite", json={"user_id": first["user"]["id"]}, headers=bearer(host))
    assert (await client.post(f"/api/multi-host/{room}/accept", json={}, headers=bearer(first))).status == 200
    # The picture is a two-person split (as in a PK): a third person does not fit it.
    live = client.app[LIVES].get(room)
    assert live is not None
    live.program.set_kind(LayoutKind.PK)
    assert (await client.post(f"/api/multi-host/{room}/request", headers=bearer(second))).status == 200
    before = await state(client, room)
    body = await problem(await client.post(f"/api/multi-host/{room}/accept", json={"user_id": second["user"]["id"]},
                                           headers=bearer(host)), 409)
    assert body["type"].endswith("/layout-not-possible") and "two hosts" in body["detail"]
    assert await state(client, room) == before  # the request is still there to answer
