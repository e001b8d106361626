"""Run fixed SQL on the request hot path, straight on the connection pool, and load models from
its rows. The ORM's query builder costs about 0.2 ms of CPU per query, more than the query
itself; its client wrapper (exception translation, a pool context manager, debug logging, a
dict per row) is skipped too, though that bought nothing measurable (bench/FINDINGS.md, 16)."""

from __future__ import annotations

from typing import TypeVar

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


async def fetch_one(model: type[M], sql: str, *params: object) -> M | None:
    """The first row of `sql` (which selects the model's table's columns) as a `model`."""
    rows = await fetch(sql, *params)
    return model._init_from_db(**rows[0]) if rows else None


async def fetch_all(model: type[M], sql: str, *params: object) -> list[M]:
    return [model._init_from_db(**row) for row in await fetch(sql, *params)]
