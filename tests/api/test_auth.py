"""Accounts through the API: signup, login, logout, token expiry, and what "no caller" means."""

from __future__ import annotations

import secrets

import pytest

from tests.api.conftest import PASSWORD, new_email
from walletql.auth import token_digest

SIGNUP = """mutation($input: SignupInput!) { signup(input: $input) {
    __typename
    ... on AuthPayload { token expiresAt user { id email name phone role company { name url } } }
    ... on Error { code message }
    ... on ValidationError { field }
    ... on AlreadyExists { field }
} }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
    __typename ... on AuthPayload { token user { id } } ... on Error { code message } } }"""
ME = "{ me { id email role company { name url } } }"
CREATE_WALLET = """mutation { createWallet(input: {currency: "USD"}) {
    __typename ... on Error { code message } } }"""


async def signup(gql, **fields):
    payload = {"email": new_email(), "password": PASSWORD, "name": "Ann", **fields}
    return (await gql.ok(SIGNUP, {"input": payload}))["signup"]


def random_phone() -> str:
    return "+3466" + "".join(secrets.choice("0123456789") for _ in range(7))


async def test_signup_customer_signs_in(gql):
    email = new_email().replace("u", "U", 1)
    result = await signup(gql, email=email)
    assert result["__typename"] == "AuthPayload"
    assert result["user"]["email"] == email.lower()
    assert result["user"]["role"] == "CUSTOMER"
    assert result["user"]["company"] is None
    assert result["expiresAt"].endswith("Z")
    me = (await gql.ok(ME, token=result["token"]))["me"]
    assert me == {
        "id": result["user"]["id"],
        "email": email.lower(),
        "role": "CUSTOMER",
        "company": None,
    }


async def test_signup_merchant_has_company(gql):
    result = await signup(
        gql, role="MERCHANT", company={"name": "Acme Ltd", "url": "https://acme.example"}
    )
    assert result["__typename"] == "AuthPayload", result
    me = (await gql.ok(ME, token=result["token"]))["me"]
    assert me["role"] == "MERCHANT"
    assert me["company"] == {"name": "Acme Ltd", "url": "https://acme.example"}


async def test_signup_operator_is_refused(gql):
    result = await signup(gql, role="OPERATOR")
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "role"


async def test_merchant_without_company_is_refused(gql):
    result = await signup(gql, role="MERCHANT")
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "company.name"
    result = await signup(gql, role="MERCHANT", company={"name": "  "})
    assert (result["__typename"], result["field"]) == ("ValidationError", "company.name")


@pytest.mark.parametrize("password", ["short1abc", "123456789012345"])
async def test_weak_passwords(gql, password):
    result = await signup(gql, password=password)
    assert result["__typename"] == "ValidationError"
    assert (result["code"], result["field"]) == ("WEAK_PASSWORD", "password")


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com", "", "sp ace@x.com"])
async def test_invalid_email(gql, email):
    result = await signup(gql, email=email)
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "email"


async def test_email_is_unique_case_insensitively(gql):
    email = new_email()
    assert (await signup(gql, email=email))["__typename"] == "AuthPayload"
    again = await signup(gql, email=email.upper())
    assert again["__typename"] == "AlreadyExists"
    assert (again["code"], again["field"]) == ("ALREADY_EXISTS", "email")
    # and the account answers to either spelling
    assert await gql.login(email.upper())


@pytest.mark.parametrize("phone", ["666000111", "+0123456789", "+34 666 000 111", "+1234"])
async def test_phone_must_be_e164(gql, phone):
    result = await signup(gql, phone=phone)
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "phone"


async def test_phone_is_unique(gql):
    phone = random_phone()
    first = await signup(gql, phone=phone)
    assert first["__typename"] == "AuthPayload"
    assert first["user"]["phone"] == phone
    again = await signup(gql, phone=phone)
    assert again["__typename"] == "AlreadyExists"
    assert (again["code"], again["field"]) == ("ALREADY_EXISTS", "phone")


async def test_login(gql):
    user = await gql.signup()
    data = await gql.ok(LOGIN, {"input": {"email": user["email"], "password": PASSWORD}})
    assert data["login"]["__typename"] == "AuthPayload"
    assert data["login"]["user"]["id"] == user["id"]
    assert data["login"]["token"] != user["token"]
    me = await gql.ok("{ me { id } }", token=data["login"]["token"])
    assert me["me"]["id"] == user["id"]


