"""Direct messages over real HTTP, and their real-time delivery over Socket.IO."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import socketio

from tests.api.helpers import Client, problem
from tests.services import redis_server
from tests.social.conftest import AppFactory, Media, User, ids, ok, post_image, user


async def _socket(client: Client, who: User) -> tuple[socketio.AsyncClient, asyncio.Queue[tuple[str, Any]]]:
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    sio = socketio.AsyncClient(reconnection=False)
    for name in ("message:new", "message:read", "message:deleted", "notification"):
        sio.on(name, lambda data, name=name: events.put_nowait((name, data)))
    await sio.connect(
        str(client.make_url("/")),
        auth={"token": who.session["access_token"]},
        socketio_path="socket.io",
        transports=["websocket"],
        wait_timeout=10,
    )
    return sio, events


async def _next(events: asyncio.Queue[tuple[str, Any]], name: str) -> Any:
    while True:
        got, data = await asyncio.wait_for(events.get(), 10)
        if got == name:
            return data


async def test_conversation_flow(client: Client, media: Media) -> None:
    alice, bob = await user(client), await user(client)
    post = await post_image(client, alice, media)
    await problem(await client.post("/api/messaging/send", json={"recipient_id": bob.id}, headers=alice.headers), 422)
    await problem(
        await client.post("/api/messaging/send", json={"recipient_id": alice.id, "text": "me"}, headers=alice.headers),
        422,
    )
    first = await ok(
        await client.post(
            "/api/messaging/send", json={"recipient_id": bob.id, "text": "hi bob"}, headers=alice.headers
        ),
        201,
    )
    second = await ok(
        await client.post(
            "/api/messaging/send",
            json={"recipient_id": bob.id, "content_id": post["id"], "media_url": "https://cdn.example/x.jpg"},
            headers=alice.headers,
        ),
        201,
    )
    assert first["conversation_id"] == second["conversation_id"]
    conversation = first["conversation_id"]
    listing = await ok(await client.get("/api/messaging/conversations", headers=bob.headers))
    assert [(c["id"], c["peer"]["id"], c["unread_count"]) for c in listing["items"]] == [(conversation, alice.id, 2)]
    assert listing["items"][0]["last_message"]["content_id"] == post["id"]
    counts = await ok(await client.get("/api/notifications/unread-count", headers=bob.headers))
    assert counts["messages"] == 2
    thread = await ok(
        await client.get(
            f"/api/messaging/conversations/{conversation}/messages",
            params={"limit": "1"},
            headers=bob.headers,
        )
    )
    assert ids(thread) == [second["id"]] and thread["next_cursor"]
    older = await ok(
        await client.get(
            f"/api/messaging/conversations/{conversation}/messages",
            params={"cursor": thread["next_cursor"]},
            headers=bob.headers,
        )
    )
    assert ids(older) == [first["id"]] and older["next_cursor"] is None

    receipt = await ok(await client.put(f"/api/messaging/conversations/{conversation}/read", headers=bob.headers))
    assert receipt["last_read_id"] == second["id"]
    seen = await ok(await client.get(f"/api/messaging/conversations/{conversation}/messages", headers=alice.headers))
    assert seen["peer_last_read_id"] == second["id"]
    assert (await ok(await client.get("/api/messaging/conversations", headers=bob.headers)))["items"][0][
        "unread_count"
    ] == 0

    await problem(await client.delete(f"/api/messaging/messages/{first['id']}", headers=bob.headers), 403)
    assert (await client.delete(f"/api/messaging/messages/{first['id']}", headers=alice.headers)).status == 204
    await problem(await client.delete(f"/api/messaging/messages/{first['id']}", headers=alice.headers), 404)
    after = await ok(await client.get(f"/api/messaging/conversations/{conversation}/messages", headers=bob.headers))
    deleted = next(m for m in after["items"] if m["id"] == first["id"])
    assert deleted["deleted"] is True and deleted["text"] is None

    carol = await user(client)
    await problem(await client.get(f"/api/messaging/conversations/{conversation}/messages", headers=carol.headers), 404)
    await problem(await client.put(f"/api/messaging/conversations/{conversation}/read", headers=carol.headers), 404)


async def test_who_can_message_is_enforced(client: Client) -> None:
    alice, bob, fan = await user(client), await user(client), await user(client)
    assert (await client.post(f"/api/users/{alice.id}/follow", headers=fan.headers)).status == 204
    await ok(await client.put("/api/settings/privacy", json={"who_can_message": "followers"}, headers=alice.headers))
    refused = await problem(
        await client.post("/api/messaging/send", json={"recipient_id": alice.id, "text": "hey"}, headers=bob.headers),
        403,
    )
    assert refused["type"].endswith("messages-not-allowed")
    await ok(
        await client.post("/api/messaging/send", json={"recipient_id": alice.id, "text": "hey"}, headers=fan.headers),
        201,
    )
    await ok(await client.put("/api/settings/privacy", json={"who_can_message": "nobody"}, headers=alice.headers))
    await problem(
        await client.post("/api/messaging/send", json={"recipient_id": alice.id, "text": "hey"}, headers=fan.headers),
        403,
    )


async def test_messages_and_read_receipts_arrive_over_socketio(client: Client) -> None:
    alice, bob = await user(client), await user(client)
    bob_socket, bob_events = await _socket(client, bob)
    alice_socket, alice_events = await _socket(client, alice)
    try:
        sent = await ok(
            await client.post(
                "/api/messaging/send", json={"recipient_id": bob.id, "text": "live!"}, headers=alice.headers
            ),
            201,
        )
        received = await _next(bob_events, "message:new")
        assert received["id"] == sent["id"] and received["text"] == "live!" and received["sender_id"] == alice.id
        notice = await _next(bob_events, "notification")
        assert notice["kind"] == "message"
        await ok(await client.put(f"/api/messaging/conversations/{sent['conversation_id']}/read", headers=bob.headers))
        receipt = await _next(alice_events, "message:read")
        assert receipt["reader_id"] == bob.id and receipt["last_read_id"] == sent["id"]
    finally:
        await bob_socket.disconnect()
        await alice_socket.disconnect()


async def test_socketio_refuses_a_bad_token(client: Client) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    refusals: list[Any] = []
    sio.on("connect_error", refusals.append)
    try:
        await sio.connect(
            str(client.make_url("/")),
            auth={"token": "nope"},
            socketio_path="socket.io",
            transports=["websocket"],
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        assert refusals and "not valid" in str(refusals[0])
    else:
        await sio.disconnect()
        raise AssertionError("connected with a bad token")


async def test_racing_first_messages_share_one_conversation(client: Client) -> None:
    alice, bob = await user(client), await user(client)
    sends = [
        client.post("/api/messaging/send", json={"recipient_id": b.id, "text": f"hi {i}"}, headers=a.headers)
        for i, (a, b) in enumerate([(alice, bob), (bob, alice)] * 4)
    ]
    replies = [await ok(r, 201) for r in await asyncio.gather(*sends)]
    assert len({r["conversation_id"] for r in replies}) == 1
    # Following each other at the same moment neither deadlocks nor loses a count.
    follows = await asyncio.gather(
        client.post(f"/api/users/{bob.id}/follow", headers=alice.headers),
        client.post(f"/api/users/{alice.id}/follow", headers=bob.headers),
    )
    assert [r.status for r in follows] == [204, 204]
    profile = await ok(await client.get(f"/api/users/{alice.id}"))
    assert (profile["follower_count"], profile["following_count"]) == (1, 1)


async def test_send_honours_idempotency_keys(client: Client) -> None:
    alice, bob = await user(client), await user(client)
    body = {"recipient_id": bob.id, "text": "exactly once"}
    headers = {**alice.headers, "Idempotency-Key": "send-1"}
    first = await ok(await client.post("/api/messaging/send", json=body, headers=headers), 201)
    again = await client.post("/api/messaging/send", json=body, headers=headers)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert (await again.json())["id"] == first["id"]
    thread = await ok(
        await client.get(f"/api/messaging/conversations/{first['conversation_id']}/messages", headers=bob.headers)
    )
    assert ids(thread) == [first["id"]]


async def test_delivery_crosses_nodes_through_redis(make_client: AppFactory, tmp_path: Path) -> None:
    """Two app processes' worth of state (two apps, one database, one redis-server): a message sent through
    node A reaches the recipient's socket on node B."""
    with redis_server() as redis_url:
        shared = {"database_url": f"sqlite:///{tmp_path / 'shared.db'}", "redis_url": redis_url}
        node_a = await make_client(**shared)
        node_b = await make_client(**shared)
        alice, bob = await user(node_a), await user(node_a)
        bob_socket, bob_events = await _socket(node_b, bob)
        try:
            sent = await ok(
                await node_a.post(
                    "/api/messaging/send",
                    json={"recipient_id": bob.id, "text": "across"},
                    headers=alice.headers,
                ),
                201,
            )
            received = await _next(bob_events, "message:new")
            assert received["id"] == sent["id"]
        finally:
            await bob_socket.disconnect()
