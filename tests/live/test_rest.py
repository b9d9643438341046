"""Every live-room REST endpoint over real HTTP, on SQLite (and PostgreSQL under the harness)."""

from __future__ import annotations

from typing import Any

from api.state import LIVES, MEDIA_TOKENS, ROOMS
from tests.api.helpers import Client, bearer, problem
from tests.commerce.conftest import ADDRESS, product
from tests.live.conftest import coins, creator, fan, go_live, key


async def test_lifecycle_providers_list_join_leave_end(live_app: Client) -> None:
    client = live_app
    host, viewer = await creator(client), await fan(client)
    follow = await client.post(f"/api/users/{host['user']['id']}/follow", headers=bearer(viewer))
    assert follow.status == 204, await follow.text()

    providers = await (await client.get("/api/livestreaming/providers")).json()
    assert {p["id"] for p in providers} == {"whip", "whep", "hls", "ll-hls"}

    go = await go_live(client, host)
    stream = go["stream"]
    assert stream["status"] == "live" and stream["host_id"] == host["user"]["id"]
    base = str(client.make_url("")).rstrip("/")
    assert go["ingest"]["whip_url"].endswith(f"/whip/{stream['id']}")
    assert go["playback"]["whep_url"].endswith(f"/whep/{stream['id']}")
    assert go["playback"]["hls_url"].endswith(f"/hls/live/{stream['id']}/master.m3u8")
    grant = client.app[MEDIA_TOKENS].verify(go["ingest"]["publish_token"])
    assert (grant.identity, grant.grant.stream_id, grant.grant.publisher, grant.grant.can_publish) == (
        host["user"]["id"], stream["id"], "host", True)
    assert base  # the URLs are absolute under the configured public URL

    listed = await (await client.get("/api/livestreams")).json()
    assert [s["id"] for s in listed["items"]] == [stream["id"]]
    assert (await (await client.get(f"/api/livestreams/{stream['id']}")).json())["title"] == "Evening show"

    # Followers were told (social's notifications).
    notices = await (await client.get("/api/notifications", headers=bearer(viewer))).json()
    assert any(n.get("subject_id") == stream["id"] for n in notices["items"]), notices

    joined = await client.post(f"/api/livestreams/{stream['id']}/join", headers=bearer(viewer))
    snapshot = await joined.json()
    assert joined.status == 200 and snapshot["viewers"] == 1 and snapshot["host_id"] == host["user"]["id"]
    anon = await (await client.post(f"/api/livestreams/{stream['id']}/join")).json()
    assert anon["viewers"] == 2
    assert (await client.post(f"/api/livestreams/{stream['id']}/leave", headers=bearer(viewer))).status == 204

    await problem(await client.post(f"/api/livestreams/{stream['id']}/end", headers=bearer(viewer)), 403)
    ended = await client.post(f"/api/livestreams/{stream['id']}/end", headers=bearer(host))
    assert ended.status == 200 and (await ended.json())["status"] == "ended"
    assert (await (await client.get("/api/livestreams")).json())["items"] == []
    body = await problem(await client.post(f"/api/livestreams/{stream['id']}/join"), 409)
    assert body["type"].endswith("/room-ended")


async def test_create_and_start_refuse_bad_input(live_app: Client) -> None:
    client = live_app
    host, other = await creator(client), await fan(client)
    await problem(await client.post("/api/livestreams", json={"title": ""}, headers=bearer(host)), 422)
    await problem(await client.post("/api/livestreams", json={"title": "x"}), 401)
    created = await (await client.post("/api/livestreams", json={"title": "x"}, headers=bearer(host))).json()
    body = await problem(await client.post(f"/api/livestreams/{created['id']}/start", headers=bearer(other)), 403)
    assert body["type"].endswith("/not-host")
    await problem(await client.post("/api/livestreams/NOPE/start", headers=bearer(host)), 404)
    body = await problem(await client.post("/api/livestreams/nope/join"), 404)
    assert body["type"].endswith("/unknown-room")


