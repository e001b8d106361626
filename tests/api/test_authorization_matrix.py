"""The authorization matrix: every Query, Mutation and Subscription field of the served schema,
asked by each of eight callers about objects of another party (a victim customer's wallet,
transaction, hold, payment token, API key, user id: tests/api/authorization_world.py), each
answer checked against the one it must be. Zero leaks (a success where a refusal is due) and
zero surprises (any other answer than the row's).

A row per field: the operation, its variables (from the world and the caller), the eight
expected answers in CALLERS order, and, for the callers who legitimately succeed, a check of the
success's shape (e.g. an operator reads the victim's wallet, but never its payment token). The
row's `why` says what "another party's object" means for that field. A served field without a
row fails test_every_served_field_has_a_row: add its row here (docs/security.md, "The
authorization matrix").

Answers, as compared:
- queries: the GraphQL error's extensions.code, "null", or "data" (then the row's check runs);
- mutations: the union member's `code` for an error, its type name for a payload (then the
  check runs), "true"/"false" for a Boolean, "error CODE" for a GraphQL error, and for a batch
  "BatchPayload(<each item's answer>)";
- the subscription: "closed <close code>" when connection_init is refused, else the code of
  the error its subscribe gets ("next" would be a leak: it asks afterVersion 0, so an accepted
  subscription answers at once with the wallet's stored postings).

Refused mutations must change nothing: test_mutations ends by checking that every transaction
written on the world's wallets during the matrix is one a success answered, that the victim's
wallets moved by exactly those, that the victim's key and session still work, and `verify`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import graphql
import pytest
from tortoise import connections

from tests.api.authorization_world import CALLERS, PERSONS, World, build_world
from tests.api.conftest import PASSWORD, GraphQLClient, new_key
from tests.server.clients import ws_connect
from tests.server.conftest import _start, _stop
from walletql import ids
from walletql.api import build_schema
from walletql.auth import issue_token
from walletql.ledger.verify import verify
from walletql.models import User
from walletql.settings import Settings

UNAUTH = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"

Check = Callable[["Cell", dict], Awaitable[None]]


@dataclass(frozen=True)
class Cell:
    """One caller asking one row: what a check may look at."""

    world: World
    caller: str
    token: str | None
    gql: GraphQLClient

    @property
    def own_id(self) -> str:
        """The user the caller acts as (a key: its owner, the merchant)."""
        if self.caller in ("READ key", "PAYMENTS key"):
            return self.world.merchant["id"]
        return self.world.person(self.caller)["id"]


@dataclass(frozen=True)
class Row:
    field: str
    document: str
    variables: Callable[[World], dict]
    expect: tuple[str, ...]  # one answer per caller, in CALLERS order
    why: str
    check: Check | None = None  # the shape of a success
    fresh_session: bool = False  # persons call with a new sign-in, not their usual token


async def _no_check(cell: Cell, answer: dict) -> None:
    raise AssertionError("a success the row expects no success for")


# --- checks of legitimate successes ------------------------------------------------------------


async def _me_is_self(cell: Cell, data: dict) -> None:
    assert data["me"]["id"] == cell.own_id


async def _victim_wallet_without_token(cell: Cell, data: dict) -> None:
    wallet = data["wallet"]
    assert wallet["id"] == cell.world.wallet["id"] and wallet["token"] is None  # owner's secret


async def _transfer_in(cell: Cell, data: dict) -> None:
    assert data["transaction"]["id"] == cell.world.transfer_in
    assert data["transaction"]["destination"]["walletId"] == cell.world.wallet["id"]


async def _the_hold(cell: Cell, data: dict) -> None:
    assert data["hold"]["id"] == cell.world.hold
    assert data["hold"]["source"]["walletId"] == cell.world.wallet["id"]


async def _finds_victim(cell: Cell, data: dict) -> None:
    assert [e["node"]["id"] for e in data["users"]["edges"]] == [cell.world.victim["id"]]


async def _victim_without_secrets(cell: Cell, data: dict) -> None:
    user = data["user"]
    assert (user["id"], user["email"]) == (cell.world.victim["id"], cell.world.victim["email"])
    assert user["apiKeys"] is None  # keys are shown to their owner only
    assert user["wallets"] and all(w["token"] is None for w in user["wallets"])


async def _key_audited(cell: Cell, data: dict) -> None:
    actions = [e["node"]["action"] for e in data["auditLog"]["edges"]]
    assert actions == ["API_KEY_REVOKED", "API_KEY_CREATED"]


async def _listed(cell: Cell, data: dict) -> None:
    assert data["currencies" if "currencies" in data else "operations"]


async def _victim_signed_in(cell: Cell, answer: dict) -> None:
    assert answer["user"]["id"] == cell.world.victim["id"]  # the credentials decide, not the caller


async def _session_ended(cell: Cell, answer: bool) -> None:
    assert (await cell.gql.ok("{ me { id } }", token=cell.token))["me"] is None


async def _own_new_wallet(cell: Cell, answer: dict) -> None:
    assert answer["wallet"]["token"] is not None  # the caller's own: its token is shown


async def _charged_victim(cell: Cell, answer: dict) -> None:
    assert answer["transaction"]["source"]["walletId"] == cell.world.wallet["id"]
    assert answer["wallet"]["token"] is not None  # the merchant's own receiving wallet


async def _operation_applied(cell: Cell, answer: dict) -> None:
    assert answer["transaction"]["destination"]["walletId"] == cell.world.credit_wallet["id"]
    assert answer["wallet"]["token"] is None  # the victim's wallet: its token stays secret


async def _authorized_on_victim(cell: Cell, answer: dict) -> None:
    assert answer["hold"]["source"]["walletId"] == cell.world.wallet["id"]


async def _refunded_to_payer(cell: Cell, answer: dict) -> None:
    transaction = answer["transaction"]
    assert transaction["kind"] == "REFUND"
    assert transaction["source"]["walletId"] == cell.world.wallet["id"]
    assert answer["wallet"]["token"] is None  # the debited wallet is the victim's


async def _batch_refunded_to_payer(cell: Cell, answer: dict) -> None:
    posted = [r for r in answer["results"] if r["__typename"] == "PaymentPayload"]
    assert len(posted) == 1
    await _refunded_to_payer(cell, posted[0])


async def _own_key(cell: Cell, answer: dict) -> None:
    assert answer["secret"].startswith("wqk_")


def _status_set(status: str) -> Check:
    async def check(cell: Cell, answer: dict) -> None:
        wallet = answer["wallet"]
        assert wallet["id"] == cell.world.status_wallet["id"]
        assert (wallet["status"], wallet["token"]) == (status, None)

    return check


# --- the rows ----------------------------------------------------------------------------------

OF_USER = "user { id }"
PAYMENT = """__typename ... on Error { code }
    ... on PaymentPayload { transaction { id kind source { walletId } destination { walletId } }
                            wallet { id token } }"""
HOLD = """__typename ... on Error { code }
    ... on HoldPayload { transaction { id } hold { id source { walletId } } }"""
WALLET = "__typename ... on Error { code } ... on WalletPayload { wallet { id token status } }"


def _mutation(name: str, input_type: str, selection: str) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} }} }}"


QUERIES = (
    Row(
        "me",
        "{ me { id } }",
        lambda w: {},
        ("null", "data", "data", "data", "data", "data", FORBIDDEN, "null"),
        "no object: the caller itself, never anyone else (a key: its owner)",
        _me_is_self,
    ),
    Row(
        "wallet",
        "query($id: ID!) { wallet(id: $id) { id token balance } }",
        lambda w: {"id": w.wallet["id"]},
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, "data", NOT_FOUND, FORBIDDEN, UNAUTH),
        "the victim's wallet: operators read any wallet, but not its payment token",
        _victim_wallet_without_token,
    ),
    Row(
        "transaction",
        """query($id: ID!) { transaction(id: $id) {
            id amount destination { walletId } } }""",
        lambda w: {"id": w.transfer_in},
        (UNAUTH, "data", NOT_FOUND, NOT_FOUND, "data", NOT_FOUND, FORBIDDEN, UNAUTH),
        "the payer's transfer to the victim: the payer (customer) sent it, so reads it",
        _transfer_in,
    ),
    Row(
        "hold",
        "query($id: ID!) { hold(id: $id) { id amount source { walletId } } }",
        lambda w: {"id": w.hold},
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, "data", NOT_FOUND, FORBIDDEN, UNAUTH),
        "the shop's hold on the victim's wallet: the merchant caller is another merchant",
        _the_hold,
    ),
    Row(
        "users",
        """query($search: String) { users(search: $search) { edges { node { id } } } }""",
        lambda w: {"search": w.victim["email"]},
        (UNAUTH, FORBIDDEN, FORBIDDEN, FORBIDDEN, "data", FORBIDDEN, FORBIDDEN, UNAUTH),
        "a search for the victim's email: operators only",
        _finds_victim,
    ),
    Row(
        "user",
        """query($id: ID!) { user(id: $id) { id email apiKeys { id } wallets { id token } } }""",
        lambda w: {"id": w.victim["id"]},
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, "data", NOT_FOUND, FORBIDDEN, UNAUTH),
        "the victim's user id: operators read anyone, never their keys or payment tokens",
        _victim_without_secrets,
    ),
    Row(
        "auditLog",
        """query($subject: String) { auditLog(subject: $subject) {
            edges { node { action subject } } } }""",
        lambda w: {"subject": f"ApiKey:{w.revoked_key['id']}"},
        (UNAUTH, FORBIDDEN, FORBIDDEN, FORBIDDEN, "data", FORBIDDEN, FORBIDDEN, UNAUTH),
        "the victim's key's audit events: operators only",
        _key_audited,
    ),
    Row(
        "currencies",
        "{ currencies { code } }",
        lambda w: {},
        ("data",) * 8,
        "public: no object",
        _listed,
    ),
    Row(
        "operations",
        "{ operations { code } }",
        lambda w: {},
        ("data",) * 8,
        "public: no object",
        _listed,
    ),
)

MUTATIONS = (
    Row(
        "signup",
        _mutation("signup", "SignupInput", "__typename ... on Error { code }"),
        lambda w: {"input": {"email": w.victim["email"], "password": PASSWORD, "name": "Imp"}},
        ("ALREADY_EXISTS",) * 8,
        "the victim's email: nobody, signed in or not, takes it over",
    ),
    Row(
        "login",
        _mutation(
            "login",
            "LoginInput",
            f"__typename ... on Error {{ code }} ... on AuthPayload {{ {OF_USER} }}",
        ),  # fmt: skip
        lambda w: {"input": {"email": w.victim["email"], "password": PASSWORD}},
        ("AuthPayload",) * 8,
        "the victim's credentials: whoever sends them signs in as the victim, nothing more",
        _victim_signed_in,
    ),
    Row(
        "logout",
        "mutation { logout }",
        lambda w: {},
        (
            "false",
            "true",
            "true",
            "true",
            "true",
            f"error {FORBIDDEN}",
            f"error {FORBIDDEN}",
            "false",
        ),  # fmt: skip
        "no object: only the calling session ends (persons call it with a session of their own "
        "made for this row; a key cannot log out)",
        _session_ended,
        fresh_session=True,
    ),
    Row(
        "changePassword",
        _mutation("changePassword", "ChangePasswordInput", "__typename ... on Error { code }"),
        lambda w: {
            "input": {"currentPassword": "not the password", "newPassword": "a new passphrase"}
        },
        (
            UNAUTH,
            "INVALID_CREDENTIALS",
            "INVALID_CREDENTIALS",
            "INVALID_CREDENTIALS",
            "INVALID_CREDENTIALS",
            FORBIDDEN,
            FORBIDDEN,
            UNAUTH,
        ),  # fmt: skip
        "no object: the caller's own password, and a wrong currentPassword changes nothing "
        "(nor revokes anything); a key cannot change it",
    ),
    Row(
        "createWallet",
        _mutation("createWallet", "CreateWalletInput", WALLET),
        lambda w: {"input": {"currency": "USD"}},
        (
            UNAUTH,
            "WalletPayload",
            "WalletPayload",
            "WALLET_LIMIT_REACHED",
            "WalletPayload",
            FORBIDDEN,
            FORBIDDEN,
            UNAUTH,
        ),  # fmt: skip
        "no object: opens the caller's own (a merchant may hold one; a key cannot open one)",
        _own_new_wallet,
    ),
    Row(
        "deposit",
        _mutation("deposit", "DepositInput", PAYMENT),
        lambda w: {
            "input": {"walletId": w.wallet["id"], "amount": "1", "idempotencyKey": new_key()}
        },
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND, UNAUTH),
        "the victim's wallet: only its owner deposits to it",
    ),
    Row(
        "withdraw",
        _mutation("withdraw", "WithdrawInput", PAYMENT),
        lambda w: {
            "input": {"walletId": w.wallet["id"], "amount": "1", "idempotencyKey": new_key()}
        },
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND, UNAUTH),
        "the victim's wallet: only its owner withdraws from it",
    ),
    Row(
        "transfer",
        _mutation("transfer", "TransferInput", PAYMENT),
        lambda w: {
            "input": {
                "fromWalletId": w.wallet["id"],
                "toWalletId": w.stranger_wallet["id"],
                "amount": "1",
                "idempotencyKey": new_key(),
            }
        },
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND, UNAUTH),
        "from the victim's wallet to the stranger's: only its owner moves its money",
    ),
    Row(
        "charge",
        _mutation("charge", "ChargeInput", PAYMENT),
        lambda w: {
            "input": {
                "walletToken": w.wallet["token"],
                "amount": "1",
                "description": "Matrix",
                "idempotencyKey": new_key(),
            }
        },
        (
            UNAUTH,
            FORBIDDEN,
            FORBIDDEN,
            "PaymentPayload",
            FORBIDDEN,
            FORBIDDEN,
            "PaymentPayload",
            UNAUTH,
        ),  # fmt: skip
        "the victim's payment token: what it is for is that any merchant holding it charges it",
        _charged_victim,
    ),
    Row(
        "applyOperation",
        _mutation("applyOperation", "ApplyOperationInput", PAYMENT),
        lambda w: {
            "input": {
                "walletId": w.credit_wallet["id"],
                "operation": "DAILY_REWARD",
                "idempotencyKey": new_key(),
            }
        },
        (UNAUTH, FORBIDDEN, FORBIDDEN, FORBIDDEN, "PaymentPayload", FORBIDDEN, FORBIDDEN, UNAUTH),
        "the victim's CREDIT wallet: operators apply operations to any wallet",
        _operation_applied,
    ),
    Row(
        "authorize",
        _mutation("authorize", "AuthorizeInput", HOLD),
        lambda w: {
            "input": {
                "walletToken": w.wallet["token"],
                "amount": "1",
                "description": "Matrix",
                "idempotencyKey": new_key(),
            }
        },
        (UNAUTH, FORBIDDEN, FORBIDDEN, "HoldPayload", FORBIDDEN, FORBIDDEN, "HoldPayload", UNAUTH),
        "the victim's payment token: as for charge",
        _authorized_on_victim,
    ),
    Row(
        "capture",
        _mutation("capture", "CaptureInput", HOLD),
        lambda w: {"input": {"holdId": w.hold, "idempotencyKey": new_key()}},
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND, UNAUTH),
        "the shop's hold on the victim's wallet: only the shop captures it",
    ),
    Row(
        "voidHold",
        _mutation("voidHold", "VoidHoldInput", HOLD),
        lambda w: {"input": {"holdId": w.hold, "idempotencyKey": new_key()}},
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND, UNAUTH),
        "the shop's hold on the victim's wallet: only the shop voids it",
    ),
    Row(
        "refund",
        _mutation("refund", "RefundInput", PAYMENT),
        lambda w: {
            "input": {"transactionId": w.transfer_in, "amount": "1", "idempotencyKey": new_key()}
        },
        (UNAUTH, FORBIDDEN, NOT_FOUND, NOT_FOUND, "PaymentPayload", FORBIDDEN, NOT_FOUND, UNAUTH),
        "the payer's transfer the victim received: its receiver or an operator refunds it; the "
        "payer (customer) is Forbidden, anyone else NotFound",
        _refunded_to_payer,
    ),
    Row(
        "postBatch",
        _mutation(
            "postBatch",
            "BatchInput",
            f"__typename ... on Error {{ code }} ... on BatchPayload {{ results {{ {PAYMENT} }} }}",
        ),
        lambda w: {
            "input": {
                "atomic": False,
                "items": [
                    {
                        "withdraw": {
                            "walletId": w.wallet["id"],
                            "amount": "1",
                            "idempotencyKey": new_key(),
                        }
                    },
                    {
                        "transfer": {
                            "fromWalletId": w.wallet["id"],
                            "toWalletId": w.stranger_wallet["id"],
                            "amount": "1",
                            "idempotencyKey": new_key(),
                        }
                    },
                    {
                        "refund": {
                            "transactionId": w.transfer_in,
                            "amount": "1",
                            "idempotencyKey": new_key(),
                        }
                    },
                ],
            }
        },
        (
            UNAUTH,
            f"BatchPayload(NOT_FOUND, NOT_FOUND, {FORBIDDEN})",
            f"BatchPayload(NOT_FOUND, NOT_FOUND, {NOT_FOUND})",
            f"BatchPayload(NOT_FOUND, NOT_FOUND, {NOT_FOUND})",
            "BatchPayload(NOT_FOUND, NOT_FOUND, PaymentPayload)",
            FORBIDDEN,
            f"BatchPayload(NOT_FOUND, NOT_FOUND, {NOT_FOUND})",
            UNAUTH,
        ),
        "the withdraw, transfer and refund rows again, as items: each answers as its mutation; "
        "a key without a posting scope cannot send a batch at all",
        _batch_refunded_to_payer,
    ),
    Row(
        "createApiKey",
        _mutation(
            "createApiKey",
            "CreateApiKeyInput",
            "__typename ... on Error { code } ... on ApiKeyPayload { secret }",
        ),
        lambda w: {"input": {"name": "mine", "scopes": ["READ"]}},
        (
            UNAUTH,
            "ApiKeyPayload",
            "ApiKeyPayload",
            "ApiKeyPayload",
            "ApiKeyPayload",
            FORBIDDEN,
            FORBIDDEN,
            UNAUTH,
        ),  # fmt: skip
        "no object: a key of the caller's own; a key cannot make keys",
        _own_key,
    ),
    Row(
        "revokeApiKey",
        """mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on Error { code } } }""",
        lambda w: {"id": w.victim_key["id"]},
        (UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, FORBIDDEN, UNAUTH),
        "the victim's live key: only its owner revokes it (operators too get NotFound)",
    ),
    Row(
        "freezeWallet",
        _mutation("freezeWallet", "WalletStatusInput", WALLET),
        lambda w: {"input": {"walletId": w.status_wallet["id"], "reason": "Matrix"}},
        (UNAUTH, FORBIDDEN, FORBIDDEN, FORBIDDEN, "WalletPayload", FORBIDDEN, FORBIDDEN, UNAUTH),
        "the victim's EUR wallet: operators only",
        _status_set("FROZEN"),
    ),
    Row(
        "unfreezeWallet",
        _mutation("unfreezeWallet", "WalletStatusInput", WALLET),
        lambda w: {"input": {"walletId": w.status_wallet["id"], "reason": "Matrix"}},
        (UNAUTH, FORBIDDEN, FORBIDDEN, FORBIDDEN, "WalletPayload", FORBIDDEN, FORBIDDEN, UNAUTH),
        "the victim's EUR wallet, frozen by the row before: operators only",
        _status_set("ACTIVE"),
    ),
)

SUBSCRIPTIONS = (
    Row(
        "balanceUpdates",
        """subscription($walletId: ID, $afterVersion: Int) {
            balanceUpdates(walletId: $walletId, afterVersion: $afterVersion) { version } }""",
        lambda w: {"walletId": w.wallet["id"], "afterVersion": 0},
        (
            "closed 4403",
            NOT_FOUND,
            NOT_FOUND,
            NOT_FOUND,
            NOT_FOUND,
            NOT_FOUND,
            FORBIDDEN,
            "closed 4403",
        ),  # fmt: skip
        "the victim's wallet: only its owner watches it (operators too get NOT_FOUND)",
    ),
)


# --- running the rows --------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def booting_server(database_url, tmp_path_factory):
    """A real server for the subscription row (as tests/server/conftest.py starts one), booting
    while the world is built."""
    booting = asyncio.create_task(_start(database_url, str(tmp_path_factory.mktemp("matrix"))))
    try:
        yield booting
    finally:
        await asyncio.wait({booting})
        if not booting.cancelled() and booting.exception() is None:
            await _stop(booting.result())


@pytest.fixture(scope="module")
async def world(gql, booting_server) -> World:
    return await build_world(gql)


async def _fresh_session(person: dict) -> str:
    """A new session token of the person's, as login makes one (without paying argon2 again)."""
    user = await User.get(id=ids.decode(ids.USER, person["id"]))
    token, _ = await issue_token(user, 3600)
    return token


