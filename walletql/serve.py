"""Run the API under uvicorn, with one listening socket per worker.

`uvicorn --workers N` shares one socket between the workers and the kernel wakes whichever is
idle: a burst of keep-alive connections (a proxy's upstream pool, a backend service) can all land
on one worker while the others sit idle, and the server then uses one core of N
(bench/FINDINGS.md, finding 7). Here every worker gets its own socket bound with SO_REUSEPORT
(a kernel feature) and the kernel hands each new connection to one of them by hash. Nothing
more: spreading requests by load is a load balancer's job (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

APP = "walletql.app:app"
PR_SET_PDEATHSIG = 1  # prctl(2)
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that could not start
# A worker that dies is replaced at once if it had run for STABLE seconds (a one-off crash);
# one that dies younger waits a delay that doubles from RESTART_MIN up to RESTART_MAX, so a
# worker that dies at every start (a bug, a broken host) costs a start every 10 s, not a loop.
STABLE = 30.0
RESTART_MIN = 0.5
RESTART_MAX = 10.0

log = logging.getLogger("walletql.serve")


class PortUnavailable(Exception):
    pass


class WorkersUnsupported(Exception):
    pass


def listen(host: str, port: int, workers: int) -> list[socket.socket]:
    """The listening sockets, bound before anything says "serving": one, or one per worker.
    A port taken by another process fails here, in one line (PortUnavailable)."""
    if workers == 1:
        return [_listening_socket(host, port, shared=False)]
    if not hasattr(socket, "SO_REUSEPORT"):
        raise WorkersUnsupported(
            "--workers needs SO_REUSEPORT (Linux); run single-worker processes behind a load "
            "balancer instead (docs/operations.md)"
        )
    _check_free(host, port)
    return [_listening_socket(host, port) for _ in range(workers)]


def serve(
    sockets: list[socket.socket],
    log_level: str,
    keep_alive: int,
    *,
    database_url: str,
    header_timeout: float = 10.0,
    max_connections: int | None = None,
    max_message_bytes: int = 1024 * 1024,
    worker_exited: Callable[[int], None] | None = None,
) -> int:
    """Serve on `sockets` (from `listen`) until SIGINT or SIGTERM: in this process with one
    socket, else one worker process per socket."""
    options = {
        "log_level": log_level.lower(),
        "timeout_keep_alive": keep_alive,
        "header_timeout": header_timeout,
        "limit_concurrency": max_connections,
        # walletql reads X-Forwarded-For itself, from WALLETQL_TRUSTED_PROXIES only
        # (walletql.client_address): uvicorn's own reading would replace the peer first.
        "proxy_headers": False,
        "lifespan": "on",
        # Balance updates are small JSON: compressing them saves nothing, and each socket's
        # zlib state costs memory per socket (and fragmented the heap after close).
        "ws_per_message_deflate": False,
        "ws_max_size": max_message_bytes,  # as an HTTP body: a websocket message is no larger
    }
    if len(sockets) == 1:
        import uvicorn

        # This process serves: its app reads the database URL from the process's settings,
        # which the caller made (`walletql.settings.use_settings`).
        server = uvicorn.Server(uvicorn.Config(APP, **_with_header_deadline(options)))
        # uvicorn stops gracefully on SIGINT or SIGTERM, then raises the signal again for the
        # handler it found: `walletql serve`'s turns both into KeyboardInterrupt, so the caller
        # unwinds (and stops the embedded PostgreSQL) instead of dying on SIGTERM.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=sockets)
        return 0 if server.started else STARTUP_FAILURE
    return _supervise(options, sockets, with_database_url(database_url), worker_exited)


def with_database_url(url: str) -> dict[str, str]:
    """The environment for a child process (a worker, the migration) that must use the database
    this process found, embedded or not: a copy of this process's environment, which stays as it
    was. Never the command line, which `ps` shows to everyone: a URL may carry a password."""
    return {**os.environ, "WALLETQL_DATABASE_URL": url}


def _with_header_deadline(options: dict) -> dict:
    """uvicorn's options, with the HTTP protocol that times out slow request headers (a class
    cannot travel to a worker in JSON: the worker makes it from the number of seconds)."""
    from walletql.header_timeout import protocol

    options = dict(options)
    deadline = protocol(options.pop("header_timeout"))
    return {**options, "http": deadline}


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _check_free(host: str, port: int) -> None:
    # Sockets that all set SO_REUSEPORT share a port silently: without this check a second
    # `walletql serve` on the same port would take half of the first one's traffic.
    probe = socket.socket(_family(host))
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    finally:
        probe.close()


def _listening_socket(host: str, port: int, *, shared: bool = True) -> socket.socket:
    sock = socket.socket(_family(host))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:  # one of several workers' sockets on the same port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


def _die_with(supervisor: int) -> bool:
    """Ask the kernel (Linux) for SIGTERM when the supervisor dies: one killed with SIGKILL
    cannot stop its workers, which would keep the port (and the embedded PostgreSQL's clients)
    after it. False if the supervisor is already gone."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    return os.getppid() == supervisor


def _worker(fd: int, options: dict, supervisor: int) -> None:
    if not _die_with(supervisor):
        return
    # Imported here, not at the top: the supervisor never serves, and stays small without it.
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(APP, **_with_header_deadline(options)))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group
        server.run(sockets=[socket.socket(fileno=fd)])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _start(options: dict, sock: socket.socket, environment: dict[str, str]) -> subprocess.Popen:
    # A plain child process, not multiprocessing: no resource tracker beside the workers, and
    # nothing of the supervisor's memory in them.
    fd = sock.fileno()
    command = [sys.executable, "-m", "walletql.serve", str(fd), json.dumps(options)]
    command.append(str(os.getpid()))
    return subprocess.Popen(command, pass_fds=[fd], env=environment)


