"""Failover without loss, as `python -m bench.failover` measures it (docs/scaling.md), at a
smaller scale: a primary and a synchronous standby of the test's own, `walletql serve` on the
multi-host URL, clients retrying under their idempotency keys, a subscriber resuming with
afterVersion, a second server reading the standby; the primary stopped (immediate) under load
and the standby promoted. Every check of the harness must hold: nothing acknowledged lost,
nothing doubled, balances as the acknowledged transfers make them, `walletql verify` clean on
the new primary, the subscriber without gap up to the wallet's last version, and every read
after the caller's own posting fresh."""

from __future__ import annotations

import argparse

import pytest

from bench import failover
from tests.postgres import postgres_bin

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="no PostgreSQL binaries")


async def test_a_primary_dies_under_load_and_nothing_acknowledged_is_lost():
    args = argparse.Namespace(clients=8, customers=10, before=4.0, after=2.0)
    report = await failover.run(args)
    assert report["failed"] == [], report
    # The run did what it claims: load before the death, recovery after it, a resumption.
    assert 0 < report["acknowledged_before_death"] < report["acknowledged"]
    assert report["seconds_to_first_success"] is not None
    assert report["subscriber_resumed_after"], report  # FEED_INTERRUPTED, or a closed socket
    assert report["read_your_writes"]["fresh"] > 0