def _success(expected: str) -> bool:
    """Whether an expected answer is a success, whose shape the row's check looks at."""
    return (
        expected in ("data", "true") or expected.endswith("Payload") or "PaymentPayload" in expected
    )


def _summary(answer: object) -> str:
    """A mutation's answer, as the rows write it."""
    if isinstance(answer, bool):
        return str(answer).lower()
    assert isinstance(answer, dict), answer
    if answer["__typename"] == "BatchPayload":
        return f"BatchPayload({', '.join(_summary(r) for r in answer['results'])})"
    return answer.get("code") or answer["__typename"]


async def _ask(gql: GraphQLClient, row: Row, world: World, caller: str, mutation: bool):
    """One cell: (caller, what it got, the answer, the cell)."""
    token = world.tokens[caller]
    if row.fresh_session and caller in PERSONS:
        token = await _fresh_session(world.person(caller))
    body = await gql(row.document, row.variables(world), token)
    answer = (body.get("data") or {}).get(row.field)
    if body.get("errors"):
        code = body["errors"][0].get("extensions", {}).get("code")
        got = f"error {code}" if mutation else str(code)
    elif mutation:
        got = _summary(answer)
    else:
        got = "null" if answer is None else "data"
        answer = body["data"]
    return caller, got, answer, Cell(world, caller, token, gql)


