"""Ids through the API: opaque and non-enumerable. Guessing ids (small numbers, the database's
own integers, neighbours of one's own ids, another kind's id) only ever answers NOT_FOUND,
exactly as for a missing id, and moves nothing."""

from __future__ import annotations

import base64

from walletql import ids

WALLET_QUERY = "query($id: ID!) { wallet(id: $id) { id } }"
TRANSACTION_QUERY = "query($id: ID!) { transaction(id: $id) { id } }"
HISTORY = """query($id: ID!, $after: String) { wallet(id: $id) {
    history(first: 1, after: $after) { edges { cursor node { transaction { id } } } } } }"""
MISSING = 2**62  # well-formed ids of rows that do not exist


def neighbours(text: str) -> list[str]:
    """What looks next to an id: the text's number plus or minus a little, and every other last
    character."""
    prefix, body = text.split("_")
    number = int(body, 16)
    near = [f"{prefix}_{(number + d) % 2**64:016x}" for d in (-3, -2, -1, 1, 2, 3)]
    near += [f"{prefix}_{body[:-1]}{c}" for c in "0123456789abcdef" if c != body[-1]]
    return near


def internal(kind: str, text: str) -> int:
    number = ids.decode(kind, text)
    assert number is not None, text
    return number


async def _state(gql, user: dict, wallet: dict) -> tuple:
    data = await gql.ok(
        "query($id: ID!) { wallet(id: $id) { balance version history { totalCount } } }",
        {"id": wallet["id"]},
        user["token"],
    )
    return data["wallet"]["balance"], data["wallet"]["version"], data["wallet"]["history"]


async def test_transfers_to_guessed_recipients_learn_nothing(gql):
    mallory, card = await gql.funded("100", name="Mallory")
    # Signed up right after Mallory: in the database their ids are Mallory's neighbours.
    victims = [await gql.funded(None, name=f"Victim {i}") for i in range(3)]
    mine = [mallory["id"], card["id"]]
    own_numbers = [internal(ids.USER, mallory["id"]), internal(ids.WALLET, card["id"])]
    victim_numbers = [internal(ids.USER, u["id"]) for u, _ in victims]
    victim_numbers += [internal(ids.WALLET, w["id"]) for _, w in victims]
    guesses = [str(n) for n in range(1, 21)]
    guesses += [str(n + d) for n in own_numbers for d in (-2, -1, 1, 2, 3)]
    guesses += [str(n) for n in victim_numbers]  # the very numbers the old API showed
    guesses += [text for own in mine for text in neighbours(own)]
    guesses += [f"{kind}_{own.split('_')[1]}" for own in mine for kind in ids.KINDS]
    real = {u["id"] for u, _ in victims} | {w["id"] for _, w in victims}
    assert real.isdisjoint(guesses)
    own = {("toUserId", mallory["id"]), ("toWalletId", card["id"])}
    before = await _state(gql, mallory, card)

    async def transfer(**recipient) -> dict:
        result = await gql.pay(
            "transfer", mallory["token"], fromWalletId=card["id"], amount="1", **recipient
        )
        return {k: result.get(k) for k in ("__typename", "code", "message")}

    missing = {
        "toUserId": await transfer(toUserId=ids.encode(ids.USER, MISSING)),
        "toWalletId": await transfer(toWalletId=ids.encode(ids.WALLET, MISSING)),
    }
    assert missing["toUserId"] == missing["toWalletId"] == {
        "__typename": "NotFound", "code": "NOT_FOUND", "message": "Recipient wallet not found",
    }  # fmt: skip
    answers = {
        (field, guess): await transfer(**{field: guess})
        for field in ("toUserId", "toWalletId")
        for guess in guesses
        if (field, guess) not in own  # her own wallet: a self-transfer
    }
    assert {key: answer for key, answer in answers.items() if answer != missing[key[0]]} == {}
    assert await _state(gql, mallory, card) == before  # nothing moved, nothing recorded
    for victim, wallet in victims:
        assert (await _state(gql, victim, wallet))[:2] == ("0.00", 0)

    # The ids are real: given as shown, the same transfer reaches the victim.
    paid = await gql.pay(
        "transfer", mallory["token"], fromWalletId=card["id"], toUserId=victims[0][0]["id"],
        amount="1",
    )  # fmt: skip
    assert paid["transaction"]["destination"] == {
        "walletId": victims[0][1]["id"],
        "name": "Victim 0",
    }


