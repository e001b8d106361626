"""The metrics port of `walletql serve` (WALLETQL_METRICS on): Prometheus's text format at
`http://WALLETQL_METRICS_HOST:WALLETQL_METRICS_PORT/metrics`, 127.0.0.1 by default.

Served by the `walletql serve` process itself, on a port of its own, never on the API's port:
what is not on the API's port cannot be reached by the API's clients, whatever a proxy in front
forwards, and there is no secret to share with Prometheus, rotate or leak (docs/operations.md).
The workers write their values into prometheus-client's multiprocess files
(PROMETHEUS_MULTIPROC_DIR); a scrape adds up every worker's, those of workers since replaced
included, so counters never go back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"


class MetricsDirectory:
    """Where the workers' values are written: PROMETHEUS_MULTIPROC_DIR when the environment
    sets it (emptied of the files of an earlier run, which would count again), otherwise a
    temporary directory, removed by close(). Put into this process's environment, which the
    workers inherit; before prometheus-client is first imported, which reads it then."""

    def __init__(self) -> None:
        given = os.environ.get(ENVIRONMENT)
        self._made = not given
        self.path = Path(given) if given else Path(tempfile.mkdtemp(prefix="walletql-metrics-"))
        self.path.mkdir(parents=True, exist_ok=True)
        for stale in self.path.glob("*.db"):
            stale.unlink()
        os.environ[ENVIRONMENT] = str(self.path)

    def worker_exited(self, pid: int) -> None:
        """A worker is gone: its gauges of live values (subscriptions, pool) stop counting."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(self.path))

    def close(self) -> None:
        if self._made:
            shutil.rmtree(self.path, ignore_errors=True)


class WorkerFiles:
    """prometheus-client's multiprocess collector over the workers' files, leaving out those
    still empty. A worker's file exists with 0 bytes for a moment after it is created (for good,
    if the worker was killed in that moment), and the library's own collector then fails the
    whole scrape (prometheus/client_python#1199): a scrape while a worker starts answered 500.
    A file removed while it is read (a dead worker's live gauges) is read again without it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self):
        try:
            return self._merge()
        except FileNotFoundError:  # removed between listing and reading: list them again
            return self._merge()

    def _merge(self):
        from prometheus_client.multiprocess import MultiProcessCollector

        files = [str(f) for f in self.path.glob("*.db") if _written(f)]
        return MultiProcessCollector.merge(files, accumulate=True)


def _written(file: Path) -> bool:
    try:
        return file.stat().st_size > 0
    except FileNotFoundError:
        return False


def serve_metrics(host: str, port: int, directory: MetricsDirectory):
    """Answer scrapes on host:port from a thread of this process; the server, to shut down.
    OSError when the port cannot be bound."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(WorkerFiles(directory.path))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
