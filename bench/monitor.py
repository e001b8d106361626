"""CPU and memory of the server processes, PostgreSQL, the load generator and the machine."""

from __future__ import annotations

import os
import resource
import threading
import time

import psutil


def _tree(roots: int | list[int]) -> list[psutil.Process]:
    found = []
    for root_pid in [roots] if isinstance(roots, int) else roots:
        try:
            root = psutil.Process(root_pid)
            found += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return found


BENCH_DATABASE = "walletql_bench"  # run.py sets this to the database it benchmarks


def _postgres() -> list[psutil.Process]:
    """The PostgreSQL server's shared processes (WAL writer, checkpointer, ...) and the backends
    connected to the bench database; backends of other databases (say, a test suite running
    on the same server) are left out, and show up in `other_cpu_cores` instead."""
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] != "postgres":
            continue
        title = " ".join(p.info["cmdline"] or [])
        rest = title.split(": ", 2)[-1].split() if title.count(": ") >= 2 else []
        is_backend = len(rest) >= 3 and ("(" in rest[2] or rest[2] == "[local]")
        if rest[:2] == ["autovacuum", "worker"]:  # "autovacuum worker <database>"
            if len(rest) >= 3 and rest[2] == BENCH_DATABASE:
                found.append(p)
        elif not is_backend or rest[1] == BENCH_DATABASE:
            found.append(p)
    return found


def _cpu(procs: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Window:
    """Measure one scenario window: start() ... stop() -> dict of CPU (cores) and peak RSS."""

    def __init__(self, server_pid: int | list[int] | None, interval: float = 0.5) -> None:
        self.server_pid = server_pid
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peak_total_rss = 0
        self.peak_process_rss = 0
        self.pg_last: dict[int, float] = {}  # last CPU seen per PostgreSQL process

    def start(self) -> Window:
        self.speed_probe_ms = speed_probe()
        self.t0 = time.perf_counter()
        self.server0 = _cpu(_tree(self.server_pid)) if self.server_pid else {}
        self.pg0 = _cpu(_postgres())
        self.pg_last = dict(self.pg0)
        self.self0 = _self_cpu()
        self.machine0 = psutil.cpu_times()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            # Backends come and go (a ceiling run's connections close before stop()): keep
            # the last CPU figure seen for each, born during the window counting from zero.
            self.pg_last.update(_cpu(_postgres()))
            if not self.server_pid:
                self._stop.wait(self.interval)
                continue
            total = 0
            for p in _tree(self.server_pid):
                try:
                    rss = p.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                total += rss
                self.peak_process_rss = max(self.peak_process_rss, rss)
            self.peak_total_rss = max(self.peak_total_rss, total)
            self._stop.wait(self.interval)

    def stop(self) -> dict:
        wall = time.perf_counter() - self.t0
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        result: dict = {"wall_s": wall, "speed_probe_ms": self.speed_probe_ms}
        if self.server_pid:
            server1 = _cpu(_tree(self.server_pid))
            used = sum(v - self.server0.get(pid, 0.0) for pid, v in server1.items())
            result["server_cpu_cores"] = used / wall
            # Per process, busiest first: shows whether the kernel spread the keep-alive
            # connections over the workers (one saturated worker and one idle = imbalance).
            result["server_cpu_by_process"] = sorted(
                (round((v - self.server0.get(pid, 0.0)) / wall, 3) for pid, v in server1.items()),
                reverse=True,
            )
            result["server_peak_rss_mb"] = self.peak_total_rss / 2**20
            result["server_peak_process_rss_mb"] = self.peak_process_rss / 2**20
        self.pg_last.update(_cpu(_postgres()))
        result["postgres_cpu_cores"] = (
            sum(v - self.pg0.get(pid, 0.0) for pid, v in self.pg_last.items()) / wall
        )
        result["loadgen_cpu_cores"] = (_self_cpu() - self.self0) / wall
        m1 = psutil.cpu_times()
        busy = (
            m1.user + m1.system + m1.nice + getattr(m1, "softirq", 0) + getattr(m1, "irq", 0)
        ) - (
            self.machine0.user
            + self.machine0.system
            + self.machine0.nice
            + getattr(self.machine0, "softirq", 0)
            + getattr(self.machine0, "irq", 0)
        )
        result["machine_busy_cores"] = busy / wall
        # Anything else on the machine (another job, a test suite): the figures are only
        # comparable between runs where this stays near zero.
        result["other_cpu_cores"] = max(
            0.0,
            result["machine_busy_cores"]
            - result.get("server_cpu_cores", 0.0)
            - result["postgres_cpu_cores"]
            - result["loadgen_cpu_cores"],
        )
        return result


def speed_probe() -> float:
    """How fast this machine runs Python right now: CPU milliseconds for a fixed piece of work
    (dict stores and int-to-str, best of 5; 27 to 50 ms on the reference VM within an hour). The
    VM's speed drifts by up to 1.9x within an hour, no steal time reported; a row whose probe
    is slow was measured on a slow machine, whatever the code did."""

    def once() -> float:
        t = time.process_time()
        d: dict[int, str] = {}
        for i in range(300_000):
            d[i % 1000] = str(i)
        return (time.process_time() - t) * 1000

    return min(once() for _ in range(5))


def background_load(seconds: float = 3.0) -> float:
    """Busy cores on the machine while the bench does nothing."""
    before = psutil.cpu_times()
    time.sleep(seconds)
    after = psutil.cpu_times()

    def busy(t):
        return t.user + t.system + t.nice + getattr(t, "irq", 0) + getattr(t, "softirq", 0)

    return (busy(after) - busy(before)) / seconds


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["kernel"] = os.uname().release
    return info
