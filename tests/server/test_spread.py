"""Keep-alive connections follow the load across `walletql serve` workers (walletql/spread.py).

Which worker holds a connection is read from the operating system (psutil), not from the app.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import psutil
import pytest

from tests.server.test_serve_workers import _answer, _workers
from walletql.spread import FLOOR, MARGIN, SMALLEST, Board, movable

QUERY = b'{"query":"{ currencies { code decimals } }"}'
REQUEST = (
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(QUERY), QUERY)
)


@pytest.mark.parametrize(
    ("mine", "others", "requests", "expected"),
    [
        # two busy connections on a busy worker beside an idle one: either may move
        (0.8, [0.1], {"a": 50, "b": 50}, {"a", "b"}),
        # one connection carries the worker's whole load: moving it moves the imbalance
        (0.8, [0.0], {"a": 100}, set()),
        # ... and a health check beside it carries too little to matter
        (0.8, [0.0], {"a": 1000, "probe": 1}, set()),
        # three connections, the gap fits one of the lighter two only
        (0.7, [0.4], {"a": 60, "b": 20, "c": 20}, {"b", "c"}),
        # balanced within the margin
        (0.7, [0.7 - MARGIN / 2], {"a": 50, "b": 50}, set()),
        # not busy enough to matter
        (FLOOR / 2, [0.0], {"a": 50, "b": 50}, set()),
        # a single worker
        (0.9, [], {"a": 50, "b": 50}, set()),
        # nothing served this window
        (0.9, [0.0], {}, set()),
    ],
)
def test_which_connections_may_move(mine, others, requests, expected):
    assert movable(mine, others, requests) == expected


def test_a_client_worth_less_than_the_smallest_move_stays():
    share = SMALLEST / 2
    assert movable(1.0, [0.0], {"a": 1 - share, "b": share}) == set()


def test_the_board_is_one_slot_per_worker_seen_by_all():
    board = Board.create(3)
    other = Board(board.fd, 3)  # as a worker maps the descriptor it inherited
    board.post(0, 0.5)
    other.post(2, 0.25)
    assert board.loads() == other.loads() == [0.5, 0.0, 0.25]


def _worker_of(server, writer) -> int:
    """The pid of the worker that holds this client connection."""
    port = writer.get_extra_info("sockname")[1]
    for worker in _workers(server):
        for conn in worker.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_ESTABLISHED and conn.raddr and conn.raddr.port == port:
                return worker.pid
    raise AssertionError("no worker holds the connection")


async def _two_on_one_worker(server) -> tuple[list, list]:
    """Two keep-alive connections held by the same worker, and the others opened to find them."""
    by_worker: dict[int, list] = {}
    opened = []
    while True:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(REQUEST)
        await _answer(reader, 10)
        opened.append(writer)
        same = by_worker.setdefault(_worker_of(server, writer), [])
        same.append((reader, writer))
        if len(same) == 2:
            return same, opened


_sent = itertools.count()


def _forwarded_request() -> bytes:
    """REQUEST as a proxy on this host sends it: each from another end user."""
    n = next(_sent)
    return REQUEST.replace(
        b"Host: 127.0.0.1\r\n",
        b"Host: 127.0.0.1\r\nX-Forwarded-For: 10.%d.%d.%d\r\n"
        % (n >> 16 & 255, n >> 8 & 255, n & 255),
    )


async def _send(reader, writer, forwarded: bool = False) -> bool:
    """One request; True when the answer says the server closes the connection."""
    writer.write(_forwarded_request() if forwarded else REQUEST)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    assert head.startswith(b"HTTP/1.1 200")
    return b"\r\nconnection: close" in head.lower()


# Forwarded: a proxy names a different end user in every request. The spread still counts
# connections (it runs before forwarded addresses are applied): counted by end user, no client
# would carry enough of the load to be worth moving, and nothing would ever close.
@pytest.mark.parametrize("forwarded", [False, True])
async def test_a_busy_worker_closes_one_of_its_busy_connections(start_server, forwarded):
    server = await start_server(cli=True, workers=2)
    pair, opened = await _two_on_one_worker(server)
    busy = _worker_of(server, pair[0][1])
    try:
        deadline = time.monotonic() + 30
        closed = None
        while closed is None:
            assert time.monotonic() < deadline, "the busy worker never closed a connection"
            answers = await asyncio.gather(*(_send(r, w, forwarded) for r, w in pair))
            closed = next((i for i, close in enumerate(answers) if close), None)
        reader = pair[closed][0]
        assert await asyncio.wait_for(reader.read(), 10) == b""  # and it did close it
        assert psutil.Process(busy).is_running()  # closed by the worker, which lives on
    finally:
        for writer in opened:
            writer.close()


async def test_a_connection_that_carries_a_workers_whole_load_stays(start_server):
    server = await start_server(cli=True, workers=2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        deadline = time.monotonic() + 4  # 16 readings of the load
        while time.monotonic() < deadline:
            assert not await _send(reader, writer)
    finally:
        writer.close()


async def test_spreading_can_be_turned_off(start_server):
    server = await start_server(cli=True, workers=2, spread_connections="false")
    # Each worker's command line says whether it was given the board.
    assert [len(w.cmdline()) for w in _workers(server)] == [5, 5]
    on = await start_server(cli=True, workers=2)
    assert [len(w.cmdline()) for w in _workers(on)] == [8, 8]


@pytest.mark.parametrize("spread", ["true", "false"])
async def test_a_proxys_forwarded_address_is_applied_either_way(start_server, spread):
    """With the spread, uvicorn's own proxy-header handling is off and the same middleware runs
    behind the spread instead: the access log still names the end user, not the proxy."""
    server = await start_server(cli=True, workers=2, spread_connections=spread, log_level="INFO")
    forwarded = REQUEST.replace(
        b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nX-Forwarded-For: 10.9.8.7\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(forwarded)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    deadline = time.monotonic() + 5
    while '10.9.8.7:0 - "POST /graphql' not in server.log():
        assert time.monotonic() < deadline, server.log()[-2000:]
        await asyncio.sleep(0.1)
