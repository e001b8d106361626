"""The Starlette app: /graphql (HTTP and websocket; GraphiQL for a browser), /healthz, /readyz,
the playground's assets (/playground/) and the example wallet page (/wallet/).

Run it with `walletql serve`, or `uvicorn walletql.app:app --workers 2`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from tortoise import connections

from walletql import auth, db, ids, origin_log, playground, rounds, shortcuts
from walletql.api import build_schema
from walletql.expiry import sweep_expired_holds
from walletql.fanout import SharedData
from walletql.ledger import throttle
from walletql.log_format import use_json_lines
from walletql.readiness import Database, UnavailableAnswers
from walletql.request_body import check_operation_name, decode_json, refuse_non_object
from walletql.schema.common import serve_currencies
from walletql.schema.context import Context
from walletql.services import Services, build_services
from walletql.sessions import Sessions
from walletql.settings import Settings, load
from walletql.shortcuts.tortoise import pool_use
from walletql.ws_protocols import ClosingAdapter, GraphQLWSHandler, TransportWSHandler

log = logging.getLogger("walletql.app")


class WalletGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with walletql's context: the caller comes from the bearer token."""

    graphql_transport_ws_handler_class = TransportWSHandler  # malformed messages: 4400
    graphql_ws_handler_class = GraphQLWSHandler  # legacy: queries and mutations too
    websocket_adapter_class = ClosingAdapter  # close reasons cut to fit a close frame

    def __init__(
        self,
        schema,
        *,
        services: Services,
        sessions: Sessions,
        max_response_bytes: int,
        **options,
    ) -> None:
        super().__init__(schema, **options)
        self.services = services
        self.sessions = sessions
        self.max_response_bytes = max_response_bytes
        self.closed_sockets = ClosedSockets()

    def encode_json(self, data: object) -> str | bytes:
        if isinstance(data, dict) and (shared := _shared_message(data)) is not None:
            return shared
        encoded = super().encode_json(data)
        if len(encoded) > self.max_response_bytes:
            return super().encode_json(_too_large(data, len(encoded), self.max_response_bytes))
        return encoded

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)  # anything malformed is a JSONDecodeError: HTTP 400

    async def parse_http_body(self, request):
        await refuse_non_object(request)
        data = await super().parse_http_body(request)
        check_operation_name(data)
        return data

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's own page loads GraphiQL from a public CDN (blank offline); this one
        # loads the copies vendored in walletql/playground.
        return playground.graphiql_page()

    async def get_context(self, request, response) -> Context:
        context = Context(services=self.services, request=request, response=response)
        serve_currencies(self.services.currencies)
        if isinstance(request, Request):
            await _sign_in(context, request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context):
        params = getattr(context, "connection_params", None) or {}
        header = params.get("authorization") or params.get("Authorization")
        if not isinstance(header, str):
            header = context.request.headers.get("authorization")
        token = auth.bearer_token(header)
        caller = await auth.caller_of(token, self.services.live_tokens)
        if caller is None or token is None:
            raise ConnectionRejectionError()
        context.session = self.sessions.open(context.request, caller, token)
        context.request.state.session = context.session
        _act_as(context, caller, token)
        return None

    async def run(self, request, *args, **kwargs):
        try:
            return await super().run(request, *args, **kwargs)
        finally:
            # A websocket's run lasts as long as the socket: once it returns, the socket is
            # closed and its session is forgotten (its expiry timer with it).
            session = getattr(getattr(request, "state", None), "session", None)
            if session is not None:
                self.sessions.forget(session)
            if isinstance(request, WebSocket):
                self.closed_sockets.one_closed()


def _shared_message(message: dict) -> str | None:
    """A `next` message around a result its subscribers share (walletql.fanout): the payload
    encoded once for all of them, the message put together around it."""
    payload = message.get("payload")
    if message.get("type") != "next" or not isinstance(payload, dict) or len(payload) != 1:
        return None  # errors or extensions: encoded as usual
    data = payload.get("data")
    if not isinstance(data, SharedData):
        return None
    operation = json.dumps(message["id"])
    return f'{{"id":{operation},"type":"next","payload":{{"data":{data.json()}}}}}'


async def _sign_in(context: Context, header: str | None) -> None:
    token = auth.bearer_token(header)
    caller = await auth.caller_of(token, context.services.live_tokens)
    if caller is not None and token is not None:
        _act_as(context, caller, token)


def _too_large(data: object, size: int, limit: int) -> dict:
    """What is sent instead of an answer over WALLETQL_MAX_RESPONSE_BYTES: an error, in the
    place the answer had (an HTTP body, or a websocket message's payload). The query cost limit
    keeps answers far below it; this bounds what reaches the wire whatever the cost model
    missed."""
    error = {
        "message": f"The answer would be {size:,} bytes, more than the limit of {limit:,} "
        "(WALLETQL_MAX_RESPONSE_BYTES): ask for fewer items or fewer fields.",
        "extensions": {"code": "BAD_USER_INPUT", "size": size, "limit": limit},
    }
    answer = {"data": None, "errors": [error]}
    if isinstance(data, dict) and "id" in data and "type" in data:  # a websocket message
        return {**data, "payload": answer}
    return answer


def _act_as(context: Context, caller: auth.Caller, token: str) -> None:
    context.principal = caller.principal
    context.token = token
    context.token_digest = caller.digest
    context.token_expires_at = caller.expires_at
    context.user = caller.user


def _revocations(sessions: Sessions, live_tokens: auth.LiveTokens):
    """What a revocation notification does here, and what a lost or regained feed does: the
    token cache forgets, and the websockets acting for the token close."""

    def revoked(digest: str) -> None:
        live_tokens.forget(digest)
        sessions.revoked(digest)

    def listening(on: bool) -> None:
        live_tokens.listening(on)
        sessions.listening(on)

    return revoked, listening


