"""The world the authorization matrix (test_authorization_matrix.py) acts in: a victim customer
with everything a customer can own, the people around the victim, and the eight callers.

The victim is never a caller: every caller acts on objects that are not its own.

- victim: a customer with a funded USD wallet (`wallet`), a CREDIT wallet (`credit_wallet`, for
  operations), an EUR wallet (`status_wallet`, what freezeWallet and unfreezeWallet act on), a
  live READ key (`victim_key`, what revokeApiKey acts on) and a revoked key (the revoked-key
  caller: the victim's own key, so even the objects' owner gets nothing through it).
- shop: the victim's merchant (not a caller). It charged the victim (`charge`) and holds part of
  the victim's wallet (`hold`).
- payer ("customer"): a customer who sent the victim a transfer (`transfer_in`): the one caller
  with a tie to one of the victim's objects.
- stranger ("other customer"): a customer with no tie to the victim; `stranger_wallet` is where
  the matrix's transfers try to send the victim's money.
- merchant: another merchant, holding the victim's payment token as any shop the victim paid
  does, but none of the victim's holds or payments.
- operator: made as the CLI makes one.
- READ key, PAYMENTS key: the merchant's, as a merchant's backend holds them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tests.api.conftest import GraphQLClient, new_key

CALLERS = (
    "anonymous",
    "customer",
    "other customer",
    "merchant",
    "operator",
    "READ key",
    "PAYMENTS key",
    "revoked key",
)
PERSONS = ("customer", "other customer", "merchant", "operator")

_MAKE_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
    __typename ... on ApiKeyPayload { secret apiKey { id } } ... on Error { code } } }"""
_REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(id: $id) {
    __typename ... on ApiKeyPayload { apiKey { revokedAt } } } }"""
_TRANSFER = """mutation($input: TransferInput!) { transfer(input: $input) {
    __typename ... on PaymentPayload { transaction { id } } ... on Error { code } } }"""
_CHARGE = """mutation($input: ChargeInput!) { charge(input: $input) {
    __typename ... on PaymentPayload { transaction { id } } ... on Error { code } } }"""
_AUTHORIZE = """mutation($input: AuthorizeInput!) { authorize(input: $input) {
    __typename ... on HoldPayload { hold { id } } ... on Error { code } } }"""


@dataclass
class World:
    victim: dict  # {"token", "id", "email"}
    wallet: dict  # {"id", "token", ...}
    credit_wallet: dict
    status_wallet: dict
    victim_key: dict  # {"id", "secret"}
    revoked_key: dict
    payer: dict
    stranger: dict
    stranger_wallet: dict
    merchant: dict
    operator: dict
    shop: dict
    transfer_in: str  # transaction ids
    charge: str
    hold: str
    tokens: dict[str, str | None] = field(default_factory=dict)  # caller -> bearer secret

    def person(self, caller: str) -> dict:
        """The account behind a person caller."""
        return {
            "customer": self.payer,
            "other customer": self.stranger,
            "merchant": self.merchant,
            "operator": self.operator,
        }[caller]


async def _key(gql: GraphQLClient, token: str, *scopes: str) -> dict:
    data = await gql.ok(_MAKE_KEY, {"input": {"name": "matrix", "scopes": list(scopes)}}, token)
    made = data["createApiKey"]
    assert made["__typename"] == "ApiKeyPayload", made
    return {"id": made["apiKey"]["id"], "secret": made["secret"]}


async def _posted(gql: GraphQLClient, mutation: str, token: str, **fields) -> dict:
    document = {"transfer": _TRANSFER, "charge": _CHARGE, "authorize": _AUTHORIZE}[mutation]
    data = await gql.ok(document, {"input": {"idempotencyKey": new_key(), **fields}}, token)
    answer = data[mutation]
    assert answer["__typename"] in ("PaymentPayload", "HoldPayload"), answer
    return answer


async def build_world(gql: GraphQLClient) -> World:
    # The people first, at once: signing up is mostly argon2, which runs off the event loop.
    people = await asyncio.gather(
        gql.funded("100", name="Victim"),
        gql.funded("50", name="Payer"),
        gql.funded(None, name="Stranger"),
        gql.funded(None, role="MERCHANT", name="Shop"),
        gql.funded(None, role="MERCHANT", name="Merchant"),
        gql.operator(),
    )
    (victim, wallet), (payer, payer_wallet), (stranger, stranger_wallet) = people[:3]
    (shop, _), (merchant, _), operator = people[3:]
    credit_wallet = await gql.wallet(victim["token"], "CREDIT")
    status_wallet = await gql.wallet(victim["token"], "EUR")

    transfer_in = await _posted(
        gql,
        "transfer",
        payer["token"],
        fromWalletId=payer_wallet["id"],
        toWalletId=wallet["id"],
        amount="10",
    )
    charge = await _posted(
        gql, "charge", shop["token"], walletToken=wallet["token"], amount="5", description="Tea"
    )
    hold = await _posted(
        gql, "authorize", shop["token"], walletToken=wallet["token"], amount="7", description="Room"
    )
    revoked_key = await _key(gql, victim["token"], "READ", "PAYMENTS")
    revoked = await gql.ok(_REVOKE_KEY, {"id": revoked_key["id"]}, victim["token"])
    assert revoked["revokeApiKey"]["apiKey"]["revokedAt"] is not None, revoked
    world = World(
        victim=victim,
        wallet=wallet,
        credit_wallet=credit_wallet,
        status_wallet=status_wallet,
        victim_key=await _key(gql, victim["token"], "READ"),
        revoked_key=revoked_key,
        payer=payer,
        stranger=stranger,
        stranger_wallet=stranger_wallet,
        merchant=merchant,
        operator=operator,
        shop=shop,
        transfer_in=transfer_in["transaction"]["id"],
        charge=charge["transaction"]["id"],
        hold=hold["hold"]["id"],
    )
    world.tokens = {
        "anonymous": None,
        **{caller: world.person(caller)["token"] for caller in PERSONS},
        "READ key": (await _key(gql, merchant["token"], "READ"))["secret"],
        "PAYMENTS key": (await _key(gql, merchant["token"], "PAYMENTS"))["secret"],
        "revoked key": revoked_key["secret"],
    }
    assert tuple(world.tokens) == CALLERS
    return world
