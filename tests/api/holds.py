"""Helpers for the hold and refund tests: the v2 mutations through the API, and the states of
wallets and holds they are checked against (test_holds, test_refunds, test_hold_concurrency)."""

from __future__ import annotations

from tests.api.conftest import PAYMENT_FIELDS, new_key
from walletql import ids
from walletql.ledger import holds as ledger_holds
from walletql.ledger.posting import posting_turns

HOLD = """
    id status amount capturedAmount remaining currency { code }
    source { walletId name } destination { walletId name }
    description idempotencyKey expiresAt createdAt
    transactions { id kind status amount source { walletId } destination { walletId } }
"""

# Every field a HoldResult can carry. InsufficientFunds.transaction is nullable while
# HoldPayload.transaction is not, so it is aliased `rejected`; HoldClosed.hold is `closed`.
HOLD_FIELDS = f"""
    __typename
    ... on HoldPayload {{
        replayed
        hold {{ {HOLD} }}
        transaction {{
            id kind status amount currency {{ code }} description idempotencyKey failureReason
            source {{ walletId name }} destination {{ walletId name }} hold {{ id }}
        }}
        wallet {{ id balance held available version }}
    }}
    ... on Error {{ code message }}
    ... on ValidationError {{ field }}
    ... on InsufficientFunds {{
        available requested
        rejected: transaction {{ id kind status failureReason amount hold {{ id }} }}
    }}
    ... on HoldClosed {{ closed: hold {{ id status capturedAmount remaining }} }}
    ... on ExceedsRemaining {{ remaining requested }}
"""

# A refund answers a PaymentResult, which gains ExceedsRemaining in version 2.
REFUND_FIELDS = f"""
    {PAYMENT_FIELDS}
    ... on PaymentPayload {{
        transaction {{ refundOf {{ id kind }} refundedAmount refunds {{ id }} hold {{ id }} }}
        wallet {{ held available }}
    }}
    ... on InsufficientFunds {{ rejected: transaction {{ kind refundOf {{ id }} }} }}
    ... on ExceedsRemaining {{ remaining requested }}
"""

_INPUTS = {
    "authorize": ("AuthorizeInput", HOLD_FIELDS),
    "capture": ("CaptureInput", HOLD_FIELDS),
    "voidHold": ("VoidHoldInput", HOLD_FIELDS),
    "refund": ("RefundInput", REFUND_FIELDS),
}


async def mutate(gql, mutation: str, caller: dict | None, **fields) -> dict:
    """Run authorize, capture, voidHold or refund with `fields` as its input (a fresh
    idempotency key unless given); returns the union's answer."""
    input_type, selection = _INPUTS[mutation]
    query = f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {selection} }} }}"
    fields.setdefault("idempotencyKey", new_key())
    data = await gql.ok(query, {"input": fields}, caller["token"] if caller else None)
    return data[mutation]


async def authorize(gql, shop: dict | None, card: dict, amount="30", **fields) -> dict:
    """`shop` authorizes `amount` on the wallet `card` (by its payment token)."""
    fields.setdefault("description", "Hotel room")
    return await mutate(gql, "authorize", shop, walletToken=card["token"], amount=amount, **fields)


async def capture(gql, caller: dict | None, hold_id: str, **fields) -> dict:
    return await mutate(gql, "capture", caller, holdId=hold_id, **fields)


async def void(gql, caller: dict | None, hold_id: str, **fields) -> dict:
    return await mutate(gql, "voidHold", caller, holdId=hold_id, **fields)


async def refund(gql, caller: dict | None, transaction_id: str, **fields) -> dict:
    return await mutate(gql, "refund", caller, transactionId=transaction_id, **fields)


async def held(gql, shop: dict, card: dict, amount="30", **fields) -> dict:
    """A hold that must be placed; returns the Hold."""
    result = await authorize(gql, shop, card, amount, **fields)
    assert result["__typename"] == "HoldPayload", result
    return result["hold"]


async def parties(gql, amount: str = "100", currency: str = "USD"):
    """A customer with a wallet holding `amount` and a merchant with an empty wallet in the
    same currency: (customer, card, shop, till)."""
    customer, card = await gql.funded(amount, currency)
    shop, till = await gql.funded(None, currency, role="MERCHANT")
    return customer, card, shop, till


WALLET = """query($id: ID!) { wallet(id: $id) {
    id balance held available minimumBalance version status } }"""


async def state(gql, owner: dict, wallet: dict) -> dict:
    """The wallet as its owner (or an operator) reads it."""
    return (await gql.ok(WALLET, {"id": wallet["id"]}, owner["token"]))["wallet"]


async def figures(gql, owner: dict, wallet: dict) -> tuple[str, str, str, int]:
    """(balance, held, available, version) of a wallet."""
    found = await state(gql, owner, wallet)
    return found["balance"], found["held"], found["available"], found["version"]


HISTORY = """query($id: ID!, $first: Int) { wallet(id: $id) { history(first: $first) {
    totalCount
    edges { node { direction amount balanceAfter heldAfter
        transaction { id kind status amount failureReason hold { id } } } } } } }"""


async def history(gql, owner: dict, wallet: dict, first: int = 20) -> list[dict]:
    """The wallet's newest history entries, newest first."""
    data = await gql.ok(HISTORY, {"id": wallet["id"], "first": first}, owner["token"])
    return [edge["node"] for edge in data["wallet"]["history"]["edges"]]


HOLD_QUERY = f"query($id: ID!) {{ hold(id: $id) {{ {HOLD} }} }}"


async def get_hold(gql, viewer: dict, hold_id: str) -> dict:
    return (await gql.ok(HOLD_QUERY, {"id": hold_id}, viewer["token"]))["hold"]


TRANSACTION = """query($id: ID!) { transaction(id: $id) {
    id kind status amount description failureReason
    source { walletId } destination { walletId }
    hold { id } refundOf { id } refundedAmount
    refunds { id kind status amount failureReason refundOf { id } } } }"""


async def get_transaction(gql, viewer: dict, transaction_id: str) -> dict:
    return (await gql.ok(TRANSACTION, {"id": transaction_id}, viewer["token"]))["transaction"]


def wallet_pk(wallet: dict) -> int:
    return ids.decode(ids.WALLET, wallet["id"])


def hold_pk(hold_id: str) -> int:
    return ids.decode(ids.HOLD, hold_id)


def missing_hold() -> str:
    """A well-formed hold id that names no hold."""
    return ids.encode(ids.HOLD, ids.MAX_ID)


async def freeze(gql, wallet: dict, status: str = "FROZEN") -> None:
    """An operator's change, made here in SQL (status ACTIVE unfreezes)."""
    await gql.sql(f"UPDATE wallets SET status = '{status}' WHERE id = {wallet_pk(wallet)}")


async def expire(gql, hold_id: str) -> None:
    """Move the hold's expiry into the past (what waiting would do), leaving it HELD: the
    release is the sweeper's (walletql.ledger.holds.release_expired)."""
    await gql.sql(
        f"UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = {hold_pk(hold_id)}"
    )


async def sweep() -> int:
    """What the served app's sweeper does every few seconds: release the expired holds."""
    return await ledger_holds.release_expired(turns=posting_turns(0))


def kinds(hold: dict) -> list[str]:
    """The kinds of a hold's transactions, oldest first."""
    return [tx["kind"] for tx in hold["transactions"]]