async def test_guessed_wallet_and_transaction_ids_are_not_found_like_missing_ones(gql):
    mallory, card = await gql.funded("10")
    victim, theirs = await gql.funded("10")
    deposit = await gql.deposit(victim["token"], theirs["id"], "1")
    own_tx = (await gql.deposit(mallory["token"], card["id"], "1"))["transaction"]["id"]
    guesses = [str(n) for n in range(1, 21)]
    guesses += [str(internal(ids.WALLET, theirs["id"]))]
    guesses += [str(internal(ids.TRANSACTION, deposit["transaction"]["id"]))]
    guesses += [str(internal(ids.WALLET, card["id"]) + d) for d in (-1, 1, 2)]
    guesses += [str(internal(ids.TRANSACTION, own_tx) + d) for d in (-2, -1, 1)]
    guesses += neighbours(card["id"]) + neighbours(own_tx)
    for query, field, kind, message in (
        (WALLET_QUERY, "wallet", ids.WALLET, "Wallet not found"),
        (TRANSACTION_QUERY, "transaction", ids.TRANSACTION, "Transaction not found"),
    ):
        expected = {"data": {field: None}}
        answers = []
        for guess in [ids.encode(kind, MISSING), *guesses]:
            body = await gql(query, {"id": guess}, mallory["token"])
            (error,) = body.pop("errors")
            assert body == expected, (guess, body)
            answers.append((error["message"], error["extensions"]))
        assert answers == [(message, {"code": "NOT_FOUND"})] * len(answers), query
    # Her own ids answer: the guesses failed for being guesses.
    assert (await gql.get_wallet(mallory["token"], card["id"]))["id"] == card["id"]
    tx = await gql.ok(TRANSACTION_QUERY, {"id": own_tx}, mallory["token"])
    assert tx["transaction"]["id"] == own_tx


async def test_an_id_of_another_kind_is_not_found(gql):
    ann, card = await gql.funded("10")
    bob, bobs = await gql.funded(None, name="Bob")
    tx = (await gql.deposit(ann["token"], card["id"], "1"))["transaction"]["id"]

    async def transfer(**recipient) -> dict:
        return await gql.pay(
            "transfer", ann["token"], fromWalletId=card["id"], amount="1", **recipient
        )

    def swapped(text: str, kind: str) -> str:
        return f"{kind}_{text.split('_')[1]}"

    not_found = {"__typename": "NotFound", "code": "NOT_FOUND"}
    for recipient in (
        {"toUserId": bobs["id"]},  # a wallet's id as a user's
        {"toUserId": swapped(bobs["id"], ids.USER)},  # ...even with the user prefix
        {"toUserId": tx},
        {"toWalletId": bob["id"]},  # a user's id as a wallet's
        {"toWalletId": swapped(bob["id"], ids.WALLET)},
        {"toWalletId": tx},
    ):
        result = await transfer(**recipient)
        assert result == {**not_found, "message": "Recipient wallet not found"}, recipient
    for source in (ann["id"], swapped(card["id"], ids.USER), swapped(tx, ids.WALLET)):
        result = await gql.pay(
            "transfer", ann["token"], fromWalletId=source, toWalletId=bobs["id"], amount="1"
        )
        assert result == {**not_found, "message": "Wallet not found"}, source
    for query, wrong in (
        (WALLET_QUERY, ann["id"]),
        (WALLET_QUERY, tx),
        (WALLET_QUERY, swapped(card["id"], ids.TRANSACTION)),
        (TRANSACTION_QUERY, card["id"]),
        (TRANSACTION_QUERY, swapped(tx, ids.WALLET)),
    ):
        body = await gql(query, {"id": wrong}, ann["token"])
        assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND"}, (query, wrong)
    # With the right kinds, the same ids work.
    assert (await transfer(toUserId=bob["id"]))["__typename"] == "PaymentPayload"
    assert (await transfer(toWalletId=bobs["id"]))["__typename"] == "PaymentPayload"


async def test_every_id_the_api_shows_is_opaque(gql):
    ann, card = await gql.funded("10", name="Ann")
    bob, bobs = await gql.funded(None, name="Bob")
    paid = await gql.pay(
        "transfer", ann["token"], fromWalletId=card["id"], toUserId=bob["id"], amount="2"
    )
    tx = paid["transaction"]
    shown = {
        ids.USER: [ann["id"], bob["id"]],
        ids.WALLET: [card["id"], bobs["id"], tx["source"]["walletId"], paid["wallet"]["id"]],
        ids.TRANSACTION: [tx["id"]],
    }
    assert tx["destination"]["walletId"] == bobs["id"]
    for kind, texts in shown.items():
        for text in texts:
            assert not text.isdigit() and ids.decode(kind, text) is not None, (kind, text)
    # A history cursor is opaque too: neither the transaction's number nor its id.
    data = await gql.ok(HISTORY, {"id": card["id"]}, ann["token"])
    (edge,) = data["wallet"]["history"]["edges"]
    assert edge["node"]["transaction"]["id"] == tx["id"]
    assert ids.decode(ids.CURSOR, edge["cursor"]) == internal(ids.TRANSACTION, tx["id"])
    old_style = base64.urlsafe_b64encode(f"t:{internal(ids.TRANSACTION, tx['id'])}".encode())
    assert edge["cursor"] not in (tx["id"], old_style.decode().rstrip("="))
    older = await gql.ok(HISTORY, {"id": card["id"], "after": edge["cursor"]}, ann["token"])
    assert older["wallet"]["history"]["edges"][0]["node"]["transaction"]["id"] != tx["id"]
    for cursor in (tx["id"], str(internal(ids.TRANSACTION, tx["id"])), "dDox"):  # "t:1" of old
        body = await gql(HISTORY, {"id": card["id"], "after": cursor}, ann["token"])
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (cursor, body)
