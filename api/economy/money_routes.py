"""``/api/wallets``, ``/api/coins``, withdrawals and payouts, and Stripe's webhook: endpoints that move money.

Every POST here is idempotent twice over: the routing layer replays a stored response for a repeated
``Idempotency-Key``, and the ledger key derived from it (``api.economy.keys``) makes the transfer itself
happen once even if a retry gets past that layer.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from api import idempotency
from api.auth.tokens import Principal
from api.economy.keys import ledger_key
from api.economy.models import (
    CoinPackage,
    CoinTransferRequest,
    Payout,
    PayoutDecision,
    PayoutsQuery,
    PurchaseReceipt,
    PurchaseRequest,
    TopUpRequest,
    Transaction,
    TransactionsQuery,
    TransferReceipt,
    Wallet,
    WithdrawRequest,
)
from api.economy.stripe import InvalidSignature, parse_event, verify_signature
from api.models import Page
from api.problems import BadRequest, Forbidden, NotFound
from api.routing import Access, Limit, Routes, principal
from api.state import ECONOMY, SETTINGS
from store.ids import is_id

log = logging.getLogger(__name__)
routes = Routes()
WALLET, COINS, MONETIZATION, ADMIN = ("wallets",), ("coins",), ("monetization",), ("admin",)


def _key(request: web.Request, purpose: str, who: Principal) -> str:
    return ledger_key(purpose, who.user_id, request.headers.get(idempotency.HEADER))


def _owner_or_admin(who: Principal, user_id: str) -> None:
    if who.user_id != user_id and not who.is_admin:
        raise Forbidden("only the owner of a wallet (or an administrator) can see it", slug="not-your-wallet")


def _user_id(request: web.Request) -> str:
    value = request.match_info["user_id"]
    if not is_id(value):
        raise NotFound(f"no user {value}", slug="unknown-user")
    return value


@routes.get("/api/wallets", response=Wallet, tags=WALLET)
async def my_wallet(request: web.Request) -> Wallet:
    """The caller's coins and diamonds."""
    return await request.app[ECONOMY].wallets.wallet(principal(request).user_id)


@routes.get("/api/wallets/{user_id}/balance", response=Wallet, tags=WALLET, errors=(403,))
async def wallet_balance(request: web.Request) -> Wallet:
    """A wallet's balances (its owner or an administrator)."""
    user_id = _user_id(request)
    _owner_or_admin(principal(request), user_id)
    return await request.app[ECONOMY].wallets.wallet(user_id)


@routes.get(
    "/api/wallets/{user_id}/transactions",
    query=TransactionsQuery,
    response=Page[Transaction],
    tags=WALLET,
    errors=(403,),
)
async def wallet_transactions(request: web.Request, query: TransactionsQuery) -> Page[Transaction]:
    """A wallet's ledger entries, newest first (its owner or an administrator)."""
    user_id = _user_id(request)
    _owner_or_admin(principal(request), user_id)
    items, cursor = await request.app[ECONOMY].wallets.transactions(user_id, query.currency, query.cursor, query.limit)
    return Page[Transaction](items=items, next_cursor=cursor)


@routes.post(
    "/api/wallets/top-up",
    body=TopUpRequest,
    response=PurchaseReceipt,
    status=201,
    tags=WALLET,
    idempotent=True,
    errors=(402, 502),
)
async def top_up(request: web.Request, body: TopUpRequest) -> PurchaseReceipt:
    """Buy a custom number of coins with a card."""
    who = principal(request)
    return await request.app[ECONOMY].coins.top_up(
        who.user_id, body.coins, body.payment_token, _key(request, "topup", who)
    )


@routes.post(
    "/api/wallets/transfer",
    body=CoinTransferRequest,
    response=TransferReceipt,
    status=201,
    tags=WALLET,
    idempotent=True,
    errors=(402, 404),
)
async def transfer(request: web.Request, body: CoinTransferRequest) -> TransferReceipt:
    """Send coins to another user."""
    who = principal(request)
    return await request.app[ECONOMY].wallets.transfer(
        who.user_id, body.to_user_id, body.amount, body.note, _key(request, "transfer", who)
    )


async def _withdraw(request: web.Request, body: WithdrawRequest) -> Payout:
    who = principal(request)
    return await request.app[ECONOMY].payouts.withdraw(
        who.user_id, body.diamonds, body.method, _key(request, "withdraw", who)
    )


