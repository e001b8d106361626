"""A lean load-generator client: raw asyncio HTTP/1.1 keep-alive and a minimal websocket.

Why hand-written: on a 2-core machine the load generator competes with the server and
PostgreSQL for CPU. httpx/websockets cost 100-300 us of Python per request or message; these
protocols cost a few tens of microseconds: one pre-built request buffer, one `find` for the end
of the headers, Content-Length framing, no header dict, no per-message task. Only what uvicorn
sends is understood (Content-Length responses, unfragmented websocket text frames).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import socket
import time

# --- HTTP/1.1 ------------------------------------------------------------------------------


class HTTPError(Exception):
    pass


class HTTPConnection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[:end])
        i = head.find(b"content-length:")
        if i < 0:
            i = head.find(b"Content-Length:")
        if i < 0:
            waiter.set_exception(HTTPError("response without Content-Length"))
            return
        j = head.find(b"\r\n", i)
        length = int(head[i + 15 : j if j > 0 else len(head)])
        total = end + 4 + length
        if len(buf) < total:
            return
        body = bytes(buf[end + 4 : total])
        del buf[:total]
        if b"\r\nconnection: close" in head.lower():  # the server closes it: not reused
            self.closed = True
        self.waiter = None
        waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HTTPError(f"connection lost: {exc}"))

    def request(self, raw: bytes) -> asyncio.Future:
        if self.closed or self.transport is None:
            raise HTTPError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# --topology ports: several single-worker servers, as behind a load balancer. A connection to
# the first port goes to the next server in turn, so connections spread evenly.
SPREAD: dict[int, list[int]] = {}
_turn = itertools.count()


def pick_port(port: int) -> int:
    ports = SPREAD.get(port)
    return ports[next(_turn) % len(ports)] if ports else port


async def connect(host: str, port: int) -> HTTPConnection:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(HTTPConnection, host, pick_port(port))
    return proto


def post_request(host: str, port: int, path: str, body: bytes, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def get_request(host: str, port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


def graphql_body(query: str, variables: dict | None = None) -> bytes:
    return json.dumps(
        {"query": query, "variables": variables or {}}, separators=(",", ":")
    ).encode()


async def one_shot(host: str, port: int, raw: bytes, limit: float = 10.0) -> tuple[int, bytes]:
    conn = await asyncio.wait_for(connect(host, port), limit)
    try:
        return await asyncio.wait_for(conn.request(raw), limit)
    finally:
        conn.close()


# --- websocket (graphql-transport-ws) -------------------------------------------------------

_VERSION = re.compile(rb'"version":(\d+)')


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")
    return key + masked


def _client_frame(text: str, opcode: int = 1) -> bytes:
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return header + _mask(payload)


class Subscriber(asyncio.Protocol):
    """A graphql-transport-ws client that records (version, arrival time) of every `next`.

    Everything happens in data_received: no task per connection, no JSON parse of the
    payload (a regex finds the version), so 1,000 of them stay cheap for the load generator.
    """

    def __init__(self, host: str, port: int, token: str, query: str, variables: dict) -> None:
        self.host, self.port, self.token = host, port, token
        self.query, self.variables = query, variables
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.acked: asyncio.Future = asyncio.get_running_loop().create_future()
        self.received: list[tuple[int, float]] = []
        self.errors: list[str] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            (
                f"GET /graphql HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def _send(self, message: dict, opcode: int = 1) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(_client_frame(json.dumps(message), opcode))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buf += data
        buf = self.buf
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[9:12])
            del buf[: end + 4]
            if status != b"101":
                self._fail(f"upgrade refused: HTTP {status.decode(errors='replace')}")
                return
            self.upgraded = True
            self._send(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}
            )
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            n = buf[1] & 0x7F
            offset = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = int.from_bytes(buf[2:4], "big")
                offset = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = int.from_bytes(buf[2:10], "big")
                offset = 10
            if len(buf) < offset + n:
                return
            payload = bytes(buf[offset : offset + n])
            del buf[: offset + n]
            if opcode == 1:
                self._on_text(payload, now)
            elif opcode == 9:  # ping
                if self.transport is not None:
                    self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + _mask(payload))
            elif opcode == 8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 0
                self._fail(f"closed by server: {code} {payload[2:].decode(errors='replace')}")
                return

    def _on_text(self, payload: bytes, now: float) -> None:
        if b'"type":"next"' in payload:
            m = _VERSION.search(payload)
            if m is not None and b'"errors"' not in payload:
                self.received.append((int(m.group(1)), now))
            else:
                self.errors.append(payload[:300].decode(errors="replace"))
            return
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "connection_ack":
            self._send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": self.query, "variables": self.variables},
                }
            )
            if not self.acked.done():
                self.acked.set_result(True)
        elif kind == "ping":
            self._send({"type": "pong"})
        elif kind in ("error", "complete"):
            self.errors.append(payload[:300].decode(errors="replace"))

    def _fail(self, reason: str) -> None:
        self.errors.append(reason)
        if not self.acked.done():
            self.acked.set_exception(HTTPError(reason))
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.acked.done():
            self.acked.set_exception(HTTPError(f"connection lost: {exc}"))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            try:
                self.transport.write(bytes([0x88, 0x82]) + _mask((1000).to_bytes(2, "big")))
            finally:
                self.transport.close()


async def subscribe(
    host: str, port: int, token: str, query: str, variables: dict, limit: float = 20.0
) -> Subscriber:
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(
        loop.create_connection(
            lambda: Subscriber(host, port, token, query, variables), host, pick_port(port)
        ),
        limit,
    )
    await asyncio.wait_for(asyncio.shield(proto.acked), limit)
    return proto
