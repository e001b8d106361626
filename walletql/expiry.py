"""The hold sweeper: every server process releases the holds past their expiry, every
WALLETQL_HOLD_SWEEP_SECONDS. Processes never release one hold twice (each statement takes only
holds no other holds: FOR UPDATE SKIP LOCKED), so every process runs it and none is special.

A capture checks the expiry itself, in SQL: the sweeper's delay only decides when the reserved
money becomes available again, never whether an expired hold can be captured."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from walletql import rounds
from walletql.ledger import holds
from walletql.ledger.posting import Turns

if TYPE_CHECKING:
    from walletql.metrics import Metrics

log = logging.getLogger("walletql.expiry")


async def sweep_expired_holds(
    every_seconds: float,
    turns: Turns,
    ready: Callable[[], bool],
    metrics: Metrics | None = None,
) -> None:
    """Forever: release what expired, then wait `every_seconds` (walletql.rounds: a round is
    skipped while the database is not `ready()` or goes away, and the next one releases what
    it could not). With `metrics`, each round first measures the sweeper's lag: how long the
    oldest expired hold has waited (growing while rounds fail)."""

    async def sweep() -> None:
        if metrics is not None:
            metrics.hold_sweep_lag.set(await holds.oldest_expired_age())
        released = await holds.release_expired(turns=turns)
        if released:
            log.info("released %d expired hold(s)", released)

    await rounds.every(every_seconds, ready, sweep, "releasing expired holds")
