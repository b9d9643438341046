"""The :class:`Ledger`: the group-committing writer of transfers, and reads of balances and history.

See the package docstring (``store.ledger``) for the write path and its guarantees.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from store.database import Database, is_retryable
from store.ids import new_id
from store.ledger.errors import (
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientFunds,
    LedgerClosed,
    LedgerError,
    UnknownTransfer,
)
from store.ledger.values import (
    CREATED_AT,
    TRANSFER_ID,
    Account,
    Currency,
    EntryView,
    Leg,
    Posted,
    Record,
    TransferRequest,
)
from store.schema.ledger import ledger_accounts as accounts
from store.schema.ledger import ledger_entries as entries
from store.schema.ledger import ledger_transfers as transfers
from store.types import utcnow

log = logging.getLogger(__name__)

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

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

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
                # One synchronous transaction: on SQLite one hop to the writer thread for the whole batch.
                outcomes = await self._db.run_write(partial(self._apply, requests=requests, created=created))
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

    def _apply(self, conn: Connection, requests: list[TransferRequest], created: list[str]) -> list[Outcome]:
        """The batch's transaction (synchronous; runs where ``Database.run_write`` puts it). It reads
        ``_known_accounts`` and appends to ``created``; the caller adds those once the batch committed."""
        now = utcnow()
        keys = list({r.key for r in requests})
        existing = {
            row.idempotency_key: row
            for row in conn.execute(sa.select(transfers).where(transfers.c.idempotency_key.in_(keys)))
        }
        replays = _load_posted(conn, list(existing.values()))
        wanted_reversals = [r.reverses for r in requests if r.reverses and r.key not in existing]
        reversed_ids: set[str] = set()
        if wanted_reversals:
            rows = conn.execute(
                sa.select(transfers.c.reverses_id).where(transfers.c.reverses_id.in_(wanted_reversals))
            )
            reversed_ids = {row.reverses_id for row in rows}

        touched = sorted(
            {a.id for r in requests if r.key not in existing for leg in r.legs for a in (leg.debit, leg.credit)}
        )
        created.extend(self._ensure_accounts(conn, touched, now))
        balances: dict[str, int] = {}
        kinds: dict[str, str] = {}
        if touched:
            query = sa.select(accounts.c.id, accounts.c.balance, accounts.c.kind).where(accounts.c.id.in_(touched))
            if not self._db.is_sqlite:
                query = query.order_by(accounts.c.id).with_for_update()
            for row in conn.execute(query):
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
            conn.execute(transfers.insert(), new_transfers)
            conn.execute(entries.insert(), new_entries)
            conn.execute(
                accounts.update()
                .where(accounts.c.id == sa.bindparam("account"))
                .values(balance=sa.bindparam("new_balance")),
                [{"account": a, "new_balance": balances[a]} for a in sorted(changed)],
            )
            for table, table_rows in records.items():
                conn.execute(table.insert(), table_rows)
        return outcomes

    def _ensure_accounts(self, conn: Connection, ids: Sequence[str], now: datetime) -> list[str]:
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
        conn.execute(dialect.insert(accounts).on_conflict_do_nothing(index_elements=["id"]), rows)
        return missing

    # Reading -------------------------------------------------------------------------------------------

    async def transfer(self, transfer_id: str) -> Posted | None:
        def read(conn: Connection) -> Posted | None:
            row = conn.execute(sa.select(transfers).where(transfers.c.id == transfer_id)).first()
            return None if row is None else _load_posted(conn, [row])[row.id]

        return await self._db.run_read(read)

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


def _load_posted(conn: Connection, rows: Sequence[Any]) -> dict[str, Posted]:
    if not rows:
        return {}
    by_transfer: dict[str, list[Any]] = {}
    query = sa.select(entries).where(entries.c.transfer_id.in_([r.id for r in rows])).order_by(entries.c.id)
    for entry in conn.execute(query):
        by_transfer.setdefault(entry.transfer_id, []).append(entry)
    return {row.id: _posted_from(row, by_transfer.get(row.id, []), replayed=True) for row in rows}


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
