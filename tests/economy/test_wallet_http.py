"""Wallets, coins and payouts over real HTTP: purchases, transfers, withdrawals, privacy, bad input."""

from __future__ import annotations

from typing import Any

from api.auth.tokens import Role
from api.state import ACCESS_TOKENS
from tests.api.helpers import problem
from tests.economy.conftest import Client, app_audit_ok, app_snapshot, bearer, register, top_up, wallet


async def test_packages_purchase_and_top_up(econ: Client) -> None:
    packages = await (await econ.get("/api/coins/packages")).json()
    assert packages[0] == {
        "id": "coins_70",
        "name": "70 coins",
        "coins": 70,
        "bonus_coins": 0,
        "total_coins": 70,
        "price_cents": 99,
        "price_currency": "USD",
    }
    carla = await register(econ)
    response = await econ.post(
        "/api/coins/purchase",
        json={"package_id": "coins_700", "payment_token": "tok_visa"},
        headers=bearer(carla),
    )
    assert response.status == 201, await response.text()
    receipt = await response.json()
    assert receipt["status"] == "succeeded" and receipt["coins"] == 735 and receipt["balance"] == 735
    assert receipt["amount_cents"] == 999 and receipt["provider"] == "sandbox"
    receipt = await top_up(econ, carla, 100)
    assert receipt["amount_cents"] == 142 and receipt["balance"] == 835
    assert (await wallet(econ, carla)) == {"user_id": carla["user"]["id"], "coins": 835, "diamonds": 0}
    await app_audit_ok(econ)


async def test_declined_card_and_bad_purchases_change_nothing(econ: Client) -> None:
    carla = await register(econ)
    await top_up(econ, carla, 50)
    before = await app_snapshot(econ)
    declined = await problem(
        await econ.post(
            "/api/coins/purchase",
            json={"package_id": "coins_70", "payment_token": "tok_chargeDeclined"},
            headers=bearer(carla),
        ),
        402,
    )
    assert declined["type"].endswith("card-declined") and declined["decline_code"] == "card_declined"
    await problem(
        await econ.post(
            "/api/coins/purchase",
            json={"package_id": "nope", "payment_token": "tok_visa"},
            headers=bearer(carla),
        ),
        404,
    )
    await problem(
        await econ.post(
            "/api/coins/purchase",
            json={"package_id": "coins_70", "payment_token": "tok_x"},
            headers=bearer(carla),
        ),
        400,
    )
    for coins in (0, -5, 1.5, "10", 10**9, None):
        await problem(
            await econ.post(
                "/api/wallets/top-up",
                json={"coins": coins, "payment_token": "tok_visa"},
                headers=bearer(carla),
            ),
            422,
        )
    await problem(await econ.post("/api/wallets/top-up", json={"coins": 5}), 401)
    assert await app_snapshot(econ) == before


async def test_retried_purchase_is_charged_and_credited_once(econ: Client) -> None:
    carla = await register(econ)
    headers = {**bearer(carla), "Idempotency-Key": "buy-1"}
    body = {"package_id": "coins_350", "payment_token": "tok_visa"}
    first = await econ.post("/api/coins/purchase", json=body, headers=headers)
    again = await econ.post("/api/coins/purchase", json=body, headers=headers)
    assert first.status == again.status == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (await wallet(econ, carla))["coins"] == 350
    other = await econ.post("/api/coins/purchase", json={**body, "package_id": "coins_70"}, headers=headers)
    assert (await problem(other, 422))["type"].endswith("idempotency-key-reused")
    assert (await wallet(econ, carla))["coins"] == 350