async def _run(gql: GraphQLClient, world: World, rows, mutation: bool) -> tuple[list, list]:
    """Every row, its callers at once (rows one after the other: unfreeze follows freeze).
    Returns the surprises and the answers of the successes."""
    surprises, successes = [], []
    for row in rows:
        cells = await asyncio.gather(*(_ask(gql, row, world, c, mutation) for c in CALLERS))
        for (caller, got, answer, cell), expected in zip(cells, row.expect, strict=True):
            if got != expected:
                surprises.append(f"{row.field} by {caller}: got {got}, expected {expected}")
                continue
            if _success(expected):
                try:
                    await (row.check or _no_check)(cell, answer)
                except AssertionError as exc:
                    surprises.append(f"{row.field} by {caller}: {expected} {answer}: {exc!r}")
                successes.append(answer)
    return surprises, successes


def _served_fields() -> dict[str, set[str]]:
    schema = graphql.build_schema(build_schema(Settings()).as_str())
    roots = {"Query": schema.query_type, "Mutation": schema.mutation_type}
    roots["Subscription"] = schema.subscription_type
    return {name: set(root.fields) if root else set() for name, root in roots.items()}


def test_every_served_field_has_a_row():
    rows = {"Query": QUERIES, "Mutation": MUTATIONS, "Subscription": SUBSCRIPTIONS}
    for root, fields in _served_fields().items():
        have = [row.field for row in rows[root]]
        assert len(have) == len(set(have)), f"{root}: a field with two rows"
        assert set(have) == fields, f"{root}: rows missing for {fields - set(have)}, " + (
            f"rows for no field: {set(have) - fields}"
        )
    for row in (*QUERIES, *MUTATIONS, *SUBSCRIPTIONS):
        assert len(row.expect) == len(CALLERS), row.field


