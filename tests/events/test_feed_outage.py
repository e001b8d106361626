"""The balance feed while the database is unavailable: it starts anyway (in its reconnect loop),
and a replay that meets the outage ends the subscription with FeedInterrupted (the client
resumes with afterVersion), not with an unexpected error."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from asyncpg import exceptions as pg

from tests.calls import ledger
from tests.server.conftest import free_port
from walletql import events
from walletql.auth import principal_of
from walletql.events import BalanceFeed, FeedInterrupted
from walletql.services import build_services
from walletql.settings import Settings


def _new_feed() -> BalanceFeed:
    """A feed as an app on the default settings builds it (walletql.services)."""
    return build_services(Settings()).feed


WAIT = 10  # seconds; only to turn a hang into a failure


async def test_a_feed_started_while_the_database_is_down_retries_in_the_background():
    feed = _new_feed()
    nobody_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/walletql"
    await feed.start(nobody_listens)  # no exception: start-up goes on
    try:
        assert feed.backend_pid is None
        waiting = asyncio.create_task(feed.subscribe(1).__aenter__())
        for _ in range(20):  # let it run as far as it can: it waits for the database
            await asyncio.sleep(0)
        assert not waiting.done() and feed.subscriber_count == 0
        waiting.cancel()
    finally:
        await feed.stop()


async def test_a_feed_with_a_malformed_url_still_fails_start_up():
    with pytest.raises(ValueError):
        await _new_feed().start("postgresql://postgres@127.0.0.1:not-a-port/walletql")


class _LostEntries:
    """Entry.filter(...).order_by(...).limit(...).values_list(...) whose await fails as a
    query does when the database goes away."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: self

    def __await__(self):
        raise pg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        yield  # pragma: no cover - makes this a generator, as __await__ must be


async def test_a_replay_cut_off_by_an_outage_is_feed_interrupted(database_url, monkeypatch):
    feed = _new_feed()
    await feed.start(database_url)
    try:
        user = await ledger.create_user(
            email=f"o{secrets.token_hex(5)}@example.com", password="correct horse", name="O"
        )
        alice = principal_of(user)
        wallet = await ledger.create_wallet(alice, "USD")
        await ledger.deposit(alice, wallet.id, "1", "replayed")
        monkeypatch.setattr(events, "Entry", _LostEntries())
        async with feed.subscribe(alice.user_id, wallet.id, after_version=0) as sub:
            with pytest.raises(FeedInterrupted, match="afterVersion"):
                await asyncio.wait_for(anext(sub), WAIT)
    finally:
        await feed.stop()
