"""Builds the strawberry.Schema: root types, security limits, and how errors reach clients."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from walletql.ledger.errors import LedgerError
from walletql.resolvers.mutation import Mutation
from walletql.resolvers.query import Query
from walletql.resolvers.subscription import Subscription
from walletql.schema.errors import as_graphql_error
from walletql.schema.scalars import SCALARS
from walletql.settings import Settings, get_settings

log = logging.getLogger("walletql.api")

INTERNAL = "Internal server error"


class ClientErrors(SchemaExtension):
    """Domain errors in queries become coded GraphQL errors; request errors (syntax, validation,
    limits, bad variables) stay readable with code BAD_USER_INPUT; anything unexpected is masked
    as INTERNAL_SERVER_ERROR with a request id that is also in the server log."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not getattr(result, "errors", None):
            return
        result.errors = [self._client_error(error) for error in result.errors]

    def _client_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, LedgerError):
            return as_graphql_error(original, error)
        if original is None or isinstance(original, GraphQLError) or error.path is None:
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
            return error
        request_id = getattr(self.execution_context.context, "request_id", "")
        log.error(
            "request %s: unexpected error at %s",
            request_id,
            ".".join(map(str, error.path)),
            exc_info=(type(original), original, original.__traceback__),
        )
        return GraphQLError(
            INTERNAL,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )


class RequestParserCache(ParserCache):
    """ParserCache, except that a document that does not parse is left to Strawberry's own
    parse step. ParserCache raises the syntax error (or the token-limit error) from its hook,
    outside Strawberry's error handling, after ClientErrors has finished: clients then got the
    message without extensions.code. Strawberry's parse step reports it as a request error,
    which ClientErrors codes BAD_USER_INPUT like any other."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


def _validation_rules(settings: Settings) -> list:
    """Built once: rule classes made per request would defeat the validation cache."""
    depth = QueryDepthLimiter(max_depth=settings.max_query_depth)
    aliases = MaxAliasesLimiter(max_alias_count=settings.max_aliases)
    return [*depth.validation_rules, *aliases.validation_rules]


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or get_settings()
    rules = _validation_rules(settings)
    extensions = [
        ClientErrors,
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: RequestParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
    )