async def test_gift_in_live_is_charged_then_shown_once(live_app: Client) -> None:
    client = live_app
    host, giver = await creator(client), await fan(client, coins=100)
    stream = (await go_live(client, host))["stream"]["id"]
    gift = {"receiver_id": host["user"]["id"], "gift_id": "heart", "quantity": 2}
    await problem(await client.post(f"/api/livestreams/{stream}/gift", json=gift, headers=bearer(giver)), 400)
    headers = {**bearer(giver), **key()}
    first = await client.post(f"/api/livestreams/{stream}/gift", json=gift, headers=headers)
    sent = await first.json()
    assert first.status == 201, sent
    assert sent["coins"] == 10 and sent["balance"] == 90 and sent["event"]["data"]["type"] == "gift.sent"
    again = await client.post(f"/api/livestreams/{stream}/gift", json=gift, headers=headers)
    assert again.status == 201 and (await again.json())["transfer_id"] == sent["transfer_id"]
    assert await coins(client, giver) == 90

    # Not enough coins: refused by the ledger, nothing shown.
    big = {"receiver_id": host["user"]["id"], "gift_id": "sports_car"}
    await problem(await client.post(f"/api/livestreams/{stream}/gift", json=big, headers={**bearer(giver), **key()}),
                  402)
    # The coin economy's endpoint with a livestream_id goes through the same desk.
    via = await client.post("/api/gifts/send", json={**gift, "gift_id": "rose", "livestream_id": stream},
                            headers={**bearer(giver), **key()})
    assert via.status == 201, await via.text()
    room = client.app[ROOMS].rooms.room(stream)
    gifts = [e for e in await room.events_since(0) or [] if e.type == "gift.sent"]
    assert [(g.data.gift_id, g.data.coins) for g in gifts] == [("heart", 10), ("rose", 2)]  # type: ignore[union-attr]
    assert await coins(client, giver) == 88
    body = await problem(await client.post("/api/gifts/send", json={**gift, "livestream_id": "no-such-live"},
                                           headers=bearer(giver)), 404)
    assert body["type"].endswith("/unknown-room") and await coins(client, giver) == 88


async def test_multi_host_invite_accept_kick(live_app: Client) -> None:
    client = live_app
    host, guest, asker = await creator(client), await fan(client), await fan(client)
    stream = (await go_live(client, host))["stream"]["id"]
    guest_id = guest["user"]["id"]
    invited = await client.post(f"/api/multi-host/{stream}/invite", json={"user_id": guest_id}, headers=bearer(host))
    assert invited.status == 200 and (await invited.json())["event"]["data"]["type"] == "cohost.invited"
    await problem(await client.post(f"/api/multi-host/{stream}/invite", json={"user_id": guest_id},
                                    headers=bearer(asker)), 403)
    accepted = await client.post(f"/api/multi-host/{stream}/accept", json={}, headers=bearer(guest))
    ticket = await accepted.json()
    assert accepted.status == 200, ticket
    grant = client.app[MEDIA_TOKENS].verify(ticket["publish_token"]).grant
    assert (grant.stream_id, grant.publisher, grant.can_publish) == (stream, guest_id, True)
    seats = await (await client.get(f"/api/multi-host/{stream}/co-hosts")).json()
    assert [s["user_id"] for s in seats["seats"]] == [guest_id]

    # A viewer asks; the host accepts: the token is not in the host's answer.
    assert (await client.post(f"/api/multi-host/{stream}/request", headers=bearer(asker))).status == 200
    hosts_answer = await (await client.post(f"/api/multi-host/{stream}/accept",
                                            json={"user_id": asker["user"]["id"]}, headers=bearer(host))).json()
    assert hosts_answer["publish_token"] is None and hosts_answer["seat"]["user_id"] == asker["user"]["id"]
    muted = await client.post(f"/api/multi-host/{stream}/mute", json={"user_id": guest_id}, headers=bearer(host))
    assert (await muted.json())["event"]["data"]["muted"] is True

    kicked = await client.post(f"/api/multi-host/{stream}/kick", json={"user_id": guest_id}, headers=bearer(host))
    assert kicked.status == 200 and (await kicked.json())["event"]["data"]["type"] == "moderation.kicked"
    seats = await (await client.get(f"/api/multi-host/{stream}/co-hosts")).json()
    assert [s["user_id"] for s in seats["seats"]] == [asker["user"]["id"]]
    await problem(await client.post(f"/api/multi-host/{stream}/reject", json={}, headers=bearer(guest)), 403)


