"""authorize, capture and voidHold through the API: every outcome of the HoldResult union, the
postings they make on both wallets, expiry, and the reads of holds (Query.hold, Wallet.holds)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tests.api.conftest import new_key
from tests.api.holds import (
    authorize,
    capture,
    expire,
    figures,
    freeze,
    get_hold,
    get_transaction,
    held,
    history,
    kinds,
    missing_hold,
    parties,
    state,
    sweep,
    void,
)
from walletql import ids

WEEK = 604800  # WALLETQL_HOLD_TTL_SECONDS' default


def seconds_between(start: str, end: str) -> float:
    def parse(moment: str) -> datetime:
        return datetime.fromisoformat(moment.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds()


def assert_error(result: dict, typename: str, code: str | None, field: str | None = None) -> None:
    """`result` is the error `typename` with that code (any, when None) and input field."""
    assert result["__typename"] == typename, result
    if code is not None:
        assert result["code"] == code, result
    if field is not None:
        assert result["field"] == field, result


# --- authorize ---------------------------------------------------------------------------------


async def test_authorize_reserves_without_moving_money(gql):
    ann, card, shop, till = await parties(gql, "100")
    key = new_key()
    result = await authorize(gql, shop, card, "30", description="Hotel", idempotencyKey=key)
    assert result["__typename"] == "HoldPayload", result
    assert result["replayed"] is False
    hold, tx = result["hold"], result["transaction"]
    assert (hold["status"], hold["amount"], hold["capturedAmount"], hold["remaining"]) == (
        "HELD", "30.00", "0.00", "30.00",
    )  # fmt: skip
    assert hold["currency"] == {"code": "USD"}
    assert hold["source"] == {"walletId": card["id"], "name": "Test User"}
    assert hold["destination"] == {"walletId": till["id"], "name": "Acme Ltd"}
    assert (hold["description"], hold["idempotencyKey"]) == ("Hotel", key)
    assert hold["id"].startswith(ids.HOLD + "_")
    assert abs(seconds_between(hold["createdAt"], hold["expiresAt"]) - WEEK) < 60
    assert (tx["kind"], tx["status"], tx["amount"], tx["failureReason"]) == (
        "HOLD", "POSTED", "30.00", None,
    )  # fmt: skip
    assert (tx["source"]["walletId"], tx["destination"]) == (card["id"], None)
    assert (tx["hold"], tx["description"], tx["idempotencyKey"]) == (
        {"id": hold["id"]},
        "Hotel",
        key,
    )
    assert hold["transactions"] == [
        {
            "id": tx["id"],
            "kind": "HOLD",
            "status": "POSTED",
            "amount": "30.00",
            "source": {"walletId": card["id"]},
            "destination": None,
        }
    ]
    # the payload's wallet is the merchant's, untouched by a hold
    assert result["wallet"] == {
        "id": till["id"], "balance": "0.00", "held": "0.00", "available": "0.00", "version": 0,
    }  # fmt: skip
    # the customer's balance stays; 30 of it is held: one posting
    assert await figures(gql, ann, card) == ("100.00", "30.00", "70.00", 2)
    (top, deposit) = await history(gql, ann, card)
    assert top == {
        "direction": "DEBIT",
        "amount": "30.00",
        "balanceAfter": "100.00",
        "heldAfter": "30.00",
        "transaction": {
            "id": tx["id"],
            "kind": "HOLD",
            "status": "POSTED",
            "amount": "30.00",
            "failureReason": None,
            "hold": {"id": hold["id"]},
        },
    }
    assert (deposit["transaction"]["kind"], deposit["heldAfter"]) == ("DEPOSIT", "0.00")
    assert await history(gql, shop, till) == []
    # a second hold adds to the first
    await held(gql, shop, card, "20.5")
    assert await figures(gql, ann, card) == ("100.00", "50.50", "49.50", 3)


async def test_authorize_to_an_explicit_wallet_and_expiry(gql):
    ann, card, shop, till = await parties(gql, "10")
    result = await authorize(gql, shop, card, "1", toWalletId=till["id"], expiresInSeconds=60)
    assert result["__typename"] == "HoldPayload", result
    hold = result["hold"]
    assert hold["destination"]["walletId"] == till["id"]
    assert abs(seconds_between(hold["createdAt"], hold["expiresAt"]) - 60) < 30
    for seconds in (1, 2592000):  # both ends of the range
        accepted = await authorize(gql, shop, card, "1", expiresInSeconds=seconds)
        assert accepted["__typename"] == "HoldPayload", (seconds, accepted)
        duration = seconds_between(accepted["hold"]["createdAt"], accepted["hold"]["expiresAt"])
        assert abs(duration - seconds) < 30
    assert await figures(gql, ann, card) == ("10.00", "3.00", "7.00", 4)


async def test_authorize_refusals(gql):
    ann, card, shop, till = await parties(gql, "50")
    other_shop, other_till = await gql.funded(None, role="MERCHANT")
    euro_shop, euro_till = await gql.funded(None, "EUR", role="MERCHANT")
    bare_shop = await gql.signup("MERCHANT")
    stranger, _ = await gql.funded("50")
    operator = await gql.operator()

    assert_error(await authorize(gql, None, card), "NotAuthenticated", "UNAUTHENTICATED")
    for caller in (ann, stranger, operator):  # merchants only
        assert_error(await authorize(gql, caller, card), "Forbidden", "FORBIDDEN")
    for token in ("no-such-token", "", "x" * 65):
        result = await authorize(gql, shop, {"token": token})
        assert_error(result, "NotFound", "NOT_FOUND")
    assert_error(await authorize(gql, shop, till), "ValidationError", "SELF_CHARGE")
    for amount in ("0", "-1", "1.001", "abc", "1e3", ""):
        result = await authorize(gql, shop, card, amount)
        assert_error(result, "ValidationError", "BAD_AMOUNT", "amount")
    for seconds in (0, -1, 2592001):
        result = await authorize(gql, shop, card, expiresInSeconds=seconds)
        assert_error(result, "ValidationError", "BAD_INPUT", "expiresInSeconds")
    for description in ("", "   ", "x" * 141):
        result = await authorize(gql, shop, card, description=description)
        assert_error(result, "ValidationError", None, "description")
    assert_error(await authorize(gql, bare_shop, card), "NotFound", "NOT_FOUND")
    assert_error(await authorize(gql, euro_shop, card), "NotFound", "NOT_FOUND")  # no USD wallet
    stolen = await authorize(gql, shop, card, toWalletId=other_till["id"])
    assert_error(stolen, "NotFound", "NOT_FOUND")
    mismatch = await authorize(gql, euro_shop, card, toWalletId=euro_till["id"])
    assert_error(mismatch, "CurrencyMismatch", "CURRENCY_MISMATCH")
    # nothing was held or posted anywhere
    assert await figures(gql, ann, card) == ("50.00", "0.00", "50.00", 1)
    assert [entry["transaction"]["kind"] for entry in await history(gql, ann, card)] == ["DEPOSIT"]
    for owner, wallet in ((shop, till), (other_shop, other_till), (euro_shop, euro_till)):
        assert (await state(gql, owner, wallet))["version"] == 0
    # a description of 140 characters is fine
    assert (await authorize(gql, shop, card, description="x" * 140))["__typename"] == "HoldPayload"


async def test_declined_authorization_is_a_rejected_hold(gql):
    ann, card, shop, _ = await parties(gql, "10.5")
    key = new_key()
    result = await authorize(gql, shop, card, "20", idempotencyKey=key)
    assert result["__typename"] == "InsufficientFunds", result
    # a merchant never learns the customer's balance
    assert (result["code"], result["available"], result["requested"]) == (
        "INSUFFICIENT_FUNDS", None, "20.00",
    )  # fmt: skip
    rejected = result["rejected"]
    assert (rejected["kind"], rejected["status"], rejected["failureReason"]) == (
        "HOLD", "REJECTED", "INSUFFICIENT_FUNDS",
    )  # fmt: skip
    assert (rejected["amount"], rejected["hold"]) == ("20.00", None)
    (top, _) = await history(gql, ann, card)
    assert top == {
        "direction": "DEBIT",
        "amount": "20.00",
        "balanceAfter": None,
        "heldAfter": None,
        "transaction": {
            "id": rejected["id"],
            "kind": "HOLD",
            "status": "REJECTED",
            "amount": "20.00",
            "failureReason": "INSUFFICIENT_FUNDS",
            "hold": None,
        },
    }
    assert await figures(gql, ann, card) == ("10.50", "0.00", "10.50", 1)
    # its replay answers the same, still without the balance, even after a top-up
    await gql.deposit(ann["token"], card["id"], "100")
    again = await authorize(gql, shop, card, "20", idempotencyKey=key)
    assert again == result


async def test_authorization_counts_what_is_already_held(gql):
    ann, card, shop, _ = await parties(gql, "100")
    await held(gql, shop, card, "60")
    refused = await authorize(gql, shop, card, "40.01")
    assert (refused["__typename"], refused["available"]) == ("InsufficientFunds", None)
    assert (await authorize(gql, shop, card, "40"))["__typename"] == "HoldPayload"
    assert await figures(gql, ann, card) == ("100.00", "100.00", "0.00", 3)


async def test_authorize_on_frozen_wallets(gql):
    ann, card, shop, till = await parties(gql, "50")
    await freeze(gql, card)
    assert_error(await authorize(gql, shop, card), "WalletInactive", "WALLET_INACTIVE")
    await freeze(gql, card, "ACTIVE")
    await freeze(gql, till)
    named = await authorize(gql, shop, card, toWalletId=till["id"])
    assert_error(named, "WalletInactive", "WALLET_INACTIVE")
    # by default the merchant's oldest ACTIVE wallet, as for a charge: here none
    assert_error(await authorize(gql, shop, card), "NotFound", "NOT_FOUND")
    assert await figures(gql, ann, card) == ("50.00", "0.00", "50.00", 1)


# --- capture -----------------------------------------------------------------------------------


async def test_partial_captures_then_the_rest(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    first = await capture(gql, shop, hold["id"], amount="10")
    assert first["__typename"] == "HoldPayload", first
    tx = first["transaction"]
    assert (tx["kind"], tx["status"], tx["amount"], tx["hold"]) == (
        "CAPTURE", "POSTED", "10.00", {"id": hold["id"]},
    )  # fmt: skip
    assert tx["source"] == {"walletId": card["id"], "name": "Test User"}
    assert tx["destination"] == {"walletId": till["id"], "name": "Acme Ltd"}
    assert (first["hold"]["status"], first["hold"]["capturedAmount"]) == ("HELD", "10.00")
    assert first["hold"]["remaining"] == "20.00"
    assert first["wallet"] == {
        "id": till["id"], "balance": "10.00", "held": "0.00", "available": "10.00", "version": 1,
    }  # fmt: skip
    assert await figures(gql, ann, card) == ("90.00", "20.00", "70.00", 3)
    (top, *_) = await history(gql, ann, card)
    assert (top["direction"], top["amount"], top["balanceAfter"], top["heldAfter"]) == (
        "DEBIT", "10.00", "90.00", "20.00",
    )  # fmt: skip
    assert (top["transaction"]["id"], top["transaction"]["kind"]) == (tx["id"], "CAPTURE")
    (credit,) = await history(gql, shop, till)
    assert (credit["direction"], credit["amount"], credit["balanceAfter"], credit["heldAfter"]) == (
        "CREDIT", "10.00", "10.00", "0.00",
    )  # fmt: skip

    second = await capture(gql, shop, hold["id"], amount="5.5")
    assert (second["hold"]["capturedAmount"], second["hold"]["remaining"]) == ("15.50", "14.50")
    assert second["wallet"]["balance"] == "15.50"
    # no amount: all that remains, which closes the hold
    last = await capture(gql, shop, hold["id"])
    assert last["__typename"] == "HoldPayload", last
    assert last["transaction"]["amount"] == "14.50"
    assert (last["hold"]["status"], last["hold"]["capturedAmount"], last["hold"]["remaining"]) == (
        "CAPTURED", "30.00", "0.00",
    )  # fmt: skip
    assert (last["wallet"]["balance"], last["wallet"]["version"]) == ("30.00", 3)
    assert await figures(gql, ann, card) == ("70.00", "0.00", "70.00", 5)
    found = await get_hold(gql, shop, hold["id"])
    assert kinds(found) == ["HOLD", "CAPTURE", "CAPTURE", "CAPTURE"]  # nothing left to release
    assert [tx["amount"] for tx in found["transactions"]] == ["30.00", "10.00", "5.50", "14.50"]
    assert found["transactions"][1]["id"] == tx["id"]


async def test_final_capture_releases_the_rest(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    result = await capture(gql, shop, hold["id"], amount="12", final=True)
    assert result["__typename"] == "HoldPayload", result
    assert (result["transaction"]["kind"], result["transaction"]["amount"]) == ("CAPTURE", "12.00")
    assert (
        result["hold"]["status"], result["hold"]["capturedAmount"], result["hold"]["remaining"]
    ) == ("CAPTURED", "12.00", "0.00")  # fmt: skip
    assert (result["wallet"]["balance"], result["wallet"]["version"]) == ("12.00", 1)
    # two postings on the customer's wallet: the CAPTURE, then the RELEASE of the other 18
    assert await figures(gql, ann, card) == ("88.00", "0.00", "88.00", 4)
    release, captured, *_ = await history(gql, ann, card)
    assert (captured["direction"], captured["amount"], captured["balanceAfter"]) == (
        "DEBIT", "12.00", "88.00",
    )  # fmt: skip
    assert (captured["heldAfter"], captured["transaction"]["kind"]) == ("18.00", "CAPTURE")
    assert (release["direction"], release["amount"], release["balanceAfter"]) == (
        "CREDIT", "18.00", "88.00",
    )  # fmt: skip
    assert (release["heldAfter"], release["transaction"]["kind"]) == ("0.00", "RELEASE")
    assert release["transaction"]["hold"] == {"id": hold["id"]}
    found = await get_hold(gql, ann, hold["id"])
    assert kinds(found) == ["HOLD", "CAPTURE", "RELEASE"]
    assert found["transactions"][2] == {
        "id": release["transaction"]["id"],
        "kind": "RELEASE",
        "status": "POSTED",
        "amount": "18.00",
        "source": None,
        "destination": {"walletId": card["id"]},
    }
    assert (await state(gql, shop, till))["version"] == 1


async def test_final_capture_of_everything_releases_nothing(gql):
    ann, card, shop, _ = await parties(gql, "100")
    hold = await held(gql, shop, card, "10")
    result = await capture(gql, shop, hold["id"], amount="10", final=True)
    assert (result["hold"]["status"], result["hold"]["remaining"]) == ("CAPTURED", "0.00")
    assert kinds(result["hold"]) == ["HOLD", "CAPTURE"]
    assert await figures(gql, ann, card) == ("90.00", "0.00", "90.00", 3)


async def test_capture_draws_on_the_hold_not_on_available(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "70")
    refused = await gql.pay("withdraw", ann["token"], walletId=card["id"], amount="30.01")
    assert refused["__typename"] == "InsufficientFunds", refused
    assert (refused["available"], refused["requested"]) == ("30.00", "30.01")
    assert refused["rejected"]["status"] == "REJECTED"
    bob, bobs = await gql.funded(None)
    transfer = await gql.pay(
        "transfer", ann["token"], fromWalletId=card["id"], toWalletId=bobs["id"], amount="31"
    )
    assert (transfer["__typename"], transfer["available"]) == ("InsufficientFunds", "30.00")
    spent = await gql.pay("withdraw", ann["token"], walletId=card["id"], amount="30")
    assert spent["__typename"] == "PaymentPayload", spent
    assert await figures(gql, ann, card) == ("70.00", "70.00", "0.00", 3)
    # available is 0, yet the hold is captured in full
    result = await capture(gql, shop, hold["id"])
    assert (result["__typename"], result["wallet"]["balance"]) == ("HoldPayload", "70.00")
    assert await figures(gql, ann, card) == ("0.00", "0.00", "0.00", 4)


async def test_held_amount_and_floor_block_a_withdrawal(gql_with):
    floored = await gql_with(minimum_balance=Decimal(5))
    ann, card, shop, _ = await parties(floored, "100")
    assert (await state(floored, ann, card))["minimumBalance"] == "5.00"
    await held(floored, shop, card, "70")
    assert await figures(floored, ann, card) == ("100.00", "70.00", "25.00", 2)
    refused = await floored.pay("withdraw", ann["token"], walletId=card["id"], amount="26")
    assert (refused["__typename"], refused["available"], refused["requested"]) == (
        "InsufficientFunds", "25.00", "26.00",
    )  # fmt: skip
    assert (await floored.pay("withdraw", ann["token"], walletId=card["id"], amount="25"))[
        "__typename"
    ] == "PaymentPayload"


async def test_capture_refusals(gql):
    ann, card, shop, till = await parties(gql, "100")
    other_shop, other_till = await gql.funded(None, role="MERCHANT")
    stranger, _ = await gql.funded("10")
    operator = await gql.operator()
    hold = await held(gql, shop, card, "30")

    assert_error(await capture(gql, None, hold["id"]), "NotAuthenticated", "UNAUTHENTICATED")
    # the customer whose wallet it's on knows the hold: Forbidden
    assert_error(await capture(gql, ann, hold["id"]), "Forbidden", "FORBIDDEN")
    # anyone else: NotFound, exactly like an unknown or malformed id
    answers = [await capture(gql, caller, hold["id"]) for caller in (other_shop, stranger)]
    answers.append(await capture(gql, operator, hold["id"]))
    for unknown in (missing_hold(), "abc", "", card["id"], hold["transactions"][0]["id"]):
        answers.append(await capture(gql, shop, unknown))
    for answer in answers:
        assert_error(answer, "NotFound", "NOT_FOUND")
    assert len({(a["code"], a["message"]) for a in answers}) == 1, answers
    for amount in ("0", "-1", "1.001", "abc"):
        result = await capture(gql, shop, hold["id"], amount=amount)
        assert_error(result, "ValidationError", "BAD_AMOUNT", "amount")
    over = await capture(gql, shop, hold["id"], amount="30.01")
    assert_error(over, "ExceedsRemaining", "EXCEEDS_REMAINING")
    assert (over["remaining"], over["requested"]) == ("30.00", "30.01")
    await capture(gql, shop, hold["id"], amount="10")
    over = await capture(gql, shop, hold["id"], amount="21", final=True)
    assert (over["__typename"], over["remaining"], over["requested"]) == (
        "ExceedsRemaining", "20.00", "21.00",
    )  # fmt: skip
    # only the one capture of 10 happened
    assert await figures(gql, ann, card) == ("90.00", "20.00", "70.00", 3)
    assert await figures(gql, shop, till) == ("10.00", "0.00", "10.00", 1)
    assert (await state(gql, other_shop, other_till))["version"] == 0
    found = await get_hold(gql, shop, hold["id"])
    assert (found["status"], found["capturedAmount"], kinds(found)) == (
        "HELD", "10.00", ["HOLD", "CAPTURE"],
    )  # fmt: skip


async def test_capture_on_frozen_wallets_and_void_still_works(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    for frozen in (card, till):
        await freeze(gql, frozen)
        assert_error(await capture(gql, shop, hold["id"]), "WalletInactive", "WALLET_INACTIVE")
        await freeze(gql, frozen, "ACTIVE")
    assert await figures(gql, ann, card) == ("100.00", "30.00", "70.00", 2)
    await freeze(gql, card)
    await freeze(gql, till)
    voided = await void(gql, shop, hold["id"])
    assert voided["__typename"] == "HoldPayload", voided
    assert voided["hold"]["status"] == "VOIDED"
    found = await state(gql, ann, card)
    assert (found["status"], found["balance"], found["held"], found["version"]) == (
        "FROZEN", "100.00", "0.00", 3,
    )  # fmt: skip


# --- voidHold ----------------------------------------------------------------------------------


async def test_void_releases_what_remains(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    await capture(gql, shop, hold["id"], amount="10")
    result = await void(gql, shop, hold["id"])
    assert result["__typename"] == "HoldPayload", result
    assert result["replayed"] is False
    tx = result["transaction"]
    assert (tx["kind"], tx["status"], tx["amount"], tx["hold"]) == (
        "RELEASE", "POSTED", "20.00", {"id": hold["id"]},
    )  # fmt: skip
    assert (tx["source"], tx["destination"]["walletId"]) == (None, card["id"])
    assert (result["hold"]["status"], result["hold"]["capturedAmount"]) == ("VOIDED", "10.00")
    assert result["hold"]["remaining"] == "0.00"
    assert kinds(result["hold"]) == ["HOLD", "CAPTURE", "RELEASE"]
    assert (result["wallet"]["id"], result["wallet"]["balance"]) == (till["id"], "10.00")
    assert result["wallet"]["version"] == 1  # a release does not touch the merchant's wallet
    assert await figures(gql, ann, card) == ("90.00", "0.00", "90.00", 4)
    (top, *_) = await history(gql, ann, card)
    assert (top["direction"], top["amount"], top["balanceAfter"], top["heldAfter"]) == (
        "CREDIT", "20.00", "90.00", "0.00",
    )  # fmt: skip
    assert (top["transaction"]["id"], top["transaction"]["kind"]) == (tx["id"], "RELEASE")


async def test_void_refusals(gql):
    ann, card, shop, _ = await parties(gql, "100")
    other_shop, _ = await gql.funded(None, role="MERCHANT")
    stranger = await gql.signup()
    hold = await held(gql, shop, card, "30")
    assert_error(await void(gql, None, hold["id"]), "NotAuthenticated", "UNAUTHENTICATED")
    assert_error(await void(gql, ann, hold["id"]), "Forbidden", "FORBIDDEN")
    for caller, hold_id in (
        (other_shop, hold["id"]),
        (stranger, hold["id"]),
        (shop, missing_hold()),
        (shop, "abc"),
        (shop, card["id"]),
    ):
        assert_error(await void(gql, caller, hold_id), "NotFound", "NOT_FOUND")
    assert await figures(gql, ann, card) == ("100.00", "30.00", "70.00", 2)
    assert (await get_hold(gql, shop, hold["id"]))["status"] == "HELD"


# --- closed holds ------------------------------------------------------------------------------


async def test_a_voided_hold_is_closed(gql):
    ann, card, shop, _ = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    await void(gql, shop, hold["id"])
    for result in (
        await capture(gql, shop, hold["id"]),
        await capture(gql, shop, hold["id"], amount="1"),
        await void(gql, shop, hold["id"]),
    ):
        assert_error(result, "HoldClosed", "HOLD_CLOSED")
        assert result["closed"] == {
            "id": hold["id"], "status": "VOIDED", "capturedAmount": "0.00", "remaining": "0.00",
        }  # fmt: skip
    assert await figures(gql, ann, card) == ("100.00", "0.00", "100.00", 3)


async def test_a_captured_hold_is_closed(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    await capture(gql, shop, hold["id"], amount="5", final=True)
    for result in (
        await capture(gql, shop, hold["id"], amount="1"),
        await capture(gql, shop, hold["id"]),
        await void(gql, shop, hold["id"]),
    ):
        assert_error(result, "HoldClosed", "HOLD_CLOSED")
        assert (result["closed"]["status"], result["closed"]["capturedAmount"]) == (
            "CAPTURED", "5.00",
        )  # fmt: skip
    assert await figures(gql, ann, card) == ("95.00", "0.00", "95.00", 4)
    assert await figures(gql, shop, till) == ("5.00", "0.00", "5.00", 1)


async def test_an_expired_hold_is_closed_before_and_after_its_release(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    await capture(gql, shop, hold["id"], amount="10")
    await expire(gql, hold["id"])
    # past its expiresAt, before the sweeper: no capture
    early = await capture(gql, shop, hold["id"], amount="1")
    assert_error(early, "HoldClosed", "HOLD_CLOSED")
    assert early["closed"]["id"] == hold["id"]
    assert await figures(gql, ann, card) == ("90.00", "20.00", "70.00", 3)
    await sweep()
    found = await get_hold(gql, shop, hold["id"])
    assert (found["status"], found["capturedAmount"], found["remaining"]) == (
        "EXPIRED", "10.00", "0.00",
    )  # fmt: skip
    assert kinds(found) == ["HOLD", "CAPTURE", "RELEASE"]
    release = found["transactions"][2]
    assert (release["amount"], release["source"], release["destination"]) == (
        "20.00", None, {"walletId": card["id"]},
    )  # fmt: skip
    assert await figures(gql, ann, card) == ("90.00", "0.00", "90.00", 4)
    (top, *_) = await history(gql, ann, card)
    assert (top["direction"], top["amount"], top["heldAfter"], top["transaction"]["id"]) == (
        "CREDIT", "20.00", "0.00", release["id"],
    )  # fmt: skip
    for result in (await capture(gql, shop, hold["id"]), await void(gql, shop, hold["id"])):
        assert_error(result, "HoldClosed", "HOLD_CLOSED")
        assert result["closed"]["status"] == "EXPIRED"
    # a second sweep releases nothing more
    await sweep()
    assert await figures(gql, ann, card) == ("90.00", "0.00", "90.00", 4)
    assert await figures(gql, shop, till) == ("10.00", "0.00", "10.00", 1)


# --- idempotency -------------------------------------------------------------------------------


async def test_authorize_replay_and_conflict(gql):
    ann, card, shop, _ = await parties(gql, "100")
    key = new_key()
    first = await authorize(gql, shop, card, "30", idempotencyKey=key)
    again = await authorize(gql, shop, card, "30.00", idempotencyKey=key)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["transaction"] == first["transaction"]
    assert again["hold"]["id"] == first["hold"]["id"]
    assert await figures(gql, ann, card) == ("100.00", "30.00", "70.00", 2)
    for changed in (
        {"amount": "31"},
        {"description": "Another room"},
        {"expiresInSeconds": 60},
    ):
        fields = {"amount": "30", "idempotencyKey": key, **changed}
        conflict = await authorize(gql, shop, card, **fields)
        assert_error(conflict, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    assert await figures(gql, ann, card) == ("100.00", "30.00", "70.00", 2)
    # another merchant may use the same key
    other_shop, _ = await gql.funded(None, role="MERCHANT")
    theirs = await authorize(gql, other_shop, card, "30", idempotencyKey=key)
    assert (theirs["__typename"], theirs["replayed"]) == ("HoldPayload", False)
    assert theirs["hold"]["id"] != first["hold"]["id"]


async def test_capture_replay_and_conflict(gql):
    ann, card, shop, till = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    key = new_key()
    first = await capture(gql, shop, hold["id"], amount="10", idempotencyKey=key)
    again = await capture(gql, shop, hold["id"], amount="10.00", idempotencyKey=key)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["transaction"] == first["transaction"]
    assert await figures(gql, ann, card) == ("90.00", "20.00", "70.00", 3)
    assert (await state(gql, shop, till))["balance"] == "10.00"
    for changed in ({"amount": "11"}, {"final": True}):
        fields = {"amount": "10", "idempotencyKey": key, **changed}
        conflict = await capture(gql, shop, hold["id"], **fields)
        assert_error(conflict, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    other = await held(gql, shop, card, "5")
    conflict = await capture(gql, shop, other["id"], amount="10", idempotencyKey=key)
    assert_error(conflict, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    # the authorization's key is taken too: one key space per caller
    reused = await capture(gql, shop, hold["id"], amount="1", idempotencyKey=hold["idempotencyKey"])
    assert_error(reused, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    # a replay still answers once the hold is closed
    await void(gql, shop, hold["id"])
    late = await capture(gql, shop, hold["id"], amount="10", idempotencyKey=key)
    assert (late["__typename"], late["replayed"]) == ("HoldPayload", True)
    assert late["transaction"] == first["transaction"]
    assert await figures(gql, ann, card) == ("90.00", "5.00", "85.00", 5)
    assert (await state(gql, shop, till))["balance"] == "10.00"


async def test_void_replay_and_conflict(gql):
    ann, card, shop, _ = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    other = await held(gql, shop, card, "5")
    key = new_key()
    first = await void(gql, shop, hold["id"], idempotencyKey=key)
    again = await void(gql, shop, hold["id"], idempotencyKey=key)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["transaction"] == first["transaction"]
    assert again["hold"]["status"] == "VOIDED"
    conflict = await void(gql, shop, other["id"], idempotencyKey=key)
    assert_error(conflict, "IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    assert await figures(gql, ann, card) == ("100.00", "5.00", "95.00", 4)
    assert (await get_hold(gql, shop, other["id"]))["status"] == "HELD"


# --- reads -------------------------------------------------------------------------------------


async def test_who_may_read_a_hold(gql):
    ann, card, shop, till = await parties(gql, "100")
    other_shop, _ = await gql.funded(None, role="MERCHANT")
    stranger, _ = await gql.funded("1")
    operator = await gql.operator()
    hold = await held(gql, shop, card, "30")
    seen = [await get_hold(gql, viewer, hold["id"]) for viewer in (shop, ann, operator)]
    assert seen[0] == seen[1] == seen[2]
    assert (seen[0]["id"], seen[0]["status"], seen[0]["remaining"]) == (hold["id"], "HELD", "30.00")
    query = "query($id: ID!) { hold(id: $id) { id status } }"
    for viewer, hold_id in (
        (other_shop, hold["id"]),
        (stranger, hold["id"]),
        (shop, missing_hold()),
        (shop, "abc"),
        (shop, till["id"]),
    ):
        body = await gql(query, {"id": hold_id}, viewer["token"])
        assert body["data"] == {"hold": None}, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND", error
    body = await gql(query, {"id": hold["id"]})
    assert body["data"] == {"hold": None}, body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_transactions_name_their_hold(gql):
    ann, card, shop, _ = await parties(gql, "100")
    hold = await held(gql, shop, card, "30")
    captured = await capture(gql, shop, hold["id"], amount="10", final=True)
    found = await get_hold(gql, ann, hold["id"])
    for tx in found["transactions"]:
        seen = await get_transaction(gql, ann, tx["id"])
        assert (seen["kind"], seen["hold"]) == (tx["kind"], {"id": hold["id"]})
        # HOLD and RELEASE are no refundable kinds; a CAPTURE is
        expected = "0.00" if tx["kind"] == "CAPTURE" else None
        assert seen["refundedAmount"] == expected, seen
        assert seen["refunds"] == ([] if tx["kind"] == "CAPTURE" else None), seen
        assert seen["refundOf"] is None
    assert found["transactions"][1]["id"] == captured["transaction"]["id"]
    deposit = (await history(gql, ann, card))[-1]["transaction"]
    assert (await get_transaction(gql, ann, deposit["id"]))["hold"] is None


HOLDS = """query($id: ID!, $first: Int, $after: String, $status: HoldStatus) { wallet(id: $id) {
    holds(first: $first, after: $after, status: $status) {
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id status amount } } } } }"""


async def wallet_holds(gql, owner, wallet, **variables) -> dict:
    data = await gql.ok(HOLDS, {"id": wallet["id"], **variables}, owner["token"])
    return data["wallet"]["holds"]


async def walk(gql, owner, wallet, first: int, **variables) -> list[str]:
    """Every hold's id, page after page of `first`."""
    seen, after = [], None
    while True:
        page = await wallet_holds(gql, owner, wallet, first=first, after=after, **variables)
        assert len(page["edges"]) <= first
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        assert page["edges"], page
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


