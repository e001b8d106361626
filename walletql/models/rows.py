"""The money path's one way to the database: fixed SQL, sent to the connection Tortoise hands
out, and models loaded from its rows. Everything else uses the ORM.

The ORM's query builder costs more CPU per query than the query itself (bench/FINDINGS.md,
finding 1).
With WALLETQL_FAST_PATHS on (the default), the two calls below go through Tortoise internals
(walletql.shortcuts.tortoise); off, through its public API. tests/test_rows.py compares both
ways with the ORM's own path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from asyncpg import Record
from tortoise import connections
from tortoise.models import Model

from walletql.shortcuts import tortoise as shortcut

M = TypeVar("M", bound=Model)


async def fetch_plain(sql: str, *params: object) -> list[Record]:
    """The rows of `sql`, on the connection Tortoise hands out (the transaction's inside
    `in_transaction()`). Errors are asyncpg's own (`asyncpg.PostgresError` subclasses)."""
    async with connections.get("default").acquire_connection() as connection:
        return await connection.fetch(sql, *params)


def model_plain(cls: type[M], row: Mapping[str, Any]) -> M:
    """`row` (every column of `cls`'s table) as a `cls`, as a stored row (saving it updates
    it). The model's constructor converts each value as the ORM converts it when it loads a
    row, except numerics: asyncpg gives them as the ORM keeps them, and the constructor would
    round them again, which a balance near the largest allowed cannot take (28 digits)."""
    names = row.keys()  # noqa: SIM118 - iterating an asyncpg Record gives its values
    values = {name: row[name] for name in names}
    numerics = {name: value for name, value in values.items() if isinstance(value, Decimal)}
    converted = cls(**{name: value for name, value in values.items() if name not in numerics})
    # Columns that are not the model's (a join's) are left out.
    fields = {name: getattr(converted, name) for name in values if hasattr(converted, name)}
    fields.update((name, value) for name, value in numerics.items() if name in fields)
    return cls.construct(_saved_in_db=True, **fields)


@dataclass
class _Loading:
    """How rows are fetched and loaded in this process (set by walletql.shortcuts.install)."""

    fetch: Callable[..., Awaitable[list[Record]]]
    model: Callable[..., Any]


_loading = _Loading(shortcut.fetch, shortcut.model)


def use_fast_paths(on: bool) -> None:
    _loading.fetch = shortcut.fetch if on else fetch_plain
    _loading.model = shortcut.model if on else model_plain


async def fetch(sql: str, *params: object) -> list[Record]:
    return await _loading.fetch(sql, *params)


def model(cls: type[M], row: Mapping[str, Any]) -> M:
    """`row` (every column of `cls`'s table, from a select or a composite value) as a `cls`,
    as the ORM would load it."""
    return _loading.model(cls, row)


async def fetch_one(cls: type[M], sql: str, *params: object) -> M | None:
    """The first row of `sql` (which selects the model's table's columns) as a `cls`."""
    rows = await fetch(sql, *params)
    return model(cls, rows[0]) if rows else None


async def fetch_all(cls: type[M], sql: str, *params: object) -> list[M]:
    return [model(cls, row) for row in await fetch(sql, *params)]