async def test_queries(gql, world):
    surprises, successes = await _run(gql, world, QUERIES, mutation=False)
    assert not surprises, "\n".join(surprises)
    assert len(successes) == sum(row.expect.count("data") for row in QUERIES)


# The world's wallets, with what the matrix may change on them.
_WALLET_STATE = "SELECT id, balance, held, version, status FROM wallets WHERE id = ANY($1)"
_WRITTEN = """
SELECT id FROM transactions
WHERE id > $1 AND (source_wallet_id = ANY($2) OR destination_wallet_id = ANY($2))
"""
_MOVED = """
SELECT wallet_id, count(*) AS postings, sum(amount) AS amount, sum(held_amount) AS held
FROM entries WHERE transaction_id = ANY($1) AND wallet_id = ANY($2) GROUP BY wallet_id
"""


async def _rows(query: str, *args) -> list[dict]:
    return await connections.get("default").execute_query_dict(query, list(args))


def _posted_ids(answer: dict) -> list[str]:
    """The transactions a success answered."""
    if "results" in answer:
        return [i for r in answer["results"] if "transaction" in r for i in _posted_ids(r)]
    return [answer["transaction"]["id"]] if "transaction" in answer else []


async def test_mutations(gql, world):
    victim_wallets = [world.wallet, world.credit_wallet, world.status_wallet]
    victim_numbers = [ids.decode(ids.WALLET, w["id"]) for w in victim_wallets]
    others = [world.stranger_wallet["id"]]
    numbers = victim_numbers + [ids.decode(ids.WALLET, w) for w in others]
    last = (await _rows("SELECT coalesce(max(id), 0) AS last FROM transactions"))[0]["last"]
    before = {r["id"]: r for r in await _rows(_WALLET_STATE, victim_numbers)}

    surprises, successes = await _run(gql, world, MUTATIONS, mutation=True)
    assert not surprises, "\n".join(surprises)

    # Refused calls wrote nothing: the only transactions on these wallets are the successes'.
    answered = {i for answer in successes if isinstance(answer, dict) for i in _posted_ids(answer)}
    written = {ids.encode(ids.TRANSACTION, r["id"]) for r in await _rows(_WRITTEN, last, numbers)}
    assert written == answered
    moved = {r["wallet_id"]: r for r in await _rows(_MOVED, [ids.decode(ids.TRANSACTION, i)
                                                              for i in answered], victim_numbers)}  # fmt: skip
    for row in await _rows(_WALLET_STATE, victim_numbers):
        was, by = before[row["id"]], moved.get(row["id"])
        assert row["status"] == was["status"]
        assert row["version"] == was["version"] + (by["postings"] if by else 0)
        assert row["balance"] == was["balance"] + (by["amount"] if by else 0)
        assert row["held"] == was["held"] + (by["held"] if by else 0)
    # The victim's session and live key still work; the victim's key was not revoked.
    me = "{ me { id } }"
    assert (await gql.ok(me, token=world.victim["token"]))["me"]["id"] == world.victim["id"]
    assert (await gql.ok(me, token=world.victim_key["secret"]))["me"]["id"] == world.victim["id"]
    assert await verify() == []


