"""The one GraphQL test client: the real ASGI app over httpx, on the session's test database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
import pytest

from walletql.app import create_app
from walletql.settings import get_settings


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient

    async def post(self, query: str, variables: dict | None = None, token: str | None = None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(self, query: str, variables: dict | None = None, token: str | None = None):
        """The JSON body; asserts HTTP 200."""
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()

    async def signup(self, role: str = "CUSTOMER", **extra) -> dict:
        """A new user; returns {"token", "id", "email"}."""
        email = f"u{secrets.token_hex(6)}@example.com"
        variables = {
            "input": {
                "email": email,
                "password": "correct horse battery",
                "name": extra.pop("name", "Test User"),
                "role": role,
                **({"company": {"name": "Acme Ltd"}} if role == "MERCHANT" else {}),
                **extra,
            }
        }
        body = await self(
            """mutation($input: SignupInput!) { signup(input: $input) {
                __typename ... on AuthPayload { token user { id email } }
                ... on Error { code message } } }""",
            variables,
        )
        result = body["data"]["signup"]
        assert result["__typename"] == "AuthPayload", result
        return {"token": result["token"], "id": result["user"]["id"], "email": email}

    async def wallet(self, token: str, currency: str = "USD", label: str | None = None) -> dict:
        body = await self(
            """mutation($input: CreateWalletInput!) { createWallet(input: $input) {
                __typename ... on WalletPayload { wallet { id token currency { code } } }
                ... on Error { code message } } }""",
            {"input": {"currency": currency, "label": label}},
            token,
        )
        result = body["data"]["createWallet"]
        assert result["__typename"] == "WalletPayload", result
        return result["wallet"]

    async def deposit(self, token: str, wallet_id: str, amount: str, key: str | None = None):
        body = await self(
            """mutation($input: DepositInput!) { deposit(input: $input) {
                __typename ... on PaymentPayload { replayed transaction { id } wallet { balance } }
                ... on Error { code message } } }""",
            {
                "input": {
                    "walletId": wallet_id,
                    "amount": amount,
                    "idempotencyKey": key or secrets.token_hex(8),
                }
            },
            token,
        )
        return body["data"]["deposit"]


@pytest.fixture(scope="session")
async def gql(database_url):
    app = create_app(get_settings(), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://walletql.test") as http:
        yield GraphQLClient(http)
