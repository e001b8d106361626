"""deploy/Dockerfile, built and run with podman: the server waits, unready, for its database's
migrations, which `walletql migrate` applies in a container of its own; then a customer signs
up, deposits and reads it back (over HTTP, and live over a websocket); SIGTERM stops the server,
with a client still connected, cleanly and before podman's 10 s SIGKILL.

Slow (the image builds in about a minute when walletql changed) and needs podman: deselected by
default, run as `bash tests/container/prepare.sh && .venv/bin/pytest -m container tests/container`
(prepare.sh sets podman up and makes the local base image these machines need, having no image
registry). docs/container.md.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import stat
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import _on_database
from tests.server.clients import Api, subscriber
from tests.server.conftest import free_port
from walletql import db

pytestmark = pytest.mark.container

REPO = Path(__file__).resolve().parents[2]
BASE = os.environ.get("WALLETQL_TEST_BASE_IMAGE", "localhost/walletql-test-base:bookworm")
IMAGE = "localhost/walletql-test:latest"
# crun, podman's default runtime, is refused on these machines (prepare.sh).
PODMAN = ["podman", "--runtime", "runc"]
DEADLINE = 60.0  # seconds for the server to answer, and to be ready once migrated
STOP_GRACE = 10  # podman stop's: SIGTERM, then SIGKILL (exit code 137) after this many seconds


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _database_access(url: str) -> list[str]:
    """podman options to reach the test's PostgreSQL: the host's network (it listens on
    loopback), and its unix socket's directory when the URL names one (the embedded server)."""
    options = ["--network", "host"]
    socket_dir = dict(parse_qsl(urlsplit(url).query)).get("host")
    if socket_dir:
        # The embedded test server's directory is private to its owner, and the image's user
        # is another: it may pass through (the socket itself is open to all, PostgreSQL's
        # default), and the directory is the test run's own, deleted after it.
        mode = os.stat(socket_dir).st_mode
        os.chmod(socket_dir, mode | stat.S_IXOTH)
        options += ["--volume", f"{socket_dir}:{socket_dir}"]
    return options


async def _readyz(http: httpx.AsyncClient, name: str) -> int:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            return (await http.get("/readyz")).status_code
        except httpx.TransportError:
            running = _podman("inspect", name, "--format", "{{.State.Running}}").stdout.strip()
            assert running == "true", _podman("logs", name).stderr
            await asyncio.sleep(0.2)
    raise AssertionError(f"no answer within {DEADLINE:.0f}s: {_podman('logs', name).stderr}")


@pytest.fixture(scope="module")
def image():
    if shutil.which("podman") is None or _podman("image", "exists", BASE).returncode != 0:
        pytest.fail(f"podman or the base image {BASE} is missing: bash tests/container/prepare.sh")
    started = time.monotonic()
    built = subprocess.run(
        [*PODMAN[:1], "build", *PODMAN[1:], "--format", "docker", "--quiet"]
        + ["--file", "deploy/Dockerfile", "--build-arg", f"BASE={BASE}", "--tag", IMAGE, "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    return IMAGE, time.monotonic() - started


@pytest.fixture
async def database(database_url):
    name = f"walletql_container_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _on_database(database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_image_migrates_once_serves_and_stops_on_sigterm(image, database, capsys):
    tag, build_seconds = image
    port = free_port()
    name = f"walletql-test-{secrets.token_hex(4)}"
    access = _database_access(database)
    environment = ["--env", f"WALLETQL_DATABASE_URL={database}"]
    # No healthcheck timer: podman's needs systemd, absent here; the test runs the check itself.
    started = _podman(
        "run", "--detach", "--name", name, *access, *environment,
        "--env", f"WALLETQL_PORT={port}", "--health-interval", "disable", tag,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    api = Api(f"http://127.0.0.1:{port}")
    try:
        # The server never migrates: it answers, unready and unhealthy, until the migrations
        # are applied by their own command.
        assert await _readyz(api.http, name) == 503
        assert _podman("healthcheck", "run", name).returncode != 0
        assert await db.pending_migrations(database) == db.migration_files()
        assert _podman("exec", name, "id", "-u").stdout.strip() not in ("", "0")  # not root

        migrated = _podman("run", "--rm", *access, *environment, tag, "walletql", "migrate")
        assert migrated.returncode == 0, migrated.stderr
        applied = f"applied {len(db.migration_files())} migration(s): "
        assert migrated.stdout.startswith(applied), migrated.stdout
        deadline = time.monotonic() + DEADLINE
        while await _readyz(api.http, name) != 200:
            assert time.monotonic() < deadline, _podman("logs", name).stderr
            await asyncio.sleep(0.2)
        health = _podman("healthcheck", "run", name)
        assert health.returncode == 0, health.stdout + health.stderr

        token = (await api.signup())["token"]
        wallet = await api.create_wallet(token, "USD")
        async with subscriber(f"ws://127.0.0.1:{port}/graphql", token) as live:
            await live.subscribe("1", wallet["id"])
            await api.deposit(token, wallet["id"], "12.50")
            update = await live.update()
            assert (Decimal(update["balance"]), update["version"]) == (Decimal("12.50"), 1)
            read = await api.wallet(token, wallet["id"])
            assert Decimal(read["balance"]) == Decimal("12.50")

            # Stopped with the subscriber still connected: SIGTERM, then SIGKILL at 10 s.
            stopping = time.monotonic()
            stopped = await asyncio.to_thread(_podman, "stop", "--time", str(STOP_GRACE), name)
            stop_seconds = time.monotonic() - stopping
            assert stopped.returncode == 0, stopped.stderr
            assert await live.closed_code() is not None  # closed by the server, not left open
        state = _podman("inspect", name, "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}")
        # 0: `walletql serve` returned after a clean shutdown; 137 would be podman's SIGKILL.
        assert state.stdout.split() == ["0", "false"], (state.stdout, _podman("logs", name))

        verified = _podman("run", "--rm", *access, *environment, tag, "walletql", "verify")
        assert verified.returncode == 0 and "ledger verified: OK" in verified.stdout, verified
        with capsys.disabled():
            print(
                f"\ncontainer: image built in {build_seconds:.1f} s; "
                f"stopped by SIGTERM in {stop_seconds:.1f} s (exit code 0)"
            )
    finally:
        await api.aclose()
        _podman("rm", "--force", "--time", "0", name)
