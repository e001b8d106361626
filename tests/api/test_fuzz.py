"""Schema fuzzing: generated queries and mutations, with and without a valid token, never
produce an INTERNAL_SERVER_ERROR or a 5xx.

Hypothesis cannot drive an async test on the session's event loop, so the documents are drawn
first (derandomized, so every run sends the same ones) and then sent through the real app.
"""

from __future__ import annotations

import dataclasses
import json
import random

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from tests.api.test_contract import served_sdl
from walletql.app import create_app
from walletql.settings import Settings

AMOUNTS = st.sampled_from(
    ["1", "0", "-1", "0.01", "1.5", "NaN", "Infinity", "1e5", " 5 ", "", "99999999999999999999999"]
)
DATETIMES = st.sampled_from(
    ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z", "yesterday", ""]
)
SCALARS = {
    "Decimal": st.one_of(
        AMOUNTS.map(lambda v: graphql.StringValueNode(value=v)),
        st.integers(-(10**30), 10**30).map(lambda v: graphql.IntValueNode(value=str(v))),
        st.floats(allow_nan=False, allow_infinity=False).map(
            lambda v: graphql.FloatValueNode(value=repr(v))
        ),
    ),
    "DateTime": DATETIMES.map(lambda v: graphql.StringValueNode(value=v)),
}


def _draw(strategy, count: int) -> list[str]:
    drawn: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(document: str) -> None:
        drawn.append(document)

    collect()
    return drawn


@pytest.fixture(scope="module")
def documents() -> list[str]:
    sdl = served_sdl()
    return _draw(queries(sdl, custom_scalars=SCALARS), 120) + _draw(
        mutations(sdl, custom_scalars=SCALARS), 120
    )


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
async def test_generated_operations_never_fail_internally(gql, documents, signed_in):
    token = (await gql.signup())["token"] if signed_in else None
    failures = []
    for document in documents:
        response = await gql.post(document, token=token)
        if response.status_code >= 500:
            failures.append((document, response.status_code, response.text[:300]))
            continue
        for error in response.json().get("errors") or []:
            if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
                failures.append((document, error))
    assert failures == []


# --- Hostile values in every argument ----------------------------------------------------------
#
# The documents above carry their values as literals, and a literal cannot hold what JSON can: a
# lone surrogate ("\ud800" in a GraphQL string is a syntax error) or an integer past 2^31. Here
# every String, ID, Int, Decimal and DateTime literal in each generated document (at any depth
# of an input object or a list) is lifted into a variable of the type its position expects.
# Then each variable in turn gets a hostile value (NUL bytes, lone surrogates, control and
# invisible characters, huge and negative numbers, extreme strings, DateTimes out of range in
# UTC) while the others get benign ones (the caller's wallet id, a plain amount), so that the
# request gets past its other arguments and the hostile value reaches the code that reads it,
# nested fields included (a wallet's history, summary, balanceAt under `me` or `wallet(id:)`).
# The values are picked by a seeded random.Random: the same requests at every run. New fields
# and arguments in the schema are covered without a change here.

HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "\x00" * 10,
    "\ud800",
    "x\udfff",
    "\udbff\x00",
    "\udc00 lone low",
    "\x7f",
    "\x85",
    "\x1b[31m",
    "\u2028",
    "\u200b",
    "\ufeff",
    "\u202e",
    "\ue000",
    "\t\n\r",
    " " * 10,
    "",
    "x" * 5_000,
    "\U0001f4a5" * 300,
    "' OR 1=1 --",
    "%s%n{0}",
]
EXTREME_NUMBERS = [2**31, -(2**31) - 1, 2**63, -(2**63), 10**100, -(10**4000), 1.5, -0.0, 1e308]
HOSTILE = {
    "String": HOSTILE_TEXT,
    "ID": [*HOSTILE_TEXT, 0, -1, 2**31 - 1, *EXTREME_NUMBERS],
    "Int": [0, -1, 2**31 - 1, -(2**31), *EXTREME_NUMBERS, "1", "\x00"],
    "Decimal": [*HOSTILE_TEXT, "NaN", "-1", "1e5", "9" * 5_000, 0, -1, *EXTREME_NUMBERS, True],
    "DateTime": [
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00Z\x00",
        "2024-01-01T00:00:00\ud800Z",
        "9" * 5_000,
        *HOSTILE_TEXT,
        0,
    ],
}
BENIGN = {
    # No benign string is a password signup would accept: hashing one (argon2) takes ~50 ms.
    "String": ["USD", "main", "Coffee", "DAILY_REWARD", "ana@example.com"],
    "Int": [1, 5, 20],
    "Decimal": ["1", "0.01", 2],
    "DateTime": ["2024-01-01T00:00:00Z", "2099-12-31T23:59:59+02:00"],
}
LIFTED = set(HOSTILE)
LOGIN_PROBES = 2
LITERALS = (graphql.StringValueNode, graphql.IntValueNode, graphql.FloatValueNode)


