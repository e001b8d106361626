"""Holds and refunds under real concurrency, through the API on real PostgreSQL: many captures,
voids, expiries and refunds of the same hold or original in flight at once.

Outcomes may differ from run to run (who wins a race); each test asserts what must hold for
every interleaving, and ends with verify(): balances and held amounts replay from their entries
and money is conserved."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from tests.api.holds import (
    capture,
    expire,
    figures,
    get_hold,
    get_transaction,
    held,
    kinds,
    parties,
    refund,
    sweep,
    void,
)
from walletql.ledger.verify import verify

POOL_SIZE = 20  # the session's ORM pool (tests/conftest.py)


@pytest.fixture(autouse=True)
async def warm_pool(database_url):
    """Open every pool connection before the test: connections are made lazily, and a request
    that waits for a new connection lets the others finish first, hiding a race."""
    barrier = asyncio.Barrier(POOL_SIZE)

    async def hold() -> None:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT 1")
            await barrier.wait()  # all connections are open at once

    async with asyncio.timeout(60):  # a guard against a smaller pool, not a timing assertion
        await asyncio.gather(*[hold() for _ in range(POOL_SIZE)])


@pytest.fixture
async def racing(gql_with):
    """A client of an app with no limit on postings in flight: every request below reaches
    PostgreSQL at once, for the most contention."""
    return await gql_with(posting_concurrency=0)


# The invariants of holds and refunds (the design's list), beside verify()'s: each query answers
# the rows that break one.
_INVARIANTS = {
    "held is not what its entries add up to": """
        SELECT w.id FROM wallets AS w
        LEFT JOIN (SELECT wallet_id, sum(held_amount) AS total FROM entries GROUP BY wallet_id)
            AS e ON e.wallet_id = w.id
        LEFT JOIN LATERAL (SELECT held_after FROM entries WHERE wallet_id = w.id
                           ORDER BY version DESC LIMIT 1) AS last ON true
        WHERE w.held <> coalesce(e.total, 0) OR w.held <> coalesce(last.held_after, 0)""",
    "held is not what remains of the wallet's HELD holds": """
        SELECT w.id FROM wallets AS w
        LEFT JOIN (SELECT source_wallet_id, sum(amount - captured_amount) AS total FROM holds
                   WHERE status = 'HELD' GROUP BY source_wallet_id) AS h
            ON h.source_wallet_id = w.id
        WHERE w.held <> coalesce(h.total, 0)""",
    "a hold's postings disagree with it": """
        SELECT h.id FROM holds AS h
        LEFT JOIN (SELECT hold_id,
                          coalesce(sum(amount) FILTER (WHERE kind = 'HOLD'), 0) AS placed,
                          coalesce(sum(amount) FILTER (WHERE kind = 'CAPTURE'), 0) AS captured,
                          coalesce(sum(amount) FILTER (WHERE kind = 'RELEASE'), 0) AS released
                   FROM transactions WHERE status = 'POSTED' AND hold_id IS NOT NULL
                   GROUP BY hold_id) AS t ON t.hold_id = h.id
        WHERE t.hold_id IS NULL OR t.placed <> h.amount OR t.captured <> h.captured_amount
           OR h.captured_amount > h.amount
           OR (h.status <> 'HELD' AND t.placed <> t.captured + t.released)
           OR (h.status = 'HELD' AND t.released <> 0)""",
    "refunds exceed their original": """
        SELECT o.id FROM transactions AS o
        JOIN transactions AS r ON r.refund_of_id = o.id AND r.status = 'POSTED'
        GROUP BY o.id, o.amount HAVING sum(r.amount) > o.amount""",
    "money is not conserved": """
        SELECT h.currency FROM (SELECT currency, sum(balance) AS total FROM wallets
                                GROUP BY currency) AS h
        LEFT JOIN (SELECT currency,
                          sum(CASE WHEN source_wallet_id IS NULL THEN amount
                                   WHEN destination_wallet_id IS NULL THEN -amount END) AS net
                   FROM transactions
                   WHERE status = 'POSTED' AND kind NOT IN ('HOLD', 'RELEASE')
                   GROUP BY currency) AS f ON f.currency = h.currency
        WHERE h.total <> coalesce(f.net, 0)""",
}


async def hold_invariants() -> list[str]:
    """Every broken invariant of holds and refunds, with the rows that break it."""
    problems = []
    async with in_transaction() as conn:
        await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for what, query in _INVARIANTS.items():
            rows = await conn.execute_query_dict(query)
            if rows:
                problems.append(f"{what}: {[list(row.values())[0] for row in rows[:10]]}")
    return problems


def outcomes(results) -> Counter:
    return Counter(r["__typename"] for r in results)


async def test_fifty_captures_of_one_on_a_hold_of_thirty(racing):
    gql = racing
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    results = await asyncio.gather(*[capture(gql, shop, hold["id"], amount="1") for _ in range(50)])
    counts = outcomes(results)
    assert counts["HoldPayload"] == 30, counts
    assert set(counts) <= {"HoldPayload", "ExceedsRemaining", "HoldClosed"}, results
    posted = [r for r in results if r["__typename"] == "HoldPayload"]
    assert sum(Decimal(r["transaction"]["amount"]) for r in posted) == 30
    assert len({r["transaction"]["id"] for r in posted}) == 30
    # each capture saw the one before it: captured amounts 1..30, each once
    assert sorted(Decimal(r["hold"]["capturedAmount"]) for r in posted) == list(range(1, 31))
    assert all(r["replayed"] is False for r in posted)
    found = await get_hold(gql, shop, hold["id"])
    assert (found["status"], found["capturedAmount"], found["remaining"]) == (
        "CAPTURED", "30.00", "0.00",
    )  # fmt: skip
    assert kinds(found) == ["HOLD"] + ["CAPTURE"] * 30
    assert await figures(gql, ann, card) == ("70.00", "0.00", "70.00", 32)
    assert await figures(gql, shop, till) == ("30.00", "0.00", "30.00", 30)
    assert await hold_invariants() == []
    assert await verify() == []


async def test_capture_racing_void(racing):
    gql = racing
    shop, till = await gql.funded(None, role="MERCHANT")
    captured_total = Decimal(0)
    for round_ in range(20):
        ann, card = await gql.funded("50")
        hold = await held(gql, shop, card, "30")
        # even rounds capture all that remains (which closes the hold), odd ones a part
        amount = {} if round_ % 2 == 0 else {"amount": "10"}
        captured, voided = await asyncio.gather(
            capture(gql, shop, hold["id"], **amount), void(gql, shop, hold["id"])
        )
        found = await get_hold(gql, shop, hold["id"])
        balance, held_now, available, version = await figures(gql, ann, card)
        assert held_now == "0.00" and found["remaining"] == "0.00", (round_, found)
        if captured["__typename"] == "HoldPayload":
            got = Decimal(captured["transaction"]["amount"])
            assert got == (30 if round_ % 2 == 0 else 10), captured
            if round_ % 2 == 0:  # the capture closed it: the void came too late
                assert voided["__typename"] == "HoldClosed", (round_, voided)
                assert found["status"] == "CAPTURED"
                assert kinds(found) == ["HOLD", "CAPTURE"]
            else:  # the void released the other 20 after it, or the capture came first anyway
                assert voided["__typename"] == "HoldPayload", (round_, voided)
                assert voided["transaction"]["amount"] == "20.00"
                assert found["status"] == "VOIDED"
                assert kinds(found) == ["HOLD", "CAPTURE", "RELEASE"]
        else:  # the void came first
            assert captured["__typename"] == "HoldClosed", (round_, captured)
            assert voided["__typename"] == "HoldPayload", (round_, voided)
            assert voided["transaction"]["amount"] == "30.00"
            got = Decimal(0)
            assert found["status"] == "VOIDED"
            assert kinds(found) == ["HOLD", "RELEASE"]
        captured_total += got
        assert found["capturedAmount"] == f"{got:.2f}"
        assert (balance, available) == (f"{50 - got:.2f}", f"{50 - got:.2f}")
        assert version == 1 + len(found["transactions"])
    state = await figures(gql, shop, till)
    assert Decimal(state[0]) == captured_total
    assert await hold_invariants() == []
    assert await verify() == []


async def test_capture_racing_expiry(racing):
    gql = racing
    shop, till = await gql.funded(None, role="MERCHANT")
    for round_ in range(10):
        ann, card = await gql.funded("50")
        hold = await held(gql, shop, card, "30")
        live = await held(gql, shop, card, "10")
        await capture(gql, shop, hold["id"], amount="5")
        await expire(gql, hold["id"])
        # past its expiry a hold is never captured, whoever runs first; another hold on the
        # same wallet is captured meanwhile; two sweepers release the expired one once
        late, on_time, *_ = await asyncio.gather(
            capture(gql, shop, hold["id"], amount="1"),
            capture(gql, shop, live["id"], amount="4"),
            sweep(),
            sweep(),
        )
        assert late["__typename"] == "HoldClosed", (round_, late)
        assert on_time["__typename"] == "HoldPayload", (round_, on_time)
        # the served app's next sweep: those above skip a hold a capture has locked
        await sweep()
        found = await get_hold(gql, shop, hold["id"])
        assert (found["status"], found["capturedAmount"], found["remaining"]) == (
            "EXPIRED", "5.00", "0.00",
        )  # fmt: skip
        assert kinds(found) == ["HOLD", "CAPTURE", "RELEASE"]
        assert found["transactions"][2]["amount"] == "25.00"
        still = await get_hold(gql, shop, live["id"])
        assert (still["status"], still["capturedAmount"], still["remaining"]) == (
            "HELD", "4.00", "6.00",
        )  # fmt: skip
        assert await figures(gql, ann, card) == ("41.00", "6.00", "35.00", 6)
    assert await figures(gql, shop, till) == ("90.00", "0.00", "90.00", 20)
    assert await hold_invariants() == []
    assert await verify() == []


async def test_fifty_refunds_of_one_on_a_charge_of_thirty(racing):
    gql = racing
    ann, card, shop, till = await parties(gql, "100")
    charge = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="30", description="Bike"
    )
    tx_id = charge["transaction"]["id"]
    await gql.deposit(shop["token"], till["id"], "100")  # funds are never what runs out
    results = await asyncio.gather(*[refund(gql, shop, tx_id, amount="1") for _ in range(50)])
    counts = outcomes(results)
    assert counts == {"PaymentPayload": 30, "ExceedsRemaining": 20}, counts
    assert all(
        (r["remaining"], r["requested"]) == ("0.00", "1.00")
        for r in results
        if r["__typename"] == "ExceedsRemaining"
    ), results
    original = await get_transaction(gql, shop, tx_id)
    assert original["refundedAmount"] == "30.00"
    assert len(original["refunds"]) == 30
    assert {r["status"] for r in original["refunds"]} == {"POSTED"}
    assert await figures(gql, ann, card) == ("100.00", "0.00", "100.00", 32)
    assert await figures(gql, shop, till) == ("100.00", "0.00", "100.00", 32)
    assert await hold_invariants() == []
    assert await verify() == []


async def test_refunds_and_captures_racing_on_one_customer(racing):
    """Captures of two holds, a void, refunds of the captures and withdrawals of the customer's
    free money, all at once: the customer's held and available never go wrong."""
    gql = racing
    ann, card, shop, till = await parties(gql, "100")
    first = await held(gql, shop, card, "40")
    second = await held(gql, shop, card, "40")
    calls = [capture(gql, shop, first["id"], amount="1") for _ in range(20)]
    calls += [void(gql, shop, second["id"]) for _ in range(3)]
    calls += [gql.pay("withdraw", ann["token"], walletId=card["id"], amount="5") for _ in range(10)]
    results = await asyncio.gather(*calls)
    captures, voids, withdrawals = results[:20], results[20:23], results[23:]
    assert outcomes(captures) == {"HoldPayload": 20}, captures
    assert outcomes(voids) == {"HoldPayload": 1, "HoldClosed": 2}, voids
    # 20 free at the start; the void may free 40 more before some withdrawals
    posted = sum(w["__typename"] == "PaymentPayload" for w in withdrawals)
    assert set(outcomes(withdrawals)) <= {"PaymentPayload", "InsufficientFunds"}, withdrawals
    assert 4 <= posted <= 10
    refunds = await asyncio.gather(*[refund(gql, shop, c["transaction"]["id"]) for c in captures])
    assert outcomes(refunds) == {"PaymentPayload": 20}, refunds
    balance, held_now, available, _ = await figures(gql, ann, card)
    assert (Decimal(balance), held_now) == (100 - 5 * posted, "20.00")
    assert Decimal(available) == Decimal(balance) - 20
    assert await figures(gql, shop, till) == ("0.00", "0.00", "0.00", 40)
    assert await hold_invariants() == []
    assert await verify() == []
