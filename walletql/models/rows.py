"""The money path's one way to the database: fixed SQL, sent straight to the connection pool,
and models loaded from its rows. Everything else uses the ORM.

The ORM's query builder costs more CPU per query than the query itself (bench/FINDINGS.md, 16).
The two Tortoise internals this needs (the pool it opened, `_pool`, and its row loader,
`_init_from_db`) are used here and nowhere else; tests/test_rows.py compares both with the
ORM's own path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from asyncpg import Record
from tortoise import connections
from tortoise.models import Model

M = TypeVar("M", bound=Model)


async def fetch(sql: str, *params: object) -> list[Record]:
    """The rows of `sql`. Errors are asyncpg's own (`asyncpg.PostgresError` subclasses).

    Outside a transaction this goes to the asyncpg pool that Tortoise opened for the "default"
    connection (`_pool`, which Tortoise creates on first use); inside `in_transaction()`, and
    before the pool exists, through Tortoise, which hands out the right connection."""
    client = connections.get("default")
    pool = getattr(client, "_pool", None)
    if pool is not None:
        return await pool.fetch(sql, *params)
    async with client.acquire_connection() as connection:
        return await connection.fetch(sql, *params)


def model(cls: type[M], row: Mapping[str, Any]) -> M:
    """`row` (every column of `cls`'s table, from a select or a composite value) as a `cls`,
    exactly as the ORM would load it."""
    return cls._init_from_db(**row)


async def fetch_one(cls: type[M], sql: str, *params: object) -> M | None:
    """The first row of `sql` (which selects the model's table's columns) as a `cls`."""
    rows = await fetch(sql, *params)
    return model(cls, rows[0]) if rows else None


async def fetch_all(cls: type[M], sql: str, *params: object) -> list[M]:
    return [model(cls, row) for row in await fetch(sql, *params)]
