"""`walletql serve --workers N`: one SO_REUSEPORT socket per worker, supervised.

Which worker holds a connection is read from the operating system (psutil), not from the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from tests.server.conftest import REPO, free_port

CONNECTIONS = 32  # all 32 hashed to one of two sockets: probability 2**-31


def _workers(server) -> list[psutil.Process]:
    """The supervisor's live children (a killed worker is a zombie until it is reaped)."""
    live = []
    for child in psutil.Process(server.process.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                live.append(child)
    return live


def _connections_by_worker(server) -> dict[int, int]:
    counts = {}
    for worker in _workers(server):
        counts[worker.pid] = sum(
            1
            for c in worker.net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == server.port
        )
    return counts


def _listening_sockets(pid: int, port: int) -> set[int]:
    """Inodes of the listening sockets on `port` that process `pid` holds (Linux /proc)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    listening.add(int(fields[9]))
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                held.add(int(target[8:-1]))
    return held & listening


async def _answer(reader: asyncio.StreamReader, seconds: float) -> int:
    """The status of the next response, read whole (headers and body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), seconds)
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return int(head.split()[1])


async def _open_and_ask(port: int, count: int) -> list[tuple]:
    """`count` keep-alive connections, each answered once, left open."""
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    # All at once, as a proxy opens its upstream pool: with one shared socket, the first worker
    # to wake accepts the whole burst.
    streams = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(count))
    )
    for _reader, writer in streams:
        writer.write(request)
    for reader, _writer in streams:
        assert await _answer(reader, 30) == 200
    return streams


def _close(streams) -> None:
    for _reader, writer in streams:
        writer.close()


async def _wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def test_each_worker_listens_on_its_own_socket_and_both_answer(start_server):
    server = await start_server(cli=True, workers=2)
    workers = _workers(server)
    assert len(workers) == 2
    first, second = (_listening_sockets(w.pid, server.port) for w in workers)
    assert len(first) == len(second) == 1 and first != second  # one socket each, not shared
    # The kernel hands each new connection to one of the sockets by hash: a burst of them
    # reaches both workers, and every one is answered.
    streams = await _open_and_ask(server.port, CONNECTIONS)
    try:
        counts = _connections_by_worker(server)
        assert sum(counts.values()) == CONNECTIONS
        assert all(count > 0 for count in counts.values()), counts
    finally:
        _close(streams)


async def test_a_worker_that_dies_is_replaced_and_the_port_keeps_answering(start_server):
    server = await start_server(cli=True, workers=2)
    killed = _workers(server)[0]
    killed.send_signal(signal.SIGKILL)
    await _wait_for(
        lambda: killed.pid not in {w.pid for w in _workers(server)} and len(_workers(server)) == 2
    )
    # The replacement listens on the dead worker's socket: connections hashed to it wait in
    # its queue until the replacement accepts them, and every one is answered.
    streams = await _open_and_ask(server.port, CONNECTIONS)
    try:
        assert all(count > 0 for count in _connections_by_worker(server).values())
    finally:
        _close(streams)


def _mapped_files(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as maps:
        return maps.read()


async def test_the_supervisor_serves_without_asyncpg_or_openssl(start_server):
    # It lives as long as the server: the database check and migration run in a child process,
    # so neither asyncpg's compiled protocol nor OpenSSL (loaded with asyncio) is in its memory
    # (in-process, they and aerich cost it 10 to 36 MB: docs/architecture.md).
    server = await start_server(cli=True, workers=2)
    supervisor = _mapped_files(server.process.pid)
    assert "asyncpg" not in supervisor and "_ssl" not in supervisor
    assert "asyncpg" in _mapped_files(_workers(server)[0].pid)  # what the check would catch


async def test_sigterm_stops_the_supervisor_and_every_worker(start_server):
    server = await start_server(cli=True, workers=2)
    workers = _workers(server)
    server.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.process.wait, 30) == 0
    for worker in workers:
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_in_use_fails_in_one_line(database_url, workers):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
        env.update(WALLETQL_DATABASE_URL=database_url, WALLETQL_LOG_LEVEL="WARNING")
        done = subprocess.run(
            [sys.executable, "-m", "walletql.cli", "serve", "--port", str(port)]
            + ["--workers", str(workers)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "address already in use" in done.stderr.lower()


@pytest.mark.parametrize(("keep_alive", "open_after"), [(None, True), (1, False)])
async def test_idle_connections_stay_open_for_the_keep_alive(start_server, keep_alive, open_after):
    """Default 75 s: a connection idle for 6 s (uvicorn's own default is 5) still answers."""
    settings = {} if keep_alive is None else {"keep_alive_seconds": keep_alive}
    server = await start_server(cli=True, workers=2, **settings)
    ((reader, writer),) = await _open_and_ask(server.port, 1)
    try:
        await asyncio.sleep(6)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            answered = await _answer(reader, 10) == 200
        except (ConnectionError, asyncio.IncompleteReadError):
            answered = False
        assert answered is open_after
    finally:
        writer.close()
