"""Card payments behind one small interface, and the offline ``sandbox`` provider.

A provider charges an :class:`Order` and answers with a :class:`Charge`, or raises
:class:`PaymentDeclined` (the card said no: the client's problem, 402) or :class:`PaymentProviderError`
(the provider failed: ours, 502). The order's idempotency key goes to the provider, so a retried purchase
is charged once; the charge's ``reference`` then names the payment everywhere (ledger key, payments row).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # e.g. 3-D Secure: the provider's webhook settles it later


@dataclass(frozen=True, slots=True)
class Order:
    amount_cents: int
    currency: str
    token: str
    description: str
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Charge:
    reference: str
    status: ChargeStatus
    amount_cents: int
    currency: str


class PaymentError(Exception):
    """Root of payment failures."""


class PaymentDeclined(PaymentError):
    def __init__(self, code: str, message: str, reference: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.reference = code, message, reference


class InvalidPaymentToken(PaymentError):
    pass


class PaymentProviderError(PaymentError):
    pass


class PaymentProvider(Protocol):
    name: str

    async def charge(self, order: Order) -> Charge: ...

    async def close(self) -> None: ...


# Stripe's documented test tokens (https://docs.stripe.com/testing#cards), so clients written against
# Stripe's test mode run unchanged against the sandbox.
_SUCCEEDING = {"tok_visa", "tok_visa_debit", "tok_mastercard", "tok_amex", "tok_discover", "tok_jcb"}
_DECLINING = {
    "tok_chargeDeclined": ("card_declined", "Your card was declined."),
    "tok_chargeDeclinedInsufficientFunds": ("insufficient_funds", "Your card has insufficient funds."),
    "tok_chargeDeclinedExpiredCard": ("expired_card", "Your card has expired."),
    "tok_chargeDeclinedIncorrectCvc": ("incorrect_cvc", "Your card's security code is incorrect."),
    "tok_chargeDeclinedFraudulent": ("card_declined", "Your card was declined."),
}


class SandboxProvider:
    """Charges nobody: test tokens decide the outcome, so the whole purchase flow runs offline."""

    name = "sandbox"

    async def charge(self, order: Order) -> Charge:
        # The same idempotency key always names the same sandbox payment, like Stripe's idempotent requests.
        reference = "sbpi_" + hashlib.sha256(order.idempotency_key.encode()).hexdigest()[:24]
        if order.token in _SUCCEEDING:
            return Charge(reference, ChargeStatus.SUCCEEDED, order.amount_cents, order.currency)
        if order.token in _DECLINING:
            code, message = _DECLINING[order.token]
            raise PaymentDeclined(code, message, reference)
        raise InvalidPaymentToken(
            f"unknown payment token {order.token!r}; the sandbox takes Stripe test tokens "
            "such as tok_visa and tok_chargeDeclined"
        )

    async def close(self) -> None:
        return None
