"""Builds the strawberry.Schema: root types, security limits, and how errors reach clients."""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import TYPE_CHECKING, cast

import graphql
import strawberry
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
)
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from walletql import outage
from walletql.cost import LIST_SIZE, Price, Pricing
from walletql.ledger.errors import LedgerError
from walletql.limits import alias_limit, depth_limit
from walletql.literals import too_long
from walletql.replica import ReadReplica, ReplicaReads
from walletql.resolvers.mutation import Mutation
from walletql.resolvers.query import Query
from walletql.resolvers.subscription import Subscription
from walletql.schema.errors import as_graphql_error
from walletql.schema.scalars import SCALARS
from walletql.settings import Settings
from walletql.shortcuts.graphql_core import SharedEventExecution
from walletql.shortcuts.strawberry import Documents
from walletql.telemetry import Telemetry, outcome_of

if TYPE_CHECKING:
    from walletql.metrics import Metrics

log = logging.getLogger("walletql.api")

INTERNAL = "Internal server error"
# Strawberry's refusals of a request as a whole: no query, no operation by that name, an
# operation type this transport does not carry. The client's, like a syntax error.
REQUEST_ERRORS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)
# What execute() answers: one result. A subscription streams (stream(), over a websocket).
ONE_ANSWER = frozenset({OperationType.QUERY, OperationType.MUTATION})


