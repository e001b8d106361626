"""Real uvicorn servers as subprocesses, on the session's real PostgreSQL test database.

`start_server(workers=..., cli=..., **settings)` starts one server on a free loopback port with
WALLETQL_DATABASE_URL set to the test database (plus `WALLETQL_<NAME>` for each setting), waits
until GET /readyz answers 200 (bounded; failing with the server's own output), and stops it at
the end of the test: SIGTERM, then SIGKILL of its process group if it does not exit in time.
`server` is one shared single-worker server (websocket origins allowed for ALLOWED_ORIGIN) that
the subscription tests use; it is checked idle (no live subscribers) before each test.
`browser` is a headless Chromium (tests/server/browser.py) for the pages' tests: skipped when
Debian's `chromium` is missing, a failure instead with WALLETQL_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server.browser import Browser, chromium
from tests.server.clients import Api

REPO = Path(__file__).resolve().parents[2]
ALLOWED_ORIGIN = "http://app.walletql.test"
START_TIMEOUT = 30.0  # seconds until /readyz must answer 200
STOP_TIMEOUT = 10.0  # seconds after SIGTERM before SIGKILL


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(database_url: str, data_dir: str, settings: dict) -> dict[str, str]:
    # Only what the test chose: no WALLETQL_* or DATABASE_URL leaks in from the caller's shell.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_") and k != "DATABASE_URL"
    }
    env.update(
        WALLETQL_DATABASE_URL=database_url,
        WALLETQL_DATA_DIR=data_dir,  # never used with a URL; keeps any stray state in a temp dir
        WALLETQL_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"WALLETQL_{name.upper()}": str(value) for name, value in settings.items()})
    return env


def _command(port: int, workers: int, cli: bool) -> list[str]:
    if cli:
        return [sys.executable, "-m", "walletql.cli", "serve", "--port", str(port)] + (
            ["--workers", str(workers)] if workers > 1 else []
        )
    return [
        sys.executable, "-m", "uvicorn", "walletql.app:app", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip


async def _stop(server: Server) -> None:
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)


async def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"exited with {server.process.returncode}")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
    raise RuntimeError(f"/readyz not 200 within {START_TIMEOUT:.0f}s")


def _spawn(
    port: int, database_url: str, workdir: str, workers: int, cli: bool, settings: dict
) -> tuple[subprocess.Popen, Path]:
    fd, log_path = tempfile.mkstemp(prefix=f"server-{port}-", suffix=".log", dir=workdir)
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            _command(port, workers, cli),
            env=_environment(database_url, workdir, settings),
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the workers too
        )
    return process, Path(log_path)


async def _start(
    database_url: str, workdir: str, *, workers: int = 1, cli: bool = False, **settings
) -> Server:
    for _attempt in range(3):  # another process may take the free port before the server binds
        port = free_port()
        process, log_path = _spawn(port, database_url, workdir, workers, cli, settings)
        server = Server(process, port, log_path)
        try:
            await _wait_ready(server)
            return server
        except RuntimeError as exc:
            await _stop(server)
            output = server.log()
            if "address already in use" not in output.lower():
                pytest.fail(f"server did not start ({exc}); its output:\n{output[-4000:]}")
    pytest.fail("server did not start: no free port after 3 attempts")


@pytest.fixture
async def start_server(database_url, tmp_path):
    """Factory: `await start_server(workers=2, cors_origins="http://x")`; all stopped after.
    `database=URL` serves another database than the session's (a test's own PostgreSQL)."""
    started: list[Server] = []

    async def start(*, database: str | None = None, **options) -> Server:
        server = await _start(database or database_url, str(tmp_path), **options)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            await _stop(server)


@pytest.fixture(scope="session")
async def shared_server(database_url, tmp_path_factory):
    server = await _start(
        database_url, str(tmp_path_factory.mktemp("server")), cors_origins=ALLOWED_ORIGIN
    )
    try:
        yield server
    finally:
        await _stop(server)


@pytest.fixture(scope="session")
async def shared_api(shared_server):
    api = Api(shared_server.url)
    try:
        yield api
    finally:
        await api.aclose()


@pytest.fixture
async def server(shared_server, shared_api):
    """The shared server, idle: no subscriber of an earlier test is still registered."""
    await shared_api.wait_subscribers(0)
    return shared_server


@pytest.fixture
async def api(server, shared_api):
    return shared_api


@pytest.fixture
async def make_api():
    """Factory for an Api on another server; closed after the test."""
    made: list[Api] = []

    def make(server: Server) -> Api:
        made.append(Api(server.url))
        return made[-1]

    try:
        yield make
    finally:
        for api in made:
            await api.aclose()


@pytest.fixture(scope="session")
async def browser():
    executable = chromium()
    if executable is None:
        reason = "the browser tests need Debian's chromium (apt-get install chromium)"
        if os.environ.get("WALLETQL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WALLETQL_REQUIRE_BROWSER=1: {reason}")
        pytest.skip(reason)
    launched = await Browser.launch(executable)
    try:
        yield launched
    finally:
        await launched.close()


@pytest.fixture
async def page(browser):
    """A fresh tab, closed after the test."""
    opened = await browser.page()
    try:
        yield opened
    finally:
        await opened.close()
