"""What a websocket costs the server, and what it leaves behind once closed.

Found by an attack run: 2,000 idle authenticated websockets took a worker from 55 to 123 MB,
not released after close. Each socket carried zlib state for permessage-deflate, and closed
sockets' objects sat in reference cycles that only the rare full collections free.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from websockets.asyncio.client import connect

from walletql.app import ClosedSockets


async def test_walletql_serve_does_not_compress_websocket_messages(start_server):
    server = await start_server(cli=True)
    async with connect(
        server.ws_url, subprotocols=["graphql-transport-ws"]
    ) as ws:  # offers deflate
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None


class _Cycle:
    def __init__(self) -> None:
        self.me = self


async def test_closed_sockets_are_collected_after_enough_closes_at_most_once_per_interval():
    closed = ClosedSockets()
    closed.EVERY, closed.INTERVAL = 3, 3600.0  # no test waits an hour: the timer is read
    closed.one_closed()
    closed.one_closed()
    await asyncio.sleep(0.05)
    assert closed.collections == 0  # two closes: nothing yet
    closed.one_closed()
    await asyncio.sleep(0.05)
    assert closed.collections == 1  # the first one at once
    for _ in range(3):
        closed.one_closed()
    await asyncio.sleep(0.05)
    assert closed.collections == 1  # at most one full collection per INTERVAL...
    pending = closed._pending
    assert pending is not None
    assert pending.when() == pytest.approx(closed._last + closed.INTERVAL, abs=0.001)
    pending.cancel()  # ...and the closes meanwhile are collected when it has passed
    closed._collect()
    assert (closed.collections, closed.closed, closed._pending) == (2, 0, None)


async def test_a_collection_frees_what_only_a_full_collection_frees():
    gc.disable()  # no automatic collection during this test
    try:
        garbage = _Cycle()
        alive = weakref.ref(garbage)
        del garbage
        assert alive() is not None  # a cycle: reference counting alone never frees it
        ClosedSockets()._collect()
        assert alive() is None
    finally:
        gc.enable()


async def test_a_websocket_message_larger_than_a_request_body_closes_the_socket(start_server):
    server = await start_server(cli=True, max_body_bytes=4096)
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send('{"type": "connection_init", "payload": {"x": "%s"}}' % ("y" * 8192))
        await ws.wait_closed()
        assert ws.close_code == 1009  # message too big
