"""Wallets: a user's coin and diamond balances, their history, and coin transfers between users."""

from __future__ import annotations

from api.economy.directory import UserDirectory
from api.economy.keys import refused
from api.economy.models import Transaction, TransferReceipt, Wallet
from api.pagination import decode_cursor, encode_cursor
from api.problems import BadRequest
from store.ledger import Account, Currency, EntryView, Ledger, LedgerError, Leg, TransferRequest


class Wallets:
    def __init__(self, ledger: Ledger, directory: UserDirectory) -> None:
        self._ledger = ledger
        self._directory = directory

    async def wallet(self, user_id: str) -> Wallet:
        balances = await self._ledger.balances(user_id)
        return Wallet(user_id=user_id, coins=balances[Currency.COINS], diamonds=balances[Currency.DIAMONDS])

    async def transactions(
        self, user_id: str, currency: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Transaction], str | None]:
        key = decode_cursor(cursor, 1)
        before = int(key[0]) if key is not None else None
        currencies = [Currency(currency)] if currency else list(Currency)
        rows = await self._ledger.history(
            [Account.user(user_id, c) for c in currencies], before=before, limit=limit + 1
        )
        items = [_transaction(row) for row in rows[:limit]]
        next_cursor = encode_cursor([items[-1].id]) if len(rows) > limit and items else None
        return items, next_cursor

    async def transfer(
        self, sender_id: str, receiver_id: str, amount: int, note: str | None, key: str
    ) -> TransferReceipt:
        if sender_id == receiver_id:
            raise BadRequest("coins cannot be sent to yourself", slug="transfer-to-self")
        await self._directory.require(receiver_id, what="recipient")
        source = Account.user(sender_id, Currency.COINS)
        leg = Leg(source, Account.user(receiver_id, Currency.COINS), amount)
        memo = {"to": receiver_id, "note": note}
        try:
            posted = await self._ledger.post(TransferRequest(key, "transfer", (leg,), memo))
        except LedgerError as exc:
            raise refused(exc) from None
        return TransferReceipt(
            transfer_id=posted.transfer_id,
            from_user_id=sender_id,
            to_user_id=receiver_id,
            amount=amount,
            balance=posted.balance(source),
            created_at=posted.created_at,
        )


def _transaction(row: EntryView) -> Transaction:
    counter = Account.parse(row.counter_account_id)
    return Transaction(
        id=row.id,
        transfer_id=row.transfer_id,
        kind=row.kind,
        currency=row.currency.value,
        amount=row.signed_amount,
        balance_after=row.balance_after,
        counterparty=counter.owner,
        memo=dict(row.memo),
        reverses_id=row.reverses_id,
        created_at=row.created_at,
    )
