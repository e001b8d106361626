"""Every operation is priced before it runs (walletql.cost): the values it may return.

Found by an attack run: one customer with 50 wallets sent 29 aliased `history(first: 100)` per
wallet in one query (within the depth and alias limits): a 37 MB answer after 10.9 s, other
clients waiting. Such a query is now refused before anything runs, with BAD_USER_INPUT naming
the limit.
"""

from __future__ import annotations

import httpx
from graphql import parse

from walletql.api import build_schema
from walletql.app import create_app
from walletql.cost import LIST_SIZE
from walletql.settings import Settings

PAGE = "history(first: 100) { edges { node { amount transaction { id kind status } } } }"
HEAVY = "{{ me {{ wallets {{ {} }} }} }}".format(" ".join(f"h{i}: {PAGE}" for i in range(29)))


def _cost(query: str, variables: dict | None = None, **settings) -> int:
    schema = build_schema(Settings(**settings))
    return schema.pricing.cost(parse(query), None, variables or {})


async def test_the_attack_query_is_refused_before_it_runs(gql):
    user, wallet = await gql.funded("5.00")
    body = await gql(HEAVY, None, user["token"])
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["limit"] == Settings().max_query_cost
    assert error["extensions"]["cost"] > Settings().max_query_cost
    assert "WALLETQL_MAX_QUERY_COST" in error["message"]


async def test_an_ordinary_statement_page_is_within_the_limit(gql):
    user, wallet = await gql.funded("5.00")
    query = f"query($id: ID!) {{ wallet(id: $id) {{ balance {PAGE} }} }}"
    data = await gql.ok(query, {"id": wallet["id"]}, user["token"])
    assert len(data["wallet"]["history"]["edges"]) == 1


async def test_a_mutation_over_the_limit_is_refused_and_changes_nothing(gql):
    user, wallet = await gql.funded("5.00")
    body = await gql(
        """mutation($input: DepositInput!) {{ deposit(input: $input) {{
            ... on PaymentPayload {{ wallet {{ {} }} }} }} }}""".format(
            " ".join(f"h{i}: {PAGE}" for i in range(20))
        ),
        {"input": {"walletId": wallet["id"], "amount": "1.00", "idempotencyKey": "k"}},
        user["token"],
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await gql.get_wallet(user["token"], wallet["id"]))["balance"] == "5.00"


def test_the_price_follows_first_aliases_fragments_and_variables():
    one = _cost("{ me { wallets { history(first: 1) { edges { node { amount } } } } } }")
    hundred = _cost("{ me { wallets { history(first: 100) { edges { node { amount } } } } } }")
    assert hundred > 40 * one  # the page size multiplies what is below it
    aliased = _cost(
        "{ me { wallets { a: history(first: 100) { edges { node { amount } } } "
        "b: history(first: 100) { edges { node { amount } } } } } }"
    )
    assert aliased > 1.9 * hundred
    fragment = _cost(
        "{ me { wallets { history(first: 100) { ...E } } } } "
        "fragment E on HistoryConnection { edges { node { amount } } }"
    )
    assert fragment == hundred
    by_variable = (
        "query($n: Int) { me { wallets { history(first: $n) { edges { node { amount } } } } } }"
    )
    assert _cost(by_variable, {"n": 1}) == one
    assert _cost(by_variable, {"n": "x"}) == hundred  # unreadable: priced at the most
    assert _cost("{ __schema { types { name fields { name } } } }") == 0
    assert _cost("{ me { wallets { history { edges { node { amount } } } } } }") == _cost(
        "{ me { wallets { history(first: 20) { edges { node { amount } } } } } }"
    )  # the default page size


def test_wallets_are_priced_at_the_wallet_limit_when_there_is_one():
    query = "{ me { wallets { history(first: 10) { edges { node { amount } } } } } }"
    assert _cost(query, max_wallets_per_customer=50) > 4 * _cost(query)


async def test_wallets_read_beyond_their_price_are_charged_when_read(gql, database_url):
    """With no wallet limit, `wallets` is priced at LIST_SIZE items; a user with more pays for
    the others when they are read, and the query fails once that passes the limit."""
    query = "{ me { wallets { history(first: 5) { edges { node { amount } } } } } }"
    settings = Settings(database_url=database_url, max_query_cost=_cost(query))
    user = await gql.signup()
    for _ in range(LIST_SIZE):
        await gql.wallet(user["token"], "USD")
    app = create_app(settings, manage_database=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://walletql.test"
    ) as http:
        headers = {"authorization": f"Bearer {user['token']}"}
        answered = (await http.post("/graphql", json={"query": query}, headers=headers)).json()
        assert len(answered["data"]["me"]["wallets"]) == LIST_SIZE  # exactly what was priced
        await gql.wallet(user["token"], "EUR")  # one more than priced
        refused = (await http.post("/graphql", json={"query": query}, headers=headers)).json()
    assert refused["data"]["me"] is None
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["cost"] > settings.max_query_cost


