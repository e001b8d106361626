"""The posting route's outcome precedence, through the GraphQL API.

This module checks the table in the posting module's docstring (walletql/ledger/posting.py) row
by row: every row has at least one request that answers it (`test_row`, and the rows that need
more than one answer: 7, 18, 20), asserting the result's type and code, and its field and exact
message where the table gives them. Then `test_precedence` sends requests that fail two rows at
once, and the earlier row must win.

Every refusal is checked to have written nothing: each wallet it names keeps its balance,
version and history size (read through the API, by the wallet's owner), and the caller has
initiated no new transaction (counted in SQL, for the refusals whose wallet does not exist).
Each test makes its own users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from tortoise import connections

from tests.api.conftest import new_key
from walletql import ids

MUTATIONS = ("deposit", "withdraw", "transfer", "charge", "applyOperation")
KINDS = {
    "deposit": "DEPOSIT",
    "withdraw": "WITHDRAWAL",
    "transfer": "TRANSFER",
    "charge": "CHARGE",
    "applyOperation": "OPERATION",
}
# The balances of a scene's wallets once its request has posted (row 20).
POSTED = {
    "deposit": ["101.00"],
    "withdraw": ["99.00"],
    "transfer": ["99.00", "1.00"],
    "charge": ["99.00", "1.00"],
    "applyOperation": ["10"],
}
CURRENCIES = ("USD", "EUR", "BTC", "ETH", "MATIC", "CREDIT")
NEAR_MAX = "99999999999999999999"  # 10^20 - 1: one more unit reaches the largest balance

STATE = "query($id: ID!) { wallet(id: $id) { balance version history { totalCount } } }"
NEWEST = """query($id: ID!) { wallet(id: $id) { balance version history(first: 1) {
    totalCount edges { node { transaction { id status failureReason } } } } } }"""


def error(typename: str, code: str, **more: str) -> dict:
    return {"__typename": typename, "code": code, **more}


FORBIDDEN = error("Forbidden", "FORBIDDEN")
UNAUTHENTICATED = error("NotAuthenticated", "UNAUTHENTICATED")
BAD_AMOUNT = error("ValidationError", "BAD_AMOUNT", field="amount")
WALLET_NOT_FOUND = error("NotFound", "NOT_FOUND", message="Wallet not found")
RECIPIENT_NOT_FOUND = error("NotFound", "NOT_FOUND", message="Recipient wallet not found")
SELF_TRANSFER = error("ValidationError", "SELF_TRANSFER", field="toWalletId")


def too_precise(currency: str = "USD", decimals: int = 2) -> dict:
    message = f"Invalid {currency} amount: {currency} has {decimals} decimal places at most"
    return {**BAD_AMOUNT, "message": message}


def inactive(wallet: dict) -> dict:
    return error("WalletInactive", "WALLET_INACTIVE", message=f"Wallet {wallet['id']} is frozen")


def missing_wallet() -> str:
    """A well-formed wallet id that names no wallet."""
    return ids.encode(ids.WALLET, ids.MAX_ID)


async def freeze(gql, wallet: dict) -> None:
    """No API freezes a wallet: an operator's change, made here in SQL."""
    wallet_id = ids.decode(ids.WALLET, wallet["id"])
    await gql.sql(f"UPDATE wallets SET status = 'FROZEN' WHERE id = {wallet_id}")


@dataclass
class Ask:
    """One request, the answer it must get, and the wallets a write would change."""

    caller: dict  # a user from gql.signup/funded/operator; its "token" is sent (None: none)
    mutation: str
    fields: dict
    watch: list[tuple[dict, dict]]  # (owner, wallet)
    expect: dict = field(default_factory=dict)  # these keys of the PaymentResult

    def __post_init__(self) -> None:
        self.fields.setdefault("idempotencyKey", new_key())


async def send(gql, ask: Ask) -> dict:
    return await gql.pay(ask.mutation, ask.caller["token"], **ask.fields)


