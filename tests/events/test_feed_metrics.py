"""WALLETQL_METRICS on the balance feed: active subscriptions, deliveries, slow-subscriber
closes and reconnects, counted as they happen (the feed of an app with metrics on, in process,
against real PostgreSQL)."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest

from tests.calls import ledger
from walletql.auth import principal_of
from walletql.db import asyncpg_dsn
from walletql.events import FeedInterrupted, SubscriberTooSlow
from walletql.services import build_services
from walletql.settings import Settings

WAIT = 10  # seconds; only turns a hang into a failure


@pytest.fixture
async def counted_feed(database_url):
    services = build_services(Settings(metrics=True, subscriber_queue_size=2))
    await services.feed.start(database_url)
    try:
        yield services.feed, services.metrics
    finally:
        await services.feed.stop()


def sample(metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


async def _customer():
    user = await ledger.create_user(
        email=f"m{secrets.token_hex(5)}@example.com", password="correct horse", name="M"
    )
    return principal_of(user)


async def test_subscriptions_deliveries_and_slow_closes_are_counted(counted_feed):
    feed, metrics = counted_feed
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    async with (
        feed.subscribe(alice.user_id, wallet.id) as slow,
        feed.subscribe(alice.user_id) as fast,
    ):
        assert sample(metrics, "walletql_subscriptions_active") == 2
        for n in range(4):
            await ledger.deposit(alice, wallet.id, "1", f"d{n}")
            await asyncio.wait_for(anext(fast), WAIT)  # consumed as it comes
        with pytest.raises(SubscriberTooSlow):
            await asyncio.wait_for(anext(slow), WAIT)
        # The slow one took 2 (its queue's size), was closed at the third; the fast one all 4.
        assert sample(metrics, "walletql_balance_updates_delivered_total") == 6
        assert sample(metrics, "walletql_subscribers_closed_slow_total") == 1
        assert sample(metrics, "walletql_subscriptions_active") == 1
    assert sample(metrics, "walletql_subscriptions_active") == 0


async def test_a_lost_feed_connection_is_one_reconnect(counted_feed, database_url):
    feed, metrics = counted_feed
    alice = await _customer()
    old_pid = feed.backend_pid
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with feed.subscribe(alice.user_id) as waiting:
            assert sample(metrics, "walletql_subscriptions_active") == 1
            consumer = asyncio.create_task(anext(waiting))
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
            with pytest.raises(FeedInterrupted):
                await asyncio.wait_for(consumer, WAIT)
            assert sample(metrics, "walletql_subscriptions_active") == 0
        for _ in range(int(WAIT / 0.05)):
            if feed.backend_pid not in (None, old_pid):
                break
            await asyncio.sleep(0.05)
        assert feed.backend_pid not in (None, old_pid)
        assert sample(metrics, "walletql_feed_reconnects_total") == 1
    finally:
        await admin.close()