async def healthz(request: Request) -> Response:
    # Liveness only, no I/O. "subscribers" (this process's live balance subscribers, a number
    # and nothing else) lets operators and the real-server tests see subscriptions released;
    # "replica" (with WALLETQL_READ_DATABASE_URL) where this process's queries read and waited.
    feed = request.app.state.services.feed
    body: dict = {"status": "ok", "subscribers": feed.subscriber_count}
    if (replica := request.app.state.schema.replica) is not None:
        body["replica"] = replica.figures()
    return JSONResponse(body)


async def readyz(request: Request) -> Response:
    if not request.app.state.database.ready:  # the database was down at start-up
        return JSONResponse({"status": "unavailable"}, status_code=503)
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure means not ready; the reason is in the database's own log
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


def _settle_heap() -> None:
    """Keep the garbage collector's full passes rare and short. They walk every tracked
    object, and a server holds many long-lived ones (the schema, and with 1,000 subscribers
    their generator chains): each pass paused delivery for 100+ ms, the whole tail of the
    fan-out latency (bench/FINDINGS.md, finding 8). Start-up's objects are frozen out of every
    pass; the young generation is collected after 20,000 allocations instead of 700. (Making
    only full passes rarer, with default young generations, let garbage pile up.)"""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


class ClosedSockets:
    """Frees what closed websockets leave behind. Their objects sit in reference cycles
    (uvicorn's protocol and transport, Strawberry's handler, their tasks) that only a full
    collection frees, and _settle_heap makes full collections rare: 2,000 closed sockets kept
    their memory, and more connections grew it further. So once EVERY sockets have closed, a
    full collection runs, at most once per INTERVAL seconds (each one pauses the process, and a
    client opening and closing sockets must not be able to pause it at will)."""

    EVERY = 100
    INTERVAL = 30.0

    def __init__(self) -> None:
        self.closed = 0
        self.collections = 0
        self._last: float | None = None  # when the last collection ran; None: never
        self._pending: asyncio.TimerHandle | None = None

    def one_closed(self) -> None:
        self.closed += 1
        if self.closed >= self.EVERY and self._pending is None:
            loop = asyncio.get_running_loop()
            # The first at once. Not from a made-up "last" time: the loop's clock starts near
            # zero on a freshly booted machine.
            delay = (
                0.0 if self._last is None else max(0.0, self._last + self.INTERVAL - loop.time())
            )
            self._pending = loop.call_later(delay, self._collect)

    def _collect(self) -> None:
        self._pending = None
        self.closed = 0
        self._last = asyncio.get_running_loop().time()
        self.collections += 1
        gc.collect()
        _return_free_memory()


def _return_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's malloc_trim), so that memory
    freed by closed sockets shows as freed; elsewhere, nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The ASGI app, on `settings` (by default, the environment's). It holds one Services
    (walletql.services), handed to every resolver on the context. `manage_database=False`
    leaves the ORM to the caller (the test suite)."""
    settings = settings or load()
    services = build_services(settings)  # a bad operation catalog stops start-up, naming it
    shortcuts.install(settings.fast_paths)
    origin_log.install()
    schema = build_schema(settings, services.metrics)
    if settings.log_format == "json":
        use_json_lines(settings.log_level)
    sessions = Sessions(services.live_tokens)
    graphql = WalletGraphQL(
        schema,
        services=services,
        sessions=sessions,
        max_response_bytes=settings.max_response_bytes,
        allowed_origins=settings.cors_origins,
        keep_alive=True,
        keep_alive_interval=15,
    )

    database = Database(ready=not manage_database, migrate=settings.migrate_on_start)
    answered = UnavailableAnswers(graphql, database)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if not manage_database:
            yield
            return
        url = db.database_url(settings)
        # Checked, migrated, the ORM open and what else start-up reads from the database (the
        # id key); while the database is unavailable, once it is back (walletql.readiness).
        session_url = db.session_url(settings)
        await database.start(url, settings.db_pool_size, ids.load, session_url=session_url)
        services.feed.watch(auth.REVOKED_CHANNEL, *_revocations(sessions, services.live_tokens))
        await services.feed.start(session_url)  # listening, or retrying while the database is down
        sweeper = asyncio.create_task(
            sweep_expired_holds(
                settings.hold_sweep_seconds,
                services.turns,
                lambda: database.ready,
                services.metrics,
            ),
            name="walletql-hold-sweeper",
        )
        forgetting = asyncio.create_task(
            rounds.every(
                throttle.FORGET_EVERY,
                lambda: database.ready,
                throttle.forget,
                "forgetting old sign-in records",
            ),
            name="walletql-sign-in-forgetting",
        )
        background = [sweeper, forgetting]
        if services.metrics is not None:
            from walletql.metrics import sample_pool  # prometheus-client only when metrics are on

            background.append(
                asyncio.create_task(
                    sample_pool(services.metrics, pool_use), name="walletql-pool-sampler"
                )
            )
        _settle_heap()
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await services.feed.stop()
            if schema.replica is not None:
                await schema.replica.close()
            await database.stop()

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type"],
                max_age=600,
            )
        )
    starlette = Starlette(
        routes=[
            Route("/graphql", answered, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", answered),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *playground.routes(),
        ],
        middleware=middleware,
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    starlette.state.database = database
    starlette.state.services = services
    starlette.state.schema = schema
    return starlette


app: Starlette  # declared only: built on first access, by __getattr__


def __getattr__(name: str):
    # `uvicorn walletql.app:app` builds the app on first access, so importing this module
    # (tests, tools) never reads settings or touches a database.
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
