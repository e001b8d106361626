"""The embedded PostgreSQL is started by the process that needs it and stopped when it exits,
also after an earlier holder was killed with SIGKILL and left its pid behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest


def _postgres_running(pgdata: Path) -> bool:
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(
            process.info["cmdline"] or []
        ):
            return True
    return False


def _walletql(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.pop("DATABASE_URL", None)
    env["WALLETQL_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "walletql.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _wait_stopped(pgdata: Path) -> bool:
    for _ in range(100):
        if not _postgres_running(pgdata):
            return True
        time.sleep(0.1)
    return False


def test_embedded_server_stops_with_its_process(tmp_path):
    data_dir = tmp_path / "data"
    result = _walletql(data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert _wait_stopped(data_dir.resolve() / "pg")


def test_a_killed_holder_does_not_keep_the_server_forever(tmp_path):
    data_dir = (tmp_path / "data").resolve()
    data_dir.mkdir()
    pgdata = data_dir / "pg"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import pgserver, time; pgserver.get_server({str(pgdata)!r}); "
            "print('up', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "up"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    assert _postgres_running(pgdata)  # the killed holder never stopped it
    assert holder.pid in json.loads((pgdata / ".handle_pids.json").read_text())

    result = _walletql(data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert _wait_stopped(pgdata)  # the dead pid was forgotten; the last real holder stopped it


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(port: int) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_on_the_embedded_database_reaches_it_from_every_worker(tmp_path, workers):
    """No URL configured: `walletql serve` starts the embedded server, and its app (one worker)
    or each worker process (several) uses it; a worker is told the URL in its environment,
    never on its command line (which `ps` shows)."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.pop("DATABASE_URL", None)
    env.update(WALLETQL_DATA_DIR=str(data_dir), WALLETQL_LOG_LEVEL="WARNING")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "walletql.cli", "serve", "--port", str(port)]
        + ["--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _ready(port):
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "/readyz never answered 200"
            time.sleep(0.2)
        # Fresh connections, hashed over the workers' sockets: each reaches its database.
        assert all(_ready(port) for _ in range(32))
        children = psutil.Process(server.pid).children()
        served_by = children if workers > 1 else [psutil.Process(server.pid)]
        assert len(served_by) == workers
        for process in served_by:
            assert not any("postgresql://" in part for part in process.cmdline())
        if workers > 1:
            for worker in children:
                assert worker.environ()["WALLETQL_DATABASE_URL"].startswith("postgresql://")
    finally:
        server.send_signal(signal.SIGINT)  # SIGINT: the embedded server stops with it
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert server.returncode == 0, server.stderr.read() if server.stderr else ""
    assert _wait_stopped(data_dir.resolve() / "pg")