async def test_transfer_between_users(econ: Client) -> None:
    carla, dmitri = await register(econ), await register(econ)
    await top_up(econ, carla, 100)
    response = await econ.post(
        "/api/wallets/transfer",
        json={"to_user_id": dmitri["user"]["id"], "amount": 40, "note": "for lunch"},
        headers=bearer(carla),
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["balance"] == 60
    assert (await wallet(econ, dmitri))["coins"] == 40
    before = await app_snapshot(econ)
    cases: list[tuple[dict[str, Any], int]] = [
        ({"to_user_id": dmitri["user"]["id"], "amount": 61}, 402),
        ({"to_user_id": carla["user"]["id"], "amount": 1}, 400),
        ({"to_user_id": "01" + "A" * 24, "amount": 1}, 404),
        ({"to_user_id": dmitri["user"]["id"], "amount": 0}, 422),
        ({"to_user_id": dmitri["user"]["id"], "amount": -3}, 422),
        ({"to_user_id": dmitri["user"]["id"], "amount": 2.5}, 422),
        ({"to_user_id": dmitri["user"]["id"], "amount": 10**12}, 422),
        ({"to_user_id": "not-an-id", "amount": 1}, 422),
    ]
    for body, status in cases:
        await problem(await econ.post("/api/wallets/transfer", json=body, headers=bearer(carla)), status)
    assert await app_snapshot(econ) == before
    await app_audit_ok(econ)


async def test_only_the_owner_or_an_admin_sees_a_wallet(econ: Client) -> None:
    carla, dmitri = await register(econ), await register(econ)
    await top_up(econ, carla, 30)
    own = carla["user"]["id"]
    for path in (f"/api/wallets/{own}/balance", f"/api/wallets/{own}/transactions"):
        assert (await econ.get(path, headers=bearer(carla))).status == 200
        await problem(await econ.get(path, headers=bearer(dmitri)), 403)
        await problem(await econ.get(path), 401)
        assert (await econ.get(path, headers=_as_admin(econ, dmitri))).status == 200
    page = await (await econ.get(f"/api/wallets/{own}/transactions", headers=bearer(carla))).json()
    assert [(t["kind"], t["amount"], t["balance_after"], t["counterparty"]) for t in page["items"]] == [
        ("purchase", 30, 30, "system:clearing")
    ]


async def test_transactions_page_with_cursor(econ: Client) -> None:
    carla, dmitri = await register(econ), await register(econ)
    await top_up(econ, carla, 100)
    for i in range(5):
        await econ.post(
            "/api/wallets/transfer",
            json={"to_user_id": dmitri["user"]["id"], "amount": i + 1},
            headers=bearer(carla),
        )
    path = f"/api/wallets/{carla['user']['id']}/transactions"
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await econ.get(path, params=params, headers=bearer(carla))).json()
        seen.extend(t["amount"] for t in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [-5, -4, -3, -2, -1, 100]
    await problem(await econ.get(path, params={"cursor": "garbage!"}, headers=bearer(carla)), 400)


async def test_withdraw_then_paid_or_failed(econ: Client) -> None:
    fan, creator = await register(econ), await register(econ, account_type="creator")
    admin_login = await register(econ)  # registration cannot make admins: a token with the role is issued
    await top_up(econ, fan, 200)
    send = await econ.post(
        "/api/gifts/send",
        json={"gift_id": "doughnut", "receiver_id": creator["user"]["id"], "quantity": 4},
        headers=bearer(fan),
    )
    assert send.status == 201, await send.text()
    assert (await wallet(econ, creator))["diamonds"] == 60

    await problem(await econ.post("/api/wallets/withdraw", json={"diamonds": 5}, headers=bearer(creator)), 422)
    await problem(await econ.post("/api/wallets/withdraw", json={"diamonds": 61}, headers=bearer(creator)), 402)
    first = await econ.post("/api/monetization/withdraw", json={"diamonds": 20}, headers=bearer(creator))
    second = await econ.post("/api/wallets/withdraw", json={"diamonds": 30}, headers=bearer(creator))
    assert first.status == second.status == 201
    paid_id, failed_id = (await first.json())["id"], (await second.json())["id"]
    assert (await wallet(econ, creator))["diamonds"] == 10

    admin = _as_admin(econ, admin_login)
    await problem(
        await econ.post(f"/api/admin/payouts/{paid_id}", json={"status": "paid"}, headers=bearer(creator)),
        403,
    )
    paid = await econ.post(f"/api/admin/payouts/{paid_id}", json={"status": "paid"}, headers=admin)
    assert (await paid.json())["status"] == "paid"
    failed = await econ.post(
        f"/api/admin/payouts/{failed_id}", json={"status": "failed", "reason": "bank said no"}, headers=admin
    )
    assert (await failed.json())["status"] == "failed"
    assert (await wallet(econ, creator))["diamonds"] == 40  # the failed payout came back
    again = await econ.post(f"/api/admin/payouts/{paid_id}", json={"status": "failed"}, headers=admin)
    assert (await problem(again, 409))["type"].endswith("payout-decided")
    assert (await wallet(econ, creator))["diamonds"] == 40
    mine = await (await econ.get("/api/monetization/payouts", headers=bearer(creator))).json()
    assert [(p["id"], p["status"], p["diamonds"]) for p in mine] == [(failed_id, "failed", 30), (paid_id, "paid", 20)]
    assert mine[0]["failure"] == "bank said no"
    assert await (await econ.get("/api/admin/payouts", params={"status": "pending"}, headers=admin)).json() == []
    await problem(await econ.get("/api/admin/payouts", headers=bearer(creator)), 403)
    diamonds = await (
        await econ.get(
            f"/api/wallets/{creator['user']['id']}/transactions",
            params={"currency": "diamonds"},
            headers=bearer(creator),
        )
    ).json()
    assert [(t["kind"], t["amount"]) for t in diamonds["items"]] == [
        ("payout_failed", 30),
        ("payout", -30),
        ("payout", -20),
        ("gift", 60),
    ]
    earnings = await (await econ.get("/api/monetization/earnings?period=all", headers=bearer(creator))).json()
    assert earnings["earned"] == 60 and earnings["by_source"] == {"gifts": 60}
    assert earnings["paid_out"] == 20 and earnings["pending_payouts"] == 0 and earnings["diamonds_balance"] == 40
    await app_audit_ok(econ)


def _as_admin(client: Client, session: dict[str, Any]) -> dict[str, str]:
    token = client.app[ACCESS_TOKENS].issue(session["user"]["id"], Role.ADMIN, "test-session")
    return {"Authorization": f"Bearer {token}"}


async def test_ledger_metrics(econ: Client) -> None:
    carla = await register(econ)
    await top_up(econ, carla, 10)
    text = await (await econ.get("/metrics")).text()
    assert "mixillo_ledger_transfers_total 1.0" in text
    assert "mixillo_ledger_batches_total 1.0" in text and "mixillo_ledger_queue_depth 0.0" in text