async def _subscribe(url: str, row: Row, world: World, caller: str) -> str:
    token = world.tokens[caller]
    async with ws_connect(url) as ws:
        ack = await ws.init({"authorization": f"Bearer {token}"} if token else None)
        if ack["type"] != "connection_ack":
            return f"unexpected {ack}"
        subscribe = {"query": row.document, "variables": row.variables(world)}
        await ws.send({"id": "m", "type": "subscribe", "payload": subscribe})
        message = await ws.recv()
    if message["type"] == "error":
        return message["payload"][0]["extensions"]["code"]
    errors = message.get("payload", {}).get("errors")
    return errors[0]["extensions"]["code"] if errors else message["type"]


async def _subscription_answer(url: str, row: Row, world: World, caller: str) -> str:
    from websockets.exceptions import ConnectionClosed

    try:
        return await _subscribe(url, row, world, caller)
    except ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else None}"


async def test_subscriptions(world, booting_server):
    url = (await booting_server).ws_url
    surprises = []
    for row in SUBSCRIPTIONS:
        answers = await asyncio.gather(*(_subscription_answer(url, row, world, c) for c in CALLERS))
        for caller, got, expected in zip(CALLERS, answers, row.expect, strict=True):
            if got != expected:
                surprises.append(f"{row.field} by {caller}: got {got}, expected {expected}")
    assert not surprises, "\n".join(surprises)
