"""API keys through the API: made and revoked by their owner, shown once, stored as a sha256,
acting as the owner within their scopes, expiring, and audited."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.api.conftest import new_key
from walletql import ids

KEY_FIELDS = "id name prefix scopes createdAt expiresAt lastUsedAt revokedAt"
CREATE = f"""mutation($input: CreateApiKeyInput!) {{ createApiKey(input: $input) {{
    __typename ... on ApiKeyPayload {{ secret apiKey {{ {KEY_FIELDS} }} }}
    ... on Error {{ code message }} ... on ValidationError {{ field }} }} }}"""
REVOKE = f"""mutation($id: ID!) {{ revokeApiKey(id: $id) {{
    __typename ... on ApiKeyPayload {{ secret apiKey {{ {KEY_FIELDS} }} }}
    ... on Error {{ code message }} }} }}"""
ME = "{ me { id email } }"
MY_KEYS = f"{{ me {{ apiKeys {{ {KEY_FIELDS} }} }} }}"
TRANSFER = """mutation($input: TransferInput!) { transfer(input: $input) {
    __typename ... on PaymentPayload { transaction { id amount } wallet { balance } }
    ... on Error { code message } } }"""


async def make_key(gql, token: str, *scopes: str, **extra) -> dict:
    """A new key of the token's user: {"__typename", "secret", "apiKey"}."""
    name = extra.pop("name", "backend")
    body = await gql(CREATE, {"input": {"name": name, "scopes": list(scopes), **extra}}, token)
    return body["data"]["createApiKey"]


async def key_of(gql, token: str, *scopes: str) -> str:
    made = await make_key(gql, token, *scopes)
    assert made["__typename"] == "ApiKeyPayload", made
    return made["secret"]


async def transfer(gql, token: str, source: dict, target: dict, amount: str = "1") -> dict:
    variables = {
        "input": {
            "fromWalletId": source["id"],
            "toWalletId": target["id"],
            "amount": amount,
            "idempotencyKey": new_key(),
        }
    }
    return (await gql(TRANSFER, variables, token))["data"]["transfer"]


async def database_rows(query: str, *args):
    from tortoise import connections

    return await connections.get("default").execute_query_dict(query, list(args))


async def test_a_key_is_shown_once_and_stored_as_its_sha256(gql):
    user = await gql.signup()
    made = await make_key(gql, user["token"], "READ", "PAYMENTS", name="shop backend")
    assert made["__typename"] == "ApiKeyPayload", made
    secret, key = made["secret"], made["apiKey"]
    assert secret.startswith("wqk_") and len(secret) >= 4 + 43  # 256 random bits, url-safe
    assert key["id"].startswith(ids.API_KEY + "_")
    assert (key["name"], key["prefix"], key["scopes"]) == (
        "shop backend",
        secret[:12],
        ["READ", "PAYMENTS"],
    )
    assert key["expiresAt"] is None and key["lastUsedAt"] is None and key["revokedAt"] is None
    rows = await database_rows(
        "SELECT * FROM api_keys WHERE id = $1", ids.decode(ids.API_KEY, key["id"])
    )
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(rows)  # nowhere in the row: only its digest and prefix
    # Listed to its owner, never with the secret (ApiKey has no such field).
    listed = (await gql.ok(MY_KEYS, token=user["token"]))["me"]["apiKeys"]
    assert [k["id"] for k in listed] == [key["id"]]


