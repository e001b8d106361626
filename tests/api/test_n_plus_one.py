"""Requests run a fixed number of SQL statements: a nested history query whatever the history
size, a payment whatever it moves.

Statements are counted where they reach PostgreSQL: asyncpg.Connection.fetch / fetchrow /
fetchval / execute / executemany, during the one request. The pool's own RESET statement on
releasing a connection is not a query the resolvers make and is not counted.
"""

from __future__ import annotations

from asyncpg.connection import Connection

from tests.api.conftest import new_key
from walletql.ledger.verify import verify

QUERY = """{ me { wallets { history(first: 20) { edges { node {
    transaction { source { name } destination { name } } } } } } } }"""
METHODS = ("fetch", "fetchrow", "fetchval", "execute", "executemany")
WALLETS = 10

# From the code, per request: auth 1 (token and user in one query; `me` reuses that row),
# wallets 1, then per wallet page 2 (the keyset page; then the page's transactions with their
# entries and counterparties' names, which prime the per-request DataLoader). The counterparty
# loader then finds every name cached and queries nothing. Observed: exactly 22, with 3 or with
# 9 postings per wallet. (Before the names came with the page, the loader ran one query per page
# that came back in a different event-loop turn: between 24 and 33 here, depending on timing.)
EXPECTED = 1 + 1 + WALLETS * 2


async def count_statements(
    gql, monkeypatch, token, query: str = QUERY, variables: dict | None = None
) -> tuple[int, dict]:
    statements: list[str] = []

    def counting(name):
        original = getattr(Connection, name)

        async def wrapper(self, query, *args, **kwargs):
            if query != self.get_reset_query():
                statements.append(query)
            return await original(self, query, *args, **kwargs)

        return wrapper

    with monkeypatch.context() as patch:
        for name in METHODS:
            patch.setattr(Connection, name, counting(name))
        data = await gql.ok(query, variables, token=token)
    return len(statements), data


async def ring(gql, user, wallets, offset):
    """Every wallet sends 1 to the wallet `offset` places further on."""
    for i, wallet in enumerate(wallets):
        target = wallets[(i + offset) % len(wallets)]
        result = await gql.pay(
            "transfer",
            user["token"],
            fromWalletId=wallet["id"],
            toWalletId=target["id"],
            amount="1",
        )
        assert result["__typename"] == "PaymentPayload", result


async def test_history_of_every_wallet_in_bounded_queries(gql, monkeypatch):
    user = await gql.signup(name="Nadia")
    wallets = [await gql.wallet(user["token"], "USD", f"w{i}") for i in range(WALLETS)]
    for wallet in wallets:
        await gql.deposit(user["token"], wallet["id"], "100")
    await ring(gql, user, wallets, 1)  # 3 postings per wallet: deposit, one out, one in

    small, data = await count_statements(gql, monkeypatch, user["token"])
    pages = [w["history"]["edges"] for w in data["me"]["wallets"]]
    assert [len(edges) for edges in pages] == [3] * WALLETS
    transfer = pages[0][0]["node"]["transaction"]
    assert transfer["source"]["name"] == transfer["destination"]["name"] == "Nadia"
    deposit = pages[0][-1]["node"]["transaction"]
    assert (deposit["source"], deposit["destination"]["name"]) == (None, "Nadia")

    for wallet in wallets:
        await gql.deposit(user["token"], wallet["id"], "100")
        await gql.deposit(user["token"], wallet["id"], "100")
    await ring(gql, user, wallets, 3)
    await ring(gql, user, wallets, 7)  # now 9 postings per wallet: three times as many

    large, data = await count_statements(gql, monkeypatch, user["token"])
    assert [len(w["history"]["edges"]) for w in data["me"]["wallets"]] == [9] * WALLETS
    assert small == large == EXPECTED, (small, large)


async def test_counterparty_names_on_history_pages(gql):
    """Names read with a page: the owner's name, the company name for a merchant."""
    ann, card = await gql.funded("50", name="Ann")
    shop, _ = await gql.funded(None, role="MERCHANT", company={"name": "Bakery Co"})
    _, bobs = await gql.funded(None, name="Bob")
    await gql.pay("charge", shop["token"], walletToken=card["token"], amount="2", description="Bun")
    await gql.pay(
        "transfer", ann["token"], fromWalletId=card["id"], toWalletId=bobs["id"], amount="1"
    )
    data = await gql.ok(QUERY, token=ann["token"])
    (wallet,) = data["me"]["wallets"]
    names = [
        (e["node"]["transaction"]["source"], e["node"]["transaction"]["destination"])
        for e in wallet["history"]["edges"]
    ]
    assert names == [
        ({"name": "Ann"}, {"name": "Bob"}),
        ({"name": "Ann"}, {"name": "Bakery Co"}),
        (None, {"name": "Ann"}),
    ]


PAYMENT = """mutation($input: %sInput!) { %s(input: $input) {
    __typename ... on PaymentPayload { transaction { id status amount createdAt }
    wallet { id balance version } } ... on Error { code message } } }"""


async def test_each_payment_runs_two_statements(gql, monkeypatch):
    """Every movement: auth 1, and its posting function 1 (walletql_outside, walletql_transfer
    or walletql_charge), which finds the wallets and calls walletql_post. The answer, wallet
    included, is built from what it returned, and shows exactly what a later read shows."""
    ann, card = await gql.funded("50")
    bob, bobs = await gql.funded(None)
    shop, till = await gql.funded(None, role="MERCHANT", company={"name": "Shop"})
    payments = [
        ("Deposit", "deposit", ann, {"walletId": card["id"], "amount": "5"}, card),
        ("Withdraw", "withdraw", ann, {"walletId": card["id"], "amount": "2"}, card),
        ("Transfer", "transfer", ann, {"fromWalletId": card["id"], "toWalletId": bobs["id"],
                                       "amount": "3"}, card),
        ("Transfer", "transfer", ann, {"fromWalletId": card["id"], "toUserId": bob["id"],
                                       "amount": "1.5"}, card),
        ("Charge", "charge", shop, {"walletToken": card["token"], "amount": "4",
                                    "description": "Tea"}, till),
        ("Charge", "charge", shop, {"walletToken": card["token"], "amount": "1",
                                    "description": "Bun", "toWalletId": till["id"]}, till),
    ]  # fmt: skip
    for input_type, name, user, fields, acting in payments:
        fields = {**fields, "idempotencyKey": new_key()}
        count, data = await count_statements(
            gql, monkeypatch, user["token"], PAYMENT % (input_type, name), {"input": fields}
        )
        result = data[name]
        assert result["__typename"] == "PaymentPayload", result
        assert count == 2, (name, count)
        now = await gql.get_wallet(user["token"], acting["id"])
        assert result["wallet"] == {k: now[k] for k in ("id", "balance", "version")}, name
    assert (await gql.get_wallet(ann["token"], card["id"]))["balance"] == "43.50"
    assert await verify() == []
