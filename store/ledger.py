"""The coin ledger: double-entry transfers with idempotency keys, written by one group-committing writer.

Every movement of coins or diamonds is a :class:`TransferRequest`: one or more legs that succeed or fail
together, each leg debiting one account and crediting another by the same amount. A request carries an
idempotency key; the first request with a key takes effect, a retry with the same content gets the same
:class:`Posted` back (``replayed=True``), and the same key with other content is
:class:`IdempotencyKeyReused`.

Write path (group commit). Requests queue to one writer task that takes everything waiting (up to
``max_batch``) and applies it in a single write transaction: on SQLite ``BEGIN IMMEDIATE`` (the database
write lock, held from the first statement), on PostgreSQL with ``SELECT ... FOR UPDATE`` on the touched
accounts in id order (a fixed order, so two nodes cannot deadlock) and a retry on 40001/40P01. Inside the
transaction each request is checked in queue order against the running balances, so each gets its own
outcome (a user balance never goes below zero) while the batch pays for one commit. Nothing is acknowledged
before its commit, so a crash loses only unacknowledged requests, and those left no trace.

Balances are credit-normal: an account's balance is the sum of its credits minus the sum of its debits.
User accounts may not go below zero; system accounts (payment clearing, diamond issuance) may.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.database import Database, is_retryable
from store.errors import StoreError
from store.ids import new_id
from store.schema.ledger import ledger_accounts as accounts
from store.schema.ledger import ledger_entries as entries
from store.schema.ledger import ledger_transfers as transfers
from store.types import utcnow

log = logging.getLogger(__name__)

MAX_AMOUNT = 10**15  # far above any real purchase; keeps sums of many entries inside 64 bits


class Currency(StrEnum):
    COINS = "coins"
    DIAMONDS = "diamonds"


class System(StrEnum):
    """The platform's own accounts."""

    CLEARING = "clearing"  # coins: issued against card payments; its (negative) balance is coins sold
    REVENUE = "revenue"  # coins: spent on gifts, now the platform's
    EARNINGS = "earnings"  # diamonds: issued to creators for gifts they received (negative)
    PAYOUTS = "payouts"  # diamonds: withdrawn by creators, payout pending
    SETTLED = "settled"  # diamonds: paid out


# Errors ------------------------------------------------------------------------------------------------


class LedgerError(StoreError):
    """A transfer was refused; the ledger is unchanged."""


class InvalidTransfer(LedgerError):
    pass


class InsufficientFunds(LedgerError):
    def __init__(self, account_id: str, balance: int, needed: int) -> None:
        super().__init__(f"account {account_id} holds {balance}, the transfer needs {needed}")
        self.account_id, self.balance, self.needed = account_id, balance, needed


class IdempotencyKeyReused(LedgerError):
    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different transfer")
        self.key = key


class AlreadyReversed(LedgerError):
    pass


class UnknownTransfer(LedgerError):
    pass


class LedgerClosed(LedgerError):
    pass


# Values ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    owner: str  # a user id, or "system:<name>"
    currency: Currency
    id: str = field(init=False, compare=False, repr=False)  # "<owner>:<currency>", the row's primary key

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.owner}:{self.currency.value}")

    @classmethod
    def user(cls, user_id: str, currency: Currency) -> Account:
        return cls(user_id, currency)

    @classmethod
    def system(cls, name: System, currency: Currency) -> Account:
        return cls(f"system:{name.value}", currency)

    @classmethod
    def parse(cls, account_id: str) -> Account:
        owner, _, currency = account_id.rpartition(":")
        return cls(owner, Currency(currency))

    @property
    def is_system(self) -> bool:
        return self.owner.startswith("system:")

    @property
    def user_id(self) -> str | None:
        return None if self.is_system else self.owner


@dataclass(frozen=True, slots=True)
class Leg:
    debit: Account
    credit: Account
    amount: int


@dataclass(frozen=True, slots=True)
class Record:
    """A row of another table written in the same transaction as the transfer (only when it takes effect).

    ``values`` may use the placeholders in :data:`TRANSFER_ID` and :data:`CREATED_AT`.
    """

    table: sa.Table
    values: Mapping[str, Any]


TRANSFER_ID = "$transfer_id"
CREATED_AT = "$created_at"