@routes.post(
    "/api/wallets/withdraw",
    body=WithdrawRequest,
    response=Payout,
    status=201,
    tags=WALLET,
    idempotent=True,
    errors=(402,),
)
async def wallet_withdraw(request: web.Request, body: WithdrawRequest) -> Payout:
    """Withdraw diamonds: a payout request, pending until an administrator pays or fails it."""
    return await _withdraw(request, body)


@routes.post(
    "/api/monetization/withdraw",
    body=WithdrawRequest,
    response=Payout,
    status=201,
    tags=MONETIZATION,
    idempotent=True,
    errors=(402,),
)
async def monetization_withdraw(request: web.Request, body: WithdrawRequest) -> Payout:
    """Withdraw diamonds (the same as ``POST /api/wallets/withdraw``)."""
    return await _withdraw(request, body)


@routes.get("/api/monetization/payouts", query=PayoutsQuery, response=list[Payout], tags=MONETIZATION)
async def my_payouts(request: web.Request, query: PayoutsQuery) -> web.Response:
    """The caller's payout requests, newest first."""
    found = await request.app[ECONOMY].payouts.list(principal(request).user_id, query.status, query.limit)
    return web.json_response([p.model_dump(mode="json") for p in found])


@routes.get("/api/admin/payouts", query=PayoutsQuery, response=list[Payout], access=Access.ADMIN, tags=ADMIN)
async def admin_payouts(request: web.Request, query: PayoutsQuery) -> web.Response:
    """All payout requests, newest first."""
    found = await request.app[ECONOMY].payouts.list(None, query.status, query.limit)
    return web.json_response([p.model_dump(mode="json") for p in found])


@routes.post(
    "/api/admin/payouts/{payout_id}",
    body=PayoutDecision,
    response=Payout,
    access=Access.ADMIN,
    tags=ADMIN,
    idempotent=True,
    errors=(404, 409),
)
async def decide_payout(request: web.Request, body: PayoutDecision) -> Payout:
    """Mark a pending payout paid, or failed (its diamonds go back to the creator)."""
    return await request.app[ECONOMY].payouts.decide(request.match_info["payout_id"], body.status, body.reason)


@routes.get("/api/coins/packages", response=list[CoinPackage], access=Access.PUBLIC, tags=COINS)
async def coin_packages(request: web.Request) -> web.Response:
    """The coin packages on sale."""
    packages = await request.app[ECONOMY].coins.packages()
    return web.json_response([p.model_dump(mode="json") for p in packages])


@routes.post(
    "/api/coins/purchase",
    body=PurchaseRequest,
    response=PurchaseReceipt,
    status=201,
    tags=COINS,
    idempotent=True,
    errors=(402, 404, 502),
)
async def purchase(request: web.Request, body: PurchaseRequest) -> PurchaseReceipt:
    """Buy a coin package with a card."""
    who = principal(request)
    return await request.app[ECONOMY].coins.purchase(
        who.user_id, body.package_id, body.payment_token, _key(request, "purchase", who)
    )


@routes.post(
    "/api/payments/stripe/webhook",
    access=Access.PUBLIC,
    limit=Limit.NONE,
    tags=COINS,
    request_content={"application/json": {"schema": {"type": "object"}}},
    errors=(400, 404),
)
async def stripe_webhook(request: web.Request) -> web.Response:
    """Stripe's events: a succeeded payment intent credits its coins, exactly once."""
    settings = request.app[SETTINGS]
    shop = request.app[ECONOMY].coins
    if shop.provider.name != "stripe" or settings.stripe_webhook_secret is None:
        raise NotFound("Stripe webhooks are not enabled on this server", slug="webhook-disabled")
    payload = await request.read()
    try:
        verify_signature(
            payload,
            request.headers.get("Stripe-Signature", ""),
            settings.stripe_webhook_secret.get_secret_value(),
            time.time(),
        )
        event = parse_event(payload)
    except InvalidSignature as exc:
        raise BadRequest(f"bad Stripe-Signature: {exc}", slug="invalid-signature") from None
    except ValueError:
        raise BadRequest("the webhook body is not a Stripe event", slug="malformed-json") from None
    intent = event.get("data", {}).get("object", {})
    if event["type"] == "payment_intent.succeeded":
        await shop.settle(
            str(intent["id"]),
            dict(intent.get("metadata") or {}),
            int(intent.get("amount", 0)),
            str(intent.get("currency", "usd")),
        )
    elif event["type"] == "payment_intent.payment_failed":
        error = intent.get("last_payment_error") or {}
        await shop.fail(str(intent["id"]), str(error.get("code") or "payment_failed"))
    else:
        log.info("ignoring Stripe event %s", event["type"])
    return web.json_response({"received": True})