async def test_wallet_holds_pages_and_filter(gql):
    ann, card, shop, till = await parties(gql, "100")
    other, others = await gql.funded("100")
    placed = [(await held(gql, shop, card, str(n)))["id"] for n in range(1, 8)]
    elsewhere = await held(gql, shop, others, "1")
    await void(gql, shop, placed[1])
    await void(gql, shop, placed[4])
    await capture(gql, shop, placed[2])
    await capture(gql, shop, placed[5], amount="1", final=True)
    await expire(gql, placed[6])
    await sweep()
    newest_first = placed[::-1]
    assert await walk(gql, ann, card, 20) == newest_first
    assert await walk(gql, ann, card, 3) == newest_first
    assert await walk(gql, ann, card, 1) == newest_first
    # payable to the merchant's wallet: these and the other customer's
    assert await walk(gql, shop, till, 2) == [elsewhere["id"], *newest_first]
    assert await walk(gql, other, others, 2) == [elsewhere["id"]]
    by_status = {
        "HELD": [placed[3], placed[0]],
        "VOIDED": [placed[4], placed[1]],
        "CAPTURED": [placed[5], placed[2]],
        "EXPIRED": [placed[6]],
    }
    for status, expected in by_status.items():
        assert await walk(gql, ann, card, 1, status=status) == expected, status
    body = await gql(HOLDS, {"id": card["id"], "after": "abc"}, ann["token"])
    assert body["data"] == {"wallet": None}, body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    page = await wallet_holds(gql, ann, card, first=2, status="HELD")
    assert [edge["node"]["amount"] for edge in page["edges"]] == ["4.00", "1.00"]
    assert page["pageInfo"]["hasNextPage"] is False
    # held: what remains of the HELD ones
    # held: what remains of the HELD ones (1 + 4); captured: 3 + 1
    assert await figures(gql, ann, card) == ("96.00", "5.00", "91.00", 1 + 7 + 2 + 1 + 2 + 1)