@dataclass(frozen=True, slots=True)
class TransferRequest:
    key: str
    kind: str
    legs: tuple[Leg, ...]
    memo: Mapping[str, Any] = field(default_factory=dict)
    reverses: str | None = None
    records: tuple[Record, ...] = ()

    def fingerprint(self) -> str:
        document = {
            "kind": self.kind,
            "legs": [[leg.debit.id, leg.credit.id, leg.amount] for leg in self.legs],
            "memo": dict(self.memo),
            "reverses": self.reverses,
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def validate(self) -> None:
        if not 1 <= len(self.key) <= 255:
            raise InvalidTransfer("an idempotency key is 1-255 characters")
        if not self.legs:
            raise InvalidTransfer("a transfer has at least one leg")
        for leg in self.legs:
            if type(leg.amount) is not int or not 0 < leg.amount <= MAX_AMOUNT:
                raise InvalidTransfer(f"a leg amount is a whole number from 1 to {MAX_AMOUNT}")
            if leg.debit.currency is not leg.credit.currency:
                raise InvalidTransfer("both sides of a leg hold the same currency")
            if leg.debit == leg.credit:
                raise InvalidTransfer("a leg moves value between two different accounts")


@dataclass(frozen=True, slots=True)
class Posted:
    """A transfer in the ledger: the one just made, or (``replayed``) the one an earlier request made."""

    transfer_id: str
    key: str
    kind: str
    created_at: datetime
    legs: tuple[Leg, ...]
    balances: Mapping[str, int]  # account id -> balance right after this transfer
    replayed: bool = False

    def balance(self, account: Account) -> int:
        return self.balances[account.id]


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    transfer_id: str
    kind: str
    account_id: str
    counter_account_id: str
    currency: Currency
    side: str
    amount: int
    balance_after: int
    memo: Mapping[str, Any]
    created_at: datetime
    reverses_id: str | None

    @property
    def signed_amount(self) -> int:
        return self.amount if self.side == "C" else -self.amount


Outcome = Posted | LedgerError


@dataclass(slots=True)
class _Queued:
    request: TransferRequest
    future: asyncio.Future[Posted]


class Ledger:
    """The only writer of ledger rows. ``start()`` launches the writer task; ``close()`` drains and stops it."""

    def __init__(self, db: Database, *, max_batch: int = 512) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Queued | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._known_accounts: set[str] = set()
        self.batches = 0  # committed batches and transfers, for the benchmark and metrics
        self.committed = 0

    # Lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="ledger-writer")

    async def close(self) -> None:
        """Stop taking requests, finish the ones queued, then stop the writer."""
        self._closed = True
        if self._writer is None:
            return
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), timeout=30)
        except TimeoutError:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self._writer = None

    # Writing -------------------------------------------------------------------------------------------

    async def post(self, request: TransferRequest) -> Posted:
        """Apply ``request`` (or find the transfer an earlier request with its key made)."""
        request.validate()
        if self._closed:
            raise LedgerClosed("the ledger is shutting down")
        if self._writer is None:
            await self.start()
        future: asyncio.Future[Posted] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Queued(request, future))
        # The transfer may commit even if our caller goes away; shielding keeps the outcome retrievable.
        return await asyncio.shield(future)

    async def reverse(
        self,
        transfer_id: str,
        *,
        key: str,
        kind: str = "reversal",
        memo: Mapping[str, Any] | None = None,
        records: tuple[Record, ...] = (),
    ) -> Posted:
        """Post a new transfer that undoes ``transfer_id`` leg by leg (at most once per transfer)."""
        original = await self.transfer(transfer_id)
        if original is None:
            raise UnknownTransfer(f"no transfer {transfer_id}")
        legs = tuple(Leg(leg.credit, leg.debit, leg.amount) for leg in original.legs)
        return await self.post(TransferRequest(key, kind, legs, memo or {}, reverses=transfer_id, records=records))

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            await self._commit(batch)
            if stop:
                return

    async def _commit(self, batch: list[_Queued]) -> None:
        try:
            outcomes = await self._transact([item.request for item in batch])
        except Exception as exc:
            if len(batch) > 1:
                # One request can spoil a batch (say, a record breaking a foreign key): find it by applying
                # the requests one at a time, so the others still succeed.
                log.warning("ledger batch of %d failed (%s); applying one by one", len(batch), exc)
                for item in batch:
                    await self._commit([item])
                return
            log.exception("ledger transfer %s failed", batch[0].request.key)
            if not batch[0].future.done():
                batch[0].future.set_exception(exc)
            return
        self.batches += 1
        for item, outcome in zip(batch, outcomes, strict=True):
            if item.future.done():
                continue
            if isinstance(outcome, Posted):
                item.future.set_result(outcome)
            else:
                item.future.set_exception(outcome)

    async def _transact(self, requests: list[TransferRequest]) -> list[Outcome]:
        attempts = 6
        for attempt in range(1, attempts + 1):
            try:
                created: list[str] = []
                async with self._db.write() as conn:
                    outcomes = await self._apply(conn, requests, created)
                self._known_accounts.update(created)  # only rows that committed
                self.committed += sum(1 for o in outcomes if isinstance(o, Posted) and not o.replayed)
                return outcomes
            except IntegrityError:
                # On PostgreSQL another node may have committed the same idempotency key between our read
                # and our insert; the next attempt sees its row and replays it.
                if attempt == attempts or self._db.is_sqlite:
                    raise
            except (DBAPIError, OperationalError) as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
            await asyncio.sleep(0.002 * 2**attempt)
        raise AssertionError("unreachable")

    async def _apply(self, conn: AsyncConnection, requests: list[TransferRequest], created: list[str]) -> list[Outcome]:
        now = utcnow()
        keys = list({r.key for r in requests})
        existing = {
            row.idempotency_key: row
            for row in await conn.execute(sa.select(transfers).where(transfers.c.idempotency_key.in_(keys)))
        }
        replays = await self._load_posted(conn, list(existing.values()))
        wanted_reversals = [r.reverses for r in requests if r.reverses and r.key not in existing]
        reversed_ids: set[str] = set()
        if wanted_reversals:
            rows = await conn.execute(
                sa.select(transfers.c.reverses_id).where(transfers.c.reverses_id.in_(wanted_reversals))
            )
            reversed_ids = {row.reverses_id for row in rows}

        touched = sorted(
            {a.id for r in requests if r.key not in existing for leg in r.legs for a in (leg.debit, leg.credit)}
        )
        created.extend(await self._ensure_accounts(conn, touched, now))
        balances: dict[str, int] = {}
        kinds: dict[str, str] = {}
        if touched:
            query = sa.select(accounts.c.id, accounts.c.balance, accounts.c.kind).where(accounts.c.id.in_(touched))
            if not self._db.is_sqlite:
                query = query.order_by(accounts.c.id).with_for_update()
            for row in await conn.execute(query):
                balances[row.id] = row.balance
                kinds[row.id] = row.kind

        outcomes: list[Outcome] = []
        new_transfers: list[dict[str, Any]] = []
        new_entries: list[dict[str, Any]] = []
        records: dict[sa.Table, list[dict[str, Any]]] = {}
        done_here: dict[str, tuple[str, Posted]] = {}
        changed: set[str] = set()
        for request in requests:
            fingerprint = request.fingerprint()
            earlier = existing.get(request.key)
            if earlier is not None:
                if earlier.fingerprint != fingerprint:
                    outcomes.append(IdempotencyKeyReused(request.key))
                else:
                    outcomes.append(replays[earlier.id])
                continue
            if request.key in done_here:
                first_fp, posted = done_here[request.key]
                outcomes.append(IdempotencyKeyReused(request.key) if first_fp != fingerprint else _replayed(posted))
                continue
            if request.reverses is not None and request.reverses in reversed_ids:
                outcomes.append(AlreadyReversed(f"transfer {request.reverses} was already reversed"))
                continue
            refused = _check_funds(request.legs, balances, kinds)
            if refused is not None:
                outcomes.append(refused)
                continue

            transfer_id = new_id()
            after: dict[str, int] = {}
            for index, leg in enumerate(request.legs):
                balances[leg.debit.id] -= leg.amount
                balances[leg.credit.id] += leg.amount
                for account, counter, side in ((leg.debit, leg.credit, "D"), (leg.credit, leg.debit, "C")):
                    after[account.id] = balances[account.id]
                    new_entries.append(
                        {
                            "transfer_id": transfer_id,
                            "leg": index,
                            "account_id": account.id,
                            "counter_account_id": counter.id,
                            "currency": account.currency.value,
                            "side": side,
                            "amount": leg.amount,
                            "balance_after": balances[account.id],
                            "created_at": now,
                        }
                    )
            changed.update(after)
            new_transfers.append(
                {
                    "id": transfer_id,
                    "idempotency_key": request.key,
                    "fingerprint": fingerprint,
                    "kind": request.kind,
                    "reverses_id": request.reverses,
                    "memo": json.dumps(dict(request.memo), sort_keys=True),
                    "created_at": now,
                }
            )
            for record in request.records:
                values = {k: _fill(v, transfer_id, now) for k, v in record.values.items()}
                records.setdefault(record.table, []).append(values)
            if request.reverses is not None:
                reversed_ids.add(request.reverses)
            posted = Posted(transfer_id, request.key, request.kind, now, request.legs, after)
            done_here[request.key] = (fingerprint, posted)
            outcomes.append(posted)

        if new_transfers:
            await conn.execute(transfers.insert(), new_transfers)
            await conn.execute(entries.insert(), new_entries)
            await conn.execute(
                accounts.update()
                .where(accounts.c.id == sa.bindparam("account"))
                .values(balance=sa.bindparam("new_balance")),
                [{"account": a, "new_balance": balances[a]} for a in sorted(changed)],
            )
            for table, table_rows in records.items():
                await conn.execute(table.insert(), table_rows)
        return outcomes

    async def _ensure_accounts(self, conn: AsyncConnection, ids: Sequence[str], now: datetime) -> list[str]:
        """Insert-or-ignore the accounts not known to exist; returns the ids it covered."""
        missing = [i for i in ids if i not in self._known_accounts]
        if not missing:
            return []
        rows = []
        for account_id in missing:
            account = Account.parse(account_id)
            rows.append(
                {
                    "id": account_id,
                    "owner": account.owner,
                    "user_id": account.user_id,
                    "currency": account.currency.value,
                    "kind": "system" if account.is_system else "user",
                    "balance": 0,
                    "created_at": now,
                }
            )
        dialect = postgresql if not self._db.is_sqlite else sqlite
        await conn.execute(dialect.insert(accounts).on_conflict_do_nothing(index_elements=["id"]), rows)
        return missing

    async def _load_posted(self, conn: AsyncConnection, rows: Sequence[Any]) -> dict[str, Posted]:
        if not rows:
            return {}
        by_transfer: dict[str, list[Any]] = {}
        query = sa.select(entries).where(entries.c.transfer_id.in_([r.id for r in rows])).order_by(entries.c.id)
        for entry in await conn.execute(query):
            by_transfer.setdefault(entry.transfer_id, []).append(entry)
        return {row.id: _posted_from(row, by_transfer.get(row.id, []), replayed=True) for row in rows}

    # Reading -------------------------------------------------------------------------------------------

    async def transfer(self, transfer_id: str) -> Posted | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(transfers).where(transfers.c.id == transfer_id))).first()
            if row is None:
                return None
            return (await self._load_posted(conn, [row]))[row.id]

    async def balance(self, account: Account) -> int:
        async with self._db.read() as conn:
            value = await conn.scalar(sa.select(accounts.c.balance).where(accounts.c.id == account.id))
        return int(value or 0)

    async def balances(self, owner: str) -> dict[Currency, int]:
        result = dict.fromkeys(Currency, 0)
        async with self._db.read() as conn:
            rows = await conn.execute(
                sa.select(accounts.c.currency, accounts.c.balance).where(accounts.c.owner == owner)
            )
            for row in rows:
                result[Currency(row.currency)] = int(row.balance)
        return result

    async def history(self, accounts_of: Iterable[Account], *, before: int | None, limit: int) -> list[EntryView]:
        """Entries of the given accounts, newest first (keyset on the entry id)."""
        ids = [a.id for a in accounts_of]
        query = (
            sa.select(entries, transfers.c.kind, transfers.c.memo, transfers.c.reverses_id)
            .join(transfers, transfers.c.id == entries.c.transfer_id)
            .where(entries.c.account_id.in_(ids))
            .order_by(entries.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(entries.c.id < before)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            EntryView(
                id=r.id,
                transfer_id=r.transfer_id,
                kind=r.kind,
                account_id=r.account_id,
                counter_account_id=r.counter_account_id,
                currency=Currency(r.currency),
                side=r.side,
                amount=r.amount,
                balance_after=r.balance_after,
                memo=json.loads(r.memo),
                created_at=r.created_at,
                reverses_id=r.reverses_id,
            )
            for r in rows
        ]


def _check_funds(legs: Sequence[Leg], balances: Mapping[str, int], kinds: Mapping[str, str]) -> LedgerError | None:
    net: dict[str, int] = {}
    for leg in legs:
        net[leg.debit.id] = net.get(leg.debit.id, 0) - leg.amount
        net[leg.credit.id] = net.get(leg.credit.id, 0) + leg.amount
    for account_id, change in net.items():
        if kinds.get(account_id) == "user" and balances[account_id] + change < 0:
            return InsufficientFunds(account_id, balances[account_id], -change)
    return None


def _fill(value: Any, transfer_id: str, created_at: datetime) -> Any:
    if value == TRANSFER_ID:
        return transfer_id
    if value == CREATED_AT:
        return created_at
    return value


def _replayed(posted: Posted) -> Posted:
    return Posted(
        posted.transfer_id,
        posted.key,
        posted.kind,
        posted.created_at,
        posted.legs,
        posted.balances,
        replayed=True,
    )


def _posted_from(row: Any, rows: Sequence[Any], *, replayed: bool) -> Posted:
    legs: dict[int, dict[str, Any]] = {}
    balances: dict[str, int] = {}
    for entry in rows:
        legs.setdefault(entry.leg, {})[entry.side] = entry
        balances[entry.account_id] = entry.balance_after
    built = tuple(
        Leg(Account.parse(sides["D"].account_id), Account.parse(sides["C"].account_id), sides["D"].amount)
        for _, sides in sorted(legs.items())
    )
    return Posted(row.id, row.idempotency_key, row.kind, row.created_at, built, balances, replayed=replayed)
