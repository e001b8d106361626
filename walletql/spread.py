"""Keep-alive connections follow the load across the workers of `walletql serve`.

The kernel gives each new connection to a worker once, and a keep-alive connection stays there.
A client that sends most requests on a few connections (a proxy's keep-alive pool takes the one
freed last) can keep one worker saturated beside an idle one: at 70% of the machine's peak, one
worker served 82% of the history pages and the p99 was 100 ms (bench/FINDINGS.md, finding 22).

So each worker posts the CPU it used lately on a board the workers share (a few bytes of shared
memory from the supervisor), and a worker busier than the least busy one by MARGIN answers a
request now and then with `Connection: close`, on a connection that carries less than the gap.
The client sends its next request on another connection, which may well be on another worker,
or opens one, which the kernel spreads by hash. A connection that carries a worker's whole load
is never closed: moving it would only move the imbalance. A client here is a connection (its
peer address): `walletql serve` applies a proxy's forwarded addresses behind this middleware.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import tempfile
import time

SLOT = struct.Struct("d")  # cores a worker used over the last WINDOW
WINDOW = 0.25  # seconds between readings
MARGIN = 0.1  # cores more than the least busy worker before moving a connection
FLOOR = 0.25  # cores: a worker less busy than this has nothing worth moving
SMALLEST = 0.03  # cores: a move must take at least this off the busier worker's load
CLOSE = (b"connection", b"close")


def movable(mine: float, others: list[float], requests: dict) -> frozenset:
    """The clients whose connection is worth moving off a worker that used `mine` cores beside
    workers that used `others`, given each client's `requests` over the same window. Only when
    the worker is busier than the least busy one by MARGIN; and a client carrying `share` cores
    of it is worth moving when the busier of the two afterwards is at least SMALLEST less busy
    than this worker was: min(share, gap - share) >= SMALLEST. So neither a connection carrying
    (nearly) the worker's whole load, which would only move the imbalance, nor one carrying
    almost nothing, which would move nothing, is ever closed."""
    if not others or mine < FLOOR or mine - min(others) < MARGIN:
        return frozenset()
    gap = mine - min(others)
    total = sum(requests.values())
    return frozenset(
        client
        for client, n in requests.items()
        if min(mine * n / total, gap - mine * n / total) >= SMALLEST
    )


class Board:
    """One slot per worker, each the cores that worker used over its last window."""

    def __init__(self, fd: int, workers: int) -> None:
        self.fd = fd
        self.workers = workers
        self._memory = mmap.mmap(fd, SLOT.size * workers)

    @classmethod
    def create(cls, workers: int) -> Board:
        """In the supervisor: an unlinked file, so nothing is left behind, whose descriptor
        every worker inherits."""
        with tempfile.TemporaryFile() as handle:
            fd = os.dup(handle.fileno())
        os.ftruncate(fd, SLOT.size * workers)
        return cls(fd, workers)

    def post(self, slot: int, cores: float) -> None:
        SLOT.pack_into(self._memory, slot * SLOT.size, cores)

    def loads(self) -> list[float]:
        return [SLOT.unpack_from(self._memory, i * SLOT.size)[0] for i in range(self.workers)]


class Spread:
    """A worker's side: reads its own CPU use every WINDOW, posts it, and picks the clients whose
    connection it may close; it closes at most one per window."""

    def __init__(self, board: Board, slot: int) -> None:
        self.board = board
        self.slot = slot
        self.requests: dict = {}  # requests per client address this window
        self._movable: frozenset = frozenset()

    def close_after(self, client) -> bool:
        """Counts a request from `client`; True when its connection is to close after it."""
        self.requests[client] = self.requests.get(client, 0) + 1
        if client not in self._movable:
            return False
        self._movable = frozenset()
        return True

    def reading(self, cores: float) -> None:
        """One window's CPU use: post it, and compare it with the other workers'."""
        self.board.post(self.slot, cores)
        loads = self.board.loads()
        others = loads[: self.slot] + loads[self.slot + 1 :]
        self._movable = movable(cores, others, self.requests)
        self.requests = {}

    async def run(self) -> None:
        import asyncio  # here: the supervisor imports this module, and stays small without it

        wall, cpu = time.monotonic(), time.process_time()
        while True:
            await asyncio.sleep(WINDOW)
            now, used = time.monotonic(), time.process_time()
            self.reading((used - cpu) / max(now - wall, 1e-3))
            wall, cpu = now, used


current: Spread | None = None  # set in a worker of `walletql serve --workers N`, before the app


def join(fd: int, slot: int, workers: int) -> None:
    global current
    current = Spread(Board(fd, workers), slot)


def following_the_load(app, spread: Spread):
    """ASGI middleware: an HTTP request this worker picks to shed is answered with
    `Connection: close` (uvicorn then closes the connection after the response)."""

    async def spread_app(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        if not spread.close_after(scope.get("client")):
            return await app(scope, receive, send)

        async def closing(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), CLOSE]}
            await send(message)

        return await app(scope, receive, closing)

    return spread_app


@contextlib.asynccontextmanager
async def running(spread: Spread | None):
    """Reads the worker's load for as long as the app runs; nothing without a board."""
    if spread is None:
        yield
        return
    import asyncio

    task = asyncio.get_running_loop().create_task(spread.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
