"""What a walletql process holds once: its settings and what is made from them.

`walletql.app.create_app(settings)` builds one `Services` and hands it to every resolver on the
request's context (`info.context.services`); the resolvers give the ledger, as arguments, the
parts it needs. Nothing here is a module global: an app has its own, and a second app in the
same process (the tests make several) has another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from walletql.auth import LiveTokens
from walletql.events import BalanceFeed
from walletql.fanout import Fanout
from walletql.ledger.money import Currency, currency_table
from walletql.ledger.operations import Operation, build_catalog
from walletql.ledger.posting import CountedTurns, Turns, posting_turns
from walletql.settings import Settings

if TYPE_CHECKING:
    from walletql.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    currencies: Mapping[str, Currency]  # the configured currencies, by code
    operations: Mapping[str, Operation]  # the configured ledger operations, by code
    turns: Turns  # at most WALLETQL_POSTING_CONCURRENCY posting statements at once
    feed: BalanceFeed  # the LISTEN connection: balance updates and token revocations
    live_tokens: LiveTokens  # tokens recently found live; forgotten when revoked
    fanout: Fanout  # what subscribers of one posting share (walletql.fanout)
    metrics: Metrics | None = None  # WALLETQL_METRICS on: what is counted (walletql.metrics)


def build_services(settings: Settings) -> Services:
    """Everything made from `settings`, once. A bad operation catalog raises
    ConfigurationError naming the problem, so start-up stops there."""
    metrics = None
    turns = posting_turns(settings.posting_concurrency)
    if settings.metrics:
        from walletql.metrics import Metrics  # prometheus-client only when metrics are on

        metrics = Metrics()
        turns = CountedTurns(turns, metrics.posting)
    return Services(
        settings=settings,
        currencies=currency_table(settings),
        operations=build_catalog(settings),
        turns=turns,
        feed=BalanceFeed(
            queue_size=settings.subscriber_queue_size,
            max_per_user=settings.max_subscriptions_per_user,
            metrics=metrics,
        ),
        live_tokens=LiveTokens(),
        fanout=Fanout(),
        metrics=metrics,
    )