def client_error(
    error: GraphQLError, request_id: str, default_path: list | None = None
) -> GraphQLError:
    """The error as the client sees it; `default_path` for one that came without a path."""
    original = error.original_error
    if error.path is None and default_path is not None and original is not None:
        error = GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=default_path,
            original_error=original,
            extensions=error.extensions,
        )
    if isinstance(original, LedgerError):
        return as_graphql_error(original, error)
    if original is not None and outage.is_unavailable(original):  # not a bug: the client retries
        outage.log_unavailable(request_id, original, ".".join(map(str, error.path or ["?"])))
        return GraphQLError(
            outage.MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": outage.CODE, "requestId": request_id},
        )
    # Syntax, validation, limits and bad variables are GraphQLErrors raised by graphql-core
    # or by our scalars; any other exception is ours, and its text must not leak.
    if original is None or isinstance(original, (GraphQLError, *REQUEST_ERRORS)):
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return error
    log.error(
        "request %s: unexpected error at %s",
        request_id,
        ".".join(map(str, error.path or ["?"])),
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


async def _coded(results: AsyncGenerator, schema: WalletSchema, query, operation, context):
    """Streamed results with client errors. An error raised while a subscription runs comes
    from graphql-core without a path: it belongs to the operation's root field."""
    request_id = getattr(context, "request_id", "")
    async with contextlib.aclosing(results):
        async for result in results:
            if errors := getattr(result, "errors", None):
                path = None
                if any(e.path is None and e.original_error is not None for e in errors):
                    path = _root_field(query, operation, schema.max_tokens)
                result.errors = [client_error(error, request_id, path) for error in errors]
            yield result


async def _told(results: AsyncGenerator, telemetry: Telemetry, query, operation, context):
    """Coded `results`, told to the telemetry: a query or mutation when answered, a
    subscription when it ends (with the code of its first error, if any)."""
    started = telemetry.clock()
    subscription = telemetry.operation_type(query, operation) == "subscription"
    outcome, told = "OK", False
    try:
        async with contextlib.aclosing(results):
            async for result in results:
                if outcome == "OK":
                    outcome = outcome_of(result)
                if not told and not subscription:
                    told = True
                    telemetry.answered(context, query, operation, outcome, started)
                yield result
    finally:
        if not told:
            telemetry.answered(context, query, operation, outcome, started, subscription)


def _root_field(query: str | None, operation_name: str | None, max_tokens: int) -> list | None:
    try:
        operation = get_operation_ast(parse(query or "", max_tokens=max_tokens), operation_name)
    except Exception:  # a document that does not parse has no root field to name
        return None
    if operation is None:
        return None
    field = operation.selection_set.selections[0]
    return [(field.alias or field.name).value] if isinstance(field, FieldNode) else None


class RequestLimits(SchemaExtension):
    """The limits every request meets, at Strawberry's public hooks, in one extension
    (Strawberry wraps every hook of every extension at every request and streamed result):

    - parse: with the schema's token limit (rather than MaxTokensLimiter); with fast paths, the
      document comes from Documents, parsed once per query text; a document that does not
      parse is left to Strawberry's own parse step, which reports it;
    - validate: walletql's depth and alias rules among the rules (instead of
      AddValidationRules); Int literals graphql-core cannot read refused before validation
      (walletql.literals); with fast paths, the errors from Documents, validated once per text;
    - execute: the operation priced (walletql.cost) and refused over the limit; a price is
      kept with its document (Prices) unless a variable changes it."""

    def __init__(
        self, rules: tuple, pricing: Pricing, prices: Prices, documents: Documents | None
    ) -> None:
        self.rules = rules
        self.pricing = pricing
        self.prices = prices
        self.documents = documents

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = cast(WalletSchema, context.schema).max_tokens
        if self.documents is not None and context.query is not None:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = self.documents.parse(
                    context.query, context.parse_options
                )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query, document = context.query, context.graphql_document
        assert document is not None  # validation runs only on a document that parsed
        context.validation_rules = context.validation_rules + self.rules
        if errors := too_long(document):
            context.pre_execution_errors = errors  # Strawberry then validates nothing
        elif self.documents is not None and query is not None:
            context.pre_execution_errors = self.documents.errors(
                context.schema, query, document, context.validation_rules
            )
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # executing: it parsed and validated
        price = self.prices.get(document, context.operation_name)
        if price is None:
            price = self.pricing.price(document, context.operation_name, context.variables)
            if not price.read_variables:
                self.prices.keep(document, context.operation_name, price)
        if price.cost > self.pricing.limit:
            raise GraphQLError(**self.pricing.too_costly(price.cost))
        if hasattr(context.context, "cost"):
            # Lists priced at a guess add what they hold beyond it (cost.charge_list).
            context.context.cost, context.context.per_item = price.cost, price.per_item
        yield


class Prices:
    """Prices by parsed document, the most recent kept. By identity, not by the document's
    own equality (which walks the whole tree): a cached document is the same object at every
    request, and an entry whose document has gone is never matched again."""

    def __init__(self, size: int = 1024) -> None:
        self._prices: LRUCache[int, tuple[weakref.ref, dict[str | None, Price]]] = LRUCache(size)

    def get(self, document: DocumentNode, operation_name: str | None) -> Price | None:
        entry = self._prices.get(id(document))
        if entry is None or entry[0]() is not document:
            return None
        return entry[1].get(operation_name)

    def keep(self, document: DocumentNode, operation_name: str | None, price: Price) -> None:
        entry = self._prices.get(id(document))
        if entry is None or entry[0]() is not document:
            entry = self._prices[id(document)] = (weakref.ref(document), {})
        entry[1][operation_name] = price


class WalletSchema(strawberry.Schema):
    """Every result reaches the client through client_error: domain errors become coded GraphQL
    errors; request errors (syntax, validation, limits, bad variables) stay readable with code
    BAD_USER_INPUT; anything unexpected is masked as INTERNAL_SERVER_ERROR with a request id
    that is also in the server log. Done here rather than in an extension's hooks: Strawberry
    wraps each hook per request and per streamed result, a visible part of the fan-out's CPU
    (finding 23)."""

    def __init__(self, *, max_tokens: int, max_query_length: int, **options) -> None:
        """max_tokens: the most tokens a parsed document may hold; max_query_length: the
        longest document read at all."""
        super().__init__(**options)
        self.max_tokens = max_tokens
        self.max_query_length = max_query_length
        self.pricing: Pricing  # set by build_schema, once the schema is built
        # The parsed documents the request hooks share (fast paths), or None: parsed each time.
        self.documents: Documents | None = None
        # Metrics and request log lines (walletql.telemetry), or None: neither is asked for.
        self.telemetry: Telemetry | None = None
        # Query operations' read replica (WALLETQL_READ_DATABASE_URL), or None.
        self.replica: ReadReplica | None = None

    def _refusal(self, query: object, operation_name: str | None) -> GraphQLError | None:
        """What refuses the request before Strawberry reads it: a document too long, or one
        with several operations and no operationName (the GraphQL specification's rule, which
        Strawberry does not apply: it ran the first)."""
        if (too_long := self._too_long(query)) is not None:
            return too_long
        if operation_name or not isinstance(query, str):
            return None
        try:
            if self.documents is not None:
                document = self.documents.parse(query, {"max_tokens": self.max_tokens})
            else:
                document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None  # Strawberry's own parse step reports it
        if sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) <= 1:
            return None
        return GraphQLError(
            "The document has several operations: name the one to run with operationName.",
            extensions={"code": "BAD_USER_INPUT"},
        )

    def _too_long(self, query: object) -> GraphQLError | None:
        """A document longer than max_query_length is refused unread: lexing one string literal
        of a megabyte took a worker's CPU for a long moment, before anything else could refuse
        it."""
        if not isinstance(query, str) or len(query) <= self.max_query_length:
            return None
        return GraphQLError(
            f"The document is {len(query):,} characters long, more than the limit of "
            f"{self.max_query_length:,} (WALLETQL_MAX_QUERY_LENGTH): pass long values as "
            "variables.",
            extensions={"code": "BAD_USER_INPUT"},
        )

    def process_errors(self, errors, execution_context=None) -> None:
        """Strawberry logs every error at ERROR, expected ones included; client_error logs the
        unexpected ones, with their request id, and nothing else belongs in the log."""

    async def execute(self, query, variable_values=None, context_value=None, **options):
        # graphql-core would run a subscription here as if it were a query, and fail on its
        # stream (INTERNAL_SERVER_ERROR): refused instead (over HTTP: 400).
        allowed = options.get("allowed_operation_types") or ONE_ANSWER
        options["allowed_operation_types"] = ONE_ANSWER.intersection(allowed)
        if self.telemetry is None:
            return await self._answer(query, variable_values, context_value, options)
        started = self.telemetry.clock()
        result = await self._answer(query, variable_values, context_value, options)
        operation = options.get("operation_name")
        self.telemetry.answered(context_value, query, operation, outcome_of(result), started)
        return result

    async def _answer(self, query, variable_values, context_value, options):
        if (refusal := self._refusal(query, options.get("operation_name"))) is not None:
            return PreExecutionError(data=None, errors=[refusal])
        result = await super().execute(query, variable_values, context_value, **options)
        if getattr(result, "errors", None):
            request_id = getattr(context_value, "request_id", "")
            result.errors = [client_error(error, request_id) for error in result.errors]
        return result

    async def stream(
        self,
        query,
        variable_values=None,
        context_value=None,
        root_value=None,
        operation_name=None,
        **options,
    ):
        if (refusal := self._refusal(query, operation_name)) is not None:
            results = _refused(refusal)
        else:
            if getattr(context_value, "session", None) is not None:
                await _as_of_now(context_value)
            results = await super().stream(
                query, variable_values, context_value, root_value, operation_name, **options
            )
            results = _coded(results, self, query, operation_name, context_value)
        if self.telemetry is not None:
            return _told(results, self.telemetry, query, operation_name, context_value)
        return results


