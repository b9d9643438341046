"""From HTTP to the ledger: idempotency keys derived from the client's, and refusals as problems."""

from __future__ import annotations

import hashlib

from api.problems import ApiError, Conflict, PaymentRequired, ServiceUnavailable, Unprocessable
from store.ids import new_id
from store.ledger import (
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
    LedgerClosed,
    LedgerError,
)


def ledger_key(purpose: str, user_id: str, client_key: str | None) -> str:
    """The ledger key for one user's request: the same client key gives the same ledger key, so a retry
    has one effect even if it gets past the HTTP idempotency layer; no client key gives a fresh one."""
    if client_key is None:
        return f"{purpose}:{user_id}:{new_id()}"
    digest = hashlib.sha256(client_key.encode()).hexdigest()[:40]
    return f"{purpose}:{user_id}:k{digest}"


def refused(exc: LedgerError) -> ApiError:
    if isinstance(exc, InsufficientFunds):
        currency = exc.account_id.rsplit(":", 1)[-1]
        return PaymentRequired(
            f"not enough {currency}: the balance is {exc.balance}, this needs {exc.needed}",
            balance=exc.balance,
            needed=exc.needed,
            currency=currency,
        )
    if isinstance(exc, IdempotencyKeyReused):
        return Unprocessable(
            "this Idempotency-Key was already used with a different request", slug="idempotency-key-reused"
        )
    if isinstance(exc, AlreadyReversed):
        return Conflict(str(exc), slug="already-reversed")
    if isinstance(exc, LedgerClosed):
        return ServiceUnavailable(
            "the server is shutting down; retry with the same Idempotency-Key", headers={"Retry-After": "1"}
        )
    if isinstance(exc, InvalidTransfer):
        return Unprocessable(str(exc), slug="invalid-transfer")
    return Conflict(str(exc), slug="ledger-refused")