@pytest.mark.parametrize("which", ["wrong password", "unknown email"])
async def test_login_refused(gql, which):
    user = await gql.signup()
    email = user["email"] if which == "wrong password" else new_email()
    password = "not the password" if which == "wrong password" else PASSWORD
    data = await gql.ok(LOGIN, {"input": {"email": email, "password": password}})
    assert data["login"]["__typename"] == "InvalidCredentials"
    assert data["login"]["code"] == "INVALID_CREDENTIALS"


async def test_logout_revokes_only_the_token_that_made_the_request(gql):
    user = await gql.signup()
    first, second = user["token"], await gql.login(user["email"])
    assert (await gql.ok("mutation { logout }", token=first)) == {"logout": True}
    assert (await gql.ok("{ me { id } }", token=first)) == {"me": None}
    refused = (await gql.ok(CREATE_WALLET, token=first))["createWallet"]
    assert refused["__typename"] == "NotAuthenticated"
    assert refused["code"] == "UNAUTHENTICATED"
    # the same user's other session is untouched
    assert (await gql.ok("{ me { id } }", token=second))["me"]["id"] == user["id"]
    assert (await gql.ok(CREATE_WALLET, token=second))["createWallet"]["__typename"] == (
        "WalletPayload"
    )
    # a revoked token cannot log out again
    assert (await gql.ok("mutation { logout }", token=first)) == {"logout": False}


async def test_logout_without_token_is_false(gql):
    assert (await gql.ok("mutation { logout }")) == {"logout": False}


async def test_expired_token_is_no_caller(gql):
    user = await gql.signup()
    other = await gql.login(user["email"])
    await gql.sql(
        "UPDATE auth_tokens SET expires_at = now() - interval '1 second' "
        f"WHERE token_hash = '{token_digest(user['token'])}'"
    )
    assert (await gql.ok("{ me { id } }", token=user["token"])) == {"me": None}
    refused = (await gql.ok(CREATE_WALLET, token=user["token"]))["createWallet"]
    assert refused["__typename"] == "NotAuthenticated"
    assert (await gql.ok("{ me { id } }", token=other))["me"]["id"] == user["id"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "garbage",
        "x" * 5000,
    ],
)
async def test_no_valid_token_means_no_caller(gql, header):
    user = await gql.signup()
    wallet = await gql.wallet(user["token"])
    headers = {} if header is None else {"authorization": header}
    query = """query($id: ID!) { me { id } wallet(id: $id) { id } }"""
    response = await gql.http.post(
        "/graphql", json={"query": query, "variables": {"id": wallet["id"]}}, headers=headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"me": None, "wallet": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == ["wallet"]
    response = await gql.http.post("/graphql", json={"query": CREATE_WALLET}, headers=headers)
    assert response.status_code == 200
    assert response.json()["data"]["createWallet"]["code"] == "UNAUTHENTICATED"


async def test_queries_needing_a_caller_are_unauthenticated(gql):
    for query in ('{ wallet(id: "1") { id } }', '{ transaction(id: "1") { id } }'):
        body = await gql(query)
        field = next(iter(body["data"]))
        assert body["data"] == {field: None}
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_signup_wallet_currency_counts_toward_the_limit(gql_with):
    gql = await gql_with(signup_wallet_currency="CREDIT")
    customer = await gql.signup()
    merchant = await gql.signup("MERCHANT")
    wallets = """{ me { wallets { currency { code } balance version } } }"""
    assert (await gql.ok(wallets, token=customer["token"]))["me"]["wallets"] == [
        {"currency": {"code": "CREDIT"}, "balance": "0", "version": 0}
    ]
    assert (await gql.ok(wallets, token=merchant["token"]))["me"]["wallets"] == [
        {"currency": {"code": "CREDIT"}, "balance": "0", "version": 0}
    ]
    result = await gql.ok(
        """mutation { createWallet(input: {currency: "USD"}) { __typename
            ... on WalletLimitReached { code limit } } }""",
        token=merchant["token"],
    )
    assert result["createWallet"] == {
        "__typename": "WalletLimitReached",
        "code": "WALLET_LIMIT_REACHED",
        "limit": 1,
    }
