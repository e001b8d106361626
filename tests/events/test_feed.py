"""The balance feed against real PostgreSQL: LISTEN/NOTIFY, replay, overflow and reconnects.

No sleeps: "this did not arrive" is shown by ordering. Notifications leave PostgreSQL in commit
order, so when a marker sent after some event arrives first, that event was never sent.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from contextlib import AsyncExitStack
from decimal import Decimal

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from tests.calls import ledger
from walletql.auth import principal_of
from walletql.db import asyncpg_dsn
from walletql.events import (
    BalanceEvent,
    BalanceFeed,
    FeedInterrupted,
    SubscriberTooSlow,
)
from walletql.ledger.posting import BALANCE_CHANNEL
from walletql.ledger.verify import verify
from walletql.models import Entry, Wallet
from walletql.services import build_services
from walletql.settings import Settings

WAIT = 10  # seconds; only to turn a hang into a failure, never a measured duration


def _new_feed(**settings) -> BalanceFeed:
    """A feed as an app on these settings builds it (walletql.services), not started."""
    return build_services(Settings(**settings)).feed


@pytest.fixture
async def feed_with(database_url):
    """`feed = await feed_with(subscriber_queue_size=2)`: a started feed on changed settings,
    stopped after the test."""
    async with AsyncExitStack() as feeds:

        async def start(**settings) -> BalanceFeed:
            feed = _new_feed(**settings)
            await feed.start(database_url)
            feeds.push_async_callback(feed.stop)
            return feed

        yield start


@pytest.fixture
async def feed(feed_with):
    return await feed_with()


async def _customer():
    user = await ledger.create_user(
        email=f"e{secrets.token_hex(5)}@example.com", password="correct horse", name="E"
    )
    return principal_of(user)


async def _next(sub) -> BalanceEvent:
    return await asyncio.wait_for(anext(sub), WAIT)


async def _collect(sub, wallet_id: int, up_to: int) -> list[BalanceEvent]:
    """Events of `sub` for `wallet_id` until that wallet's version `up_to` arrives."""
    seen = []
    while not seen or seen[-1].version < up_to:
        event = await _next(sub)
        if event.wallet_id == wallet_id:
            seen.append(event)
    return seen


