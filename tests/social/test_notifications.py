"""Notifications over real HTTP (list, read, read-all, unread count, delete, toggles, other domains' events)
and the FCM HTTP v1 adapter against a fake transport."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.app import create_app
from api.config import ConfigError, Settings
from api.social.push import FCM_SCOPE, FcmPush, PushError, PushMessage, RecordingPush, ServiceAccount
from api.state import SOCIAL
from rooms.lives import Followers
from tests.api.helpers import Client, problem
from tests.social.conftest import Media, ids, ok, post_image, user


async def test_list_read_and_delete(client: Client, media: Media) -> None:
    alice = await user(client)
    fans = [await user(client) for _ in range(3)]
    for fan in fans:
        assert (await client.post(f"/api/users/{alice.id}/follow", headers=fan.headers)).status == 204
    h = alice.headers
    assert (await ok(await client.get("/api/notifications/unread-count", headers=h)))["count"] == 3
    page = await ok(await client.get("/api/notifications", params={"limit": "2"}, headers=h))
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert page["items"][0]["actor_id"] == fans[2].id and page["items"][0]["text"].endswith("started following you")
    rest = await ok(await client.get("/api/notifications", params={"cursor": page["next_cursor"]}, headers=h))
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    first = page["items"][0]["id"]
    assert (await client.put(f"/api/notifications/{first}/read", headers=h)).status == 204
    assert (await ok(await client.get("/api/notifications/unread-count", headers=h)))["count"] == 2
    unread = await ok(await client.get("/api/notifications", params={"unread": "true"}, headers=h))
    assert first not in ids(unread) and len(unread["items"]) == 2
    assert (await ok(await client.put("/api/notifications/read-all", headers=h)))["updated"] == 2
    assert (await ok(await client.get("/api/notifications/unread-count", headers=h)))["count"] == 0
    assert (await client.delete(f"/api/notifications/{first}", headers=h)).status == 204
    await problem(await client.delete(f"/api/notifications/{first}", headers=h), 404)
    # Someone else's notification is not mine to read.
    other = await post_image(client, fans[0], media)
    await ok(await client.post(f"/api/content/{other['id']}/like", headers=alice.headers))
    theirs = (await ok(await client.get("/api/notifications", headers=fans[0].headers)))["items"][0]["id"]
    await problem(await client.put(f"/api/notifications/{theirs}/read", headers=h), 404)


async def test_toggles_stop_notifications(client: Client, media: Media) -> None:
    alice, bob = await user(client), await user(client)
    await ok(await client.put("/api/settings/notifications", json={"likes": False}, headers=alice.headers))
    post = await post_image(client, alice, media)
    await ok(await client.post(f"/api/content/{post['id']}/like", headers=bob.headers))
    await ok(await client.post(f"/api/content/{post['id']}/comment", json={"text": "hi"}, headers=bob.headers), 201)
    kinds = [n["kind"] for n in (await ok(await client.get("/api/notifications", headers=alice.headers)))["items"]]
    assert kinds == ["comment"]


async def test_other_domains_notify_and_push(client: Client) -> None:
    creator, fan, quiet = await user(client), await user(client), await user(client)
    for who in (fan, quiet):
        assert (await client.post(f"/api/users/{creator.id}/follow", headers=who.headers)).status == 204
    await ok(await client.put("/api/settings/notifications", json={"live": False}, headers=quiet.headers))
    assert (
        await client.post(
            "/api/notifications/devices",
            json={"token": "device-token-1", "platform": "android"},
            headers=fan.headers,
        )
    ).status == 204
    social = client.app[SOCIAL]
    followers: Followers = social.notifications  # what rooms.lives.Lives is given
    await followers.notify_live(creator.id, "room-1", "Friday stream")
    await social.notifications.gift_received(creator.id, fan.id, "Rose", "room-1")
    await social.notifications.order_status(fan.id, "order-9", "shipped")
    await social.notifications.pk_invite(fan.id, creator.id, "battle-3")
    fan_kinds = [n["kind"] for n in (await ok(await client.get("/api/notifications", headers=fan.headers)))["items"]]
    assert fan_kinds == ["pk_invite", "order", "live"]
    assert (await ok(await client.get("/api/notifications", headers=quiet.headers)))["items"] == []
    creator_kinds = [
        n["kind"] for n in (await ok(await client.get("/api/notifications", headers=creator.headers)))["items"]
    ]
    assert creator_kinds[0] == "gift"
    push = social.notifications._push
    assert isinstance(push, RecordingPush)
    for _ in range(50):
        if len(push.sent) >= 3:
            break
        await asyncio.sleep(0.02)
    assert [m.device_token for m in push.sent] == ["device-token-1"] * 3
    assert push.sent[0].title == "Mixillo" and "live" in push.sent[0].body
    gone = await client.delete("/api/notifications/devices/device-token-1", headers=fan.headers)
    assert gone.status == 204
    await social.notifications.pk_invite(fan.id, creator.id, "battle-4")
    await asyncio.sleep(0.05)
    assert len(push.sent) == 3


class FakeTransport:
    """Answers like Google's token endpoint and FCM; records what it was sent."""

    def __init__(self, send_status: int = 200, send_body: dict[str, Any] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.send_status = send_status
        self.send_body = send_body or {"name": "projects/demo/messages/1"}

    async def post(self, url: str, *, headers: dict[str, str], data: bytes) -> tuple[int, dict[str, Any]]:
        self.requests.append((url, headers, data))
        if url.endswith("/token"):
            return 200, {"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"}
        return self.send_status, self.send_body

    async def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def service_account(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path_factory.mktemp("fcm") / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "demo",
                "private_key": pem,
                "client_email": "push@demo.iam.gserviceaccount.com",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path, key.public_key()


async def test_fcm_adapter_signs_a_grant_and_sends(service_account: tuple[Path, Any]) -> None:
    path, public_key = service_account
    transport = FakeTransport()
    push = FcmPush(ServiceAccount.from_file(path), transport)
    await push.send(PushMessage("tok-1", "Mixillo", "hello", {"kind": "like"}))
    await push.send(PushMessage("tok-2", "Mixillo", "again"))
    token_calls = [r for r in transport.requests if r[0].endswith("/token")]
    assert len(token_calls) == 1  # the access token is cached
    form = urllib.parse.parse_qs(token_calls[0][2].decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(
        form["assertion"][0], public_key, algorithms=["RS256"], audience="https://oauth2.googleapis.com/token"
    )
    assert claims["iss"] == "push@demo.iam.gserviceaccount.com" and claims["scope"] == FCM_SCOPE
    url, headers, body = transport.requests[1]
    assert url == "https://fcm.googleapis.com/v1/projects/demo/messages:send"
    assert headers["Authorization"] == "Bearer ya29.fake"
    assert json.loads(body) == {
        "message": {
            "token": "tok-1",
            "notification": {"title": "Mixillo", "body": "hello"},
            "data": {"kind": "like"},
        }
    }


async def test_fcm_adapter_reports_dead_tokens(service_account: tuple[Path, Any]) -> None:
    error = {
        "error": {
            "code": 404,
            "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}],
        }
    }
    push = FcmPush(ServiceAccount.from_file(service_account[0]), FakeTransport(404, error))
    with pytest.raises(PushError) as caught:
        await push.send(PushMessage("gone", "t", "b"))
    assert caught.value.unregistered


def test_a_bad_service_account_file_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "sa.json"
    broken.write_text("{not json")
    for path in (broken, tmp_path / "missing.json"):
        settings = Settings(data_dir=tmp_path, jwt_secret="x" * 40, fcm_service_account=path)
        with pytest.raises(ConfigError, match="MIXILLO_FCM_SERVICE_ACCOUNT"):
            create_app(settings)
