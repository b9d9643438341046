"""Model check: random concurrent transfers (with overdrafts, replays, key reuse, reversals) give exactly
the outcomes a plain sequential model predicts, and the audit passes after every round.

The writer applies requests in queue order, so the model replays the same list in order; each request's
outcome (applied, replayed, refused and why) and every final balance must match.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from store.database import Database
from store.ledger import (
    Account,
    AlreadyReversed,
    Currency,
    IdempotencyKeyReused,
    InsufficientFunds,
    Ledger,
    Leg,
    Posted,
    System,
    TransferRequest,
)
from store.ledger.audit import audit
from tests.economy.conftest import make_user

COINS = Currency.COINS
CLEARING = Account.system(System.CLEARING, COINS)


@pytest.mark.parametrize("seed", [1, 2])
async def test_concurrent_random_transfers_match_a_sequential_model(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    people = [await make_user(db) for _ in range(6)]
    book = Ledger(db, max_batch=rng.choice([4, 64]))
    model: dict[str, int] = {}
    sent: dict[str, tuple[str, Posted | None, TransferRequest]] = {}  # key -> (fingerprint, result, request)
    reversed_ids: set[str] = set()
    seen: set[str] = set()
    try:
        for _round in range(5):
            requests: list[TransferRequest] = []
            for i in range(60):
                roll = rng.random()
                if roll < 0.15 and sent:  # a retry, or the same key with other content
                    key = rng.choice(list(sent))
                    original = sent[key][2]
                    if rng.random() < 0.5:
                        requests.append(original)
                    else:
                        leg = original.legs[0]
                        requests.append(
                            TransferRequest(key, original.kind, (Leg(leg.debit, leg.credit, leg.amount + 1),))
                        )
                    continue
                key = f"r{_round}-{i}"
                if roll < 0.3:
                    who = rng.choice(people)
                    requests.append(
                        TransferRequest(key, "purchase", (Leg(CLEARING, Account.user(who, COINS), rng.randint(1, 50)),))
                    )
                elif roll < 0.4 and any(p is not None for _, p, _ in sent.values()):
                    target = rng.choice([p for _, p, _ in sent.values() if p is not None])
                    legs = tuple(Leg(leg.credit, leg.debit, leg.amount) for leg in target.legs)
                    requests.append(TransferRequest(key, "reversal", legs, reverses=target.transfer_id))
                else:
                    a, b = rng.sample(people, 2)
                    requests.append(
                        TransferRequest(
                            key, "transfer", (Leg(Account.user(a, COINS), Account.user(b, COINS), rng.randint(1, 40)),)
                        )
                    )
            outcomes = await asyncio.gather(*(book.post(r) for r in requests), return_exceptions=True)

            for request, outcome in zip(requests, outcomes, strict=True):
                expected = _model_step(request, model, sent, reversed_ids)
                if expected is Posted:
                    assert isinstance(outcome, Posted) and not outcome.replayed, (request, outcome)
                    sent[request.key] = (request.fingerprint(), outcome, request)
                    if request.reverses:
                        reversed_ids.add(request.reverses)
                elif expected == "replay":
                    assert isinstance(outcome, Posted) and outcome.replayed, (request, outcome)
                    assert outcome.transfer_id == sent[request.key][1].transfer_id  # type: ignore[union-attr]
                else:
                    assert isinstance(outcome, expected), (request, outcome)  # type: ignore[arg-type]
                seen.add(expected if isinstance(expected, str) else expected.__name__)  # type: ignore[attr-defined]
            report = await audit(db)
            assert report.ok, report.lines()
        # The random mix exercised every kind of outcome, so each comparison above could have failed.
        assert seen == {"Posted", "replay", "IdempotencyKeyReused", "AlreadyReversed", "InsufficientFunds"}, seen
        for person in people:
            assert await book.balance(Account.user(person, COINS)) == model.get(Account.user(person, COINS).id, 0)
    finally:
        await book.close()


def _model_step(
    request: TransferRequest,
    model: dict[str, int],
    sent: dict[str, tuple[str, Posted | None, TransferRequest]],
    reversed_ids: set[str],
) -> object:
    if request.key in sent:
        return "replay" if sent[request.key][0] == request.fingerprint() else IdempotencyKeyReused
    if request.reverses is not None and request.reverses in reversed_ids:
        return AlreadyReversed
    net: dict[str, int] = {}
    for leg in request.legs:
        net[leg.debit.id] = net.get(leg.debit.id, 0) - leg.amount
        net[leg.credit.id] = net.get(leg.credit.id, 0) + leg.amount
    for account_id, change in net.items():
        if not account_id.startswith("system:") and model.get(account_id, 0) + change < 0:
            return InsufficientFunds
    for account_id, change in net.items():
        model[account_id] = model.get(account_id, 0) + change
    return Posted
