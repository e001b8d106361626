"""Background rounds (walletql.rounds): skipped while the database is not ready, quiet about the
database going away, loud about anything else, and never stopped by a failing round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine

from walletql import rounds


async def _run_until(every: Coroutine, done: asyncio.Event) -> None:
    """Run the rounds until `done` is set (a hang fails after 10 s)."""
    task = asyncio.create_task(every)
    try:
        async with asyncio.timeout(10):
            await done.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _counting(failure: Exception | None, rounds_wanted: int = 3):
    """A round that raises `failure` (if any) and sets `done` after `rounds_wanted` rounds."""
    done = asyncio.Event()
    calls: list[int] = []

    async def work() -> None:
        calls.append(1)
        if len(calls) >= rounds_wanted:
            done.set()
        if failure is not None and len(calls) == 1:
            raise failure

    return work, done, calls


async def test_a_failing_round_is_logged_and_the_rounds_go_on(caplog):
    work, done, calls = _counting(RuntimeError("a bug"))
    with caplog.at_level(logging.ERROR, logger="walletql.rounds"):
        await _run_until(rounds.every(0.001, lambda: True, work, "testing"), done)
    assert len(calls) >= 3
    assert [r.getMessage() for r in caplog.records] == ["testing failed; retrying next round"]


async def test_the_database_going_away_is_not_logged(caplog):
    work, done, calls = _counting(ConnectionRefusedError("the database is restarting"))
    with caplog.at_level(logging.DEBUG, logger="walletql.rounds"):
        await _run_until(rounds.every(0.001, lambda: True, work, "testing"), done)
    assert len(calls) >= 3
    assert caplog.records == []


async def test_no_round_runs_while_the_database_is_not_ready():
    work, done, calls = _counting(None, rounds_wanted=1)
    checks: list[int] = []

    def ready() -> bool:
        checks.append(len(calls))
        return len(checks) > 3  # ready from the fourth look on

    await _run_until(rounds.every(0.001, ready, work, "testing"), done)
    assert checks[:4] == [0, 0, 0, 0]  # three rounds skipped, the fourth ran
