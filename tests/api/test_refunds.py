"""refund through the API: of a CHARGE, a CAPTURE and a TRANSFER, in full or in parts, who may
make one, and every error of the PaymentResult union it answers."""

from __future__ import annotations

from tests.api.conftest import new_key
from tests.api.holds import (
    authorize,
    capture,
    figures,
    freeze,
    get_transaction,
    held,
    history,
    parties,
    refund,
    void,
)
from walletql import ids


def assert_error(result: dict, typename: str, code: str, field: str | None = None) -> None:
    assert (result["__typename"], result["code"]) == (typename, code), result
    if field is not None:
        assert result["field"] == field, result


async def charged(gql, amount: str = "30", balance: str = "100"):
    """A customer charged `amount` by a merchant: (customer, card, shop, till, charge)."""
    ann, card, shop, till = await parties(gql, balance)
    result = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount=amount, description="Shoes"
    )
    assert result["__typename"] == "PaymentPayload", result
    return ann, card, shop, till, result["transaction"]


async def test_full_refund_of_a_charge_by_default(gql):
    ann, card, shop, till, charge = await charged(gql, "30")
    key = new_key()
    result = await refund(gql, shop, charge["id"], idempotencyKey=key)
    assert result["__typename"] == "PaymentPayload", result
    assert result["replayed"] is False
    tx = result["transaction"]
    assert (tx["kind"], tx["status"], tx["amount"], tx["currency"]) == (
        "REFUND", "POSTED", "30.00", {"code": "USD"},
    )  # fmt: skip
    assert tx["source"] == {"walletId": till["id"], "name": "Acme Ltd"}
    assert tx["destination"] == {"walletId": card["id"], "name": "Test User"}
    assert (tx["refundOf"], tx["idempotencyKey"], tx["failureReason"]) == (
        {"id": charge["id"], "kind": "CHARGE"}, key, None,
    )  # fmt: skip
    # a refund is no refundable kind: it has no refunds of its own
    assert (tx["refundedAmount"], tx["refunds"], tx["hold"]) == (None, None, None)
    # the payload's wallet is the one debited: the refunder's
    wallet = result["wallet"]
    assert (wallet["id"], wallet["balance"], wallet["version"]) == (till["id"], "0.00", 2)
    assert (wallet["held"], wallet["available"]) == ("0.00", "0.00")
    assert await figures(gql, ann, card) == ("100.00", "0.00", "100.00", 3)
    original = await get_transaction(gql, shop, charge["id"])
    assert (original["refundedAmount"], original["refundOf"]) == ("30.00", None)
    assert [r["id"] for r in original["refunds"]] == [tx["id"]]
    assert original["refunds"][0]["refundOf"] == {"id": charge["id"]}
    # the customer sees it too, from both ends
    assert (await get_transaction(gql, ann, charge["id"]))["refundedAmount"] == "30.00"
    seen = await get_transaction(gql, ann, tx["id"])
    assert (seen["kind"], seen["refundOf"]) == ("REFUND", {"id": charge["id"]})
    (credit, *_) = await history(gql, ann, card)
    assert (credit["direction"], credit["amount"], credit["balanceAfter"]) == (
        "CREDIT", "30.00", "100.00",
    )  # fmt: skip
    assert credit["transaction"]["id"] == tx["id"]
    (debit, *_) = await history(gql, shop, till)
    assert (debit["direction"], debit["amount"], debit["balanceAfter"], debit["heldAfter"]) == (
        "DEBIT", "30.00", "0.00", "0.00",
    )  # fmt: skip
    # nothing is left to refund
    over = await refund(gql, shop, charge["id"], amount="0.01")
    assert_error(over, "ExceedsRemaining", "EXCEEDS_REMAINING")
    assert (over["remaining"], over["requested"]) == ("0.00", "0.01")


