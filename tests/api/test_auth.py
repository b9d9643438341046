"""Auth flows over real HTTP: register, login, me, refresh rotation with reuse detection, logout."""

from __future__ import annotations

import asyncio

from tests.api.helpers import Client, bearer, problem, register


async def test_register_login_me(client: Client) -> None:
    session = await register(client, "alice", display_name="Alice A", account_type="creator")
    assert session["token_type"] == "Bearer"
    assert session["expires_in"] == 900
    assert session["user"]["role"] == "creator"

    me = await client.get("/api/auth/me", headers=bearer(session))
    assert me.status == 200
    body = await me.json()
    assert body["username"] == "alice" and body["display_name"] == "Alice A"
    assert "password_hash" not in body

    for login in ("alice", "ALICE@example.test"):
        response = await client.post("/api/auth/login", json={"login": login, "password": "correct horse battery"})
        assert response.status == 200, await response.text()
        assert (await response.json())["user"]["id"] == session["user"]["id"]


async def test_wrong_password_and_unknown_user_look_the_same(client: Client) -> None:
    await register(client, "bob")
    wrong = await problem(await client.post("/api/auth/login", json={"login": "bob", "password": "nope-nope"}), 401)
    unknown = await problem(
        await client.post("/api/auth/login", json={"login": "nobody", "password": "nope-nope"}), 401
    )
    assert wrong["type"] == unknown["type"] and wrong["detail"] == unknown["detail"]


async def test_duplicate_registration_is_a_conflict(client: Client) -> None:
    await register(client, "carol")
    body = {"username": "Carol", "email": "other@example.test", "password": "long enough pass"}
    assert (await problem(await client.post("/api/auth/register", json=body), 409))["type"].endswith("username-taken")
    body = {"username": "carol2", "email": "CAROL@example.test", "password": "long enough pass"}
    assert (await problem(await client.post("/api/auth/register", json=body), 409))["type"].endswith("email-taken")


async def test_admin_cannot_be_self_assigned(client: Client) -> None:
    body = {"username": "mallory", "email": "m@example.test", "password": "long enough pass", "account_type": "admin"}
    await problem(await client.post("/api/auth/register", json=body), 422)


async def test_refresh_rotates_and_reuse_revokes_the_family(client: Client) -> None:
    first = await register(client, "dave")
    r1 = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r1.status == 200
    second = await r1.json()
    assert second["refresh_token"] != first["refresh_token"]

    # The spent token comes back (stolen, replayed): rejected, and the whole family dies with it.
    reuse = await problem(await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]}), 401)
    assert reuse["type"].endswith("refresh-token-reused")
    revoked = await problem(
        await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]}), 401
    )
    assert revoked["type"].endswith("session-revoked")

    # Another login is another family and still works.
    again = await client.post("/api/auth/login", json={"login": "dave", "password": "correct horse battery"})
    fresh = await again.json()
    assert (await client.post("/api/auth/refresh", json={"refresh_token": fresh["refresh_token"]})).status == 200


async def test_concurrent_refresh_with_one_token_has_one_winner(client: Client) -> None:
    session = await register(client, "erin")
    responses = await asyncio.gather(
        *(client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]}) for _ in range(5))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) == 1 and statuses.count(401) == 4


async def test_logout_revokes_the_session(client: Client) -> None:
    session = await register(client, "frank")
    assert (await client.post("/api/auth/logout", json={"refresh_token": session["refresh_token"]})).status == 204
    await problem(await client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]}), 401)
    await problem(await client.post("/api/auth/logout", json={"refresh_token": "x" * 43}), 401)


async def test_tampered_and_malformed_tokens(client: Client) -> None:
    session = await register(client, "grace")
    token = session["access_token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    for value in (f"Bearer {tampered}", "Bearer ", "Basic Zm9vOmJhcg==", f"Bearer {token}x", "Bearer a.b.c"):
        body = await problem(await client.get("/api/auth/me", headers={"Authorization": value}), 401)
        assert "WWW-Authenticate" in (await client.get("/api/auth/me", headers={"Authorization": value})).headers
        assert body["type"].endswith(("invalid-token", "unauthorized"))
    await problem(await client.get("/api/auth/me"), 401)
