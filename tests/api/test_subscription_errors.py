"""Errors raised while a subscription runs go through the same mapping as queries."""

from __future__ import annotations

import dataclasses
import logging

from tests.api.conftest import direct_context
from walletql import api, auth, ids
from walletql.api import build_schema
from walletql.services import build_services
from walletql.settings import Settings

QUERY = "subscription { balanceUpdates { walletId version } }"


async def _first_result(principal, services=None):
    stream = await build_schema(Settings()).subscribe(
        QUERY, context_value=direct_context(services, principal=principal)
    )
    async for result in stream:
        return result


class _BrokenFeed:
    def subscribe(self, **kwargs):
        raise RuntimeError("secret detail: SELECT * FROM wallets")


async def test_unexpected_error_in_a_subscription_is_masked(gql, caplog):
    user = await gql.signup()
    principal = auth.Principal(user_id=ids.decode(ids.USER, user["id"]), role="CUSTOMER")
    services = dataclasses.replace(build_services(Settings()), feed=_BrokenFeed())
    with caplog.at_level(logging.ERROR, logger="walletql.api"):
        result = await _first_result(principal, services)
    (error,) = result.errors
    assert error.message == "Internal server error"
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert error.path == ["balanceUpdates"]
    request_id = error.extensions["requestId"]
    assert "secret" not in str(error.formatted)
    assert any(request_id in record.getMessage() for record in caplog.records)


async def test_anonymous_subscription_is_unauthenticated():
    result = await _first_result(None)
    (error,) = result.errors
    assert error.extensions == {"code": "UNAUTHENTICATED"}
    assert error.path == ["balanceUpdates"]


async def test_error_belongs_to_the_chosen_operations_root_field():
    query = "query Q { me { id } } subscription S { live: balanceUpdates { walletId } }"
    stream = await build_schema(Settings()).subscribe(
        query, operation_name="S", context_value=direct_context(principal=None)
    )
    async for result in stream:
        (error,) = result.errors
        assert error.extensions == {"code": "UNAUTHENTICATED"}
        assert error.path == ["live"]
        break
    else:
        raise AssertionError("the subscription ended without a result")


async def test_a_document_that_does_not_parse_is_not_parsed_again(monkeypatch):
    """Only an error without a path is given the root field's, which takes a parse: a syntax
    error or a document over the token limit answers BAD_USER_INPUT without one."""
    parsed = []
    monkeypatch.setattr(api, "_root_field", lambda *args: parsed.append(args))
    schema = build_schema(Settings())
    too_long = "subscription { " + " ".join(["balanceUpdates { walletId }"] * 5000) + " }"
    for document in ("subscription { balanceUpdates {", too_long):
        stream = await schema.subscribe(document, context_value=direct_context(principal=None))
        async for result in stream:
            (error,) = result.errors
            assert error.extensions["code"] == "BAD_USER_INPUT"
    assert parsed == []