async def test_partial_and_repeated_refunds_of_a_capture(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    captured = (await capture(gql, shop, hold["id"], amount="20"))["transaction"]
    first = await refund(gql, shop, captured["id"], amount="5", reason="One item was damaged")
    assert first["__typename"] == "PaymentPayload", first
    assert (first["transaction"]["amount"], first["transaction"]["description"]) == (
        "5.00", "One item was damaged",
    )  # fmt: skip
    assert first["transaction"]["refundOf"] == {"id": captured["id"], "kind": "CAPTURE"}
    assert first["wallet"]["balance"] == "15.00"
    second = await refund(gql, shop, captured["id"], amount="5.5")
    assert second["wallet"]["balance"] == "9.50"
    rest = await refund(gql, shop, captured["id"])  # all that remains refundable
    assert rest["transaction"]["amount"] == "9.50"
    assert (rest["wallet"]["balance"], rest["wallet"]["version"]) == ("0.00", 4)
    original = await get_transaction(gql, shop, captured["id"])
    assert original["refundedAmount"] == "20.00"
    assert [r["id"] for r in original["refunds"]] == [
        first["transaction"]["id"], second["transaction"]["id"], rest["transaction"]["id"],
    ]  # fmt: skip
    assert [r["amount"] for r in original["refunds"]] == ["5.00", "5.50", "9.50"]
    # the hold itself is untouched: 10 of it still held
    assert await figures(gql, ann, card) == ("100.00", "10.00", "90.00", 6)
    over = await refund(gql, shop, captured["id"], amount="1")
    assert (over["__typename"], over["remaining"], over["requested"]) == (
        "ExceedsRemaining", "0.00", "1.00",
    )  # fmt: skip


async def test_refund_of_a_transfer_and_who_may_make_one(gql):
    ann, source = await gql.funded("100")
    bob, bobs = await gql.funded(None)
    stranger, _ = await gql.funded("10")
    shop, _ = await gql.funded(None, role="MERCHANT")
    operator = await gql.operator()
    transfer = await gql.pay(
        "transfer", ann["token"], fromWalletId=source["id"], toWalletId=bobs["id"], amount="40"
    )
    tx_id = transfer["transaction"]["id"]
    assert_error(await refund(gql, None, tx_id), "NotAuthenticated", "UNAUTHENTICATED")
    # the payer knows the transfer, and may not pay itself back
    assert_error(await refund(gql, ann, tx_id), "Forbidden", "FORBIDDEN")
    # anyone else: NotFound, exactly like a missing or malformed id
    missing = ids.encode(ids.TRANSACTION, ids.MAX_ID)
    answers = [await refund(gql, caller, tx_id) for caller in (stranger, shop)]
    answers += [await refund(gql, bob, unknown) for unknown in (missing, "abc", bobs["id"])]
    for answer in answers:
        assert_error(answer, "NotFound", "NOT_FOUND")
    assert len({a["message"] for a in answers}) == 1, answers
    assert await figures(gql, bob, bobs) == ("40.00", "0.00", "40.00", 1)

    result = await refund(gql, bob, tx_id, amount="15")
    assert result["__typename"] == "PaymentPayload", result
    tx = result["transaction"]
    assert (tx["source"]["walletId"], tx["destination"]["walletId"]) == (bobs["id"], source["id"])
    assert (result["wallet"]["id"], result["wallet"]["balance"]) == (bobs["id"], "25.00")
    # an operator may refund too: the payload's wallet is still the one debited
    by_operator = await refund(gql, operator, tx_id, amount="5")
    assert by_operator["__typename"] == "PaymentPayload", by_operator
    assert (by_operator["wallet"]["id"], by_operator["wallet"]["balance"]) == (bobs["id"], "20.00")
    assert by_operator["transaction"]["source"]["walletId"] == bobs["id"]
    original = await get_transaction(gql, ann, tx_id)
    assert original["refundedAmount"] == "20.00"
    assert len(original["refunds"]) == 2
    assert await figures(gql, ann, source) == ("80.00", "0.00", "80.00", 4)
    assert await figures(gql, bob, bobs) == ("20.00", "0.00", "20.00", 3)
    over = await refund(gql, bob, tx_id, amount="20.01")
    assert (over["__typename"], over["remaining"], over["requested"]) == (
        "ExceedsRemaining", "20.00", "20.01",
    )  # fmt: skip


async def test_only_charges_captures_and_transfers_are_refundable(gql):
    ann, card, shop, till = await parties(gql, "100")
    operator = await gql.operator()
    deposit = (await history(gql, ann, card))[0]["transaction"]
    withdrawal = await gql.pay("withdraw", ann["token"], walletId=card["id"], amount="1")
    declined = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="1000", description="Car"
    )
    assert declined["__typename"] == "InsufficientFunds", declined
    charge = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="10", description="Tea"
    )
    refunded = await refund(gql, shop, charge["transaction"]["id"], amount="1")
    hold = await held(gql, shop, card, "5")
    released = await void(gql, shop, hold["id"])
    cases = [
        (ann, deposit["id"]),
        (operator, deposit["id"]),
        (ann, withdrawal["transaction"]["id"]),
        (operator, withdrawal["transaction"]["id"]),
        (shop, declined["rejected"]["id"]),  # REJECTED
        (operator, declined["rejected"]["id"]),
        (ann, refunded["transaction"]["id"]),  # a refund of a refund
        (operator, refunded["transaction"]["id"]),
        (ann, hold["transactions"][0]["id"]),  # HOLD
        (operator, hold["transactions"][0]["id"]),
        (ann, released["transaction"]["id"]),  # RELEASE
        (operator, released["transaction"]["id"]),
    ]
    for caller, tx_id in cases:
        result = await refund(gql, caller, tx_id, amount="1")
        assert_error(result, "ValidationError", "NOT_REFUNDABLE", "transactionId")
    assert await figures(gql, ann, card) == ("90.00", "0.00", "90.00", 6)
    assert await figures(gql, shop, till) == ("9.00", "0.00", "9.00", 2)


