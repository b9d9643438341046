"""The economy's services, built together around one ledger; the composition root owns and closes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from api.config import ConfigError, Settings
from api.economy.coins import CoinShop
from api.economy.directory import UserDirectory
from api.economy.earnings import CreatorEarnings
from api.economy.gifts import Gifting
from api.economy.levels import Levels
from api.economy.payments import PaymentProvider, SandboxProvider
from api.economy.payouts import Payouts
from api.economy.stripe import StripeProvider
from api.economy.supporters import Supporters
from api.economy.wallet import Wallets
from store.database import Database
from store.ledger import Ledger


def payment_provider(settings: Settings) -> PaymentProvider:
    if settings.payment_provider == "stripe":
        if settings.stripe_secret_key is None:
            raise ConfigError("STRIPE_SECRET_KEY: required when MIXILLO_PAYMENT_PROVIDER=stripe")
        return StripeProvider(settings.stripe_secret_key.get_secret_value(), settings.stripe_api_base)
    return SandboxProvider()


@dataclass
class Economy:
    ledger: Ledger
    coins: CoinShop
    wallets: Wallets
    payouts: Payouts
    gifting: Gifting
    earnings: CreatorEarnings
    supporters: Supporters
    levels: Levels

    @classmethod
    def build(cls, db: Database, settings: Settings) -> Economy:
        ledger = Ledger(db, max_batch=settings.ledger_max_batch)
        directory = UserDirectory(db)
        return cls(
            ledger=ledger,
            coins=CoinShop(
                db,
                ledger,
                payment_provider(settings),
                directory,
                topup_cents_per_100_coins=settings.topup_cents_per_100_coins,
            ),
            wallets=Wallets(ledger, directory),
            payouts=Payouts(db, ledger, minimum=settings.min_withdraw_diamonds),
            gifting=Gifting(db, ledger, directory, creator_share_percent=settings.creator_share_percent),
            earnings=CreatorEarnings(db, ledger),
            supporters=Supporters(db, directory),
            levels=Levels(db),
        )

    def instrument(self, registry: CollectorRegistry) -> None:
        registry.register(_LedgerCollector(self.ledger))

    async def start(self) -> None:
        await self.ledger.start()

    async def close(self) -> None:
        await self.ledger.close()  # finishes queued transfers first
        await self.coins.provider.close()


class _LedgerCollector:
    """Reads the ledger's counters when Prometheus scrapes, so the write path does no metrics work."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "mixillo_ledger_transfers", "Ledger transfers committed (replays excluded)", value=self._ledger.committed
        )
        yield CounterMetricFamily(
            "mixillo_ledger_batches", "Ledger write transactions committed (group commits)", value=self._ledger.batches
        )
        yield GaugeMetricFamily(
            "mixillo_ledger_queue_depth", "Transfers waiting for the ledger writer", value=self._ledger.queue_depth
        )
