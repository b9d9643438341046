"""WHIP and WHEP over real HTTP with real aiortc peers: statuses, headers, and no leaked sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection

from api.app import create_app
from signaling.sdp import IceServer
from signaling.whip import SIGNALING, SignalingConfig
from tests.api.helpers import Client, problem
from tests.conftest import AppFactory, make_settings
from tests.signaling.clients import answer, whep_offer, whip_offer
from tests.signaling.conftest import DATA, auth, engine_of, token

SDP = {"Content-Type": "application/sdp"}


async def post(client: Client, path: str, sdp: str | bytes, headers: dict[str, str] | None = None) -> Any:
    data = sdp.encode() if isinstance(sdp, str) else sdp
    return await client.post(path, data=data, headers={**SDP, **(headers or {})})


async def wait_connected(pc: RTCPeerConnection) -> None:
    for _ in range(100):
        if pc.connectionState == "connected":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(pc.connectionState)


async def test_publish_and_play(make_client: AppFactory, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "links"))
    # Only the edge's Link headers get these servers: the engine cannot reach them from the test machine.
    app[SIGNALING] = SignalingConfig(
        [IceServer("stun:stun.example.test:3478"), IceServer("turn:turn.example.test:3478", "u", "secret")]
    )
    media = await make_client(app)
    pub, offer = await whip_offer()
    response = await post(media, "/whip/alice-1", offer, auth(token(media, "alice-1", publish=True)))
    assert response.status == 201, await response.text()
    assert response.content_type == "application/sdp"
    location = response.headers["Location"]
    assert location.startswith("/whip/alice-1/sessions/")
    assert response.headers["ETag"].startswith('"')
    links = response.headers.getall("Link")
    assert links[0] == '<stun:stun.example.test:3478>; rel="ice-server"'
    assert 'username="u"; credential="secret"' in links[1]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    await answer(pub, await response.text())

    viewer, offer = await whep_offer()
    played = await post(media, "/whep/alice-1", offer)  # anonymous playback is on by default
    assert played.status == 201, await played.text()
    await answer(viewer, await played.text())
    frames = asyncio.Queue[object]()
    video = next(t.receiver.track for t in viewer.getTransceivers() if t.kind == "video")

    async def read() -> None:
        while True:
            await frames.put(await video.recv())

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(frames.get(), 10)
        metrics = await (await media.get("/metrics")).text()
        assert (
            'mixillo_media_producer_packets_total{kind="video",publisher="host",stream="alice-1"}' in metrics
        )
        assert "mixillo_media_consumer_packets_total" in metrics
        # DELETE ends both sessions (RFC 9725 §4.2) and the Router goes with the last of them.
        assert (await media.delete(played.headers["Location"])).status == 200
        assert (await media.delete(location)).status == 200
        await problem(await media.delete(location), 404)
        assert engine_of(media).sessions() == [] and engine_of(media).routers == {}
    finally:
        reader.cancel()
        await viewer.close()
        await pub.close()


async def test_trickle_patch(media: Client) -> None:
    pub, offer = await whip_offer()
    response = await post(media, "/whip/s", offer, auth(token(media, "s", publish=True)))
    location, etag = response.headers["Location"], response.headers["ETag"]
    frag_headers = {"Content-Type": "application/trickle-ice-sdpfrag"}
    candidate = next(line for line in offer.splitlines() if line.startswith("a=candidate:"))
    frag = (
        f"a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n{candidate}\r\n"
        "a=end-of-candidates\r\n"
    )
    ok = await media.patch(location, data=frag, headers={**frag_headers, "If-Match": etag})
    assert ok.status == 204, await ok.text()
    await problem(
        await media.patch(location, data=frag, headers={**frag_headers, "If-Match": '"stale"'}), 412
    )
    await problem(await media.patch(location, data=frag, headers=frag_headers), 428)
    restart = await problem(
        await media.patch(location, data=frag, headers={**frag_headers, "If-Match": "*"}), 422
    )
    assert restart["type"].endswith("ice-restart-unsupported")
    await problem(await media.patch(location, data=frag, headers={"If-Match": etag}), 415)
    await problem(
        await media.patch(location, data="garbage", headers={**frag_headers, "If-Match": etag}), 400
    )
    await media.delete(location)
    await problem(await media.patch(location, data=frag, headers={**frag_headers, "If-Match": etag}), 404)
    await pub.close()


async def test_bad_requests_change_nothing(media: Client) -> None:
    publish = auth(token(media, "s", publish=True))
    _, offer = await whip_offer()
    await problem(
        await media.post("/whip/s", data=offer, headers={"Content-Type": "text/plain", **publish}), 415
    )
    await problem(await post(media, "/whip/s", "this is not sdp", publish), 400)
    no_media = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    assert (await problem(await post(media, "/whip/s", no_media, publish), 400))["detail"].startswith(
        "the offer has"
    )
    vp9 = (
        (DATA / "ffmpeg_whip_offer.sdp")
        .read_text()
        .replace("H264/", "VP9/")
        .replace("opus/48000/2", "PCMU/8000")
    )
    await problem(await post(media, "/whip/s", vp9, publish), 406)
    await problem(await post(media, "/whip/s", b"v=0\r\n" + b"a=x\r\n" * 40_000, publish), 413)
    await problem(await post(media, "/whip/s", offer), 401)
    await problem(await post(media, "/whip/s", offer, auth("not-a-jwt")), 401)
    await problem(await post(media, "/whip/s", offer, auth(token(media, "s"))), 403)  # subscribe-only
    await problem(await post(media, "/whip/s", offer, auth(token(media, "other", publish=True))), 403)
    await problem(await media.get("/whip/s"), 405)
    await problem(await post(media, "/whep/s", (await whep_offer())[1]), 404)  # not live
    await problem(await post(media, "/whep/s/program", (await whep_offer())[1]), 404)  # program: the host
    await problem(await media.patch("/whip/s/sessions/nope", data="", headers={"If-Match": "*"}), 404)
    assert engine_of(media).sessions() == [] and engine_of(media).routers == {}
    options = await media.options("/whip/s")
    assert options.status == 204 and options.headers["Accept-Post"] == "application/sdp"


async def test_second_publisher_and_replace(media: Client) -> None:
    first, offer = await whip_offer()
    created = await post(media, "/whip/s", offer, auth(token(media, "s", publish=True)))
    assert created.status == 201
    second, offer2 = await whip_offer()
    await problem(await post(media, "/whip/s", offer2, auth(token(media, "s", publish=True))), 409)
    replaced = await post(media, "/whip/s", offer2, auth(token(media, "s", publish=True, replace=True)))
    assert replaced.status == 201, await replaced.text()
    sessions = engine_of(media).sessions()
    assert [s.id for s in sessions] == [replaced.headers["Location"].rsplit("/", 1)[1]]
    await engine_of(media).end_stream("s")
    third, offer3 = await whip_offer()
    await problem(
        await post(media, "/whip/s", offer3, auth(token(media, "s", publish=True, replace=True))), 410
    )
    assert engine_of(media).sessions() == []
    for pc in (first, second, third):
        await pc.close()


async def test_media_token_endpoint(media: Client) -> None:
    from tests.api.helpers import bearer, register

    creator = await register(media, "cara", account_type="creator")
    viewer = await register(media, "vic")
    uid = creator["user"]["id"]
    minted = await media.post(
        "/api/media/tokens", json={"stream_id": f"{uid}-live", "publish": True}, headers=bearer(creator)
    )
    assert minted.status == 201, await minted.text()
    body = await minted.json()
    assert body["whip_url"] == f"/whip/{uid}-live"
    pub, offer = await whip_offer()
    created = await post(media, body["whip_url"], offer, auth(body["token"]))
    assert created.status == 201, await created.text()
    await pub.close()
    await problem(
        await media.post(
            "/api/media/tokens", json={"stream_id": "someone-else", "publish": True}, headers=bearer(creator)
        ),
        403,
    )
    await problem(
        await media.post(
            "/api/media/tokens",
            json={"stream_id": viewer["user"]["id"], "publish": True},
            headers=bearer(viewer),
        ),
        403,
    )
    sub = await media.post("/api/media/tokens", json={"stream_id": f"{uid}-live"}, headers=bearer(viewer))
    assert sub.status == 201
    # A media token is not an API token, and an API token is not a media token.
    await problem(await media.get("/api/auth/me", headers=auth((await sub.json())["token"])), 401)
    await problem(await post(media, "/whip/x", offer, bearer(creator)), 401)
    await problem(await media.post("/api/media/tokens", json={"stream_id": "x"}), 401)
