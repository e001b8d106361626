"""The two websocket subprotocols, hardened against what a client may send.

Strawberry's handlers read a message's fields as the protocol says they are: a message that is
not an object, an id that is not a string, a `subscribe` whose payload is a string, a query that
is not a string raised TypeError or KeyError inside the handler, which ended the socket with
1006/1011 and a traceback in the server log (or, for a query of another type, answered
INTERNAL_SERVER_ERROR). These handlers check each message's shape first, as Strawberry's HTTP
view checks a request body, and hand only well-formed messages to Strawberry:

- graphql-transport-ws: a malformed message closes the socket with 4400, the protocol's code
  for it (Strawberry's own `handle_invalid_message`).
  A `connection_init` whose payload is null is one without a payload (the protocol allows both;
  Strawberry closed a null one with 4400).
- graphql-ws (the legacy subscriptions-transport-ws protocol): a message it cannot parse (not
  JSON, not an object, of no known type) and a second `connection_init` are answered
  `connection_error` and otherwise ignored, as its PROTOCOL.md says (Strawberry dropped the
  first in silence and acknowledged the second again, starting a second keep-alive); a refused
  `connection_init` answers `connection_error` and closes with 4403 (Strawberry closed with
  1011, the websocket code for an internal error), one whose payload is not an object with
  4400; a `start` with a malformed payload answers an `error` message for its id; a `start` or
  `stop` without a usable id closes the socket with 4400. And, as API.graphql's conventions
  promise and the protocol allows, `start` runs queries and mutations too: Strawberry's handler
  calls `schema.subscribe`, which refuses them (InvalidOperationTypeError, answered
  INTERNAL_SERVER_ERROR), so it is given the schema with `subscribe` running any operation,
  through `stream`, as graphql-transport-ws does.

And a refusal that quotes the client (an unknown operation name, an unexpected token) is cut to
fit a close frame (ClosingAdapter). All three are plugged into WalletGraphQL (walletql.app)
through the view's public class attributes `graphql_transport_ws_handler_class`,
`graphql_ws_handler_class` and `websocket_adapter_class`.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any, cast

from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.schema.base import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from walletql.ledger import characters
from walletql.request_body import is_operation_name
from walletql.schema.context import Context

MAX_REASON = 123  # bytes of UTF-8 in a close frame's reason (RFC 6455, 5.5: 125 with the code)
MAX_ID = 128  # characters of an operation id (graphql-ws clients send UUIDs or counters)
TRANSPORT_WS_TYPES = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})
GRAPHQL_WS_TYPES = frozenset({"connection_init", "connection_terminate", "start", "stop"})


def close_reason(reason: str) -> str:
    """`reason` as a close frame can carry it: encodable, and cut to MAX_REASON bytes."""
    data = reason.encode("utf-8", "replace")
    if len(data) <= MAX_REASON:
        return data.decode()
    return data[: MAX_REASON - 3].decode("utf-8", "ignore") + "..."


class ClosingAdapter(ASGIWebSocketAdapter):
    """Strawberry's websocket adapter, closing with a reason a close frame can carry. Some
    refusals quote the client (`Unknown operation named "..."`, `Unexpected Name "..."`): a
    long quote failed to close ("control frame too long"), with a traceback in the log."""

    async def close(self, code: int, reason: str) -> None:
        await super().close(code, close_reason(reason))


def _bad_id(message: dict) -> str | None:
    operation_id = message.get("id")
    if not isinstance(operation_id, str) or not 0 < len(operation_id) <= MAX_ID:
        return f"An operation id is a string of 1 to {MAX_ID} characters"
    if characters.refused(operation_id) is not None:
        return "An operation id must not contain control characters"
    return None


def bad_operation(payload: object) -> str | None:
    """Why a subscribe/start payload is not {query, variables?, operationName?, extensions?},
    as a GraphQL-over-HTTP request body is; None when it is."""
    if not isinstance(payload, dict):
        return "The operation's payload must be an object"
    if not isinstance(payload.get("query"), str):
        return "The operation's query must be a string"
    for field in ("variables", "extensions"):
        if not isinstance(payload.get(field), dict | None):
            return f"The operation's {field} must be an object or null"
    if not is_operation_name(payload.get("operationName")):
        return "The operation's operationName must be a name or null"
    return None


def transport_ws_problem(message: object) -> str | None:
    """Why a graphql-transport-ws message is malformed; None when it is not."""
    if not isinstance(message, dict):
        return "A message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in TRANSPORT_WS_TYPES:
        return "Unknown message type"
    if kind in ("subscribe", "complete") and (problem := _bad_id(message)):
        return problem
    if kind == "subscribe":
        return bad_operation(message.get("payload"))
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: a malformed message closes the socket with 4400."""

    async def handle_message(self, message: Any) -> None:
        if problem := transport_ws_problem(message):
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload", {}) is None:
            message = {"type": "connection_init"}  # "payload?: Record | null": null is none
        await super().handle_message(message)


class _AnyOperation:
    """The schema as the legacy handler sees it: `subscribe` runs any operation."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)

    async def subscribe(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> Any:
        return await self._schema.stream(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )


class GraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws: queries and mutations run too; a malformed message is refused."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = cast("BaseSchema", _AnyOperation(self.schema))  # the same, to its callers

    async def handle(self) -> None:
        # Strawberry's loop, except that a frame which is not JSON is answered (below) rather
        # than skipped: the generator ends on it, so reading starts again after the answer.
        try:
            while True:
                try:
                    async for message in self.websocket.iter_json():
                        await self.handle_message(message)
                    return
                except NonJsonMessageReceived:
                    await self.connection_error("A message must be JSON")
        except NonTextMessageReceived:
            await self.websocket.close(code=1002, reason="WebSocket message type must be text")
        except WebSocketDisconnected:
            pass
        finally:
            if self.keep_alive_task:
                self.keep_alive_task.cancel()
                with suppress(BaseException):
                    await self.keep_alive_task
            await self.cleanup()

    async def connection_error(self, reason: str) -> None:
        """The protocol's answer to a message it cannot take; the connection stays open."""
        await self.send_message({"type": "connection_error", "payload": {"message": reason}})

    async def handle_message(self, message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if not isinstance(kind, str) or kind not in GRAPHQL_WS_TYPES:
            await self.connection_error("Unknown message type")
            return
        if kind in ("start", "stop") and (problem := _bad_id(message)):
            await self.websocket.close(code=4400, reason=problem)
            return
        if kind == "start" and (problem := bad_operation(message.get("payload"))):
            if self.connection_acknowledged:
                await self.send_message(
                    {"type": "error", "id": message["id"], "payload": {"message": problem}}
                )
            else:  # as Strawberry answers any start before the connection is acknowledged
                await self.websocket.close(code=4401, reason="Unauthorized")
            return
        await super().handle_message(message)

    async def handle_async_results(self, *args: Any, **kwargs: Any) -> None:
        # A client gone while its answer was being sent raised out of the operation's task,
        # logged as "Task exception was never retrieved": there is nobody left to tell.
        with suppress(WebSocketDisconnected):
            await super().handle_async_results(*args, **kwargs)

    async def handle_connection_init(self, message: Any) -> None:
        if self.connection_acknowledged:
            await self.connection_error("Too many initialisation requests")
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.connection_error("The connection_init payload must be an object")
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.connection_error("Forbidden")
            await self.websocket.close(code=4403, reason="Forbidden")
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())
