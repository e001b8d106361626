"""The one GraphQL test client: the real ASGI app over httpx, on the session's test database.

`gql` serves the default settings; `gql_with(**changes)` makes a client of another app, on
settings with those changes (each app builds its own services, as a process does)."""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from tortoise import connections

from tests.calls import ledger
from tests.conftest import FAST_PATHS
from walletql import ids, shortcuts
from walletql.app import create_app
from walletql.schema.common import serve_currencies
from walletql.schema.context import Context
from walletql.services import Services, build_services
from walletql.settings import Settings

PASSWORD = "correct horse battery"

# Every field a PaymentResult can carry. InsufficientFunds.transaction is nullable while
# PaymentPayload.transaction is not, so it is aliased `rejected` (GraphQL refuses to merge them).
PAYMENT_FIELDS = """
    __typename
    ... on PaymentPayload {
        replayed
        transaction {
            id kind status operation amount currency { code } description idempotencyKey
            failureReason createdAt source { walletId name } destination { walletId name }
        }
        wallet { id token balance minimumBalance version status currency { code } }
    }
    ... on Error { code message }
    ... on ValidationError { field }
    ... on InsufficientFunds {
        available requested rejected: transaction { id status failureReason amount }
    }
"""

INPUT_TYPES = {
    "deposit": "DepositInput",
    "withdraw": "WithdrawInput",
    "transfer": "TransferInput",
    "charge": "ChargeInput",
    "applyOperation": "ApplyOperationInput",
}


def new_key() -> str:
    return secrets.token_hex(8)


def new_email() -> str:
    return f"u{secrets.token_hex(6)}@example.com"


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
        email = extra.pop("email", None) or new_email()
        variables = {
            "input": {
                "email": email,
                "password": PASSWORD,
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

    async def funded(
        self, amount: str | None = "100", currency: str = "USD", role: str = "CUSTOMER", **extra
    ) -> tuple[dict, dict]:
        """A new user with one wallet, after an optional deposit: (user, wallet)."""
        user = await self.signup(role, **extra)
        wallet = await self.wallet(user["token"], currency)
        if amount:
            result = await self.deposit(user["token"], wallet["id"], amount)
            assert result["__typename"] == "PaymentPayload", result
        return user, wallet

    async def ok(self, query: str, variables: dict | None = None, token: str | None = None):
        """`data` of a request that must not fail."""
        body = await self(query, variables, token)
        assert "errors" not in body, body
        return body["data"]

    async def pay(self, mutation: str, token: str | None, **fields) -> dict:
        """Run a payment mutation with `fields` as its input; returns the PaymentResult."""
        query = (
            f"mutation($input: {INPUT_TYPES[mutation]}!) "
            f"{{ {mutation}(input: $input) {{ {PAYMENT_FIELDS} }} }}"
        )
        fields.setdefault("idempotencyKey", new_key())
        data = await self.ok(query, {"input": fields}, token)
        return data[mutation]

    async def get_wallet(self, token: str, wallet_id: str) -> dict:
        data = await self.ok(
            """query($id: ID!) { wallet(id: $id) {
                id token label balance minimumBalance version status currency { code } } }""",
            {"id": wallet_id},
            token,
        )
        return data["wallet"]

    async def login(self, email: str, password: str = PASSWORD) -> str:
        data = await self.ok(
            """mutation($input: LoginInput!) { login(input: $input) {
                __typename ... on AuthPayload { token } ... on Error { code } } }""",
            {"input": {"email": email, "password": password}},
        )
        assert data["login"]["__typename"] == "AuthPayload", data
        return data["login"]["token"]

    async def operator(self) -> dict:
        """An OPERATOR account (only the CLI may create one), signed in through `login`."""
        email = new_email()
        user = await ledger.create_user(
            email=email, password=PASSWORD, name="Back Office", role="OPERATOR", allow_operator=True
        )
        return {
            "token": await self.login(email),
            "id": ids.encode(ids.USER, user.id),
            "email": email,
        }

    @staticmethod
    async def sql(script: str) -> None:
        """Raw SQL on the test database, for states no API call can produce (expiry, FROZEN)."""
        await connections.get("default").execute_script(script)


def direct_context(services: Services | None = None, **fields) -> Context:
    """The context of a schema executed directly (not through the app), made as the app's
    get_context makes it: with its services (by default, on the default settings), whose
    currencies its amounts are served in."""
    services = services or build_services(Settings())
    serve_currencies(services.currencies)
    return Context(services=services, **fields)


def _client(database_url: str, **changes) -> httpx.AsyncClient:
    """A client of an app on these settings, in the run's mode (FAST_PATHS) unless changed."""
    settings = Settings(database_url=database_url, fast_paths=FAST_PATHS)
    app = create_app(settings.with_changes(**changes), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://walletql.test")


@pytest.fixture(scope="session")
async def gql(database_url):
    async with _client(database_url) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def gql_with(database_url):
    """`client = await gql_with(minimum_balance=Decimal(5))`: an app on changed settings."""
    async with AsyncExitStack() as clients:

        async def make(**changes) -> GraphQLClient:
            return GraphQLClient(
                await clients.enter_async_context(_client(database_url, **changes))
            )

        yield make


@pytest.fixture
async def fast_gql(database_url):
    """A client of an app with walletql's shortcuts on, whatever mode the run is in: for the
    tests of what a shortcut does that the frameworks' own paths do not."""
    try:
        async with _client(database_url, fast_paths=True) as http:
            yield GraphQLClient(http)
    finally:
        shortcuts.install(FAST_PATHS)  # create_app took the process-wide ones: as the run was
