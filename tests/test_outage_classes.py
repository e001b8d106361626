"""walletql.outage.is_unavailable: which errors mean "the database is unavailable" (answered
SERVICE_UNAVAILABLE, logged at WARNING) and which are bugs (INTERNAL_SERVER_ERROR, ERROR)."""

from __future__ import annotations

import logging
import time

import pytest
from asyncpg import exceptions as pg
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from walletql import db, outage


def _raised(make):
    """The exception `make()` raises, with its chain as Python builds it."""
    try:
        make()
    except BaseException as exc:  # noqa: BLE001 - any exception is the value here
        return exc
    raise AssertionError("nothing raised")


def _wrapped(outer, inner):
    def make():
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc

    return _raised(make)


def _replaced(outer, inner):  # `raise outer from None` while handling inner
    def make():
        try:
            raise inner
        except BaseException:
            raise outer from None

    return _raised(make)


def _during(outer, inner):  # outer raised while handling inner, no `from`
    def make():
        try:
            raise inner
        except BaseException:
            raise outer  # noqa: B904 - the implicit chain is what this case is about

    return _raised(make)


UNAVAILABLE = [
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    FileNotFoundError(2, "No such file or directory"),  # a unix socket that is gone
    TimeoutError(),
    pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    pg.ConnectionFailureError("connection failure"),
    pg.CannotConnectNowError("the database system is starting up"),
    pg.AdminShutdownError("terminating connection due to administrator command"),
    pg.CrashShutdownError("terminating connection because of crash of another server process"),
    pg.TooManyConnectionsError("sorry, too many clients already"),
    pg.InterfaceError("connection is closed"),
    pg.InterfaceError("cannot call Connection.fetch(): the underlying connection is closed"),
    pg.InterfaceError("pool is closing"),
    DBConnectionError("Can't establish connection"),
    _wrapped(OperationalError("wrapped"), pg.ConnectionDoesNotExistError("closed")),
    _replaced(db.DatabaseUnavailable("Database unreachable"), ConnectionRefusedError(111, "x")),
    ExceptionGroup("both", [ConnectionResetError(), pg.AdminShutdownError("shutdown")]),
]

BUGS = [
    RuntimeError("a bug"),
    KeyError("a bug"),
    pg.UniqueViolationError("duplicate key"),
    pg.DeadlockDetectedError("deadlock detected"),
    pg.QueryCanceledError("canceling statement due to statement timeout"),
    pg.InvalidPasswordError("password authentication failed"),
    pg.UndefinedTableError('relation "x" does not exist'),
    pg.InterfaceError(
        "cannot call Connection.fetch(): connection has been released back to the pool"
    ),
    IntegrityError("check violation"),
    _wrapped(OperationalError("wrapped"), pg.PostgresSyntaxError("syntax error")),
    _replaced(db.DatabaseUnavailable("refused"), pg.InvalidPasswordError("password")),
    _during(KeyError("a bug in a handler"), ConnectionRefusedError(111, "x")),
    ExceptionGroup("mixed", [ConnectionResetError(), RuntimeError("a bug")]),
    None,
]


@pytest.mark.parametrize("error", UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_database_unavailable(error):
    assert outage.is_unavailable(error)


@pytest.mark.parametrize("error", BUGS, ids=lambda e: type(e).__name__)
def test_not_an_outage(error):
    assert not outage.is_unavailable(error)


def test_an_outage_is_logged_at_most_once_per_interval_without_a_traceback(caplog, monkeypatch):
    quiet = outage._Quiet()
    quiet.INTERVAL = 0.2
    monkeypatch.setattr(outage, "_quiet", quiet)
    error = pg.AdminShutdownError("terminating connection due to administrator command")
    with caplog.at_level(logging.WARNING, logger="walletql.outage"):
        for _ in range(3):
            outage.log_unavailable("req-once-1", error, "wallet")  # one request: one line
        for n in range(5):
            outage.log_unavailable(f"req-flood-{n}", error)  # within the interval: counted
        time.sleep(0.25)
        outage.log_unavailable("req-later", error)
    records = [r for r in caplog.records if r.name == "walletql.outage"]
    assert [r.levelno for r in records] == [logging.WARNING] * 2
    assert "req-once-1" in records[0].getMessage() and "AdminShutdownError" in records[0].message
    assert "req-later" in records[1].getMessage()
    assert "5 more requests met it" in records[1].getMessage()
    assert all(r.exc_info is None for r in records)


def test_a_request_id_is_remembered_among_the_most_recent_ones_only():
    quiet = outage._Quiet(size=2)
    quiet.INTERVAL = 0.0  # every new request is logged: only the ids decide
    assert quiet.first("a") and not quiet.first("a")
    assert quiet.first("b") and quiet.first("c")  # "a" is forgotten
    assert quiet.first("a") and not quiet.first("c")


def test_the_drivers_reconnect_warnings_lose_their_traceback_in_an_outage_only(caplog):
    outage.quiet_driver_logs()
    outage.quiet_driver_logs()  # idempotent: one filter
    driver = logging.getLogger("asyncpg.pool")
    assert sum(isinstance(f, outage._OneLine) for f in driver.filters) == 1
    with caplog.at_level(logging.WARNING, logger="asyncpg.pool"):
        for error in (ConnectionRefusedError(111, "Connection refused"), RuntimeError("a bug")):
            try:
                raise error
            except Exception:
                driver.warning(
                    "Failed to restore the pool connection floor; retrying", exc_info=True
                )
    refused, bug = caplog.records
    assert refused.exc_info is None and "ConnectionRefusedError" in refused.getMessage()
    assert bug.exc_info is not None