def restart_delay(previous: float, lived: float) -> float:
    """Seconds before replacing a worker that lived `lived` seconds, when its slot's previous
    delay was `previous`: none after a stable worker, else double the last (bounded)."""
    if lived >= STABLE:
        return 0.0
    return min(RESTART_MAX, max(RESTART_MIN, previous * 2))


def _supervise(
    options: dict,
    sockets: list[socket.socket],
    environment: dict[str, str],
    worker_exited: Callable[[int], None] | None = None,
) -> int:
    """Keeps one worker per socket until SIGINT or SIGTERM. A worker that dies, or cannot
    start, is replaced on the same socket (connections waiting in its queue are served by the
    replacement), after a delay when it died young (`restart_delay`). The supervisor never
    gives up while it holds the port: a worker starts even while the database is down (it
    answers SERVICE_UNAVAILABLE until it is back), and the first start's checks (settings, the
    database, migrations) were made by `walletql serve` before the supervisor began."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    workers = [_start(options, sock, environment) for sock in sockets]
    started = [time.monotonic()] * len(workers)
    delays = [0.0] * len(workers)
    due: list[float | None] = [None] * len(workers)  # when a dead worker's replacement starts
    try:
        while not stopping.wait(0.5):
            now = time.monotonic()
            for index, worker in enumerate(workers):
                if due[index] is None:
                    code = worker.poll()
                    if code is None:
                        continue
                    if worker_exited is not None:
                        worker_exited(worker.pid)  # its live gauges (metrics) stop counting
                    delays[index] = restart_delay(delays[index], now - started[index])
                    due[index] = now + delays[index]
                    what = "could not start" if code == STARTUP_FAILURE else f"exited ({code})"
                    level = logging.ERROR if code == STARTUP_FAILURE else logging.WARNING
                    log.log(
                        level,
                        "worker %s %s; starting another in %.1f s",
                        worker.pid,
                        what,
                        delays[index],
                    )
                restart_at = due[index]
                if restart_at is not None and now >= restart_at:
                    workers[index] = _start(options, sockets[index], environment)
                    started[index], due[index] = now, None
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        for sock in sockets:
            sock.close()
    return 0


if __name__ == "__main__":
    _worker(int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]))
