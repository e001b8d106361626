"""A database outage as the GraphQL layer answers it, in process: SERVICE_UNAVAILABLE with a
request id (HTTP 503 when the token look-up fails before execution), logged once at WARNING;
FEED_INTERRUPTED for an active subscription. tests/server/test_outage.py does the same against
real processes and a PostgreSQL that is really stopped."""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal

import httpx
import pytest
from asyncpg import exceptions as pg

from tests.api.conftest import direct_context
from walletql import auth, outage
from walletql.api import build_schema
from walletql.app import create_app
from walletql.events import BalanceEvent
from walletql.ledger import back_office, payments
from walletql.resolvers import subscription
from walletql.services import build_services
from walletql.settings import Settings

LOST = "connection was closed in the middle of operation"


def _refused(*args, **kwargs):
    raise ConnectionRefusedError(111, "Connection refused")


def _lost(*args, **kwargs):
    raise pg.ConnectionDoesNotExistError(LOST)


@pytest.fixture(autouse=True)
def _every_outage_logged(monkeypatch):
    """A fresh rate limit per test: each test's first outage line is logged."""
    monkeypatch.setattr(outage, "_quiet", outage._Quiet())


def _only_outage_warnings(caplog) -> list[logging.LogRecord]:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    return [r for r in caplog.records if r.name == "walletql.outage"]


async def test_a_query_that_meets_an_outage_answers_service_unavailable(gql, monkeypatch, caplog):
    user, wallet = await gql.funded()
    monkeypatch.setattr(back_office, "readable_wallet", _lost)
    query = "query($id: ID!) { a: wallet(id: $id) { id } b: wallet(id: $id) { id } }"
    with caplog.at_level(logging.WARNING):
        body = await gql(query, {"id": wallet["id"]}, user["token"])
    assert body["data"] == {"a": None, "b": None}
    first, second = body["errors"]
    for error, path in ((first, ["a"]), (second, ["b"])):
        assert error["path"] == path
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "temporarily unavailable" in error["message"]
        assert LOST not in error["message"]
    request_id = first["extensions"]["requestId"]
    assert request_id and second["extensions"]["requestId"] == request_id
    (logged,) = _only_outage_warnings(caplog)  # one line for the request, however many fields
    assert request_id in logged.getMessage() and logged.exc_info is None


async def test_a_mutation_that_meets_an_outage_is_no_business_outcome(gql, monkeypatch, caplog):
    user, wallet = await gql.funded()
    monkeypatch.setattr(payments, "deposit", _lost)
    with caplog.at_level(logging.WARNING):
        body = await gql(
            """mutation($input: DepositInput!) { deposit(input: $input) { __typename } }""",
            {"input": {"walletId": wallet["id"], "amount": "1", "idempotencyKey": "outage"}},
            user["token"],
        )
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["path"] == ["deposit"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["requestId"]
    assert len(_only_outage_warnings(caplog)) == 1


async def test_a_token_that_cannot_be_looked_up_answers_503_with_a_graphql_body(
    gql, monkeypatch, caplog
):
    user = await gql.signup()  # not remembered: the gql app's feed never runs (no lifespan)
    monkeypatch.setattr(auth, "fetch", _refused)
    with caplog.at_level(logging.WARNING):
        response = await gql.post("{ me { id } }", token=user["token"])
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "temporarily unavailable" in error["message"]
    (logged,) = _only_outage_warnings(caplog)
    assert error["extensions"]["requestId"] in logged.getMessage()
    # Without a token nothing needs the database: answered as usual.
    response = await gql.post("{ me { id } currencies { code } }")
    assert response.status_code == 200 and response.json()["data"]["me"] is None


async def test_a_process_that_has_not_reached_its_database_answers_503():
    app = create_app(Settings())  # its lifespan never ran: the database is not prepared
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://walletql.test") as http:
        response = await http.post("/graphql", json={"query": "{ currencies { code } }"})
        assert response.status_code == 503
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).status_code == 200


class _OneEvent:
    """A feed subscription that delivers one event and then waits."""

    def __init__(self, event: BalanceEvent) -> None:
        self.events = [event]

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        return None

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.events:
            return self.events.pop()
        raise StopAsyncIteration


class _Feed:
    def __init__(self, event: BalanceEvent) -> None:
        self.event = event

    def subscribe(self, **kwargs):
        return _OneEvent(self.event)


async def test_an_update_that_cannot_be_loaded_ends_the_subscription_with_feed_interrupted(
    monkeypatch, caplog
):
    principal = auth.Principal(user_id=1, role="CUSTOMER")
    event = BalanceEvent(1, 1, Decimal("1"), 1, 1)
    monkeypatch.setattr(subscription, "_build", _async(_lost))
    services = dataclasses.replace(build_services(Settings()), feed=_Feed(event))
    stream = await build_schema(Settings()).subscribe(
        "subscription { balanceUpdates { version } }",
        context_value=direct_context(services, principal=principal),
    )
    with caplog.at_level(logging.WARNING):
        async for result in stream:
            (error,) = result.errors
            assert error.extensions["code"] == "FEED_INTERRUPTED"
            assert "afterVersion" in error.message
            assert error.path == ["balanceUpdates"]
            break
        else:
            raise AssertionError("the subscription ended without a result")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def _async(function):
    async def run(*args, **kwargs):
        return function(*args, **kwargs)

    return run
