"""What a websocket costs the server, and what it leaves behind once closed.

Found by an attack run: 2,000 idle authenticated websockets took a worker from 55 to 123 MB,
not released after close. Each socket carried zlib state for permessage-deflate, and closed
sockets' objects sat in reference cycles that only the rare full collections free.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

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


async def test_closed_sockets_garbage_is_collected_after_enough_closes():
    closed = ClosedSockets()
    closed.EVERY, closed.INTERVAL = 3, 0.2
    gc.disable()  # only ClosedSockets may collect during this test
    try:
        garbage = _Cycle()
        alive = weakref.ref(garbage)
        del garbage
        closed.one_closed()
        closed.one_closed()
        await asyncio.sleep(0.05)
        assert alive() is not None  # two closes: nothing collected yet
        closed.one_closed()
        await asyncio.sleep(0.05)
        assert alive() is None
        again = _Cycle()
        alive = weakref.ref(again)
        del again
        for _ in range(3):
            closed.one_closed()
        await asyncio.sleep(0.05)
        assert alive() is not None  # at most one full collection per INTERVAL
        await asyncio.sleep(0.3)
        assert alive() is None
    finally:
        gc.enable()
