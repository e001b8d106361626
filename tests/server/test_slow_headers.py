"""A connection that trickles its request headers is closed (`walletql serve`, real sockets).

Found by an attack run: 1,500 connections sending their headers a byte at a time were held for
60 s, and a silent one for over 200 s. Now the headers must be complete within
WALLETQL_HEADER_TIMEOUT_SECONDS of the connection opening (or of a kept-alive request's first
byte).
"""

from __future__ import annotations

import asyncio

import httpx

WAIT = 15.0  # seconds: only to turn a hang into a failure


async def _closed_while_trickling(port: int, first: bytes) -> bool:
    """Send `first`, then one header byte every 0.2 s; True once the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(first)
        await writer.drain()
        async with asyncio.timeout(WAIT):
            while True:
                try:
                    writer.write(b"X")
                    await writer.drain()
                    if await asyncio.wait_for(reader.read(1024), 0.2) == b"":
                        return True
                except TimeoutError:
                    continue
                except ConnectionError:
                    return True
    finally:
        writer.close()


async def test_trickled_headers_are_cut_off_and_others_are_served(start_server):
    server = await start_server(cli=True, header_timeout_seconds=1)
    assert await _closed_while_trickling(server.port, b"GET /healthz HTTP/1.1\r\nX-Slow: ")
    # A silent connection that never sends a byte is closed too.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    async with asyncio.timeout(WAIT):
        assert await reader.read(1024) == b""
    writer.close()
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_a_kept_alive_connection_that_starts_trickling_is_cut_off(start_server):
    server = await start_server(cli=True, header_timeout_seconds=1)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(WAIT):
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            while await reader.readline() not in (b"\r\n", b""):
                pass  # the response's headers
            await reader.read(1024)  # its body
        writer.write(b"GET /healthz HTTP/1.1\r\nX-Slow: ")  # the next request never finishes
        await writer.drain()
        async with asyncio.timeout(WAIT):
            while await reader.read(1024):
                pass
    finally:
        writer.close()