async def test_refund_input_refusals(gql):
    ann, card, shop, till, charge = await charged(gql, "30")
    for amount in ("0", "-1", "1.001", "abc", "1e1"):
        result = await refund(gql, shop, charge["id"], amount=amount)
        assert_error(result, "ValidationError", "BAD_AMOUNT", "amount")
    too_long = await refund(gql, shop, charge["id"], amount="1", reason="x" * 501)
    assert (too_long["__typename"], too_long["field"]) == ("ValidationError", "reason")
    over = await refund(gql, shop, charge["id"], amount="30.01")
    assert_error(over, "ExceedsRemaining", "EXCEEDS_REMAINING")
    assert (over["remaining"], over["requested"]) == ("30.00", "30.01")
    assert await figures(gql, shop, till) == ("30.00", "0.00", "30.00", 1)
    longest = await refund(gql, shop, charge["id"], amount="1", reason="x" * 500)
    assert longest["__typename"] == "PaymentPayload", longest
    assert longest["transaction"]["description"] == "x" * 500
    assert await figures(gql, ann, card) == ("71.00", "0.00", "71.00", 3)


async def test_refund_without_the_money_is_a_rejected_refund(gql):
    ann, card, shop, till, charge = await charged(gql, "30")
    spent = await gql.pay("withdraw", shop["token"], walletId=till["id"], amount="25")
    assert spent["__typename"] == "PaymentPayload", spent
    key = new_key()
    result = await refund(gql, shop, charge["id"], amount="10", idempotencyKey=key)
    assert result["__typename"] == "InsufficientFunds", result
    # the refunder's own wallet: its available is shown
    assert (result["available"], result["requested"]) == ("5.00", "10.00")
    rejected = result["rejected"]
    assert (rejected["kind"], rejected["status"], rejected["failureReason"]) == (
        "REFUND", "REJECTED", "INSUFFICIENT_FUNDS",
    )  # fmt: skip
    assert (rejected["amount"], rejected["refundOf"]) == ("10.00", {"id": charge["id"]})
    assert await figures(gql, shop, till) == ("5.00", "0.00", "5.00", 2)
    assert await figures(gql, ann, card) == ("70.00", "0.00", "70.00", 2)
    (top, *_) = await history(gql, shop, till)
    assert (top["direction"], top["amount"], top["balanceAfter"], top["heldAfter"]) == (
        "DEBIT", "10.00", None, None,
    )  # fmt: skip
    assert (top["transaction"]["id"], top["transaction"]["status"]) == (rejected["id"], "REJECTED")
    # listed among the refunds, not counted in refundedAmount
    original = await get_transaction(gql, shop, charge["id"])
    assert original["refundedAmount"] == "0.00"
    assert [(r["id"], r["status"]) for r in original["refunds"]] == [(rejected["id"], "REJECTED")]
    # what the rejection left refundable is still refundable
    posted = await refund(gql, shop, charge["id"], amount="5")
    assert posted["__typename"] == "PaymentPayload", posted
    original = await get_transaction(gql, shop, charge["id"])
    assert original["refundedAmount"] == "5.00"
    assert [r["status"] for r in original["refunds"]] == ["REJECTED", "POSTED"]
    assert original["refunds"][0]["failureReason"] == "INSUFFICIENT_FUNDS"
    # its replay answers the stored decision, even now the wallet could pay
    await gql.deposit(shop["token"], till["id"], "100")
    again = await refund(gql, shop, charge["id"], amount="10", idempotencyKey=key)
    assert again == result


