"""A posting reaches every subscriber of its wallet at once: what they are sent is made once.

Two things are shared, each under an explicit key, and nothing else:
- the update (a BalanceUpdate, its transaction loaded once), by event: (wallet id, version).
  It is built from the event alone and holds nothing that depends on who receives it.
- with WALLETQL_FAST_PATHS on, the executed result and its JSON, by SharedKey: the event, the
  viewer, the operation and its variables. The viewer is the subscriber's principal, the one
  thing about the caller that a field may read under BalanceUpdate: any field that depends on
  who is asking (a wallet's payment token, say) is then computed per viewer.
  tests/api/test_subscription_sharing.py selects every field reachable under BalanceUpdate and
  fails if one reads anything else about the caller.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from cachetools import LRUCache

from walletql.auth import Principal


class SharedKey(NamedTuple):
    event: tuple[int, int]  # (wallet id, version)
    asked: tuple  # asked_by(...): who subscribed, to what (fixed for the subscription's life)


def asked_by(viewer: Principal | None, operation: object, coerced: dict) -> tuple:
    """Who subscribed (the principal, as its repr: every field of it, in a string whose hash
    Python keeps), the operation (its id(); the entry keeps the operation to check it) and its
    variables. Made once per subscription, of builtins only: it is looked up once per
    subscriber and event, and hashing a dataclass would call Python each time."""
    return (repr(viewer), id(operation), variables_key(coerced))


class SharedData(dict):
    """A result's data shared by its subscribers, encoded as JSON once for all of them: only
    the operation id differs between their messages."""

    __slots__ = ("_json",)

    def json(self) -> str:
        try:
            return self._json
        except AttributeError:
            self._json: str = json.dumps(self, separators=(",", ":"))
            return self._json


def variables_key(coerced: dict) -> object:
    try:
        return frozenset(coerced.items())  # IDs and numbers: hashable, and cheap
    except TypeError:  # a list or an input object among them
        return json.dumps(coerced, sort_keys=True, default=str)


class Fanout:
    """The shared updates and results of one process, the most recent kept."""

    def __init__(self, updates: int = 2048, results: int = 256) -> None:
        self._updates: LRUCache[tuple[int, int], asyncio.Future] = LRUCache(updates)
        self._results: LRUCache[SharedKey, tuple[object, Any]] = LRUCache(results)
        # The entry looked up last: an event's subscribers ask for it one after another.
        self._last: tuple[SharedKey, object, Any] | None = None

    async def update(self, event: tuple[int, int], build: Callable[[], Awaitable[Any]]) -> Any:
        """The update of `event`, built once by `build` for every subscriber that asks."""
        future = self._updates.get(event)
        if future is None:
            future = self._updates[event] = asyncio.ensure_future(build())
        try:
            if future.done():
                return future.result()
            return await asyncio.shield(future)
        except Exception:
            self._updates.pop(event, None)  # the next subscriber tries again
            raise

    def result(self, key: SharedKey, operation: object, execute: Callable[[], Any]) -> Any:
        """The result of `execute` (a value or an awaitable), computed once per key. Its data
        becomes SharedData; every subscriber gets the same object, or awaits the same task."""
        last = self._last
        if last is not None and last[0] == key and last[1] is operation:
            result = last[2]  # the other subscribers of the event just delivered
        else:
            cached = self._results.get(key)
            if cached is None or cached[0] is not operation:  # an id() reused after GC
                result = execute()
                task = asyncio.ensure_future(_shared_data(result)) if _awaitable(result) else None
                cached = self._results[key] = (operation, task or _with_shared_data(result))
            result = cached[1]
            self._last = (key, operation, result)
        return _awaited(result) if isinstance(result, asyncio.Future) else result

    def __len__(self) -> int:
        return len(self._results)


def _awaitable(value: object) -> bool:
    return hasattr(value, "__await__")


def _with_shared_data(result: Any) -> Any:
    if isinstance(getattr(result, "data", None), dict):
        result.data = SharedData(result.data)
    return result


async def _shared_data(result: Awaitable[Any]) -> Any:
    return _with_shared_data(await result)


async def _awaited(result: asyncio.Future) -> Any:
    return result.result() if result.done() else await asyncio.shield(result)
