"""Live balance updates: one LISTEN connection per process, fanned out to bounded subscribers.

Posting queues `pg_notify(BALANCE_CHANNEL, ...)` inside its transaction, so a notification
leaves only on commit and, as the wallet's row lock is held until then, in version order per
wallet; it reaches every process listening on the database, whichever instance posted.

No silent gaps: a subscriber that cannot keep up is closed with SubscriberTooSlow, and when the
connection dies every active one is closed with FeedInterrupted. The client then resumes with
afterVersion: stored entries are replayed, then live events follow without a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import asyncpg

from walletql.db import asyncpg_dsn
from walletql.ledger.posting import BALANCE_CHANNEL
from walletql.models import Entry
from walletql.outage import is_unavailable

if TYPE_CHECKING:
    from walletql.metrics import Metrics

log = logging.getLogger("walletql.events")

REPLAY_PAGE = 500  # entries per replay query: a long history never sits in memory at once
_CONNECT_TIMEOUT = 10.0
_RESUME = "subscribe again with afterVersion set to the last version received"
_TOO_SLOW = f"Too many balance updates were waiting for this subscriber; {_RESUME}"
INTERRUPTED = (  # what an interrupted subscriber is told
    f"The balance feed lost its database connection; events may have been missed; {_RESUME}"
)


class SubscriberTooSlow(Exception):
    """The subscriber's queue filled up; it was closed rather than allowed to grow."""


class FeedInterrupted(Exception):
    """The feed lost its database connection (or is not running); events may have been missed."""


class TooManySubscriptions(Exception):
    """The user already holds the most subscriptions this process serves one user."""


@dataclass(frozen=True)
class BalanceEvent:
    wallet_id: int
    owner_id: int
    balance: Decimal
    version: int
    transaction_id: int
    held: Decimal = Decimal(0)


def _parse(payload: str) -> BalanceEvent:
    data = json.loads(payload)
    ids = (int(data[k]) for k in ("wallet_id", "owner_id", "version", "transaction_id"))
    wallet_id, owner_id, version, transaction_id = ids
    # The balance travels as text: no float ever touches money.
    balance, held = Decimal(data["balance"]), Decimal(data.get("held", "0"))
    return BalanceEvent(wallet_id, owner_id, balance, version, transaction_id, held)


class Subscription:
    """Use as `async with feed.subscribe(...) as sub: async for event in sub:`.

    No task of its own: the feed's notification callback pushes into `_buffer` and sets
    `_wakeup`; the consumer's `__anext__` does the replay queries and the waiting.
    """

    def __init__(
        self, feed: BalanceFeed, owner_id: int, wallet_id: int | None, after: int | None, size: int
    ) -> None:
        self._feed, self.owner_id, self.wallet_id = feed, owner_id, wallet_id
        self._max_queued = size
        self._buffer: deque[BalanceEvent] = deque()
        self._wakeup = asyncio.Event()
        self._error: Exception | None = None
        self._ended = False
        self._registered = False
        # Last version delivered per wallet: live events at or below it were already replayed.
        self._last: dict[int, int] = {}
        self._replaying = after is not None
        self._page: deque[BalanceEvent] = deque()
        if wallet_id is not None and after is not None:
            self._last[wallet_id] = after

    async def __aenter__(self) -> Subscription:
        # Register for live events BEFORE replaying: anything committed after the replay's
        # snapshot is then already on its way to the buffer, so the switch leaves no gap.
        await self._feed._register(self)
        self._registered = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._feed._unregister(self)
        self._ended = True
        self._buffer.clear()
        self._page.clear()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> BalanceEvent:
        if not self._registered:
            raise RuntimeError("Use the subscription inside `async with`")
        while True:
            if self._error is not None:
                raise self._error
            if self._page:
                return self._deliver(self._page.popleft())
            if self._replaying:
                await self._fetch_page()
                continue
            if self._buffer:
                event = self._buffer.popleft()
                if event.version <= self._last.get(event.wallet_id, 0):
                    continue  # already replayed from the database
                return self._deliver(event)
            if self._ended:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def _deliver(self, event: BalanceEvent) -> BalanceEvent:
        self._last[event.wallet_id] = event.version
        return event

    async def _fetch_page(self) -> None:
        assert self.wallet_id is not None
        after = self._last[self.wallet_id]
        # The owner condition keeps one owner from replaying another's wallet.
        try:
            rows = (
                await Entry.filter(
                    wallet_id=self.wallet_id, wallet__owner_id=self.owner_id, version__gt=after
                )
                .order_by("version")
                .limit(REPLAY_PAGE)
                .values_list("version", "balance_after", "transaction_id", "held_after")
            )
        except Exception as exc:
            if is_unavailable(exc):  # the database went away mid-replay: resume later
                raise FeedInterrupted(INTERRUPTED) from exc
            raise
        for version, balance, tx_id, held in rows:
            self._page.append(
                BalanceEvent(self.wallet_id, self.owner_id, balance, version, tx_id, held)
            )
        if len(rows) < REPLAY_PAGE:
            self._replaying = False  # after this page, the buffered live events take over

    # Called by the feed, synchronously, from its notification and connection callbacks.

    def _offer(self, event: BalanceEvent) -> bool:
        if len(self._buffer) >= self._max_queued:
            return False
        self._buffer.append(event)
        self._wakeup.set()
        return True

    def _fail(self, error: Exception) -> None:
        if self._error is None and not self._ended:
            self._error = error
        self._buffer.clear()  # the error is raised next: free the memory now
        self._wakeup.set()

    def _end(self) -> None:
        self._ended = True
        self._wakeup.set()