async def _marker(database_url: str, owner_id: int, wallet_id: int, version: int) -> None:
    """A notification sent on its own connection, committed at once."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        payload = {
            "wallet_id": wallet_id,
            "owner_id": owner_id,
            "balance": "0",
            "version": version,
            "transaction_id": 0,
        }
        await conn.execute("SELECT pg_notify($1, $2)", BALANCE_CHANNEL, json.dumps(payload))
    finally:
        await conn.close()


async def _history(wallet_id: int, after: int = 0) -> list[tuple[int, Decimal, int]]:
    return await (
        Entry.filter(wallet_id=wallet_id, version__gt=after)
        .order_by("version")
        .values_list("version", "balance_after", "transaction_id")
    )


def _triples(events: list[BalanceEvent]) -> list[tuple[int, Decimal, int]]:
    return [(e.version, e.balance, e.transaction_id) for e in events]


async def test_events_leave_only_on_commit(feed, database_url):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    async with feed.subscribe(alice.user_id) as sub:
        # Rolled back: its notification must never come; the marker sent afterwards arrives first.
        with pytest.raises(RuntimeError):
            async with in_transaction():
                await ledger.deposit(alice, wallet.id, "5", "rolled-back")
                raise RuntimeError("roll back")
        await _marker(database_url, alice.user_id, 999_999, 1)
        assert (await _next(sub)).wallet_id == 999_999

        async with in_transaction():
            await ledger.deposit(alice, wallet.id, "1.25", "d1")
            # Posted but not committed: the marker, sent later, still arrives first.
            await _marker(database_url, alice.user_id, 999_999, 2)
            assert (await _next(sub)).version == 2
        event = await _next(sub)
    assert event.wallet_id == wallet.id and event.owner_id == alice.user_id
    assert event.version == 1 and event.balance == Decimal("1.25")
    stored = await _history(wallet.id)
    assert stored == [(1, event.balance, event.transaction_id)]
    assert feed.subscriber_count == 0
    assert await verify() == []


async def test_wallet_and_owner_filters(feed, database_url):
    alice, bob = await _customer(), await _customer()
    a1 = await ledger.create_wallet(alice, "USD", "one")
    a2 = await ledger.create_wallet(alice, "USD", "two")
    b1 = await ledger.create_wallet(bob, "USD")
    async with (
        feed.subscribe(alice.user_id, wallet_id=a2.id) as only_a2,
        feed.subscribe(alice.user_id) as all_alice,
        feed.subscribe(bob.user_id, wallet_id=a1.id) as bob_on_alices_wallet,
        feed.subscribe(bob.user_id) as all_bob,
    ):
        assert feed.subscriber_count == 4
        await ledger.deposit(bob, b1.id, "7", "b")
        await ledger.deposit(alice, a1.id, "1", "a1")
        await ledger.deposit(alice, a2.id, "2", "a2")
        a3 = await ledger.create_wallet(alice, "EUR", "created later")
        await ledger.deposit(alice, a3.id, "3", "a3")
        await ledger.deposit(bob, b1.id, "8", "b2")

        assert [(e.wallet_id, e.balance) for e in [await _next(only_a2)]] == [(a2.id, 2)]
        got = [await _next(all_alice) for _ in range(3)]
        assert [(e.wallet_id, e.version, e.balance) for e in got] == [
            (a1.id, 1, 1),
            (a2.id, 1, 2),
            (a3.id, 1, 3),
        ]
        got = [await _next(all_bob) for _ in range(2)]
        assert [(e.wallet_id, e.version) for e in got] == [(b1.id, 1), (b1.id, 2)]
        # Owner first: bob naming alice's wallet gets none of its events. The marker, sent
        # after every deposit, is the first thing he receives.
        await _marker(database_url, bob.user_id, a1.id, 999)
        assert (await _next(bob_on_alices_wallet)).version == 999
    assert feed.subscriber_count == 0
    assert await verify() == []


async def test_concurrent_transfers_arrive_once_and_in_order(feed_with):
    users = [await _customer() for _ in range(2)]
    wallets = [await ledger.create_wallet(users[i % 2], "USD", f"w{i}") for i in range(4)]
    rng = random.Random(7)
    pairs = [rng.sample(range(4), 2) for _ in range(200)]
    # Each owner subscription may see up to 400 events, and one socket read can hold hundreds
    # of notifications delivered before the consumer runs: the queue bound is not under test.
    feed = await feed_with(subscriber_queue_size=10_000)
    async with AsyncExitStack() as stack:
        owners = [await stack.enter_async_context(feed.subscribe(u.user_id)) for u in users]
        per_wallet = [
            await stack.enter_async_context(feed.subscribe(users[i % 2].user_id, w.id))
            for i, w in enumerate(wallets)
        ]
        # Subscribed before the first posting: every version of every wallet must arrive.
        for i, wallet in enumerate(wallets):
            await ledger.deposit(users[i % 2], wallet.id, "10000", f"seed{i}")
        results = await asyncio.gather(
            *[
                ledger.transfer(
                    users[s % 2],
                    wallets[s].id,
                    f"{rng.randint(1, 9)}.{rng.randint(0, 99):02d}",
                    f"t{n}",
                    to_wallet_id=wallets[d].id,
                )
                for n, (s, d) in enumerate(pairs)
            ]
        )
        assert len({r.transaction.id for r in results}) == 200
        finals = {w.id: (await Wallet.get(id=w.id)).version for w in wallets}
        assert sum(finals.values()) == 4 + 2 * 200
        for wallet, sub in zip(wallets, per_wallet, strict=True):
            got = await _collect(sub, wallet.id, finals[wallet.id])
            assert {e.wallet_id for e in got} == {wallet.id}
            assert _triples(got) == await _history(wallet.id)
        for owner, sub in enumerate(owners):
            mine = [w.id for i, w in enumerate(wallets) if i % 2 == owner]
            by_wallet: dict[int, list[BalanceEvent]] = {w: [] for w in mine}
            while any(not by_wallet[w] or by_wallet[w][-1].version < finals[w] for w in mine):
                event = await _next(sub)
                by_wallet[event.wallet_id].append(event)
            for w in mine:
                assert _triples(by_wallet[w]) == await _history(w)
    assert feed.subscriber_count == 0
    assert await verify() == []


async def test_replay_then_live_skips_what_was_replayed(feed):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    async with feed.subscribe(alice.user_id, wallet.id) as witness:
        for n in range(3):
            await ledger.deposit(alice, wallet.id, "1", f"before{n}")
        assert [(await _next(witness)).version for _ in range(3)] == [1, 2, 3]
        async with feed.subscribe(alice.user_id, wallet.id, after_version=1) as resumed:
            # Registered, not yet replayed: these reach `resumed` live AND lie in the database.
            for n in range(4):
                await ledger.deposit(alice, wallet.id, "2", f"between{n}")
            assert [(await _next(witness)).version for _ in range(4)] == [4, 5, 6, 7]
            await ledger.deposit(alice, wallet.id, "3", "after")
            got = await _collect(resumed, wallet.id, 8)
            # 4..8 also sit in the live buffer: the next event must be new, not one of those.
            await ledger.deposit(alice, wallet.id, "4", "later")
            got.append(await _next(resumed))
    assert _triples(got) == await _history(wallet.id, after=1)
    assert [e.version for e in got] == list(range(2, 10))
    assert got[-1].balance == Decimal("18")
    assert await verify() == []


async def test_resume_while_postings_continue(feed):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    total = 120
    progress = asyncio.Event()

    async def keep_posting():
        for n in range(total):
            await ledger.deposit(alice, wallet.id, "0.01", f"k{n}")
            if n == 40:
                progress.set()

    writer = asyncio.create_task(keep_posting())
    try:
        await asyncio.wait_for(progress.wait(), WAIT)
        async with (
            feed.subscribe(alice.user_id, wallet.id, after_version=10) as early,
            feed.subscribe(alice.user_id, wallet.id, after_version=0) as from_start,
        ):
            first = await _collect(early, wallet.id, 30)
            # Resume again, mid-stream, from the last version the first one delivered.
            resume_from = first[-1].version
            async with feed.subscribe(alice.user_id, wallet.id, resume_from) as later:
                await asyncio.wait_for(writer, WAIT * 3)
                # One more, so any duplicate still queued would surface before it.
                await ledger.deposit(alice, wallet.id, "0.01", "last")
                end = total + 1
                rest = await _collect(later, wallet.id, end)
                everything = await _collect(from_start, wallet.id, end)
                first += await _collect(early, wallet.id, end)
    finally:
        writer.cancel()
    assert [e.version for e in first] == list(range(11, end + 1))
    assert [e.version for e in rest] == list(range(resume_from + 1, end + 1))
    assert _triples(everything) == await _history(wallet.id)
    assert await verify() == []


async def test_replay_pages_through_a_long_history(feed, monkeypatch):
    from walletql import events

    monkeypatch.setattr(events, "REPLAY_PAGE", 3)
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    for n in range(10):
        await ledger.deposit(alice, wallet.id, "1", f"p{n}")
    async with feed.subscribe(alice.user_id, wallet.id, after_version=2) as sub:
        got = await _collect(sub, wallet.id, 10)
        await ledger.deposit(alice, wallet.id, "1", "live")
        got.append(await _next(sub))
    assert _triples(got) == await _history(wallet.id, after=2)
    assert await verify() == []


async def test_replay_never_crosses_owners(feed, database_url):
    alice, bob = await _customer(), await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    await ledger.deposit(alice, wallet.id, "1", "x")
    async with feed.subscribe(bob.user_id, wallet.id, after_version=0) as sub:
        await _marker(database_url, bob.user_id, wallet.id, 999)
        assert (await _next(sub)).version == 999  # nothing replayed before the marker
    assert await verify() == []


async def test_slow_subscriber_is_closed_and_others_continue(feed_with):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    feed = await feed_with(subscriber_queue_size=2)
    async with (
        feed.subscribe(alice.user_id, wallet.id) as slow,
        feed.subscribe(alice.user_id) as fast,
    ):
        received = []
        for n in range(6):
            await ledger.deposit(alice, wallet.id, "1", f"s{n}")
            received.append(await _next(fast))  # consumed as it comes: never more than 1
        assert [e.version for e in received] == [1, 2, 3, 4, 5, 6]
        assert feed.subscriber_count == 1  # the slow one was dropped at once
        with pytest.raises(SubscriberTooSlow, match="afterVersion"):
            await _next(slow)
        with pytest.raises(SubscriberTooSlow):
            await _next(slow)  # stays closed
        await ledger.deposit(alice, wallet.id, "1", "s-last")
        assert (await _next(fast)).version == 7
    assert feed.subscriber_count == 0
    assert await verify() == []


async def test_terminated_connection_interrupts_and_recovers(feed, database_url):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    old_pid = feed.backend_pid
    assert old_pid is not None
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with feed.subscribe(alice.user_id) as waiting:
            await ledger.deposit(alice, wallet.id, "1", "r0")
            assert (await _next(waiting)).version == 1
            async with feed.subscribe(alice.user_id, wallet.id, after_version=0) as replayed:
                assert (await _next(replayed)).version == 1
                consumer = asyncio.create_task(_next(waiting))
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
                with pytest.raises(FeedInterrupted, match="afterVersion"):
                    await consumer
                with pytest.raises(FeedInterrupted):
                    await _next(replayed)
                assert feed.subscriber_count == 0
            # Posted while the feed may still be reconnecting: a resume finds it.
            await ledger.deposit(alice, wallet.id, "2", "r1")
        async with feed.subscribe(alice.user_id, wallet.id, after_version=1) as resumed:
            assert feed.backend_pid not in (None, old_pid)
            assert (await _next(resumed)).version == 2
            await ledger.deposit(alice, wallet.id, "3", "r2")
            event = await _next(resumed)
        assert (event.version, event.balance) == (3, Decimal("6"))
    finally:
        await admin.close()
    assert await verify() == []


async def test_silent_dead_connection_is_found_by_the_health_check(database_url):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    defaults = Settings()
    feed = BalanceFeed(
        queue_size=defaults.subscriber_queue_size,
        max_per_user=defaults.max_subscriptions_per_user,
        health_interval=0.2,
    )
    await feed.start(database_url)
    try:
        async with feed.subscribe(alice.user_id) as sub:
            old_pid = feed.backend_pid
            # A peer that went silent (no data, no FIN) is invisible to the termination
            # listener; stop reading the socket to make the feed's connection look like one.
            feed._conn._transport.pause_reading()
            with pytest.raises(FeedInterrupted):
                await _next(sub)
        async with feed.subscribe(alice.user_id) as sub:
            assert feed.backend_pid not in (None, old_pid)
            await ledger.deposit(alice, wallet.id, "1", "after-health-check")
            assert (await _next(sub)).version == 1
    finally:
        await feed.stop()
    assert await verify() == []


async def test_stop_ends_subscriptions_and_restart_works(database_url):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    feed = _new_feed()
    await feed.start(database_url)
    try:
        async with feed.subscribe(alice.user_id) as sub:
            consumer = asyncio.create_task(anext(sub, "ended"))
            await asyncio.sleep(0)  # let it start waiting
            await feed.stop()
            assert await asyncio.wait_for(consumer, WAIT) == "ended"
        with pytest.raises(FeedInterrupted, match="not running"):
            async with feed.subscribe(alice.user_id):
                pass
        await feed.start(database_url)
        async with feed.subscribe(alice.user_id) as sub:
            await ledger.deposit(alice, wallet.id, "1", "after-restart")
            assert (await _next(sub)).version == 1
    finally:
        await feed.stop()
    assert await verify() == []


async def test_subscribe_and_leave_leaves_nothing_behind(feed):
    alice = await _customer()
    wallet = await ledger.create_wallet(alice, "USD")
    await ledger.deposit(alice, wallet.id, "1", "c0")
    tasks_before = len(asyncio.all_tasks())

    async def consume(entered: asyncio.Event) -> None:
        async with feed.subscribe(alice.user_id, wallet.id) as sub:
            entered.set()
            async for _ in sub:
                pass

    for n in range(100):
        if n % 3 == 0:
            async with feed.subscribe(alice.user_id):
                pass
        elif n % 3 == 1:
            async with feed.subscribe(alice.user_id, wallet.id, after_version=0) as sub:
                assert (await _next(sub)).version == 1
        else:
            entered = asyncio.Event()
            task = asyncio.create_task(consume(entered))
            await asyncio.wait_for(entered.wait(), WAIT)
            assert feed.subscriber_count == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert feed.subscriber_count == 0
    assert len(asyncio.all_tasks()) == tasks_before
    assert await verify() == []


async def test_bad_arguments():
    feed = _new_feed()
    with pytest.raises(ValueError, match="walletId"):
        feed.subscribe(1, after_version=3)
    with pytest.raises(ValueError, match="negative"):
        feed.subscribe(1, 2, after_version=-1)
    with pytest.raises(RuntimeError, match="async with"):
        await anext(_new_feed().subscribe(1))
