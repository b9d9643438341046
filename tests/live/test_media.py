"""The rooms' media adapter against the real engine over WHIP (aiortc publishers): the host publishes with
the token ``start`` gave, a guest with the token ``accept`` gave; muting a guest stops their audio, kicking
closes their producers at once and their token no longer publishes; ending the live closes the Router."""

from __future__ import annotations

from aiortc import RTCPeerConnection

from api.state import ENGINE, HLS, LIVES
from engine.events import CloseReason, EngineEvent, SessionClosed
from tests.api.helpers import Client, bearer, problem
from tests.live.conftest import creator, fan, go_live
from tests.signaling.clients import post_sdp, whip_offer


async def _publish(client: Client, url: str, token: str) -> tuple[RTCPeerConnection, object]:
    pc, offer = await whip_offer()
    path = url[url.index("/whip/"):]
    response = await post_sdp(client, path, offer, {"Authorization": f"Bearer {token}"})
    return pc, response


async def test_host_and_guest_publish_guest_muted_kicked_and_barred_live_ended(live_app: Client) -> None:
    client = live_app
    engine = client.app[ENGINE]
    closed: list[SessionClosed] = []

    def record(event: EngineEvent) -> None:
        if isinstance(event, SessionClosed):
            closed.append(event)

    engine.on_event(record)
    host, guest = await creator(client), await fan(client)
    go = await go_live(client, host)
    stream = go["stream"]["id"]
    peers: list[RTCPeerConnection] = []
    try:
        live = client.app[LIVES].get(stream)
        assert live is not None and client.app[HLS].live(stream) is not None  # the ladder follows the host
        pc, response = await _publish(client, go["ingest"]["whip_url"], go["ingest"]["publish_token"])
        peers.append(pc)
        assert response.status == 201, await response.text()  # type: ignore[attr-defined]

        await client.post(f"/api/multi-host/{stream}/invite", json={"user_id": guest["user"]["id"]},
                          headers=bearer(host))
        ticket = await (await client.post(f"/api/multi-host/{stream}/accept", json={}, headers=bearer(guest))).json()
        pc, response = await _publish(client, ticket["whip_url"], ticket["publish_token"])
        peers.append(pc)
        assert response.status == 201, await response.text()  # type: ignore[attr-defined]
        assert guest["user"]["id"] in live.program.names  # seated in the live's program
        router = engine.routers[stream]
        assert set(router.publishers) == {"host", guest["user"]["id"]}
        guest_peer = router.publishers[guest["user"]["id"]]

        muted = await client.post(f"/api/multi-host/{stream}/mute", json={"user_id": guest["user"]["id"]},
                                  headers=bearer(host))
        assert muted.status == 200
        assert guest_peer.producers["audio"].paused and not guest_peer.producers["video"].paused
        # The muted guest reconnects (their token may replace their session): still muted.
        pc, response = await _publish(client, ticket["whip_url"], ticket["publish_token"])
        peers.append(pc)
        assert response.status == 201, await response.text()  # type: ignore[attr-defined]
        replaced = router.publishers[guest["user"]["id"]]
        assert replaced is not guest_peer and replaced.producers["audio"].paused
        guest_peer = replaced

        kicked = await client.post(f"/api/multi-host/{stream}/kick", json={"user_id": guest["user"]["id"]},
                                   headers=bearer(host))
        assert kicked.status == 200
        assert set(router.publishers) == {"host"}  # closed before the answer came back
        assert guest["user"]["id"] not in live.program.names
        assert [e.reason for e in closed] == [CloseReason.REPLACED, CloseReason.KICKED]
        assert closed[-1].session_id == guest_peer.id
        pc, response = await _publish(client, ticket["whip_url"], ticket["publish_token"])
        peers.append(pc)
        body = await problem(response, 403)
        assert body["type"].endswith("/publisher-barred")

        ended = await client.post(f"/api/livestreams/{stream}/end", headers=bearer(host))
        assert ended.status == 200
        assert stream not in engine.routers and stream in engine.ended
        assert client.app[LIVES].get(stream) is None and client.app[HLS].live(stream) is None
        assert {e.reason for e in closed[2:]} == {CloseReason.STREAM_ENDED}
    finally:
        for pc in peers:
            await pc.close()