async def footprint(gql, ask: Ask) -> tuple[list[dict], int]:
    """What a write would change: each watched wallet's balance, version and history size, and
    how many transactions the caller ever initiated."""
    states = [
        (await gql.ok(STATE, {"id": w["id"]}, owner["token"]))["wallet"] for owner, w in ask.watch
    ]
    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM transactions WHERE initiator_id = $1",
        [ids.decode(ids.USER, ask.caller["id"])],
    )
    return states, rows[0]["n"]


async def answer(gql, ask: Ask) -> dict:
    """Send `ask`, check its answer, and check that it wrote nothing."""
    assert "__typename" in ask.expect
    before = await footprint(gql, ask)
    result = await send(gql, ask)
    assert {key: result.get(key) for key in ask.expect} == ask.expect, result
    assert await footprint(gql, ask) == before, "nothing may be written"
    return result


async def scene(gql, mutation: str, amount: str = "1") -> Ask:
    """New users, and a `mutation` that would post: the first watched wallet is the one acted
    on (deposited to, withdrawn from, transfer source, charged customer, operation target), the
    second the recipient (transfer) or the merchant's (charge)."""
    if mutation == "applyOperation":
        ann, credits = await gql.funded(None, "CREDIT")
        fields = {"walletId": credits["id"], "operation": "CREDIT_ADD"}
        return Ask(await gql.operator(), mutation, fields, [(ann, credits)])
    ann, card = await gql.funded("100")
    if mutation in ("deposit", "withdraw"):
        return Ask(ann, mutation, {"walletId": card["id"], "amount": amount}, [(ann, card)])
    if mutation == "transfer":
        bob, bobs = await gql.funded(None)
        fields = {"fromWalletId": card["id"], "toWalletId": bobs["id"], "amount": amount}
        return Ask(ann, mutation, fields, [(ann, card), (bob, bobs)])
    shop, till = await gql.funded(None, role="MERCHANT")
    fields = {"walletToken": card["token"], "amount": amount, "description": "Tea"}
    return Ask(shop, mutation, fields, [(ann, card), (shop, till)])


def label(value: object) -> str:
    if isinstance(value, tuple):
        return "-".join(map(label, value))
    return value if isinstance(value, str) and value.isidentifier() else ascii(value)


ROWS: list = []
PAIRS: list = []


def cases(registry: list, *variants: object):
    """Registers a builder `async (gql, variant) -> Ask` once per variant (once if none)."""

    def register(build):
        for variant in variants or (None,):
            name = build.__name__ if variant is None else f"{build.__name__}-{label(variant)}"
            registry.append(pytest.param(build, variant, id=name))
        return build

    return register


# ---- Step 1, in Python: rows 1-7 -------------------------------------------------------------


@cases(ROWS, *MUTATIONS)
async def row01_no_token(gql, mutation):
    ask = await scene(gql, mutation)
    ask.caller = {**ask.caller, "token": None}
    ask.expect = UNAUTHENTICATED
    return ask


@cases(ROWS, "garbage", "revoked")
async def row01_invalid_token(gql, variant):
    ask = await scene(gql, "deposit")
    token = "not-a-token"
    if variant == "revoked":
        token = await gql.login(ask.caller["email"])  # a second session, then signed out
        assert (await gql.ok("mutation { logout }", token=token))["logout"] is True
    ask.caller = {**ask.caller, "token": token}
    ask.expect = UNAUTHENTICATED
    return ask


@cases(ROWS, ("charge", "CUSTOMER"), ("applyOperation", "CUSTOMER"), ("applyOperation", "MERCHANT"))
async def row02_wrong_role(gql, variant):
    mutation, role = variant
    ask = await scene(gql, mutation)
    ask.caller = await gql.signup(role)
    ask.expect = FORBIDDEN
    return ask


KEYS = {"empty": "", "spaces": "   ", "long": "k" * 201, "zero_width": "a\u200bb", "tab": "a\tb"}


