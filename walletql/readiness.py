"""Whether this process can serve, and what /graphql answers when the database is unavailable.

A worker starts whatever the database is doing. At start-up it checks the database, applies
pending migrations and opens the ORM (whose pool connects on first use); while the database is
unavailable (walletql.outage) it starts anyway and keeps trying in the background, so that it
answers SERVICE_UNAVAILABLE rather than refusing connections, and /readyz answers 503 until it
is ready. Anything else (a refused password, a database that does not exist, a failed
migration) still fails start-up, in one line.

What no GraphQL execution can answer is answered by `UnavailableAnswers`, around /graphql:
before the database is ready, and when the caller's token cannot be looked up (HTTP: before
execution; a websocket: at connection_init). HTTP answers 503 with a GraphQL error body; a
websocket is closed with CLOSE_UNAVAILABLE. docs/operations.md, "Database outages".
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from walletql import db, outage

log = logging.getLogger("walletql.readiness")

# 1013 "Try Again Later" (RFC 6455 registry): graphql-ws clients reconnect after it, where they
# give up after 1011 "Internal Error" and after their own 4xxx codes (4403 means a bad token).
CLOSE_UNAVAILABLE = 1013
_CLOSE_REASON = "Service temporarily unavailable; try again"
_SUBPROTOCOLS = ("graphql-transport-ws", "graphql-ws")
RETRY_MIN = 0.5  # seconds between start-up attempts while the database is down: doubling...
RETRY_MAX = 5.0  # ...up to this


class Database:
    """This process's hold on the database: `ready` once it is reachable, migrated and the
    ORM is open (and whatever else start-up needs of it, `then`)."""

    def __init__(self, ready: bool = False, migrate: bool = True) -> None:
        self.ready = ready  # True for an app whose database the caller manages (the tests)
        # False: pending migrations are waited for, as an outage is (db.MigrationsPending),
        # until `walletql migrate` applies them (WALLETQL_MIGRATE_ON_START).
        self.migrate = migrate
        self._orm_open = False
        self._retrying: asyncio.Task | None = None
        self._session_url: str | None = None

    async def start(
        self,
        url: str,
        pool_size: int,
        *then: Callable[[], Awaitable[object]],
        session_url: str | None = None,
    ) -> None:
        """Prepare now, or, while the database is unavailable, in the background. Migrations
        run through `session_url` (a direct connection) when a pooler fronts `url`."""
        outage.quiet_driver_logs()
        self._session_url = session_url or url
        try:
            await self._prepare(url, pool_size, then)
        except Exception as exc:
            if not outage.is_unavailable(exc):
                raise
            log.warning(
                "Database unavailable at start-up (%s); answering SERVICE_UNAVAILABLE until "
                "it is back",
                exc,
            )
            self._retrying = asyncio.create_task(
                self._retry(url, pool_size, then), name="walletql-database-start"
            )

    async def stop(self) -> None:
        task, self._retrying = self._retrying, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        if self._orm_open:
            self._orm_open = self.ready = False
            await db.close_orm()

    async def _prepare(self, url: str, pool_size: int, then) -> None:
        if not self._orm_open:
            await db.check_reachable(url)
            # Before the ORM opens: aerich initialises Tortoise its own way.
            session = self._session_url or url
            await (db.migrate(session) if self.migrate else db.require_migrated(session))
            await db.open_orm(url, pool_size)
            self._orm_open = True
        for step in then:
            await step()
        self.ready = True

    async def _retry(self, url: str, pool_size: int, then) -> None:
        delay = RETRY_MIN
        while True:
            await asyncio.sleep(delay)
            try:
                await self._prepare(url, pool_size, then)
            except Exception as exc:
                if outage.is_unavailable(exc):
                    delay = min(RETRY_MAX, delay * 2)
                else:  # not an outage: nothing will fix it by itself; keep saying so
                    log.error("Database start-up failed: %s", exc, exc_info=exc)
                    delay = RETRY_MAX
                continue
            log.warning("Database reachable: serving")
            return


def _unavailable_body(request_id: str) -> dict:
    error = {
        "message": outage.MESSAGE,
        "extensions": {"code": outage.CODE, "requestId": request_id},
    }
    return {"errors": [error]}


class UnavailableAnswers:
    """ASGI wrapper of the GraphQL view: SERVICE_UNAVAILABLE for what it cannot answer itself
    (see the module's docstring). Any other exception passes through untouched."""

    def __init__(self, app, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope, receive, send) -> None:
        if not self.database.ready:
            await self._answer(scope, receive, send, {}, "not reached since start-up")
            return
        sent: dict[str, dict] = {}

        async def tracked(message: dict) -> None:
            sent[message["type"]] = message
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if not outage.is_unavailable(exc):
                raise
            await self._answer(scope, receive, send, sent, exc)

    async def _answer(self, scope, receive, send, sent: dict, why) -> None:
        request_id = uuid.uuid4().hex[:16]
        if isinstance(why, BaseException):
            outage.log_unavailable(request_id, why, "sign-in")
        else:
            outage.log_unavailable(request_id, ConnectionError(why))  # no exception at hand
        if scope["type"] == "http":
            if "http.response.start" in sent:
                return  # an answer has begun: nothing better to send than its end
            response = JSONResponse(_unavailable_body(request_id), status_code=503)
            await response(scope, receive, send)
            return
        if "websocket.close" in sent:
            return
        accepted = sent.get("websocket.accept")
        if accepted is None:
            offered = scope.get("subprotocols") or []
            subprotocol = next((p for p in offered if p in _SUBPROTOCOLS), None)
            await WebSocket(scope, receive, send).accept(subprotocol=subprotocol)
        else:
            subprotocol = accepted.get("subprotocol")
        if subprotocol == "graphql-ws":  # the legacy protocol has a message for this
            error = {"type": "connection_error", "payload": _unavailable_body(request_id)}
            await send({"type": "websocket.send", "text": json.dumps(error)})
        await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE, "reason": _CLOSE_REASON})
