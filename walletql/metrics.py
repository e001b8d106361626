"""The process's Prometheus metrics (prometheus-client), when WALLETQL_METRICS is on.

One `Metrics` per app (walletql.services), on a registry of its own: nothing is a module global,
and a second app in the same process has its own. Under `walletql serve` the values live in
prometheus-client's multiprocess files (PROMETHEUS_MULTIPROC_DIR, set up by walletql.serve), so
that the metrics port, served by the `walletql serve` process itself, adds up every worker.

Labels are low-cardinality only: an operation type, a posting kind, an outcome code, all
chosen by walletql. Never a user, a wallet, or an operation name (clients choose those).
docs/operations.md lists every metric.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: a read takes about a millisecond, a posting a few; the tail reaches seconds when
# the database struggles.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self._requests = Counter(
            "walletql_graphql_requests",
            "GraphQL operations answered, by operation type and outcome code (OK, or the code "
            "of the first error)",
            ["type", "outcome"],
            registry=r,
        )
        self._latency = Histogram(
            "walletql_graphql_request_seconds",
            "Time to answer a query or mutation, by operation type",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._postings = Counter(
            "walletql_postings",
            "Posting statements answered by the database, by kind and outcome code",
            ["kind", "outcome"],
            registry=r,
        )
        self.subscriptions = Gauge(
            "walletql_subscriptions_active",
            "Live balanceUpdates subscriptions",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.deliveries = Counter(
            "walletql_balance_updates_delivered",
            "Live balance updates handed to subscribers (one per subscriber and posting)",
            registry=r,
        )
        self.slow_closes = Counter(
            "walletql_subscribers_closed_slow",
            "Subscriptions closed because their subscriber fell too far behind",
            registry=r,
        )
        self.feed_reconnects = Counter(
            "walletql_feed_reconnects",
            "Times the balance feed (LISTEN connection) reconnected after losing its connection",
            registry=r,
        )
        pool = "Database connections of the ORM's pool"
        self.pool_size = Gauge(
            "walletql_db_pool_connections", f"{pool}: open", registry=r, multiprocess_mode="livesum"
        )
        self.pool_in_use = Gauge(
            "walletql_db_pool_connections_in_use",
            f"{pool}: lent to a query",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_max = Gauge(
            "walletql_db_pool_connections_max",
            f"{pool}: the most it opens (WALLETQL_DB_POOL_SIZE)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.hold_sweep_lag = Gauge(
            "walletql_hold_sweep_lag_seconds",
            "Age of the oldest hold past its expiry and not released yet, seen at the start of "
            "each sweep (0: none)",
            registry=r,
            multiprocess_mode="livemax",
        )
        self._replica_queries = Counter(
            "walletql_replica_queries",
            "Query operations with a read replica configured, by why they read where they did: "
            "caught_up (the replica), behind or unavailable (the primary)",
            ["reason"],
            registry=r,
        )
        self._replica_wait = Histogram(
            "walletql_replica_wait_seconds",
            "Time a query waited for the replica to replay the primary's position at its "
            "arrival (queries that found it caught up at once did not wait)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=r,
        )
        # Children by label values, made once: prometheus-client's labels() checks and locks
        # at every call.
        self._request_children: dict[tuple[str, str], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._posting_children: dict[tuple[str, str], Counter] = {}
        self._replica_children: dict[str, Counter] = {}

    def request(self, operation_type: str, outcome: str, seconds: float | None) -> None:
        """One operation answered; `seconds` None for a subscription (it lasts as long as it
        streams)."""
        key = (operation_type, outcome)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self._requests.labels(*key)
        child.inc()
        if seconds is not None:
            latency = self._latency_children.get(operation_type)
            if latency is None:
                latency = self._latency_children[operation_type] = self._latency.labels(
                    operation_type
                )
            latency.observe(seconds)

    def posting(self, kind: str, outcome: str, count: int = 1) -> None:
        key = (kind, outcome)
        child = self._posting_children.get(key)
        if child is None:
            child = self._posting_children[key] = self._postings.labels(*key)
        child.inc(count)

    def replica_query(self, reason: str, waited: float | None) -> None:
        child = self._replica_children.get(reason)
        if child is None:
            child = self._replica_children[reason] = self._replica_queries.labels(reason)
        child.inc()
        if waited is not None:
            self._replica_wait.observe(waited)

    def pool(self, use: tuple[int, int, int] | None) -> None:
        """The pool's (open, in use, most) connections; None: no pool yet."""
        size, in_use, most = use or (0, 0, 0)
        self.pool_size.set(size)
        self.pool_in_use.set(in_use)
        self.pool_max.set(most)


POOL_SAMPLE_SECONDS = 1.0


async def sample_pool(
    metrics: Metrics,
    use: Callable[[], tuple[int, int, int] | None],
    every: float = POOL_SAMPLE_SECONDS,
) -> None:
    """Forever: the pool's figures into the gauges, every `every` seconds. Sampled rather than
    read at scrape time: the `walletql serve` process that answers a scrape holds no pool, and
    each worker's figures reach it through its multiprocess files."""
    while True:
        metrics.pool(use())
        await asyncio.sleep(every)
