"""What an answered GraphQL operation leaves behind when operators asked for it: a sample in the
metrics (WALLETQL_METRICS, walletql.metrics) and one JSON log line (WALLETQL_LOG_FORMAT=json).

walletql.api calls it once per query or mutation, over HTTP or a websocket, and once per
subscription when it ends. With both settings off there is no Telemetry at all, and nothing
here runs.

The log line names the request, the operation (its name, which the client chose, only in the
log: never a metric label), its type, the caller's public user id, the duration and the
outcome code: never a variable, a header or a result, so no password, token, key or payment
token can reach it.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, OperationDefinitionNode, parse

from walletql import ids

if TYPE_CHECKING:
    from walletql.metrics import Metrics
    from walletql.shortcuts.strawberry import Documents

log = logging.getLogger("walletql.requests")

UNKNOWN = "unknown"  # the type of an operation that did not parse, or is not in its document
MAX_NAME = 100  # characters of an operation name kept in the log


class Telemetry:
    def __init__(
        self, metrics: Metrics | None, log_lines: bool, documents: Documents | None, max_tokens: int
    ) -> None:
        self.metrics = metrics
        self.log_lines = log_lines
        self._documents = documents
        self._max_tokens = max_tokens

    @staticmethod
    def clock() -> float:
        return perf_counter()

    def answered(
        self,
        context: Any,
        query: object,
        operation_name: str | None,
        outcome: str,
        started: float,
        subscription: bool = False,
    ) -> None:
        """One operation answered (a subscription: ended) with `outcome`, begun at `started`
        (clock())."""
        seconds = perf_counter() - started
        operation_type, name = self.operation(query, operation_name)
        if self.metrics is not None:
            # A subscription's life is not a latency: it is counted, not timed.
            self.metrics.request(operation_type, outcome, None if subscription else seconds)
        if self.log_lines:
            log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": getattr(context, "request_id", None),
                        "operation_name": name[:MAX_NAME] if name else None,
                        "operation_type": operation_type,
                        "caller": _caller(context),
                        "duration_ms": round(seconds * 1000, 3),
                        "outcome": outcome,
                    }
                },
            )

    def operation_type(self, query: object, operation_name: str | None) -> str:
        return self.operation(query, operation_name)[0]

    def operation(self, query: object, operation_name: str | None) -> tuple[str, str | None]:
        """The operation's type and name, read from its document: parsed once per text with
        fast paths (the cache the request itself used), otherwise again."""
        if not isinstance(query, str):
            return UNKNOWN, operation_name
        try:
            options = {"max_tokens": self._max_tokens}
            if self._documents is not None:
                document = self._documents.parse(query, options)  # type: ignore[arg-type]
            else:
                document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError:
            return UNKNOWN, operation_name
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            name = definition.name.value if definition.name else None
            if operation_name is None or name == operation_name:
                return definition.operation.value, name
        return UNKNOWN, operation_name


def outcome_of(result: object) -> str:
    """OK, or the code of the result's first error (codes are walletql's: a bounded set)."""
    errors = getattr(result, "errors", None)
    if not errors:
        return "OK"
    code = (getattr(errors[0], "extensions", None) or {}).get("code")
    return code if isinstance(code, str) else "INTERNAL_SERVER_ERROR"


def _caller(context: Any) -> str | None:
    principal = getattr(context, "principal", None)
    if principal is None:
        return None
    try:
        return ids.encode(ids.USER, principal.user_id)
    except RuntimeError:  # no id key loaded (an app without its database): no public id
        return None
