"""Background work that every server process does in rounds (releasing expired holds, forgetting
old sign-in records). Each kind of work is safe to run on any number of processes at once, so
none is special and none has to be elected.

A round is skipped while the database is not ready, and one that meets the database going away
ends quietly: the next round does its work. Any other failure is logged, and the rounds go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from walletql.outage import is_unavailable

log = logging.getLogger("walletql.rounds")


async def every(
    seconds: float, ready: Callable[[], bool], work: Callable[[], Awaitable[object]], what: str
) -> None:
    """Forever: `work()` (when `ready()`), then wait `seconds`. `what` names it in the log."""
    while True:
        try:
            if ready():
                await work()
        except Exception as exc:
            if not is_unavailable(exc):
                log.exception("%s failed; retrying next round", what)
        await asyncio.sleep(seconds)