class BalanceFeed:
    """One per process (walletql.services): a dedicated LISTEN connection, reconnected with
    backoff when lost. Each subscriber holds at most `queue_size` events not yet consumed
    (WALLETQL_SUBSCRIBER_QUEUE_SIZE), and one user at most `max_per_user` subscriptions
    (WALLETQL_MAX_SUBSCRIPTIONS_PER_USER)."""

    def __init__(
        self,
        *,
        queue_size: int,
        max_per_user: int,
        health_interval: float = 10.0,
        max_backoff: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._queue_size = queue_size
        self._metrics = metrics  # WALLETQL_METRICS on: subscriptions, deliveries, reconnects
        self._max_per_user = max_per_user
        # max_backoff: an attempt every few seconds at most, so that subscriptions resume
        # within seconds of the database's return; one connection attempt per process costs
        # the database nothing worth saving.
        self._health_interval = health_interval
        self._max_backoff = max_backoff
        self._dsn: str | None = None
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task | None = None
        self._by_owner: dict[int, set[Subscription]] = {}
        self._watchers: dict[str, tuple[Callable[[str], None], Callable[[bool], None]]] = {}
        # Set while listening, or once stopped (so waiters wake). Remade by start(): an Event
        # binds to the first loop that waits on it, and the feed may outlive a loop (tests).
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._by_owner.values())

    @property
    def backend_pid(self) -> int | None:
        """The server process of the LISTEN connection (health checks and tests)."""
        return self._conn.get_server_pid() if self._conn is not None else None

    def watch(
        self, channel: str, on_message: Callable[[str], None], on_listening: Callable[[bool], None]
    ) -> None:
        """Also deliver `channel`'s notifications, over the same connection, to `on_message`.
        `on_listening(False)` whenever the connection is lost (messages may be missed from
        then on), `on_listening(True)` once listening again (messages sent in between were
        missed). Call before start()."""
        self._watchers[channel] = (on_message, on_listening)

    async def start(self, url: str) -> None:
        """Connect and LISTEN. While the database is unavailable (walletql.outage) the feed
        starts in its reconnect loop, as if the connection had just been lost: subscribers
        wait until it listens. Anything else (a malformed URL, a refused password) raises, so
        start-up fails fast."""
        if self._task is not None:
            raise RuntimeError("The balance feed is already running")
        self._dsn = asyncpg_dsn(url)
        self._ready, self._lost = asyncio.Event(), asyncio.Event()
        try:
            conn = await self._connect()
        except Exception as exc:
            if not is_unavailable(exc):
                self._dsn = None  # not running: subscribers get FeedInterrupted, not a hang
                raise
            msg = "Balance feed cannot reach the database (%s: %s); retrying in the background"
            log.warning(msg, type(exc).__name__, exc)
            conn = None
        except BaseException:
            self._dsn = None
            raise
        self._task = asyncio.create_task(self._supervise(conn), name="walletql-balance-feed")

    async def stop(self) -> None:
        """Close the connection; active subscriptions end normally (StopAsyncIteration)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # unlike `await task`, keeps our own cancellation visible
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # closes the socket at once; nothing is left to flush
        self._tell_watchers(listening=False)
        for subs in self._by_owner.values():
            for sub in subs:
                sub._end()
        self._forget_all()
        self._dsn = None
        self._ready.set()

    def subscribe(
        self, owner_id: int, wallet_id: int | None = None, after_version: int | None = None
    ) -> Subscription:
        if after_version is not None:
            if wallet_id is None:
                raise ValueError("afterVersion needs a walletId")
            if after_version < 0:
                raise ValueError("afterVersion must not be negative")
        return Subscription(self, owner_id, wallet_id, after_version, self._queue_size)

    async def _register(self, sub: Subscription) -> None:
        # While reconnecting, wait: registering on a dead connection would miss events silently.
        while self._dsn is not None and self._conn is None:
            await self._ready.wait()
        if self._dsn is None:
            raise FeedInterrupted("The balance feed is not running")
        mine = self._by_owner.setdefault(sub.owner_id, set())
        limit = self._max_per_user
        if len(mine) >= limit:  # counted and added with no await between: no burst slips by
            if not mine:
                del self._by_owner[sub.owner_id]
            raise TooManySubscriptions(
                f"At most {limit} live subscriptions per user (WALLETQL_MAX_SUBSCRIPTIONS_PER_USER);"
                " complete one first, or subscribe once without walletId for all your wallets"
            )
        mine.add(sub)
        if self._metrics is not None:
            self._metrics.subscriptions.inc()

    def _unregister(self, sub: Subscription) -> None:
        subs = self._by_owner.get(sub.owner_id)
        if subs is not None and sub in subs:
            subs.remove(sub)
            if not subs:
                del self._by_owner[sub.owner_id]
            if self._metrics is not None:
                self._metrics.subscriptions.dec()

    def _forget_all(self) -> None:
        if self._metrics is not None:
            self._metrics.subscriptions.dec(self.subscriber_count)
        self._by_owner.clear()

    async def _connect(self) -> asyncpg.Connection:
        assert self._dsn is not None
        conn = await asyncpg.connect(self._dsn, timeout=_CONNECT_TIMEOUT)
        try:
            await conn.add_listener(BALANCE_CHANNEL, self._on_notify)
            for channel in self._watchers:
                await conn.add_listener(channel, self._on_watched)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_terminated)
        self._lost.clear()
        self._conn = conn
        self._ready.set()
        self._tell_watchers(listening=True)
        return conn

    def _on_watched(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if conn is self._conn:
            self._watchers[channel][0](payload)

    def _tell_watchers(self, listening: bool) -> None:
        for _on_message, on_listening in self._watchers.values():
            on_listening(listening)

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if conn is not self._conn or not self._by_owner:
            return  # nobody here is subscribed: not even worth parsing (every posting comes)
        try:
            event = _parse(payload)
        except (ValueError, KeyError, TypeError, ArithmeticError):
            log.warning("Ignoring a malformed notification on %s", BALANCE_CHANNEL)
            return
        subs = self._by_owner.get(event.owner_id)
        if not subs:
            return
        offered = 0
        for sub in list(subs):
            if sub.wallet_id is not None and sub.wallet_id != event.wallet_id:
                continue
            if sub._offer(event):
                offered += 1
            else:
                # Never block the listener or grow memory for one slow consumer: drop it.
                self._unregister(sub)
                sub._fail(SubscriberTooSlow(_TOO_SLOW))
                if self._metrics is not None:
                    self._metrics.slow_closes.inc()
        if self._metrics is not None and offered:
            self._metrics.deliveries.inc(offered)  # once per posting, not per subscriber

    def _on_terminated(self, conn: object) -> None:
        if conn is self._conn:
            self._drop()

    def _drop(self) -> None:
        """The connection is gone: close every active subscriber rather than leave it silent."""
        self._conn = None
        self._ready.clear()
        self._lost.set()
        self._tell_watchers(listening=False)
        subs = [sub for group in self._by_owner.values() for sub in group]
        self._forget_all()
        for sub in subs:
            sub._fail(FeedInterrupted(INTERRUPTED))

    async def _watch(self, conn: asyncpg.Connection) -> str:
        """Wait until `conn` is lost; a periodic query also catches a silently dead peer."""
        while True:
            try:
                # asyncio.timeout, not wait_for: no helper task is created every interval.
                async with asyncio.timeout(self._health_interval):
                    await self._lost.wait()
                return "connection closed"
            except TimeoutError:
                pass
            try:
                async with asyncio.timeout(self._health_interval):
                    await conn.fetchval("SELECT 1")
            except Exception as exc:  # any failure means this connection cannot be trusted
                return f"health check failed: {type(exc).__name__}"

    async def _supervise(self, conn: asyncpg.Connection | None) -> None:
        delay = 0.0
        while True:
            if conn is not None:
                reason = await self._watch(conn)
                if self._conn is conn:
                    self._drop()
                conn.terminate()
                conn = None
                log.warning("Balance feed lost its database connection (%s); reconnecting", reason)
                delay = 0.0  # a terminated backend usually comes straight back: retry at once
            await asyncio.sleep(delay)
            try:
                conn = await self._connect()
            except Exception as exc:  # whatever the cause, this loop must never die
                # Exponential backoff with jitter, so many workers do not retry in lockstep.
                delay = min(self._max_backoff, max(0.5, delay * 2)) * random.uniform(0.8, 1.2)
                # The exception, not the DSN: asyncpg's messages carry no password.
                msg = "Balance feed could not reconnect (%s: %s); retrying in %.1fs"
                log.warning(msg, type(exc).__name__, exc, delay)
                continue
            log.warning("Balance feed reconnected and is listening again")
            if self._metrics is not None:
                self._metrics.feed_reconnects.inc()
