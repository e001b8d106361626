"""Tortoise internals on the money path: its asyncpg pool and its row loader.

Plain Tortoise (the ORM's public connection API, the model's constructor) does the same at a
higher CPU cost per query and per row; tests/test_rows.py runs both ways and compares them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from asyncpg import Record
from tortoise import connections
from tortoise.models import Model

M = TypeVar("M", bound=Model)


async def fetch(sql: str, *params: object) -> list[Record]:
    """Outside a transaction, straight to the asyncpg pool Tortoise opened for "default"
    (`_pool`, created on first use); inside `in_transaction()`, and before the pool exists,
    through Tortoise, which hands out the right connection."""
    client = connections.get("default")
    pool = getattr(client, "_pool", None)
    if pool is not None:
        return await pool.fetch(sql, *params)
    async with client.acquire_connection() as connection:
        return await connection.fetch(sql, *params)


def pool_use() -> tuple[int, int, int] | None:
    """The "default" pool's open, in-use and most connections (asyncpg's own figures, on
    Tortoise's `_pool`), for the metrics; None before the pool exists."""
    try:
        pool = getattr(connections.get("default"), "_pool", None)
    except Exception:  # no ORM open (yet, or any more)
        return None
    if pool is None:
        return None
    size = pool.get_size()
    return size, size - pool.get_idle_size(), pool.get_max_size()


def model(cls: type[M], row: Mapping[str, Any]) -> M:
    """The row as Tortoise's own loader (`_init_from_db`) builds a model from a select."""
    return cls._init_from_db(**row)