async def test_an_answer_over_the_response_size_limit_is_replaced_by_an_error(gql, database_url):
    settings = Settings(database_url=database_url, max_response_bytes=2048)
    user, wallet = await gql.funded("5.00")
    for _ in range(30):
        await gql.deposit(user["token"], wallet["id"], "1.00")
    app = create_app(settings, manage_database=False)
    query = "query($id: ID!) { wallet(id: $id) { history(first: 40) { %s } } }"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://walletql.test"
    ) as http:
        headers = {"authorization": f"Bearer {user['token']}"}
        small = query % "totalCount"
        fits = await http.post(
            "/graphql", json={"query": small, "variables": {"id": wallet["id"]}}, headers=headers
        )
        assert fits.json()["data"]["wallet"]["history"]["totalCount"] == 31
        big = query % "edges { cursor node { amount transaction { id createdAt } } }"
        body = (
            await http.post(
                "/graphql", json={"query": big, "variables": {"id": wallet["id"]}}, headers=headers
            )
        ).json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["size"] > 2048 == error["extensions"]["limit"]
    assert "WALLETQL_MAX_RESPONSE_BYTES" in error["message"]


async def test_a_document_over_the_length_limit_is_refused_unread(gql):
    # A megabyte string literal cost 140 ms of lexing before anything could refuse it.
    limit = Settings().max_query_length
    long_id = "9" * limit
    response = await gql.post(f'{{ wallet(id: "{long_id}") {{ id }} }}')
    assert response.status_code == 200, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "WALLETQL_MAX_QUERY_LENGTH" in error["message"]
    fits = await gql(f'{{ wallet(id: "{long_id[: limit // 2]}") {{ id }} }}')
    assert fits["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # read, then refused


def test_a_price_is_kept_with_its_document_object():
    from graphql import parse

    from walletql.api import Prices

    schema = build_schema(Settings())
    prices = Prices(size=2)
    text = "{ me { wallets { history(first: 7) { edges { node { amount } } } } } }"
    document = parse(text)
    price = schema.pricing.price(document, None, {})
    assert price.cost == _cost(text) and not price.read_variables
    prices.keep(document, None, price)
    assert prices.get(document, None) is price
    assert prices.get(document, "Named") is None  # per operation
    assert prices.get(parse(text), None) is None  # an equal document is another object
    for _ in range(2):  # the least recently used goes first
        other = parse(text)
        prices.keep(other, None, price)
    assert prices.get(document, None) is None


async def test_a_price_set_by_a_variable_is_not_kept(gql):
    user = await gql.signup()
    query = """query($n: Int) { me { wallets { history(first: $n) { edges { node {
        amount transaction { id source { name } destination { name } } } } } } } }"""
    limit = Settings().max_query_cost
    assert _cost(query, {"n": 1}) <= limit < _cost(query, {"n": 100})
    for n, refused in ((1, False), (100, True), (1, False)):  # the same text each time
        body = await gql(query, {"n": n}, user["token"])
        assert ("errors" in body) is refused, body
        if refused:
            assert body["errors"][0]["extensions"]["cost"] == _cost(query, {"n": 100})


def test_a_fragment_spread_many_times_is_priced_once_per_type_and_page():
    """Each of 30 nested fragments spreads the next twice: 2^30 paths to one field. The price
    counts them all (and refuses the query), walking each fragment once."""
    from graphql import parse

    from walletql.cost import _Walk

    depth = 30
    fragments = "".join(
        f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }} " for i in range(depth)
    )
    text = "{ me { ...F0 } } " + fragments + f"fragment F{depth} on User {{ id }}"
    pricing = build_schema(Settings()).pricing
    walked = []
    selections = _Walk.selections

    def counting(self, selection_set, *args):
        walked.append(selection_set)
        return selections(self, selection_set, *args)

    _Walk.selections = counting
    try:
        assert pricing.cost(parse(text), None, {}) == 1 + 2**depth
    finally:
        _Walk.selections = selections
    assert len(walked) == depth + 3  # the operation, `me`, and each fragment once