@cases(ROWS, *[(m, "empty") for m in MUTATIONS], *[("deposit", k) for k in KEYS if k != "empty"])
async def row03_bad_key(gql, variant):
    mutation, key = variant
    ask = await scene(gql, mutation)
    ask.fields["idempotencyKey"] = KEYS[key]
    ask.expect = error("ValidationError", "BAD_INPUT", field="idempotencyKey")
    return ask


DESCRIPTIONS = {"long": None, "bell": "ring \x07", "nul": "a\x00b", "empty": "", "spaces": "  "}


@cases(
    ROWS,
    ("deposit", "long"),
    ("withdraw", "bell"),
    ("transfer", "nul"),
    ("charge", "long"),
    ("charge", "empty"),
    ("charge", "spaces"),
)
async def row04_bad_description(gql, variant):
    mutation, kind = variant
    ask = await scene(gql, mutation)
    limit = 140 if mutation == "charge" else 500
    ask.fields["description"] = DESCRIPTIONS[kind] or "x" * (limit + 1)
    ask.expect = error("ValidationError", "BAD_INPUT", field="description")
    return ask


@cases(ROWS, "neither", "nulls", "both")
async def row05_not_exactly_one_recipient(gql, variant):
    ask = await scene(gql, "transfer")
    bob = ask.watch[1][0]
    if variant == "neither":
        del ask.fields["toWalletId"]
    elif variant == "nulls":
        ask.fields.update(toWalletId=None, toUserId=None)
    else:
        ask.fields["toUserId"] = bob["id"]
    ask.expect = error("ValidationError", "BAD_INPUT", field="toWalletId")
    return ask


@cases(ROWS, "FREE_MONEY", "credit_add", "Credit_Add", " CREDIT_ADD", "CREDIT_ADD ", "")
async def row06_unknown_operation(gql, operation):
    ask = await scene(gql, "applyOperation")
    ask.fields["operation"] = operation
    ask.expect = error("ValidationError", "UNKNOWN_OPERATION", field="operation")
    return ask


# ---- Steps 2-3, one SQL call: rows 8-18 -------------------------------------------------------


@cases(ROWS, *MUTATIONS)
async def row08_replayed(gql, mutation):
    ask = await scene(gql, mutation)
    first = await send(gql, ask)
    assert (first["__typename"], first["replayed"]) == ("PaymentPayload", False), first
    ask.expect = {
        "__typename": "PaymentPayload",
        "replayed": True,
        "transaction": first["transaction"],
    }
    return ask


