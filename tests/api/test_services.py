"""What a process holds once is built from its settings, once per app, and handed to the
resolvers: two apps in one process, on different settings, each serve their own."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import pytest

from walletql.app import create_app
from walletql.ledger.errors import ConfigurationError
from walletql.services import build_services
from walletql.settings import DEFAULT_CURRENCIES, CurrencyConfig, OperationConfig, Settings


def test_services_are_made_from_their_settings():
    settings = Settings(
        currencies={**DEFAULT_CURRENCIES, "GEMS": CurrencyConfig("Gems", 3)},
        posting_concurrency=3,
        subscriber_queue_size=7,
        max_subscriptions_per_user=9,
    )
    services = build_services(settings)
    assert services.settings is settings
    assert (
        services.currencies["GEMS"].decimals == 3
        and "GEMS" not in build_services(Settings()).currencies
    )
    assert services.operations["CREDIT_ADD"].amount == 10
    assert isinstance(services.turns, asyncio.Semaphore) and services.turns._value == 3
    assert isinstance(build_services(Settings(posting_concurrency=0)).turns, contextlib.nullcontext)
    assert (services.feed._queue_size, services.feed._max_per_user) == (7, 9)


def test_a_bad_catalog_stops_the_app_being_built():
    operations = {"DAILY_REWARD": OperationConfig(Decimal(1), "CREDIT")}
    with pytest.raises(ConfigurationError, match="SIGNUP_CREDIT"):
        create_app(Settings(operations=operations))


def test_each_app_has_its_own_services():
    first, second = create_app(Settings()), create_app(Settings())
    assert first.state.services is not second.state.services
    assert first.state.services.feed is not second.state.services.feed
    assert first.state.services.live_tokens is not second.state.services.live_tokens


async def test_two_apps_serve_amounts_in_their_own_currencies(gql, gql_with):
    four_places = await gql_with(
        currencies={**DEFAULT_CURRENCIES, "USD": CurrencyConfig("US dollar", 4)}
    )
    user, wallet = await gql.funded("12.5")
    query = """query($id: ID!) { wallet(id: $id) { balance currency { decimals } }
        currencies { code decimals } }"""
    variables = {"id": wallet["id"]}
    for _ in range(3):  # at once, so that each request's currencies must stay its own
        two, four = await asyncio.gather(
            gql.ok(query, variables, user["token"]),
            four_places.ok(query, variables, user["token"]),
        )
        assert two["wallet"] == {"balance": "12.50", "currency": {"decimals": 2}}
        assert four["wallet"] == {"balance": "12.5000", "currency": {"decimals": 4}}
        assert {"code": "USD", "decimals": 4} in four["currencies"]
        assert {"code": "USD", "decimals": 2} in two["currencies"]
