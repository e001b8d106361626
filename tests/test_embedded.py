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