@cases(ROWS, *MUTATIONS)
async def row09_idempotency_conflict(gql, mutation):
    ask = await scene(gql, mutation)
    assert (await send(gql, ask))["__typename"] == "PaymentPayload"
    if mutation == "applyOperation":
        ask.fields["operation"] = "DAILY_REWARD"
    else:
        ask.fields["amount"] = "2"
    ask.expect = error("IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    return ask


@cases(
    ROWS,
    *[
        (m, w)
        for m in ("deposit", "withdraw", "transfer")
        for w in ("others", "missing", "malformed")
    ],
    ("applyOperation", "missing"),
    ("applyOperation", "malformed"),
)
async def row10_wallet_not_found(gql, variant):
    mutation, whose = variant
    ask = await scene(gql, mutation)
    if whose == "others":
        other, theirs = await gql.funded("100")
        ask.watch.append((other, theirs))
        named = theirs["id"]
    else:
        named = missing_wallet() if whose == "missing" else "abc"
    ask.fields["fromWalletId" if mutation == "transfer" else "walletId"] = named
    ask.expect = WALLET_NOT_FOUND
    return ask


@cases(ROWS, "unknown", "empty", "too_long")
async def row10_token_not_found(gql, variant):
    ask = await scene(gql, "charge")
    tokens = {"unknown": "no-such-token", "empty": "", "too_long": "x" * 65}
    ask.fields["walletToken"] = tokens[variant]
    ask.expect = error("NotFound", "NOT_FOUND", message="No wallet has that payment token")
    return ask


@cases(ROWS)
async def row11_self_charge(gql, _):
    ask = await scene(gql, "charge")
    ask.fields["walletToken"] = ask.watch[1][1]["token"]  # the merchant's own wallet
    ask.expect = error("ValidationError", "SELF_CHARGE", field="walletToken")
    return ask


@cases(
    ROWS,
    *[(m, "USD", "1.001") for m in ("deposit", "withdraw", "transfer", "charge")],
    ("deposit", "CREDIT", "0.5"),
    ("deposit", "BTC", "0.000000001"),
)
async def row14_amount_too_precise(gql, variant):
    mutation, currency, amount = variant
    if currency == "USD":
        ask = await scene(gql, mutation)
    else:
        user, wallet = await gql.funded(None, currency)
        ask = Ask(user, mutation, {"walletId": wallet["id"]}, [(user, wallet)])
    ask.fields["amount"] = amount
    ask.expect = too_precise(currency, {"USD": 2, "CREDIT": 0, "BTC": 8}[currency])
    return ask


@cases(ROWS, "missing_wallet", "malformed_wallet", "malformed_user", "no_wallet", "frozen", "eur")
async def row12_recipient_not_found(gql, variant):
    ask = await scene(gql, "transfer")
    del ask.fields["toWalletId"]
    if variant in ("missing_wallet", "malformed_wallet"):
        ask.fields["toWalletId"] = missing_wallet() if variant == "missing_wallet" else "abc"
    elif variant == "malformed_user":
        ask.fields["toUserId"] = "abc"
    else:  # a user with no ACTIVE wallet in the source's currency
        newcomer = await gql.signup()
        if variant != "no_wallet":
            wallet = await gql.wallet(newcomer["token"], "USD" if variant == "frozen" else "EUR")
            if variant == "frozen":
                await freeze(gql, wallet)
            ask.watch.append((newcomer, wallet))
        ask.fields["toUserId"] = newcomer["id"]
    ask.expect = RECIPIENT_NOT_FOUND
    return ask


@cases(ROWS, "other_merchants", "customers", "missing")
async def row12_charge_to_a_wallet_not_the_merchants(gql, variant):
    ask = await scene(gql, "charge")
    if variant == "other_merchants":
        other, theirs = await gql.funded(None, role="MERCHANT")
        ask.watch.append((other, theirs))
        ask.fields["toWalletId"] = theirs["id"]
    elif variant == "customers":
        ask.fields["toWalletId"] = ask.watch[0][1]["id"]  # the charged wallet itself
    else:
        ask.fields["toWalletId"] = missing_wallet()
    ask.expect = WALLET_NOT_FOUND
    return ask


@cases(ROWS, "none", "eur_only", "frozen")
async def row12_no_receiving_wallet(gql, variant):
    ann, card = await gql.funded("100")
    shop = await gql.signup("MERCHANT")
    watch = [(ann, card)]
    if variant != "none":
        till = await gql.wallet(shop["token"], "EUR" if variant == "eur_only" else "USD")
        if variant == "frozen":
            await freeze(gql, till)
        watch.append((shop, till))
    fields = {"walletToken": card["token"], "amount": "1", "description": "Tea"}
    message = (
        "You have no active USD wallet to receive this charge: "
        'create one with createWallet(currency: "USD") first'
    )
    return Ask(shop, "charge", fields, watch, error("NotFound", "NOT_FOUND", message=message))


@cases(ROWS, "to_wallet", "to_user")
async def row13_self_transfer(gql, variant):
    ask = await scene(gql, "transfer")
    ann, card = ask.watch[0]
    del ask.fields["toWalletId"]
    if variant == "to_wallet":
        ask.fields["toWalletId"] = card["id"]
    else:
        ask.fields["toUserId"] = ann["id"]  # whose oldest USD wallet is the source
    ask.expect = SELF_TRANSFER
    return ask


@cases(ROWS, "transfer", "charge", "applyOperation")
async def row15_currency_mismatch(gql, mutation):
    if mutation == "transfer":
        ask = await scene(gql, mutation)
        bob = ask.watch[1][0]
        eth = await gql.wallet(bob["token"], "ETH")
        ask.watch.append((bob, eth))
        ask.fields["toWalletId"] = eth["id"]
        message = "Cannot transfer USD to a ETH wallet"
    elif mutation == "charge":
        ann, card = await gql.funded("100")
        shop, till = await gql.funded(None, "EUR", role="MERCHANT")
        fields = {"walletToken": card["token"], "amount": "1", "description": "Tea"}
        ask = Ask(shop, mutation, {**fields, "toWalletId": till["id"]}, [(ann, card), (shop, till)])
        message = "The customer wallet holds USD, yours EUR"
    else:
        ann, card = await gql.funded("100")
        fields = {"walletId": card["id"], "operation": "CREDIT_ADD"}
        ask = Ask(await gql.operator(), mutation, fields, [(ann, card)])
        message = "CREDIT_ADD moves CREDIT; the wallet holds USD"
    ask.expect = error("CurrencyMismatch", "CURRENCY_MISMATCH", message=message)
    return ask


@cases(
    ROWS,
    "deposit",
    "withdraw",
    "transfer_source",
    "transfer_recipient",
    "charge_customer",
    "charge_merchant",
    "applyOperation",
)
async def row16_wallet_inactive(gql, variant):
    ask = await scene(gql, variant.split("_")[0])
    if variant == "charge_merchant":
        ask.fields["toWalletId"] = ask.watch[1][1]["id"]
    frozen = ask.watch[1 if variant in ("transfer_recipient", "charge_merchant") else 0][1]
    await freeze(gql, frozen)
    ask.expect = inactive(frozen)
    return ask


@cases(ROWS, "deposit", "transfer")
async def row19_balance_too_large(gql, mutation):
    rich, vault = await gql.funded(NEAR_MAX)
    if mutation == "deposit":
        ask = Ask(rich, mutation, {"walletId": vault["id"], "amount": "1"}, [(rich, vault)])
    else:
        ann, card = await gql.funded("1")
        fields = {"fromWalletId": card["id"], "toWalletId": vault["id"], "amount": "1"}
        ask = Ask(ann, mutation, fields, [(ann, card), (rich, vault)])
    ask.expect = BAD_AMOUNT
    return ask


@pytest.mark.parametrize(("build", "variant"), ROWS)
async def test_row(gql, build, variant):
    await answer(gql, await build(gql, variant))


BAD_AMOUNTS = ["abc", "1e5", "-1", "0", "NaN", "Infinity", " 5", "", "1,5", 1.5, "1" + "0" * 20]
BAD_AMOUNTS += [10**21, "0." + "0" * 18 + "1"]  # 21 integer digits; 19 decimal places


@pytest.mark.parametrize(
    ("mutation", "amount"),
    [("deposit", a) for a in BAD_AMOUNTS]
    + [(m, a) for m in ("withdraw", "transfer", "charge") for a in ("abc", BAD_AMOUNTS[-1])],
    ids=label,
)
async def test_row07_malformed_amount(gql, mutation, amount):
    ask = await scene(gql, mutation)
    ask.fields["amount"] = amount
    ask.expect = BAD_AMOUNT
    message = (await answer(gql, ask))["message"]
    assert message.startswith("Invalid amount: "), message
    assert not any(code in message for code in CURRENCIES), message


@pytest.mark.parametrize("mutation", ["withdraw", "transfer", "charge", "applyOperation"])
async def test_row18_insufficient_funds_is_stored_and_replayed(gql, mutation):
    ask = await scene(gql, mutation, amount="100.01")
    if mutation == "applyOperation":
        ask.fields["operation"] = "CREDIT_SPEND"  # on an empty CREDIT wallet
    available, requested = {"charge": (None, "100.01"), "applyOperation": ("0", "1")}.get(
        mutation, ("100.00", "100.01")
    )
    (before, *others), initiated = await footprint(gql, ask)
    result = await send(gql, ask)
    assert {k: result[k] for k in ("__typename", "code", "available", "requested")} == {
        "__typename": "InsufficientFunds",
        "code": "INSUFFICIENT_FUNDS",
        "available": available,  # null for a merchant's charge
        "requested": requested,
    }, result
    rejected = result["rejected"]
    assert (rejected["status"], rejected["failureReason"], rejected["amount"]) == (
        "REJECTED", "INSUFFICIENT_FUNDS", requested,
    )  # fmt: skip
    owner, debited = ask.watch[0]
    seen = (await gql.ok(NEWEST, {"id": debited["id"]}, owner["token"]))["wallet"]
    assert (seen["balance"], seen["version"], seen["history"]["totalCount"]) == (
        before["balance"], before["version"], before["history"]["totalCount"] + 1,
    )  # fmt: skip
    assert seen["history"]["edges"][0]["node"]["transaction"] == {
        "id": rejected["id"], "status": "REJECTED", "failureReason": "INSUFFICIENT_FUNDS",
    }  # fmt: skip
    (_, *others_after), initiated_after = await footprint(gql, ask)
    assert [(w["balance"], w["version"]) for w in others_after] == [
        (w["balance"], w["version"]) for w in others
    ]
    assert initiated_after == initiated + 1
    # Row 8 for a declined request: its replay answers the stored REJECTED transaction, and
    # stores nothing more.
    ask.expect = {"__typename": "InsufficientFunds", "rejected": rejected, "available": available}
    await answer(gql, ask)


async def test_row18_available_is_the_balance_above_the_floor(gql_with):
    gql = await gql_with(minimum_balance=Decimal("5"))
    ann, card = await gql.funded("10")
    result = await gql.pay("withdraw", ann["token"], walletId=card["id"], amount="5.01")
    assert (result["__typename"], result["code"], result["available"], result["requested"]) == (
        "InsufficientFunds", "INSUFFICIENT_FUNDS", "5.00", "5.01",
    )  # fmt: skip


@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_row20_posted(gql, mutation):
    ask = await scene(gql, mutation)
    before, initiated = await footprint(gql, ask)
    result = await send(gql, ask)
    assert (result["__typename"], result["replayed"]) == ("PaymentPayload", False), result
    tx = result["transaction"]
    assert (tx["kind"], tx["status"], tx["failureReason"], tx["idempotencyKey"]) == (
        KINDS[mutation], "POSTED", None, ask.fields["idempotencyKey"],
    )  # fmt: skip
    after, initiated_after = await footprint(gql, ask)
    assert [w["balance"] for w in after] == POSTED[mutation]
    assert [(w["version"], w["history"]["totalCount"]) for w in after] == [
        (w["version"] + 1, w["history"]["totalCount"] + 1) for w in before
    ]
    assert initiated_after == initiated + 1


# ---- Precedence: two rows fail in one request, the earlier wins --------------------------------


@cases(PAIRS)
async def p02_over_03_customer_charges_with_a_blank_key(gql, _):
    ask = await scene(gql, "charge")
    ask.caller = await gql.signup()
    ask.fields["idempotencyKey"] = " "
    ask.expect = FORBIDDEN
    return ask


@cases(PAIRS)
async def p02_over_10_customer_charges_an_unknown_token(gql, _):
    ask = await scene(gql, "charge")
    ask.caller = await gql.signup()
    ask.fields["walletToken"] = "no-such-token"
    ask.expect = FORBIDDEN
    return ask


@cases(PAIRS)
async def p03_over_04_blank_key_and_long_description(gql, _):
    ask = await scene(gql, "deposit")
    ask.fields.update(idempotencyKey="", description="x" * 501)
    ask.expect = error("ValidationError", "BAD_INPUT", field="idempotencyKey")
    return ask


@cases(PAIRS)
async def p03_over_06_blank_key_and_unknown_operation(gql, _):
    ask = await scene(gql, "applyOperation")
    ask.fields.update(idempotencyKey="", operation="FREE_MONEY")
    ask.expect = error("ValidationError", "BAD_INPUT", field="idempotencyKey")
    return ask


@cases(PAIRS)
async def p04_over_05_long_description_and_no_recipient(gql, _):
    ask = await scene(gql, "transfer")
    del ask.fields["toWalletId"]
    ask.fields["description"] = "x" * 501
    ask.expect = error("ValidationError", "BAD_INPUT", field="description")
    return ask


@cases(PAIRS)
async def p05_over_07_two_recipients_and_a_malformed_amount(gql, _):
    ask = await scene(gql, "transfer", amount="abc")
    ask.fields["toUserId"] = ask.watch[1][0]["id"]
    ask.expect = error("ValidationError", "BAD_INPUT", field="toWalletId")
    return ask


@cases(PAIRS)
async def p06_over_10_unknown_operation_on_a_missing_wallet(gql, _):
    ask = await scene(gql, "applyOperation")
    ask.fields.update(walletId=missing_wallet(), operation="FREE_MONEY")
    ask.expect = error("ValidationError", "UNKNOWN_OPERATION", field="operation")
    return ask


@cases(PAIRS, "abc", "1e5", "-1")
async def p07_over_08_malformed_amount_under_a_used_key(gql, amount):
    ask = await scene(gql, "deposit")
    assert (await send(gql, ask))["__typename"] == "PaymentPayload"
    ask.fields["amount"] = amount
    ask.expect = BAD_AMOUNT
    return ask


@cases(PAIRS, "missing", "others")
async def p07_over_10_malformed_amount_on_a_wallet_not_found(gql, whose):
    ask = await scene(gql, "deposit", amount="abc")
    if whose == "others":
        other, theirs = await gql.funded("100")
        ask.watch.append((other, theirs))
        ask.fields["walletId"] = theirs["id"]
    else:
        ask.fields["walletId"] = missing_wallet()
    ask.expect = BAD_AMOUNT
    return ask


@cases(PAIRS, *MUTATIONS)
async def p08_over_16_used_key_on_a_wallet_frozen_since(gql, mutation):
    ask = await scene(gql, mutation)
    first = await send(gql, ask)
    assert first["__typename"] == "PaymentPayload", first
    await freeze(gql, ask.watch[0][1])
    ask.expect = {
        "__typename": "PaymentPayload",
        "replayed": True,
        "transaction": first["transaction"],
    }
    return ask


@cases(PAIRS)
async def p09_over_10_used_key_another_request_on_a_missing_wallet(gql, _):
    ask = await scene(gql, "deposit")
    assert (await send(gql, ask))["__typename"] == "PaymentPayload"
    ask.fields["walletId"] = missing_wallet()
    ask.expect = error("IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    return ask


@cases(PAIRS)
async def p09_over_16_used_key_another_request_on_a_frozen_wallet(gql, _):
    ask = await scene(gql, "deposit")
    assert (await send(gql, ask))["__typename"] == "PaymentPayload"
    await freeze(gql, ask.watch[0][1])
    ask.fields["amount"] = "2"
    ask.expect = error("IdempotencyConflict", "IDEMPOTENCY_CONFLICT")
    return ask


@cases(PAIRS, "active", "frozen")
async def p10_over_14_16_transfer_from_a_wallet_not_the_callers(gql, status):
    ask = await scene(gql, "transfer", amount="1.001")  # too precise for USD (row 14)
    bob, bobs = ask.watch[1]
    if status == "frozen":
        await freeze(gql, bobs)
    ask.fields.update(fromWalletId=bobs["id"], toWalletId=ask.watch[0][1]["id"])
    ask.expect = WALLET_NOT_FOUND
    return ask


@cases(PAIRS)
async def p11_over_14_charge_of_own_wallet_too_precise(gql, _):
    ask = await scene(gql, "charge", amount="1.001")
    ask.fields["walletToken"] = ask.watch[1][1]["token"]
    ask.expect = error("ValidationError", "SELF_CHARGE", field="walletToken")
    return ask


@cases(PAIRS)
async def p12_over_14_missing_recipient_too_precise(gql, _):
    ask = await scene(gql, "transfer", amount="1.001")
    ask.fields["toWalletId"] = missing_wallet()
    ask.expect = RECIPIENT_NOT_FOUND
    return ask


@cases(PAIRS)
async def p13_over_14_self_transfer_too_precise(gql, _):
    ask = await scene(gql, "transfer", amount="1.001")
    ask.fields["toWalletId"] = ask.fields["fromWalletId"]
    ask.expect = SELF_TRANSFER
    return ask


@cases(PAIRS)
async def p14_over_15_16_too_precise_to_a_frozen_wallet_in_another_currency(gql, _):
    ask = await scene(gql, "transfer", amount="1.001")
    alice = ask.watch[0][0]
    euros = await gql.wallet(alice["token"], "EUR")
    await freeze(gql, euros)
    ask.fields["toWalletId"] = euros["id"]
    ask.watch.append((alice, euros))
    ask.expect = too_precise()
    return ask


@cases(PAIRS)
async def p14_over_16_too_precise_to_a_frozen_recipient(gql, _):
    ask = await scene(gql, "transfer", amount="1.001")
    await freeze(gql, ask.watch[1][1])
    ask.expect = too_precise()
    return ask


@cases(PAIRS)
async def p12_over_15_charge_to_another_merchants_wallet_in_another_currency(gql, _):
    ask = await scene(gql, "charge")
    other, theirs = await gql.funded(None, "EUR", role="MERCHANT")
    ask.watch.append((other, theirs))
    ask.fields["toWalletId"] = theirs["id"]
    ask.expect = WALLET_NOT_FOUND
    return ask


@cases(PAIRS)
async def p12_over_16_missing_recipient_from_a_frozen_source(gql, _):
    ask = await scene(gql, "transfer")
    await freeze(gql, ask.watch[0][1])
    ask.fields["toWalletId"] = missing_wallet()
    ask.expect = RECIPIENT_NOT_FOUND
    return ask


@cases(PAIRS, "frozen", "overdrawn")
async def p13_over_16_17_self_transfer(gql, variant):
    ask = await scene(gql, "transfer", amount="100.01" if variant == "overdrawn" else "1")
    ann, card = ask.watch[0]
    if variant == "frozen":
        await freeze(gql, card)
    ask.fields["toWalletId"] = card["id"]
    ask.expect = SELF_TRANSFER
    return ask


@cases(PAIRS)
async def p15_over_16_transfer_to_another_currency_from_a_frozen_source(gql, _):
    ask = await scene(gql, "transfer")
    bob = ask.watch[1][0]
    eth = await gql.wallet(bob["token"], "ETH")
    ask.watch.append((bob, eth))
    await freeze(gql, ask.watch[0][1])
    ask.fields["toWalletId"] = eth["id"]
    message = "Cannot transfer USD to a ETH wallet"
    ask.expect = error("CurrencyMismatch", "CURRENCY_MISMATCH", message=message)
    return ask


@cases(PAIRS)
async def p15_over_17_credit_spend_on_an_empty_usd_wallet(gql, _):
    ann, card = await gql.funded(None)
    fields = {"walletId": card["id"], "operation": "CREDIT_SPEND"}
    message = "CREDIT_SPEND moves CREDIT; the wallet holds USD"
    expect = error("CurrencyMismatch", "CURRENCY_MISMATCH", message=message)
    return Ask(await gql.operator(), "applyOperation", fields, [(ann, card)], expect)


@cases(PAIRS)
async def p16_over_17_overdrawing_withdrawal_from_a_frozen_wallet(gql, _):
    ask = await scene(gql, "withdraw", amount="100.01")
    await freeze(gql, ask.watch[0][1])
    ask.expect = inactive(ask.watch[0][1])
    return ask


@cases(PAIRS)
async def p16_over_18_deposit_to_a_full_frozen_wallet(gql, _):
    rich, vault = await gql.funded(NEAR_MAX)
    await freeze(gql, vault)
    fields = {"walletId": vault["id"], "amount": "1"}
    return Ask(rich, "deposit", fields, [(rich, vault)], inactive(vault))


@pytest.mark.parametrize(("build", "variant"), PAIRS)
async def test_precedence(gql, build, variant):
    await answer(gql, await build(gql, variant))
