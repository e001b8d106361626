"""Queries on a read replica (WALLETQL_READ_DATABASE_URL), with read-your-writes.

A query operation runs on the replica once the replica has replayed everything the primary had
committed when the query arrived: its WAL position then (`pg_current_wal_lsn()`, a round trip
that reads no table) against the replica's `pg_last_wal_replay_lsn()`, waited for up to
WALLETQL_READ_WAIT_MS. So whoever just posted, through any process, sees the posting in their
next query, and nobody reads an older state than one they were shown. A replica further behind
than that, or unreachable, is not waited for: the query reads the primary, and the log says so
once per change of state. Mutations and subscriptions (their replays included) always use the
primary.

The switch is Tortoise's public connection context (`connections.set`, as `in_transaction()`
does): for the operation's task, the "default" alias is the replica's client, so the ORM and
walletql.models.rows alike read there, and nothing else of the process changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from walletql import db

if TYPE_CHECKING:
    from walletql.metrics import Metrics

log = logging.getLogger("walletql.replica")

PRIMARY = "default"  # the ORM's connection, pointed at the replica for a query that may read it
# Why a query read where it did: the replica had replayed the primary's position at its
# arrival (at once or after a wait), or it had not within WALLETQL_READ_WAIT_MS, or it did not
# answer (both: the primary).
CAUGHT_UP, BEHIND, UNAVAILABLE = "caught_up", "behind", "unavailable"
REASONS = (CAUGHT_UP, BEHIND, UNAVAILABLE)
_POLL = 0.002  # seconds between two looks at the replica's replay position while waiting


class ReadReplica:
    """This process's replica: its client (the ORM's kind, opened on first use), how far it is
    known to have replayed, and whether it is in use (for the log)."""

    def __init__(
        self, url: str, pool_size: int, wait_ms: int, metrics: Metrics | None = None
    ) -> None:
        self.url, self.pool_size = url, pool_size
        self.client: BaseDBAsyncClient | None = None
        self.wait = wait_ms / 1000
        self.replayed = 0  # the highest replay position seen on the replica (an LSN, as int)
        self.in_use = True
        self.metrics = metrics
        # Query operations by where they read and why; the waits for the replica to replay
        # (a query that found it caught up at once did not wait). /healthz shows them.
        self.reads = {reason: 0 for reason in REASONS}
        self.waits, self.waited, self.longest_wait = 0, 0.0, 0.0

    async def readable(self) -> bool:
        """Whether this query may read the replica: it has replayed what the primary had
        committed when the query arrived (waiting up to the setting), and it answers."""
        try:
            target = await _position(connections.get(PRIMARY), "SELECT pg_current_wal_lsn()")
        except Exception:  # the primary's own outage: the query meets it and answers so
            return False
        if target <= self.replayed:
            return self._note(CAUGHT_UP)
        start = time.monotonic()
        deadline = start + self.wait
        try:
            while True:
                replayed = await _position(
                    self.opened(), "SELECT coalesce(pg_last_wal_replay_lsn(), '0/0')"
                )
                self.replayed = max(self.replayed, replayed)
                if self.replayed >= target:
                    return self._note(CAUGHT_UP, start)
                if time.monotonic() >= deadline:
                    return self._note(BEHIND, start)
                await asyncio.sleep(_POLL)
        except Exception as exc:  # unreachable, restarting: the primary answers
            return self._note(UNAVAILABLE, why=f"unavailable ({type(exc).__name__})")

    def opened(self) -> BaseDBAsyncClient:
        if self.client is None:
            self.client = db.replica_client(self.url, self.pool_size)
        return self.client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()

    def figures(self) -> dict:
        """What /healthz shows of this process's replica."""
        return {
            "in_use": self.in_use,
            "queries": dict(self.reads),
            "waits": self.waits,
            "wait_ms_mean": round(self.waited / self.waits * 1000, 1) if self.waits else 0.0,
            "wait_ms_max": round(self.longest_wait * 1000, 1),
        }

    def _note(self, reason: str, waited_since: float | None = None, why: str = "") -> bool:
        """Count a query's decision (`reason`: one of REASONS), the wait it took if it waited,
        and log a change between reading the replica and reading the primary."""
        waited = None
        if waited_since is not None:
            waited = time.monotonic() - waited_since
            self.waits += 1
            self.waited += waited
            self.longest_wait = max(self.longest_wait, waited)
        self.reads[reason] += 1
        if self.metrics is not None:
            self.metrics.replica_query(reason, waited)
        replica = reason == CAUGHT_UP
        if replica != self.in_use:
            self.in_use = replica
            if replica:
                log.warning("Read replica caught up: queries read it again")
            else:
                log.warning(
                    "Read replica %s: queries read the primary",
                    why or "behind by more than WALLETQL_READ_WAIT_MS",
                )
        return replica


async def _position(client: BaseDBAsyncClient, sql: str) -> int:
    """A WAL position as a number (pg_lsn's text is two hex halves, 'X/Y')."""
    rows = await client.execute_query_dict(f"SELECT ({sql})::text AS lsn")
    high, low = rows[0]["lsn"].split("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicaReads(SchemaExtension):
    """Runs a query operation on the replica when it has caught up (ReadReplica)."""

    def __init__(self, replica: ReadReplica) -> None:
        self.replica = replica

    async def on_execute(self) -> AsyncIterator[None]:
        if self.execution_context.operation_type is not OperationType.QUERY:
            yield
            return
        if not await self.replica.readable():
            yield
            return
        token = connections.set(PRIMARY, self.replica.opened())
        try:
            yield
        finally:
            connections.reset(token)
