"""Wallet history (keyset pages, filters), period summaries and balance at a point in time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

PAGE = """query($id: ID!, $first: Int, $after: String, $filter: HistoryFilter) { wallet(id: $id) {
    history(first: $first, after: $after, filter: $filter) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { direction amount balanceAfter
            transaction { id kind status createdAt } } }
    } } }"""
SUMMARY = """query($id: ID!, $from: DateTime, $to: DateTime) { wallet(id: $id) {
    summary(from: $from, to: $to) {
        creditTotal debitTotal creditCount debitCount net rejectedCount } } }"""
BALANCE_AT = "query($id: ID!, $at: DateTime!) { wallet(id: $id) { balanceAt(at: $at) } }"


async def page(gql, user, wallet, **variables):
    data = await gql.ok(PAGE, {"id": wallet["id"], **variables}, user["token"])
    return data["wallet"]["history"]


async def deposits(gql, user, wallet, count):
    """`count` deposits of 1, 2, 3...; returns their transaction ids, oldest first."""
    ids = []
    for n in range(1, count + 1):
        result = await gql.deposit(user["token"], wallet["id"], str(n))
        ids.append(result["transaction"]["id"])
    return ids


def shifted(created_at: str, microseconds: int) -> str:
    moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    return (moment + timedelta(microseconds=microseconds)).isoformat()


async def query_error(gql, user, query, variables):
    body = await gql(query, variables, user["token"])
    assert body["data"] == {"wallet": None}, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return error


async def test_empty_history(gql):
    user, wallet = await gql.funded(None)
    assert await page(gql, user, wallet) == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_walk_45_postings_ten_at_a_time(gql):
    user, wallet = await gql.funded(None)
    posted = await deposits(gql, user, wallet, 45)
    seen, pages, after = [], [], None
    while True:
        history = await page(gql, user, wallet, first=10, after=after)
        assert history["totalCount"] == 45
        edges = history["edges"]
        pages.append(len(edges))
        seen += [e["node"]["transaction"]["id"] for e in edges]
        assert history["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        if not history["pageInfo"]["hasNextPage"]:
            break
        after = history["pageInfo"]["endCursor"]
    assert pages == [10, 10, 10, 10, 5]
    assert seen == posted[::-1]  # newest first, every posting once, no gap
    assert len(set(seen)) == 45
    beyond = await page(gql, user, wallet, first=10, after=history["pageInfo"]["endCursor"])
    assert (beyond["edges"], beyond["pageInfo"]) == ([], {"hasNextPage": False, "endCursor": None})
    # nodes carry the running balance: 1 + 2 + ... + n after the nth deposit
    oldest = (await page(gql, user, wallet, first=100))["edges"][-3:]
    assert [e["node"]["balanceAfter"] for e in oldest] == ["6.00", "3.00", "1.00"]
    assert [e["node"]["direction"] for e in oldest] == ["CREDIT"] * 3


async def test_default_and_maximum_page_sizes(gql):
    user, wallet = await gql.funded(None)
    await deposits(gql, user, wallet, 21)
    history = await page(gql, user, wallet)
    assert (len(history["edges"]), history["pageInfo"]["hasNextPage"]) == (20, True)
    history = await page(gql, user, wallet, first=100)
    assert (len(history["edges"]), history["pageInfo"]["hasNextPage"]) == (21, False)
    history = await page(gql, user, wallet, first=21)
    assert (len(history["edges"]), history["pageInfo"]["hasNextPage"]) == (21, False)
    history = await page(gql, user, wallet, first=1)
    assert (len(history["edges"]), history["pageInfo"]["hasNextPage"]) == (1, True)
    assert history["edges"][0]["node"]["amount"] == "21.00"


@pytest.mark.parametrize(
    "variables",
    [{"first": 0}, {"first": 101}, {"first": -1}, {"after": "garbage"}, {"after": "dDphYmM"}],
)
async def test_bad_page_arguments(gql, variables):
    user, wallet = await gql.funded("1")
    await query_error(gql, user, PAGE, {"id": wallet["id"], **variables})


async def test_pages_are_stable_while_postings_arrive(gql):
    user, wallet = await gql.funded(None)
    posted = await deposits(gql, user, wallet, 15)
    first = await page(gql, user, wallet, first=5)
    assert [e["node"]["transaction"]["id"] for e in first["edges"]] == posted[:-6:-1]
    newer = await deposits(gql, user, wallet, 5)
    second = await page(gql, user, wallet, first=5, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["transaction"]["id"] for e in second["edges"]] == posted[-6:-11:-1]
    assert second["totalCount"] == 20
    top = await page(gql, user, wallet, first=5)
    assert [e["node"]["transaction"]["id"] for e in top["edges"]] == newer[::-1]


async def test_filters(gql):
    ann, wallet = await gql.funded(None)
    bob, bobs = await gql.funded("100")
    d1 = await gql.pay("deposit", ann["token"], walletId=wallet["id"], amount="50")
    w1 = await gql.pay("withdraw", ann["token"], walletId=wallet["id"], amount="10")
    r1 = await gql.pay("withdraw", ann["token"], walletId=wallet["id"], amount="1000")
    t1 = await gql.pay(
        "transfer", bob["token"], fromWalletId=bobs["id"], toWalletId=wallet["id"], amount="5"
    )
    d2 = await gql.pay("deposit", ann["token"], walletId=wallet["id"], amount="1")
    ids = [x["transaction"]["id"] for x in (d1, w1, t1, d2)]
    rejected_id = r1["rejected"]["id"]

    async def matching(**filter_):
        history = await page(gql, ann, wallet, filter=filter_)
        found = [e["node"]["transaction"]["id"] for e in history["edges"]]
        assert history["totalCount"] == len(found)
        return found

    assert await matching() == [ids[3], ids[2], rejected_id, ids[1], ids[0]]
    # The balance after is this wallet's, also for a transfer from another (Bob's is 95.00), and
    # none for a declined attempt.
    edges = (await page(gql, ann, wallet))["edges"]
    assert [e["node"]["balanceAfter"] for e in edges] == ["46.00", "45.00", None, "40.00", "50.00"]
    assert await matching(kinds=["DEPOSIT"]) == [ids[3], ids[0]]
    assert await matching(kinds=["WITHDRAWAL"]) == [rejected_id, ids[1]]
    assert await matching(kinds=["WITHDRAWAL"], statuses=["POSTED"]) == [ids[1]]
    assert await matching(statuses=["REJECTED"]) == [rejected_id]
    assert await matching(kinds=["TRANSFER", "CHARGE"]) == [ids[2]]
    # from and to are inclusive, to the microsecond
    start, end = w1["transaction"]["createdAt"], t1["transaction"]["createdAt"]
    assert await matching(**{"from": start, "to": end}) == [ids[2], rejected_id, ids[1]]
    assert await matching(**{"from": shifted(start, 1), "to": shifted(end, -1)}) == [rejected_id]
    assert await matching(**{"from": end, "to": end}) == [ids[2]]
    assert await matching(**{"from": shifted(end, 1)}) == [ids[3]]
    await query_error(gql, ann, PAGE, {"id": wallet["id"], "filter": {"from": end, "to": start}})


async def test_summary(gql):
    ann, wallet = await gql.funded(None)
    bob, bobs = await gql.funded("100")
    steps = [
        await gql.pay("deposit", ann["token"], walletId=wallet["id"], amount="100"),
        await gql.pay("deposit", ann["token"], walletId=wallet["id"], amount="50.25"),
        await gql.pay("withdraw", ann["token"], walletId=wallet["id"], amount="30"),
        await gql.pay(
            "transfer", ann["token"], fromWalletId=wallet["id"], toWalletId=bobs["id"], amount="20"
        ),
        await gql.pay(
            "transfer", bob["token"], fromWalletId=bobs["id"], toWalletId=wallet["id"], amount="5"
        ),
        await gql.pay("withdraw", ann["token"], walletId=wallet["id"], amount="1000"),
    ]
    assert steps[-1]["__typename"] == "InsufficientFunds"
    times = [s["transaction"]["createdAt"] for s in steps[:-1]]

    async def summary(**bounds):
        data = await gql.ok(SUMMARY, {"id": wallet["id"], **bounds}, ann["token"])
        return data["wallet"]["summary"]

    assert await summary() == {
        "creditTotal": "155.25",
        "debitTotal": "50.00",
        "creditCount": 3,
        "debitCount": 2,
        "net": "105.25",
        "rejectedCount": 1,
    }
    # both ends inclusive: exactly the second deposit through the outgoing transfer
    assert await summary(**{"from": times[1], "to": times[3]}) == {
        "creditTotal": "50.25",
        "debitTotal": "50.00",
        "creditCount": 1,
        "debitCount": 2,
        "net": "0.25",
        "rejectedCount": 0,
    }
    assert (await summary(**{"from": times[2], "to": times[2]}))["debitTotal"] == "30.00"
    assert (await summary(to=shifted(times[0], -1)))["creditCount"] == 0
    assert (await summary(**{"from": shifted(times[4], 1)}))["rejectedCount"] == 1
    late = await summary(**{"from": shifted(times[4], 1)})
    assert (late["creditCount"], late["debitCount"], late["net"]) == (0, 0, "0.00")
    await query_error(gql, ann, SUMMARY, {"id": wallet["id"], "from": times[3], "to": times[1]})


async def test_balance_at(gql):
    user, wallet = await gql.funded(None)
    steps = [
        await gql.pay("deposit", user["token"], walletId=wallet["id"], amount="10"),
        await gql.pay("withdraw", user["token"], walletId=wallet["id"], amount="2.5"),
        await gql.pay("deposit", user["token"], walletId=wallet["id"], amount="0.01"),
    ]

    async def balance_at(at):
        data = await gql.ok(BALANCE_AT, {"id": wallet["id"], "at": at}, user["token"])
        return data["wallet"]["balanceAt"]

    assert await balance_at("2000-01-01T00:00:00Z") == "0.00"
    assert await balance_at(shifted(steps[0]["transaction"]["createdAt"], -1)) == "0.00"
    for step in steps:
        at = step["transaction"]["createdAt"]
        assert await balance_at(at) == step["wallet"]["balance"]
    assert await balance_at(shifted(steps[1]["transaction"]["createdAt"], 1)) == "7.50"
    # the same instant written with another offset is the same instant
    moment = datetime.fromisoformat(steps[1]["transaction"]["createdAt"].replace("Z", "+00:00"))
    assert await balance_at(moment.astimezone(timezone(timedelta(hours=-5))).isoformat()) == "7.50"
    assert await balance_at("2999-12-31T23:59:59Z") == "7.51"
