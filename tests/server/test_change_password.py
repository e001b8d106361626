"""changePassword on real servers: every other token of the caller revoked on every process at
once (their websockets close with 4401), the calling token and the API keys kept; refused for
keys and anonymous callers; a wrong current password is a failed sign-in (throttled with the
email's sign-ins); a weak new one is refused as at signup. And no secret in the DEBUG log."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from tests.server.clients import subscriber
from tests.server.test_sign_in_throttling import (
    PASSWORD,
    client_from,
    documentation_address,
    kind,
    lockouts,
    login,
    signup,
    user_subject,
)
from walletql.ledger.verify import verify

NEW_PASSWORD = "a brand new passphrase"
ME = "{ me { id } }"
CHANGE = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
    __typename ... on AuthPayload { token expiresAt user { id } }
    ... on TooManyAttempts { retryAfterSeconds }
    ... on ValidationError { field } ... on Error { code message } } }"""
SIGNUP = """mutation($input: SignupInput!) { signup(input: $input) {
    __typename ... on ValidationError { field } ... on Error { code message } } }"""
CREATE_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
    ... on ApiKeyPayload { secret } } }"""


async def change(
    http: httpx.AsyncClient, token: str | None, current: str, new: str, forwarded=None
) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if forwarded:
        headers["x-forwarded-for"] = forwarded
    variables = {"input": {"currentPassword": current, "newPassword": new}}
    response = await http.post(
        "/graphql", json={"query": CHANGE, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]["changePassword"]


async def me(api, token: str) -> dict | None:
    return (await api.data(ME, token=token))["me"]


async def test_other_tokens_are_revoked_everywhere_and_the_calling_one_and_keys_kept(
    server, api, start_server, make_api
):
    user = await signup(api)
    calling = user["token"]
    async with client_from(server.url) as http:
        others = [(await login(http, user["email"], PASSWORD))["token"] for _ in range(2)]
        made = await api.data(CREATE_KEY, {"input": {"name": "b", "scopes": ["READ"]}}, calling)
        key = made["createApiKey"]["secret"]
        other_server = await start_server()
        there = make_api(other_server)
        assert (await me(there, others[1]))["id"] == user["id"]  # the other process keeps it
        async with subscriber(other_server.ws_url, others[0]) as ws:
            answer = await change(http, calling, PASSWORD, NEW_PASSWORD)
            assert answer["__typename"] == "AuthPayload", answer
            assert (answer["token"], answer["user"]["id"]) == (calling, user["id"])
            assert await ws.closed_code() == 4401  # closed by the other process
        deadline = time.monotonic() + 5  # a notification's delivery, not a cache lifetime
        while await me(there, others[1]) is not None:
            assert time.monotonic() < deadline, "the other process still accepts a revoked token"
            await asyncio.sleep(0.01)
        assert await me(api, others[1]) is None
        for kept in (calling, key):
            assert (await me(there, kept))["id"] == user["id"]
            assert (await me(api, kept))["id"] == user["id"]
        address = documentation_address()
        assert kind(await login(http, user["email"], PASSWORD, address)) == "INVALID_CREDENTIALS"
        assert kind(await login(http, user["email"], NEW_PASSWORD, address)) == "AuthPayload"
    assert await verify() == []


async def test_wrong_current_password_weak_new_one_keys_and_anonymous_callers(server, api):
    user = await signup(api)
    token = user["token"]
    made = await api.data(CREATE_KEY, {"input": {"name": "b", "scopes": ["READ"]}}, token)
    key = made["createApiKey"]["secret"]
    address = documentation_address()
    async with client_from(server.url) as http:
        weak = await change(http, token, PASSWORD, "1234567890", address)
        at_signup = (
            await api.gql(
                SIGNUP,
                {
                    "input": {
                        "email": f"w{secrets.token_hex(6)}@example.com",
                        "password": "1234567890",
                        "name": "Weak",
                        "role": "CUSTOMER",
                    }
                },
            )
        )["data"]["signup"]
        assert (weak["code"], weak["message"]) == (at_signup["code"], at_signup["message"])
        assert (weak["code"], weak["field"]) == ("WEAK_PASSWORD", "newPassword")
        assert kind(await change(http, key, PASSWORD, NEW_PASSWORD, address)) == "FORBIDDEN"
        assert kind(await change(http, None, PASSWORD, NEW_PASSWORD, address)) == (
            "UNAUTHENTICATED"
        )
        # Nothing changed: the password still is PASSWORD, and no failure was counted.
        assert kind(await login(http, user["email"], PASSWORD, address)) == "AuthPayload"
        # A wrong current password is a failed sign-in of the caller's email: no way around
        # the lockout with a stolen token.
        wrong = [await change(http, token, "not my password", NEW_PASSWORD) for _ in range(5)]
        assert [kind(w) for w in wrong] == ["INVALID_CREDENTIALS"] * 5
        locked = await change(http, token, PASSWORD, NEW_PASSWORD)
        assert kind(locked) == "TOO_MANY_ATTEMPTS" and 55 <= locked["retryAfterSeconds"] <= 60
        assert kind(await login(http, user["email"], PASSWORD, address)) == "TOO_MANY_ATTEMPTS"
    assert len(await lockouts(user_subject(user))) == 1
    assert await me(api, token) is not None  # the token itself stays valid


async def test_no_password_token_or_key_reaches_the_debug_log(api, start_server, make_api):
    server = await start_server(cli=True, log_level="DEBUG")
    there = make_api(server)
    user = await signup(there)
    secrets_seen = [PASSWORD, NEW_PASSWORD, "wrong password!", user["token"]]
    made = await there.data(CREATE_KEY, {"input": {"name": "b", "scopes": ["READ"]}}, user["token"])
    secrets_seen.append(made["createApiKey"]["secret"])
    async with client_from(server.url) as http:
        address = documentation_address()
        for _ in range(6):  # to the lockout
            await login(http, user["email"], "wrong password!", address)
        other = await signup(there)
        secrets_seen.append(other["token"])
        secrets_seen.append((await login(http, other["email"], PASSWORD, address))["token"])
        answer = await change(http, other["token"], PASSWORD, NEW_PASSWORD, address)
        assert answer["__typename"] == "AuthPayload", answer
    log = server.log()
    assert "values not logged" in log  # the level asked for was in force, SQL log included
    leaked = [s for s in secrets_seen if s in log]
    assert leaked == [] and "$argon2" not in log
