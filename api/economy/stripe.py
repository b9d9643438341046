"""Stripe: PaymentIntents over its HTTP API, and webhook signature verification.

API: https://docs.stripe.com/api/payment_intents/create (form-encoded, Bearer secret key, ``Idempotency-Key``
header, https://docs.stripe.com/api/idempotent_requests). A declined card is HTTP 402 with an ``error``
object of type ``card_error`` (https://docs.stripe.com/api/errors).

Webhooks: https://docs.stripe.com/webhooks#verify-manually. The ``Stripe-Signature`` header is
``t=<unix time>,v1=<hex>[,v1=...]``; ``v1`` is HMAC-SHA256 of ``"<t>.<raw body>"`` keyed with the endpoint
secret. Signatures older than the tolerance (300 s by default) are refused to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp

from api.economy.payments import (
    Charge,
    ChargeStatus,
    InvalidPaymentToken,
    Order,
    PaymentDeclined,
    PaymentProviderError,
)

TOLERANCE_S = 300


class InvalidSignature(Exception):
    pass


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value Stripe would send (used by tests and local tooling)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(payload: bytes, header: str, secret: str, now: float, tolerance: int = TOLERANCE_S) -> None:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("the signature timestamp is not a number") from None
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("the Stripe-Signature header lacks t= or v1=")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise InvalidSignature("no v1 signature matches the payload")
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("the signature timestamp is outside the tolerance")


def parse_event(payload: bytes) -> dict[str, Any]:
    event = json.loads(payload)
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("not a Stripe event")
    return event


class StripeProvider:
    name = "stripe"

    def __init__(self, secret_key: str, api_base: str = "https://api.stripe.com") -> None:
        self._secret_key = secret_key
        self._api_base = api_base.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def charge(self, order: Order) -> Charge:
        form = {
            "amount": str(order.amount_cents),
            "currency": order.currency.lower(),
            "confirm": "true",
            "description": order.description,
            "payment_method_data[type]": "card",
            "payment_method_data[card][token]": order.token,
            "automatic_payment_methods[enabled]": "true",
            "automatic_payment_methods[allow_redirects]": "never",
        }
        for key, value in order.metadata.items():
            form[f"metadata[{key}]"] = value
        headers = {"Authorization": f"Bearer {self._secret_key}", "Idempotency-Key": order.idempotency_key}
        try:
            async with self._client().post(
                f"{self._api_base}/v1/payment_intents", data=form, headers=headers
            ) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PaymentProviderError(f"Stripe could not be reached: {exc}") from exc
        if status == 200:
            return _charge_of(body)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if error.get("type") == "card_error":
            intent = error.get("payment_intent") or {}
            raise PaymentDeclined(
                error.get("decline_code") or error.get("code") or "card_declined",
                error.get("message") or "Your card was declined.",
                intent.get("id"),
            )
        if error.get("type") == "invalid_request_error" and error.get("param", "").startswith("payment_method"):
            raise InvalidPaymentToken(error.get("message") or "invalid payment token")
        raise PaymentProviderError(f"Stripe answered {status}: {error.get('message', 'no message')}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _charge_of(intent: dict[str, Any]) -> Charge:
    status = ChargeStatus.SUCCEEDED if intent.get("status") == "succeeded" else ChargeStatus.PENDING
    return Charge(str(intent["id"]), status, int(intent["amount"]), str(intent["currency"]).upper())
