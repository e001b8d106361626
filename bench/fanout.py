"""Scenario e: many subscribers on one wallet while postings run at a fixed rate.

Latency is measured from commit to delivery. The commit instant is when the bench's own bare
asyncpg LISTEN connection receives the posting's notification: PostgreSQL sends NOTIFY to
every listener at commit, so this is the earliest moment any subscriber could know, and the
figure is what walletql's fan-out (its LISTEN connection, strawberry, websockets) adds to it.
"""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg

from bench import load, wire
from bench.monitor import Window

CHANNEL = "walletql_balance"


async def run(
    host: str,
    port: int,
    dsn: str,
    seeded,
    server_pid: int,
    subscribers: int,
    rates: list[float],
    duration: float,
    run_id: str,
    log=print,
    gate=None,
) -> list[dict]:
    watch = seeded.watch_wallet
    commits: dict[int, float] = {}

    def on_notify(conn, pid, channel, payload) -> None:
        now = time.perf_counter()
        data = json.loads(payload)
        if int(data["wallet_id"]) == watch:
            commits.setdefault(int(data["version"]), now)

    listener = await asyncpg.connect(dsn)
    await listener.add_listener(CHANNEL, on_notify)
    variables = {"w": seeded.public_watch_wallet}
    connecting = asyncio.Semaphore(50)

    async def connect_one():
        async with connecting:
            return await wire.subscribe(
                host, port, seeded.watch_token, load.SUBSCRIPTION, variables
            )

    window = Window(server_pid).start()
    t = time.perf_counter()
    made = await asyncio.gather(
        *(connect_one() for _ in range(subscribers)), return_exceptions=True
    )
    subs = [s for s in made if isinstance(s, wire.Subscriber)]
    connect_errors: dict[str, int] = {}
    for s in made:
        if not isinstance(s, wire.Subscriber):
            connect_errors[type(s).__name__] = connect_errors.get(type(s).__name__, 0) + 1
    connect_s = time.perf_counter() - t

    # Warm-up posting: proves every subscription is registered before measuring.
    warm = load.transfers_into(host, port, seeded, seeded.public_watch_wallet, f"{run_id}-warm")
    registered = 0
    for attempt in range(3):
        status, body = await wire.one_shot(host, port, warm.request(attempt))
        deadline = time.perf_counter() + 20
        while time.perf_counter() < deadline:
            registered = sum(1 for s in subs if s.received)
            if registered == len(subs):
                break
            await asyncio.sleep(0.1)
        if registered == len(subs):
            break
    connect_window = window.stop()
    log(
        f"  e: {len(subs)}/{subscribers} subscribers connected in {connect_s:.1f}s, "
        f"{registered} registered; server RSS {connect_window['server_peak_rss_mb']:.0f} MB"
    )

    results = []
    for rate in rates:
        if gate is not None:
            await gate(f"e at {rate:g}/s")
        for s in subs:
            s.received.clear()
            s.errors.clear()
        before = set(commits)
        alive = [s for s in subs if not s.closed]
        work = load.transfers_into(
            host, port, seeded, seeded.public_watch_wallet, f"{run_id}-e{rate:g}"
        )
        window = Window(server_pid).start()
        raw = await load.open_loop(host, port, work, rate, duration, max_connections=32)
        posted = sorted(v for v in commits if v not in before)
        drain_deadline = time.perf_counter() + 15
        while time.perf_counter() < drain_deadline:
            if all(len(s.received) >= len(posted) or s.closed for s in alive):
                break
            await asyncio.sleep(0.1)
        stats = window.stop()
        wanted = set(posted)
        latencies = []
        for s in alive:
            for version, at in s.received:
                if version in wanted:
                    latencies.append(at - commits[version])
        expected = len(posted) * len(alive)
        sub_errors: dict[str, int] = {}
        for s in alive:
            for e in s.errors:
                key = "SUBSCRIBER_TOO_SLOW" if "SUBSCRIBER_TOO_SLOW" in e else e[:60]
                sub_errors[key] = sub_errors.get(key, 0) + 1
        summary = load.summarize(
            {"latencies": latencies, "errors": sub_errors, "elapsed": duration}
        )
        summary["deliveries_per_s"] = summary.pop("throughput")
        postings = load.summarize(raw)
        results.append(
            {
                "scenario": "e",
                "name": "subscription fan-out",
                "mode": "fixed-rate",
                "level": rate,
                "subscribers": len(alive),
                "subscribers_requested": subscribers,
                "connect_errors": connect_errors,
                "connect_s": connect_s,
                "registered": registered,
                "postings": len(posted),
                "posting_rate": postings["throughput"],
                "posting_p99_ms": postings["p99_ms"],
                "posting_errors": postings["error_codes"],
                "expected_deliveries": expected,
                "missing_deliveries": expected - len(latencies),
                **summary,
                **stats,
                "connect_server_peak_rss_mb": connect_window.get("server_peak_rss_mb"),
            }
        )
        r = results[-1]
        log(
            f"  e: {rate:g} postings/s x {len(alive)} subscribers: delivery p50 "
            f"{_ms(r['p50_ms'])} p99 {_ms(r['p99_ms'])}, missing {r['missing_deliveries']}, "
            f"server CPU {r['server_cpu_cores']:.2f} RSS {r['server_peak_rss_mb']:.0f} MB"
        )
    for s in subs:
        s.close()
    await listener.close()
    return results


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"