def _any_text(rng: random.Random) -> str:
    """A short string of any code points: surrogates, controls, unassigned ones included."""
    return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(1, 12)))


def _hostile(named: str, rng: random.Random):
    if named != "Int" and rng.random() < 0.2:
        return _any_text(rng)
    return rng.choice(HOSTILE[named])


def _benign(named: str, real_ids: list[str], rng: random.Random):
    if named == "ID":
        return rng.choice([real_ids[0], *real_ids])  # the caller's wallet id, most often
    return rng.choice(BENIGN[named])


class _Lift(graphql.Visitor):
    """Replaces each literal of a LIFTED type by a variable; records the variables' types."""

    def __init__(self, type_info: graphql.TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.variables: dict[str, graphql.GraphQLInputType] = {}

    def enter(self, node, *_args):
        if not isinstance(node, LITERALS):
            return None
        position = self.type_info.get_input_type()
        if position is None or graphql.get_named_type(position).name not in LIFTED:
            return None
        name = f"v{len(self.variables)}"
        self.variables[name] = position
        return graphql.VariableNode(name=graphql.NameNode(value=name))


def _lifted(schema: graphql.GraphQLSchema, document: graphql.DocumentNode):
    """(document with variables, {variable: its input type})."""
    type_info = graphql.TypeInfo(schema)
    lift = _Lift(type_info)
    document = graphql.visit(document, graphql.TypeInfoVisitor(type_info, lift))
    (operation,) = document.definitions
    definitions = tuple(
        graphql.VariableDefinitionNode(
            variable=graphql.VariableNode(name=graphql.NameNode(value=name)),
            type=graphql.parse_type(str(kind)),
            directives=(),
        )
        for name, kind in lift.variables.items()
    )
    operation = dataclasses.replace(operation, variable_definitions=definitions)
    return dataclasses.replace(document, definitions=(operation,)), lift.variables


def hostile_requests(documents: list[str], real_ids: list[str]) -> list[tuple[str, dict]]:
    """For each document, one request per lifted variable: that one hostile, the others benign."""
    schema = graphql.build_schema(served_sdl())
    rng = random.Random(20261205)
    requests = []
    for text in documents:
        document, kinds = _lifted(schema, graphql.parse(text))
        query = graphql.print_ast(document)
        named = {name: graphql.get_named_type(kind).name for name, kind in kinds.items()}
        benign = {name: _benign(kind, real_ids, rng) for name, kind in named.items()}
        probed = list(named)
        if "login(" in query:  # every sign-in verifies a password (argon2): a few of them
            probed = rng.sample(probed, min(len(probed), LOGIN_PROBES))
        requests += [(query, {**benign, name: _hostile(named[name], rng)}) for name in probed]
    return requests


async def test_hostile_values_in_every_argument_never_fail_internally(gql, documents):
    """Signed in as a customer with a funded wallet (and a transaction), so that arguments of
    fields under `me` and `wallet(id:)` are resolved too, not only coerced."""
    user, wallet = await gql.funded("100.00")
    transaction = await gql.deposit(user["token"], wallet["id"], "1.00")
    real_ids = [wallet["id"], user["id"], transaction["transaction"]["id"]]
    requests = hostile_requests(documents, real_ids)
    assert len(requests) > 1_000, len(requests)
    app = create_app(Settings(), manage_database=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500 is collected
    headers = {"authorization": f"Bearer {user['token']}", "content-type": "application/json"}
    failures = []
    async with httpx.AsyncClient(transport=transport, base_url="http://walletql.test") as http:
        for query, variables in requests:
            # json.dumps escapes lone surrogates ("\ud800"); httpx's json= would fail on them
            body = json.dumps({"query": query, "variables": variables}).encode()
            response = await http.post("/graphql", content=body, headers=headers)
            if response.status_code >= 500:
                failures.append((query, variables, response.status_code, response.text[:300]))
            elif response.status_code == 200:  # (400: e.g. an integer past Python's limit)
                for error in response.json().get("errors") or []:
                    if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
                        failures.append((query, variables, error))
    assert failures == []