async def test_a_key_acts_as_its_owner_within_its_scopes(gql):
    owner, wallet = await gql.funded("50")
    _, other = await gql.funded(None)
    reader = await key_of(gql, owner["token"], "READ")
    payer = await key_of(gql, owner["token"], "PAYMENTS")

    assert (await gql.ok(ME, token=reader))["me"]["email"] == owner["email"]
    paid = await transfer(gql, payer, wallet, other, "5")
    assert paid["__typename"] == "PaymentPayload", paid
    assert paid["wallet"]["balance"] == "45.00"  # a posting answers itself, READ or not

    refused = await transfer(gql, reader, wallet, other, "5")
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    assert "PAYMENTS" in refused["message"]
    body = await gql(ME, token=payer)
    assert body["data"]["me"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Public fields stay public to any key.
    assert (await gql.ok("{ currencies { code } }", token=payer))["currencies"]
    # Reading the ledger beyond a posting's answer needs READ.
    history = await gql(
        "query($id: ID!) { wallet(id: $id) { balance } }", {"id": wallet["id"]}, payer
    )
    assert history["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.get_wallet(owner["token"], wallet["id"]))["balance"] == "45.00"


async def test_a_key_cannot_make_keys_open_wallets_or_log_out(gql):
    owner = await gql.signup()
    everything = await key_of(gql, owner["token"], "READ", "PAYMENTS")
    refused = await make_key(gql, everything, "READ")
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    opened = await gql(
        """mutation { createWallet(input: {currency: "USD"}) {
            __typename ... on Error { code } } }""",
        token=everything,
    )
    assert opened["data"]["createWallet"] == {"__typename": "Forbidden", "code": "FORBIDDEN"}
    logout = await gql("mutation { logout }", token=everything)
    assert logout["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.ok(ME, token=everything))["me"]["email"] == owner["email"]  # still works
    keys = (await gql.ok(MY_KEYS, token=owner["token"]))["me"]["apiKeys"]
    assert len(keys) == 1


async def test_operations_scope_is_for_operators_keys_only(gql):
    customer = await gql.signup()
    refused = await make_key(gql, customer["token"], "OPERATIONS")
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    operator = await gql.operator()
    _, target = await gql.funded(None, "CREDIT")
    ops = await key_of(gql, operator["token"], "OPERATIONS")
    payments_only = await key_of(gql, operator["token"], "PAYMENTS")
    fields = {"walletId": target["id"], "operation": "DAILY_REWARD"}
    applied = await gql.pay("applyOperation", ops, **fields)
    assert applied["__typename"] == "PaymentPayload", applied
    refused = await gql.pay("applyOperation", payments_only, **fields)
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    assert "OPERATIONS" in refused["message"]


async def test_bad_key_requests_are_refused_and_make_nothing(gql):
    user = await gql.signup()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cases = [
        ({"name": "", "scopes": ["READ"]}, "name"),
        ({"name": "x" * 101, "scopes": ["READ"]}, "name"),
        ({"name": "bad\u0007bell", "scopes": ["READ"]}, "name"),
        ({"name": "none", "scopes": []}, "scopes"),
        ({"name": "old", "scopes": ["READ"], "expiresAt": past}, "expiresAt"),
    ]
    for given, field in cases:
        body = await gql(CREATE, {"input": given}, user["token"])
        result = body["data"]["createApiKey"]
        assert (result["__typename"], result["field"]) == ("ValidationError", field), given
    anonymous = await gql(CREATE, {"input": {"name": "x", "scopes": ["READ"]}})
    assert anonymous["data"]["createApiKey"]["code"] == "UNAUTHENTICATED"
    assert (await gql.ok(MY_KEYS, token=user["token"]))["me"]["apiKeys"] == []


async def test_a_revoked_key_is_no_caller_and_revoking_is_audited_once(gql):
    owner, wallet = await gql.funded("10")
    _, other = await gql.funded(None)
    made = await make_key(gql, owner["token"], "READ", "PAYMENTS")
    secret, key_id = made["secret"], made["apiKey"]["id"]
    assert (await gql.ok(ME, token=secret))["me"] is not None  # now remembered by the process

    stranger = await gql.signup()
    foreign = (await gql(REVOKE, {"id": key_id}, stranger["token"]))["data"]["revokeApiKey"]
    assert foreign["__typename"] == "NotFound"
    by_key = (await gql(REVOKE, {"id": key_id}, secret))["data"]["revokeApiKey"]
    assert by_key["__typename"] == "Forbidden"

    revoked = (await gql(REVOKE, {"id": key_id}, owner["token"]))["data"]["revokeApiKey"]
    assert revoked["__typename"] == "ApiKeyPayload" and revoked["secret"] is None
    assert revoked["apiKey"]["revokedAt"] is not None
    again = (await gql(REVOKE, {"id": key_id}, owner["token"]))["data"]["revokeApiKey"]
    assert again["apiKey"]["revokedAt"] == revoked["apiKey"]["revokedAt"]

    assert (await gql.ok(ME, token=secret))["me"] is None
    refused = await transfer(gql, secret, wallet, other)
    assert refused["code"] == "UNAUTHENTICATED"
    subject = f"ApiKey:{ids.decode(ids.API_KEY, key_id)}"
    actions = await database_rows(
        "SELECT action FROM audit_events WHERE subject = $1 ORDER BY id", subject
    )
    assert [a["action"] for a in actions] == ["API_KEY_CREATED", "API_KEY_REVOKED"]


async def test_an_expired_key_is_no_caller(gql):
    owner = await gql.signup()
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    made = await make_key(gql, owner["token"], "READ", expiresAt=soon)
    assert made["apiKey"]["expiresAt"] is not None
    assert (await gql.ok(ME, token=made["secret"]))["me"] is not None
    await asyncio.sleep(2)
    assert (await gql.ok(ME, token=made["secret"]))["me"] is None


async def test_last_use_is_written_at_most_once_a_minute(gql, database_url):
    owner = await gql.signup()
    made = await make_key(gql, owner["token"], "READ")
    await gql.ok(ME, token=made["secret"])
    first = (await gql.ok(MY_KEYS, token=owner["token"]))["me"]["apiKeys"][0]["lastUsedAt"]
    assert first is not None
    number = ids.decode(ids.API_KEY, made["apiKey"]["id"])
    connection = await asyncpg.connect(database_url)
    try:
        before = await connection.fetchval("SELECT xmin::text FROM api_keys WHERE id = $1", number)
        for _ in range(5):
            await gql.ok(ME, token=made["secret"])
        after = await connection.fetchval("SELECT xmin::text FROM api_keys WHERE id = $1", number)
    finally:
        await connection.close()
    assert after == before  # the row was not written again
    keys = (await gql.ok(MY_KEYS, token=owner["token"]))["me"]["apiKeys"]
    assert keys[0]["lastUsedAt"] == first


async def test_others_see_no_keys_of_a_user(gql):
    owner = await gql.signup()
    await key_of(gql, owner["token"], "READ")
    operator = await gql.operator()
    seen = await gql.ok(
        "query($id: ID!) { user(id: $id) { email apiKeys { id } } }",
        {"id": owner["id"]},
        operator["token"],
    )
    assert seen["user"] == {"email": owner["email"], "apiKeys": None}