async def test_pk_battle_invite_accept_gift_get_rankings(live_app: Client) -> None:
    client = live_app
    host_a, host_b, giver = await creator(client), await creator(client), await fan(client, coins=1000)
    room_a = (await go_live(client, host_a))["stream"]["id"]
    room_b = (await go_live(client, host_b))["stream"]["id"]
    invited = await client.post("/api/pk-battles", json={"room_id": room_a, "opponent_room_id": room_b,
                                                         "duration_s": 30}, headers=bearer(host_a))
    battle = (await invited.json())["battle"]
    assert invited.status == 201 and battle["state"] == "invited"
    battle_id = battle["battle_id"]
    await problem(await client.post(f"/api/pk-battles/{battle_id}/accept", headers=bearer(host_a)), 403)
    accepted = await client.post(f"/api/pk-battles/{battle_id}/accept", headers=bearer(host_b))
    assert accepted.status == 200 and (await accepted.json())["battle"]["state"] == "countdown"
    service = client.app[ROOMS]
    await service.referee.tick()  # countdown 0 s: the referee starts it
    assert (await (await client.get(f"/api/pk-battles/{battle_id}")).json())["battle"]["state"] == "active"

    gift = {"receiver_id": host_b["user"]["id"], "gift_id": "hat"}
    sent = await client.post(f"/api/pk-battles/{battle_id}/gift", json=gift, headers={**bearer(giver), **key()})
    assert sent.status == 201, await sent.text()
    stranger = {"receiver_id": giver["user"]["id"], "gift_id": "hat"}
    body = await problem(await client.post(f"/api/pk-battles/{battle_id}/gift", json=stranger,
                                           headers={**bearer(giver), **key()}), 404)
    assert body["type"].endswith("/not-a-battle-host")
    view = (await (await client.get(f"/api/pk-battles/{battle_id}")).json())["battle"]
    assert (view["a"]["score"], view["b"]["score"]) == (0, 99)
    # Each live's program shows the battle from its own side (its host on the left).
    board_a, board_b = (client.app[LIVES].get(r).program.board for r in (room_a, room_b))  # type: ignore[union-attr]
    assert (board_a.name_a, board_a.name_b) == (host_a["user"]["username"], host_b["user"]["username"])
    assert (board_b.score_a, board_b.score_b) == (99, 0) and (board_a.score_a, board_a.score_b) == (0, 99)

    # Rejecting a second invitation; rankings list the hosts of ended battles.
    ranks = await client.get("/api/pk-battles/leaderboard/rankings?period=day")
    assert ranks.status == 200 and (await ranks.json())["period"] == "day"
    await problem(await client.get("/api/pk-battles/leaderboard/rankings?period=year"), 422)
    await problem(await client.get("/api/pk-battles/nope"), 404)


async def test_pk_reject(live_app: Client) -> None:
    client = live_app
    host_a, host_b = await creator(client), await creator(client)
    room_a = (await go_live(client, host_a))["stream"]["id"]
    room_b = (await go_live(client, host_b))["stream"]["id"]
    battle = (await (await client.post("/api/pk-battles", json={"room_id": room_a, "opponent_room_id": room_b},
                                       headers=bearer(host_a))).json())["battle"]
    rejected = await client.post(f"/api/pk-battles/{battle['battle_id']}/reject", headers=bearer(host_b))
    assert (await rejected.json())["battle"]["state"] == "rejected"
    await problem(await client.post(f"/api/pk-battles/{battle['battle_id']}/accept", headers=bearer(host_b)), 409)