async def test_a_hold_on_the_refunder_limits_a_refund(gql):
    ann, source = await gql.funded("100")
    bob, bobs = await gql.funded(None)
    shop, _ = await gql.funded(None, role="MERCHANT")
    transfer = await gql.pay(
        "transfer", ann["token"], fromWalletId=source["id"], toWalletId=bobs["id"], amount="40"
    )
    await held(gql, shop, bobs, "30")
    result = await refund(gql, bob, transfer["transaction"]["id"], amount="20")
    assert (result["__typename"], result["available"], result["requested"]) == (
        "InsufficientFunds", "10.00", "20.00",
    )  # fmt: skip
    assert (await refund(gql, bob, transfer["transaction"]["id"], amount="10"))[
        "__typename"
    ] == "PaymentPayload"
    assert await figures(gql, bob, bobs) == ("30.00", "30.00", "0.00", 3)


async def test_refund_with_a_frozen_wallet(gql):
    ann, card, shop, till, charge = await charged(gql, "30")
    for frozen in (till, card):
        await freeze(gql, frozen)
        result = await refund(gql, shop, charge["id"], amount="1")
        assert_error(result, "WalletInactive", "WALLET_INACTIVE")
        await freeze(gql, frozen, "ACTIVE")
    assert await figures(gql, shop, till) == ("30.00", "0.00", "30.00", 1)
    assert (await get_transaction(gql, shop, charge["id"]))["refunds"] == []


async def test_refund_replay_and_conflict(gql):
    ann, card, shop, till, charge = await charged(gql, "30")
    key = new_key()
    first = await refund(gql, shop, charge["id"], amount="10", reason="Late", idempotencyKey=key)
    again = await refund(gql, shop, charge["id"], amount="10.00", reason="Late", idempotencyKey=key)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["transaction"] == first["transaction"]
    assert (again["wallet"]["balance"], again["wallet"]["version"]) == ("20.00", 2)
    for changed in ({"amount": "11"}, {"reason": "Early"}):
        fields = {"amount": "10", "reason": "Late", "idempotencyKey": key, **changed}
        conflict = await refund(gql, shop, charge["id"], **fields)
        assert_error(conflict, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    other = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="5", description="Socks"
    )
    conflict = await refund(
        gql, shop, other["transaction"]["id"], amount="10", reason="Late", idempotencyKey=key
    )
    assert_error(conflict, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    # the key of the merchant's charge is taken as well
    reused = await refund(gql, shop, charge["id"], idempotencyKey=charge["idempotencyKey"])
    assert_error(reused, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    assert await figures(gql, shop, till) == ("25.00", "0.00", "25.00", 3)
    original = await get_transaction(gql, shop, charge["id"])
    assert (original["refundedAmount"], len(original["refunds"])) == ("10.00", 1)


async def test_authorize_refusal_has_no_refund(gql):
    """A REJECTED HOLD is not refundable either (it names no destination)."""
    ann, card, shop, _ = await parties(gql, "1")
    declined = await authorize(gql, shop, card, "5")
    assert declined["__typename"] == "InsufficientFunds", declined
    result = await refund(gql, ann, declined["rejected"]["id"], amount="1")
    assert_error(result, "ValidationError", "NOT_REFUNDABLE", "transactionId")
