"""One real PostgreSQL database per test run.

With WALLETQL_TEST_DATABASE_URL set, a fresh database is created on that server and dropped at
the end; otherwise an embedded PostgreSQL (pgserver) runs in a temporary directory, as on a
fresh machine. Tests never share state through settings: each that changes them uses
`settings_override`.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from walletql import db, ids, shortcuts
from walletql.settings import Settings, _bool, use_settings

# CI runs the suite twice: with walletql's shortcuts (the default) and without
# (WALLETQL_FAST_PATHS=false: plain Strawberry, Starlette, uvicorn and Tortoise).
FAST_PATHS = _bool("WALLETQL_FAST_PATHS", os.environ.get("WALLETQL_FAST_PATHS", "true"))


def base_settings(url: str) -> Settings:
    return Settings(database_url=url, fast_paths=FAST_PATHS)


def _server_url() -> tuple[str, object | None]:
    url = os.environ.get("WALLETQL_TEST_DATABASE_URL", "").strip()
    if url:
        return url, None
    import pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="walletql-test-"), cleanup_mode="delete")
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
    use_settings(base_settings(url))
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


@pytest.fixture
def settings_override(database_url):
    """Change settings for one test: `with settings_override(minimum_balance=Decimal(20)):`."""

    @contextmanager
    def override(**changes):
        base = base_settings(database_url)
        use_settings(base.with_changes(**changes))
        try:
            yield
        finally:
            use_settings(base)

    return override
