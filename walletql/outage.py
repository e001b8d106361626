"""What "the database is unavailable" means, decided in one place.

An outage is not a bug: a request that meets one answers SERVICE_UNAVAILABLE (an active
subscription ends with FEED_INTERRUPTED) and is logged once at WARNING, without a traceback;
anything else unexpected stays INTERNAL_SERVER_ERROR, logged at ERROR with its traceback.
docs/operations.md, "Database outages", says what clients and operators see.
"""

from __future__ import annotations

import logging
import time

from asyncpg import exceptions as pg
from cachetools import LRUCache

log = logging.getLogger("walletql.outage")

CODE = "SERVICE_UNAVAILABLE"
MESSAGE = "The service is temporarily unavailable (its database cannot be reached); try again"

# asyncpg's own: the connection is gone or refused (SQLSTATE class 08, including "connection
# was closed in the middle of operation"), the server is starting up or shutting down (57P03,
# 57P01, 57P02: pg_ctl stop, a crash, a failover), or it takes no more connections (53300).
_SERVER_SIDE = (
    pg.PostgresConnectionError,
    pg.CannotConnectNowError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.TooManyConnectionsError,
)
_UNAVAILABLE = (OSError, *_SERVER_SIDE)
_MAX_DEPTH = 8  # how far down a chain of wrapped exceptions to look


def is_unavailable(exc: BaseException | None) -> bool:
    """True when `exc` means the database cannot be reached right now, as opposed to a bug.

    - OSError: refused, reset, unreachable, a missing unix socket, a DNS failure, and
      TimeoutError (connecting, or waiting for a pooled connection). Tortoise's
      DBConnectionError is a ConnectionError too.
    - asyncpg's errors for a lost, refused or shutting-down server (see _SERVER_SIDE).
    - asyncpg's InterfaceError on a closed connection or pool ("connection is closed", "the
      underlying connection is closed", "pool is closing"), and not its other uses (a
      connection used after release is a bug).
    - Any of these wrapped: Tortoise's OperationalError and DBConnectionError raise `from`
      the driver's error (`__cause__`), db.DatabaseUnavailable replaces it (`from None`), and
      an exception group of nothing but outages.
    """
    for _ in range(_MAX_DEPTH):
        if exc is None:
            return False
        if isinstance(exc, _UNAVAILABLE):
            return True
        if isinstance(exc, pg.InterfaceError):
            text = str(exc)
            return "is closed" in text or "is closing" in text
        if isinstance(exc, BaseExceptionGroup):
            return all(is_unavailable(inner) for inner in exc.exceptions)
        # `raise X from Y` names Y as the cause; `raise X from None` replaces the exception
        # being handled (db.check_reachable's one-line DatabaseUnavailable does): X is judged
        # by either. An exception merely raised while handling another is judged by itself.
        exc = exc.__cause__ or (exc.__context__ if exc.__suppress_context__ else None)
    return False


class _Quiet:
    """At most one line per INTERVAL seconds: an outage under load met thousands of requests a
    second, each worth a line. The first is logged at once; the next after the interval, with
    how many went unlogged meanwhile. A request id is logged once however many of its fields
    met the outage."""

    INTERVAL = 5.0

    def __init__(self, size: int = 1024) -> None:
        self._ids: LRUCache[str, None] = LRUCache(maxsize=size)  # the request ids logged
        self._next = 0.0
        self.unlogged = 0

    def first(self, request_id: str) -> bool:
        """True when this request's outage is to be logged now."""
        if request_id:
            if request_id in self._ids:
                return False
            self._ids[request_id] = None
        now = time.monotonic()
        if now < self._next:
            self.unlogged += 1
            return False
        self._next = now + self.INTERVAL
        return True


# One per process, like the log it keeps quiet: its callers (api.client_error, which sees a
# request id and no context, and readiness.UnavailableAnswers) share this process's one log.
_quiet = _Quiet()


def log_unavailable(request_id: str, exc: BaseException, where: str = "") -> None:
    """WARNING naming the error's type and text, at most one line per _Quiet.INTERVAL (no
    traceback: the cause is in the database's own log, and an outage would otherwise flood
    this one)."""
    if not _quiet.first(request_id):
        return
    unlogged, _quiet.unlogged = _quiet.unlogged, 0
    log.warning(
        "request %s: database unavailable%s (%s: %s)%s",
        request_id or "-",
        f" at {where}" if where else "",
        type(exc).__name__,
        exc,
        f"; {unlogged} more requests met it since the last line" if unlogged else "",
    )


class _OneLine(logging.Filter):
    """A driver's warning about an outage in one line, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and is_unavailable(exc):
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args = ()
            record.exc_info = record.exc_text = None
        return True


def quiet_driver_logs() -> None:
    """asyncpg's pool logs a traceback at every failed attempt to reconnect its minimum of
    connections (WARNING, 'Failed to restore the pool connection floor'): while the database
    is down, one line each is enough. Idempotent."""
    driver = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, _OneLine) for f in driver.filters):
        driver.addFilter(_OneLine())