async def _refused(error: GraphQLError) -> AsyncGenerator:
    yield PreExecutionError(data=None, errors=[error])


async def _as_of_now(context) -> None:
    """A websocket operation acts for the socket's token as it is now: once the token is
    revoked or expired there is no caller (and the session is closing the socket)."""
    caller = await context.session.caller()
    if caller is None:
        context.principal = context.user = context.token_digest = None
    else:
        context.user = caller.user
        context.principal = caller.principal


def _validation_rules(settings: Settings) -> tuple:
    """The depth and alias limits (walletql.limits, each fragment walked once). Built once: rule
    classes made per request would defeat the validation cache."""
    return (depth_limit(settings.max_query_depth), alias_limit(settings.max_aliases))


def build_schema(settings: Settings, metrics: Metrics | None = None) -> WalletSchema:
    """The schema, with walletql's shortcuts (walletql.shortcuts) when settings.fast_paths is
    on; off, Strawberry's own executor, parsing and validation. Operations are told to
    `metrics`, when given, and logged one JSON line each with WALLETQL_LOG_FORMAT=json."""
    prices = Prices()
    rules = _validation_rules(settings)
    documents = None
    if settings.fast_paths:
        documents = Documents(settings.document_cache_bytes, settings.max_cached_document_bytes)
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: RequestLimits(rules, schema.pricing, prices, documents)
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    replica = None
    if settings.read_database_url is not None:
        replica = ReadReplica(
            settings.read_database_url, settings.db_pool_size, settings.read_wait_ms, metrics
        )
        extensions.append(lambda: ReplicaReads(cast(ReadReplica, replica)))
    schema = WalletSchema(
        max_tokens=settings.max_tokens,
        max_query_length=settings.max_query_length,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=SharedEventExecution if settings.fast_paths else None,
    )
    # Pricing reads names and types only: the schema as printed, read back by graphql-core.
    sdl = graphql.build_schema(schema.as_str())
    schema.pricing = Pricing(sdl, settings.max_query_cost, _list_sizes(settings))
    schema.documents = documents
    if metrics is not None or settings.log_format == "json":
        schema.telemetry = Telemetry(
            metrics, settings.log_format == "json", documents, settings.max_tokens
        )
    schema.replica = replica
    return schema


def _list_sizes(settings: Settings) -> dict[tuple[str, str], int]:
    """The lists whose length the settings bound (the others: walletql.cost.LIST_SIZE)."""
    currencies = len(settings.currencies)
    wallets = max(settings.max_wallets_per_customer, settings.max_wallets_per_merchant)
    return {
        ("Query", "currencies"): currencies,
        ("Query", "operations"): len(settings.operations),
        ("User", "balances"): currencies,
        ("User", "wallets"): wallets if settings.max_wallets_per_customer else LIST_SIZE,
    }
