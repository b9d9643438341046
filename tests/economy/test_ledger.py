"""The ledger on both backends: double entry, funds checks, idempotency, linked legs, reversals, audit."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from store.database import Database
from store.ledger import (
    Account,
    AlreadyReversed,
    Currency,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
    Ledger,
    LedgerClosed,
    Leg,
    System,
    TransferRequest,
)
from store.ledger.audit import audit
from store.schema.ledger import ledger_accounts
from tests.economy.conftest import fund, make_user, snapshot

COINS, DIAMONDS = Currency.COINS, Currency.DIAMONDS


def gift(sender: str, receiver: str, coins: int, diamonds: int, key: str) -> TransferRequest:
    return TransferRequest(
        key,
        "gift",
        (
            Leg(Account.user(sender, COINS), Account.system(System.REVENUE, COINS), coins),
            Leg(Account.system(System.EARNINGS, DIAMONDS), Account.user(receiver, DIAMONDS), diamonds),
        ),
        memo={"gift": "rose"},
    )


async def test_gift_moves_coins_and_diamonds_together(db: Database, ledger: Ledger) -> None:
    alice, bob = await make_user(db), await make_user(db)
    await fund(ledger, alice, 100)
    posted = await ledger.post(gift(alice, bob, 30, 15, "g1"))
    assert posted.balance(Account.user(alice, COINS)) == 70
    assert posted.balance(Account.user(bob, DIAMONDS)) == 15
    assert await ledger.balances(alice) == {COINS: 70, DIAMONDS: 0}
    assert await ledger.balances(bob) == {COINS: 0, DIAMONDS: 15}
    report = await audit(db)
    assert report.ok, report.lines()
    assert report.totals == {"coins": (130, 130), "diamonds": (15, 15)}


async def test_refused_transfer_changes_nothing(db: Database, ledger: Ledger) -> None:
    alice, bob = await make_user(db), await make_user(db)
    await fund(ledger, alice, 10)
    before = await snapshot(db)
    with pytest.raises(InsufficientFunds) as refused:
        await ledger.post(gift(alice, bob, 11, 5, "too-much"))
    assert refused.value.balance == 10 and refused.value.needed == 11
    for bad in (0, -1, 1.5, 10**16):
        leg = Leg(Account.user(alice, COINS), Account.user(bob, COINS), bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidTransfer):
            await ledger.post(TransferRequest(f"bad{bad}", "transfer", (leg,)))
    with pytest.raises(InvalidTransfer):
        await ledger.post(
            TransferRequest("mixed", "x", (Leg(Account.user(alice, COINS), Account.user(bob, DIAMONDS), 1),))
        )
    assert await snapshot(db) == before
    # The refused key was not consumed: the same request succeeds once the funds are there.
    await fund(ledger, alice, 1)
    assert (await ledger.post(gift(alice, bob, 11, 5, "too-much"))).balance(Account.user(alice, COINS)) == 0


async def test_idempotent_replay_and_key_reuse(db: Database, ledger: Ledger) -> None:
    alice, bob = await make_user(db), await make_user(db)
    await fund(ledger, alice, 100)
    results = await asyncio.gather(*(ledger.post(gift(alice, bob, 10, 5, "same")) for _ in range(50)))
    assert len({r.transfer_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert all(r.balance(Account.user(alice, COINS)) == 90 for r in results)
    later = await ledger.post(gift(alice, bob, 10, 5, "same"))
    assert later.replayed and later.transfer_id == results[0].transfer_id
    with pytest.raises(IdempotencyKeyReused):
        await ledger.post(gift(alice, bob, 20, 10, "same"))
    assert await ledger.balances(alice) == {COINS: 90, DIAMONDS: 0}


async def test_reversal_happens_once(db: Database, ledger: Ledger) -> None:
    alice, bob = await make_user(db), await make_user(db)
    await fund(ledger, alice, 50)
    posted = await ledger.post(gift(alice, bob, 50, 25, "g"))
    undone = await ledger.reverse(posted.transfer_id, key="undo-1")
    assert undone.balance(Account.user(alice, COINS)) == 50
    assert undone.balance(Account.user(bob, DIAMONDS)) == 0
    with pytest.raises(AlreadyReversed):
        await ledger.reverse(posted.transfer_id, key="undo-2")
    assert (await ledger.reverse(posted.transfer_id, key="undo-1")).replayed
    assert (await audit(db)).ok


async def test_concurrent_spending_never_overdraws(db: Database, ledger: Ledger) -> None:
    alice, bob = await make_user(db), await make_user(db)
    await fund(ledger, alice, 100)
    outcomes = await asyncio.gather(
        *(ledger.post(gift(alice, bob, 1, 1, f"k{i}")) for i in range(300)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 100
    assert all(isinstance(o, InsufficientFunds) for o in outcomes if isinstance(o, BaseException))
    assert ledger.batches < 300  # requests really were grouped into shared commits
    assert await ledger.balances(alice) == {COINS: 0, DIAMONDS: 0}
    assert (await audit(db)).ok


async def test_two_ledgers_on_one_database_stay_consistent(db: Database, db_url: str) -> None:
    """Two writers (as two nodes would be) racing for one wallet: locks, not luck, keep it whole."""
    alice, bob = await make_user(db), await make_user(db)
    other_db = Database(db_url)
    first, second = Ledger(db, max_batch=8), Ledger(other_db, max_batch=8)
    try:
        await fund(first, alice, 60)
        outcomes = await asyncio.gather(
            *((first if i % 2 else second).post(gift(alice, bob, 1, 1, f"n{i}")) for i in range(100)),
            return_exceptions=True,
        )
        assert sum(not isinstance(o, BaseException) for o in outcomes) == 60
    finally:
        await first.close()
        await second.close()
        await other_db.close()
    assert (await audit(db)).ok


async def test_audit_reports_a_tampered_balance(db: Database, ledger: Ledger) -> None:
    alice = await make_user(db)
    await fund(ledger, alice, 10)
    async with db.write() as conn:
        await conn.execute(
            ledger_accounts.update().where(ledger_accounts.c.id == f"{alice}:coins").values(balance=1000)
        )
    report = await audit(db)
    assert not report.ok
    assert any("stored balance 1000 != sum of entries 10" in p for p in report.problems)
    assert report.lines()[-1].startswith("ledger-check: FAILED")
    async with db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(ledger_accounts)) == 2


async def test_close_finishes_queued_transfers_then_refuses(db: Database) -> None:
    alice, bob = await make_user(db), await make_user(db)
    book = Ledger(db)
    await fund(book, alice, 100)
    queued = [asyncio.ensure_future(book.post(gift(alice, bob, 1, 1, f"q{i}"))) for i in range(50)]
    await asyncio.sleep(0)  # all 50 are queued before the close
    await book.close()
    assert all(not isinstance(r, BaseException) for r in await asyncio.gather(*queued, return_exceptions=True))
    with pytest.raises(LedgerClosed):
        await book.post(gift(alice, bob, 1, 1, "late"))
    assert await Ledger(db).balances(alice) == {COINS: 50, DIAMONDS: 0}