async def test_live_shopping_pin_order_analytics(live_app: Client) -> None:
    client = live_app
    host, buyer = await creator(client), await fan(client)
    item = await product(client, host, price=500, stock=3)
    stream = (await go_live(client, host))["stream"]["id"]
    await problem(await client.post("/api/live-shopping/session", json={"livestream_id": stream},
                                    headers=bearer(buyer)), 403)
    opened = await client.post("/api/live-shopping/session", json={"livestream_id": stream}, headers=bearer(host))
    session = (await opened.json())["id"]
    assert opened.status == 201
    pinned = await client.post(f"/api/live-shopping/{session}/pin-product", json={"product_id": item["id"]},
                               headers=bearer(host))
    assert (await pinned.json())["event"]["data"]["pin"]["product"]["price"] == 500
    order: dict[str, Any] = {"product_id": item["id"], "quantity": 2, "shipping_address": ADDRESS,
                             "payment_method": "card", "payment_token": "tok_visa"}
    headers = {**bearer(buyer), **key()}
    placed = await client.post(f"/api/live-shopping/{session}/orders", json=order, headers=headers)
    result = await placed.json()
    assert placed.status == 201, result
    assert result["total"] == 1000 and result["event"]["data"]["type"] == "shop.order"
    again = await client.post(f"/api/live-shopping/{session}/orders", json=order, headers=headers)
    assert (await again.json())["order_id"] == result["order_id"]
    body = await problem(await client.post(f"/api/live-shopping/{session}/orders", json=order,
                                           headers={**bearer(buyer), **key()}), 409)
    assert body["type"].endswith("/insufficient-stock")
    stats = await (await client.get(f"/api/live-shopping/{session}/analytics", headers=bearer(host))).json()
    assert (stats["orders"], stats["revenue"], stats["closed"]) == (1, 1000, False)
    await problem(await client.get(f"/api/live-shopping/{session}/analytics", headers=bearer(buyer)), 403)
    unpinned = await client.post(f"/api/live-shopping/{session}/pin-product", json={"product_id": None},
                                 headers=bearer(host))
    assert (await unpinned.json())["event"]["data"]["pin"] is None
    body = await problem(await client.post(f"/api/live-shopping/{session}/orders", json=order,
                                           headers={**bearer(buyer), **key()}), 409)
    assert body["type"].endswith("/not-pinned")


async def test_openapi_documents_the_seed_endpoints(live_app: Client) -> None:
    paths = (await (await live_app.get("/api/openapi.json")).json())["paths"]
    seed = {
        ("get", "/api/livestreaming/providers"), ("get", "/api/livestreams"), ("post", "/api/livestreams"),
        ("post", "/api/livestreams/{stream_id}/start"), ("post", "/api/livestreams/{stream_id}/end"),
        ("post", "/api/livestreams/{stream_id}/join"), ("post", "/api/livestreams/{stream_id}/leave"),
        ("post", "/api/livestreams/{stream_id}/gift"), ("post", "/api/multi-host/{stream_id}/invite"),
        ("post", "/api/multi-host/{stream_id}/accept"), ("post", "/api/multi-host/{stream_id}/kick"),
        ("get", "/api/multi-host/{stream_id}/co-hosts"), ("post", "/api/pk-battles"),
        ("post", "/api/pk-battles/{battle_id}/accept"), ("post", "/api/pk-battles/{battle_id}/gift"),
        ("get", "/api/pk-battles/{battle_id}"), ("get", "/api/pk-battles/leaderboard/rankings"),
        ("post", "/api/live-shopping/session"), ("post", "/api/live-shopping/{session_id}/pin-product"),
        ("post", "/api/live-shopping/{session_id}/orders"), ("get", "/api/live-shopping/{session_id}/analytics"),
    }
    assert {(m, p) for p, ops in paths.items() for m in ops} >= seed
