"""postBatch through the API: atomic batches post all or nothing, non-atomic ones answer item by
item as the single mutations would, keys replay across both, and opposite batches never
deadlock."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.conftest import PAYMENT_FIELDS, new_key
from walletql import ids
from walletql.ledger.verify import verify

BATCH = f"""mutation($input: BatchInput!) {{ postBatch(input: $input) {{
    __typename
    ... on BatchPayload {{ posted failed results {{ {PAYMENT_FIELDS} }} }}
    ... on BatchRejected {{ code message index reason {{
        __typename code message
        ... on ValidationError {{ field }}
        ... on InsufficientFunds {{ available requested rejected: transaction {{ id }} }} }} }}
    ... on ValidationError {{ code message field }}
    ... on Error {{ code message }}
}} }}"""

STATE = "query($id: ID!) { wallet(id: $id) { balance version history { totalCount } } }"


async def batch(gql, token: str | None, atomic: bool, items: list[dict]) -> dict:
    data = await gql.ok(BATCH, {"input": {"atomic": atomic, "items": items}}, token)
    return data["postBatch"]


def transfer(source: dict, target: dict, amount: str, key: str | None = None) -> dict:
    return {
        "transfer": {
            "fromWalletId": source["id"],
            "toWalletId": target["id"],
            "amount": amount,
            "idempotencyKey": key or new_key(),
        }
    }


def deposit(wallet: dict, amount: str, key: str | None = None) -> dict:
    return {
        "deposit": {"walletId": wallet["id"], "amount": amount, "idempotencyKey": key or new_key()}
    }


async def state(gql, token: str, wallet: dict) -> dict:
    return (await gql.ok(STATE, {"id": wallet["id"]}, token))["wallet"]


async def test_atomic_batch_posts_every_item(gql):
    ana, a = await gql.funded("100")
    _, b = await gql.funded(None)
    _, c = await gql.funded(None)
    items = [transfer(a, b, "10"), transfer(a, c, "20"), deposit(a, "5")]
    result = await batch(gql, ana["token"], True, items)
    assert result["__typename"] == "BatchPayload", result
    assert (result["posted"], result["failed"]) == (3, 0)
    kinds = [r["transaction"]["kind"] for r in result["results"]]
    assert kinds == ["TRANSFER", "TRANSFER", "DEPOSIT"]
    assert [r["replayed"] for r in result["results"]] == [False] * 3
    after = await state(gql, ana["token"], a)
    assert (after["balance"], after["version"]) == ("75.00", 4)
    assert await verify() == []


async def test_atomic_batch_with_one_insufficient_item_writes_nothing(gql):
    ana, a = await gql.funded("100")
    bob, b = await gql.funded(None)
    before_a, before_b = await state(gql, ana["token"], a), await state(gql, bob["token"], b)
    items = [transfer(a, b, "60"), deposit(a, "1"), transfer(a, b, "60"), transfer(a, b, "1")]
    result = await batch(gql, ana["token"], True, items)
    assert result["__typename"] == "BatchRejected", result
    assert (result["code"], result["index"]) == ("BATCH_REJECTED", 2)
    reason = result["reason"]
    assert reason["__typename"] == "InsufficientFunds"
    # The first transfer's debit was rolled back with the rest: 100 + 1 - 60 was available.
    assert (reason["available"], reason["requested"]) == ("41.00", "60.00")
    assert reason["rejected"] is None  # no REJECTED record is kept
    assert await state(gql, ana["token"], a) == before_a
    assert await state(gql, bob["token"], b) == before_b
    # Nothing bound the keys: the fixed batch goes through under the same ones.
    items[2]["transfer"]["amount"] = "30"
    again = await batch(gql, ana["token"], True, items)
    assert again["__typename"] == "BatchPayload", again
    assert (again["posted"], again["failed"]) == (4, 0)
    assert (await state(gql, ana["token"], a))["balance"] == "10.00"
    assert await verify() == []


async def test_atomic_batch_refused_in_python_reports_the_first_failing_item(gql):
    ana, a = await gql.funded("10")
    _, b = await gql.funded(None)
    before = await state(gql, ana["token"], a)
    # Item 1 fails in SQL (funds), item 2 in Python (a malformed amount): item 1 is first.
    items = [transfer(a, b, "5"), transfer(a, b, "50"), transfer(a, b, "1.234")]
    result = await batch(gql, ana["token"], True, items)
    assert (result["__typename"], result["index"]) == ("BatchRejected", 1), result
    assert result["reason"]["__typename"] == "InsufficientFunds"
    # Without it, the malformed amount is the first failure.
    result = await batch(gql, ana["token"], True, [items[0], items[2]])
    assert (result["__typename"], result["index"]) == ("BatchRejected", 1), result
    assert result["reason"] == {
        "__typename": "ValidationError",
        "code": "BAD_AMOUNT",
        "message": result["reason"]["message"],
        "field": "amount",
    }
    assert await state(gql, ana["token"], a) == before


async def test_non_atomic_batch_answers_each_item(gql):
    ana, a = await gql.funded("10")
    bob, b = await gql.funded(None)
    items = [
        transfer(a, b, "4"),
        transfer(a, b, "40"),  # declined, and stored like a single transfer's decline
        transfer(a, b, "0.001"),  # too precise for USD: refused in Python
        {
            "charge": {
                "walletToken": b["token"],
                "amount": "1",
                "idempotencyKey": new_key(),
                "description": "x",
            }
        },  # a customer may not charge
        transfer(a, b, "6"),
    ]
    result = await batch(gql, ana["token"], False, items)
    assert result["__typename"] == "BatchPayload", result
    assert (result["posted"], result["failed"]) == (2, 3)
    names = [r["__typename"] for r in result["results"]]
    assert names == [
        "PaymentPayload",
        "InsufficientFunds",
        "ValidationError",
        "Forbidden",
        "PaymentPayload",
    ]
    declined = result["results"][1]
    assert (declined["available"], declined["rejected"]["status"]) == ("6.00", "REJECTED")
    assert result["results"][4]["wallet"]["balance"] == "0.00"
    after = await state(gql, ana["token"], a)
    assert (after["balance"], after["version"], after["history"]["totalCount"]) == ("0.00", 3, 4)
    assert (await state(gql, bob["token"], b))["balance"] == "10.00"
    assert await verify() == []


async def test_retried_batch_replays_each_item_and_a_changed_one_conflicts(gql):
    ana, a = await gql.funded("100")
    _, b = await gql.funded(None)
    items = [transfer(a, b, "1"), transfer(a, b, "2")]
    first = await batch(gql, ana["token"], True, items)
    again = await batch(gql, ana["token"], True, items)
    assert [r["replayed"] for r in again["results"]] == [True, True]
    ids_first = [r["transaction"]["id"] for r in first["results"]]
    assert [r["transaction"]["id"] for r in again["results"]] == ids_first
    # A single transfer under an item's key replays it too.
    single = await gql.pay(
        "transfer",
        ana["token"],
        fromWalletId=a["id"],
        toWalletId=b["id"],
        amount="1",
        idempotencyKey=items[0]["transfer"]["idempotencyKey"],
    )
    assert (single["replayed"], single["transaction"]["id"]) == (True, ids_first[0])
    items[1]["transfer"]["amount"] = "3"
    changed = await batch(gql, ana["token"], True, items)
    assert (changed["__typename"], changed["index"]) == ("BatchRejected", 1), changed
    assert changed["reason"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert (await state(gql, ana["token"], a))["balance"] == "97.00"


@pytest.mark.parametrize(
    "items, field",
    [
        ([], "items"),
        ([{}], "items.0"),
        ([None, None], None),  # a null item is refused by GraphQL itself
    ],
)
async def test_malformed_batches_are_refused_whole(gql, items, field):
    ana, a = await gql.funded("10")
    _, b = await gql.funded(None)
    body = await gql(BATCH, {"input": {"atomic": True, "items": items}}, ana["token"])
    if field is None:
        assert body["errors"], body
        return
    result = body["data"]["postBatch"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "BAD_INPUT",
        field,
    )


async def test_an_item_with_two_fields_names_its_index(gql):
    ana, a = await gql.funded("10")
    _, b = await gql.funded(None)
    two = {**transfer(a, b, "1"), **deposit(a, "1")}
    result = await batch(gql, ana["token"], False, [deposit(a, "1"), deposit(a, "1"), two])
    assert (result["__typename"], result["field"]) == ("ValidationError", "items.2"), result
    assert (await state(gql, ana["token"], a))["version"] == 1  # nothing posted


async def test_a_batch_larger_than_the_limit_is_refused(gql_with):
    client = await gql_with(max_batch=3)
    ana, a = await client.funded("10")
    result = await batch(client, ana["token"], False, [deposit(a, "1") for _ in range(4)])
    assert (result["__typename"], result["field"]) == ("ValidationError", "items"), result
    assert "1 to 3" in result["message"]
    ok = await batch(client, ana["token"], False, [deposit(a, "1") for _ in range(3)])
    assert ok["posted"] == 3


async def test_batches_need_a_caller(gql):
    result = await batch(
        gql, None, True, [{"deposit": {"walletId": "x", "amount": "1", "idempotencyKey": "k"}}]
    )
    assert result["code"] == "UNAUTHENTICATED"


async def test_batch_of_every_kind(gql):
    ops = await gql.operator()
    ana, a = await gql.funded("100")
    shop = await gql.signup("MERCHANT")
    m = await gql.wallet(shop["token"])
    charged = await gql.pay(
        "charge", shop["token"], walletToken=a["token"], amount="10", description="Tea"
    )
    refund = {
        "refund": {
            "transactionId": charged["transaction"]["id"],
            "amount": "4",
            "idempotencyKey": new_key(),
            "reason": "broken cup",
        }
    }
    charge = {
        "charge": {
            "walletToken": a["token"],
            "amount": "3",
            "idempotencyKey": new_key(),
            "description": "Cake",
        }
    }
    result = await batch(gql, shop["token"], True, [charge, refund])
    assert result["__typename"] == "BatchPayload", result
    refunded = result["results"][1]
    assert refunded["transaction"]["kind"] == "REFUND"
    assert refunded["wallet"]["balance"] == "9.00"  # 10 + 3 - 4, the merchant's wallet
    credits = await gql.wallet(ana["token"], "CREDIT")
    operation = {
        "applyOperation": {
            "walletId": credits["id"],
            "operation": "CREDIT_ADD",
            "idempotencyKey": new_key(),
        }
    }
    by_operator = await batch(gql, ops["token"], True, [operation])
    assert by_operator["posted"] == 1, by_operator
    assert by_operator["results"][0]["transaction"]["kind"] == "OPERATION"
    assert (await state(gql, ana["token"], a))["balance"] == "91.00"
    assert (await state(gql, ana["token"], credits))["balance"] == "10"
    assert (await state(gql, shop["token"], m))["balance"] == "9.00"
    assert await verify() == []


async def test_opposite_atomic_batches_never_deadlock(gql):
    """Two batches moving money both ways between the same wallets, in opposite item orders,
    again and again: every one posts (each locks all its wallets first, in id order)."""
    ana, a = await gql.funded("1000")
    bob, b = await gql.funded("1000")
    _, c = await gql.funded("1000")

    def items(x: dict, y: dict, z: dict) -> list[dict]:
        return [transfer(x, y, "1"), transfer(x, z, "1"), transfer(x, y, "1")]

    rounds = 15
    for _ in range(rounds):
        first, second = await asyncio.gather(
            batch(gql, ana["token"], True, items(a, b, c)),
            batch(gql, bob["token"], True, items(b, a, c)[::-1]),
        )
        assert first["__typename"] == second["__typename"] == "BatchPayload", (first, second)
    assert (await state(gql, ana["token"], a))["balance"] == f"{1000 - 3 * rounds + 2 * rounds}.00"
    assert (await state(gql, bob["token"], b))["balance"] == f"{1000 - 3 * rounds + 2 * rounds}.00"
    assert ids.decode(ids.WALLET, c["id"]) is not None
    assert await verify() == []


async def test_results_cost_what_they_return_and_a_refusal_posts_nothing(gql):
    """Results are priced at a guess (10) before the batch runs, then paid for in full: a big
    batch selecting a page of history per result is refused, and nothing is posted."""
    ana, a = await gql.funded("100")
    costly = """mutation($input: BatchInput!) { postBatch(input: $input) {
        ... on BatchPayload { results { ... on PaymentPayload {
            wallet { history(first: 50) { edges { node { amount balanceAfter } } } } } } } } }"""
    items = [deposit(a, "1") for _ in range(100)]
    body = await gql(costly, {"input": {"atomic": False, "items": items}}, ana["token"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert (await state(gql, ana["token"], a))["version"] == 1
    cheap = await batch(gql, ana["token"], False, items)
    assert cheap["posted"] == 100, cheap


async def test_a_retried_non_atomic_batch_replays_its_decline_as_a_failure(gql):
    """The counts come from each item's outcome: a replayed decline is still a failure."""
    ana, a = await gql.funded("10")
    _, b = await gql.funded(None)
    items = [transfer(a, b, "4"), transfer(a, b, "40")]
    first = await batch(gql, ana["token"], False, items)
    again = await batch(gql, ana["token"], False, items)
    for result in (first, again):
        assert (result["posted"], result["failed"]) == (1, 1), result
        assert [r["__typename"] for r in result["results"]] == [
            "PaymentPayload",
            "InsufficientFunds",
        ]
    assert again["results"][0]["replayed"] is True
    assert again["results"][1]["rejected"] == first["results"][1]["rejected"]
    assert (await state(gql, ana["token"], a))["balance"] == "6.00"
