"""Where the server's CPU goes, per scenario: py-spy on one uvicorn worker under bench load.

    python -m bench.profile --scenario a --seconds 15 [--concurrency 8] [--raw /tmp/a.txt]

Needs a database seeded by a previous `python -m bench.run` (it reads bench/results/seeded-<db>.json
for the tokens) and py-spy (`pip install -e '.[bench]'`). Starts its own single-worker uvicorn,
so the profile holds every request, and prints the hottest frames and the share of samples
spent in each layer (uvicorn/starlette, strawberry/graphql-core, tortoise/pypika, asyncpg,
walletql, event loop idle).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bench import load
from bench.run import HOST, Server, _env, load_seeded

LAYERS = [
    ("event loop idle", ("Runner.run (asyncio/runners.py", "run_forever", "select (selectors.py")),
    ("uvicorn/starlette", ("uvicorn/", "starlette/", "httptools")),
    ("strawberry/graphql-core", ("strawberry/", "graphql/")),
    ("tortoise/pypika", ("tortoise/", "pypika")),
    ("asyncpg", ("asyncpg/",)),
    ("walletql", ("walletql/",)),
    ("json/stdlib", ("json/", "asyncio/", "dataclasses", "uuid", "decimal", "<string>", "weakref")),
]


def layer_of(frame: str) -> str:
    for name, needles in LAYERS:
        if any(n in frame for n in needles):
            return name
    return "other"


def summarize(raw_path: Path, top: int = 25) -> dict:
    total = 0
    own = collections.Counter()
    inclusive = collections.Counter()
    layers = collections.Counter()
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        layers[layer_of(frames[-1])] += n
        for f in set(frames):
            inclusive[f] += n
    return {
        "samples": total,
        "layers": {k: v / total for k, v in layers.most_common()},
        "self": [(f, v / total) for f, v in own.most_common(top)],
        "inclusive": [(f, v / total) for f, v in inclusive.most_common(top * 3)],
    }


def workload(name: str, port: int, seeded, run_id: str | None = None):
    """Scenario `name`'s requests; postings take idempotency keys under `run_id`."""
    run_id = run_id or f"prof{int(time.time())}"
    if name == "a":
        return load.transfers(HOST, port, seeded, run_id)
    if name == "b":
        return load.charges(HOST, port, seeded, run_id)
    if name == "c":
        return load.balances(HOST, port, seeded)
    if name == "d":
        return load.history_pages(HOST, port, seeded, [None])
    raise SystemExit(f"unknown scenario {name!r} (a, b, c, d, e, f2 or f3)")


async def hold_workload(name: str, port: int, seeded, concurrency: int):
    """Scenario f2 (captures) or f3 (refunds), after two seconds of what they draw on:
    authorizations for f2, and then captures for f3, as bench.run's f does."""
    run_id = f"prof{int(time.time())}"
    holds, captured = load.Pool(), load.Pool()
    authorize = load.authorizations(HOST, port, seeded, f"{run_id}-f1", holds)
    await load.closed_loop(HOST, port, authorize, concurrency, 2.0, 0.0)
    capture = load.captures(HOST, port, seeded, f"{run_id}-f2", holds, captured)
    if name == "f2":
        return capture
    await load.closed_loop(HOST, port, capture, concurrency, 2.0, 0.0)
    return load.refunds(HOST, port, seeded, f"{run_id}-f3", captured)


async def fanout_load(args, seeded, seconds: float) -> dict:
    """Scenario e: subscribers on the watched wallet, transfers into it at a fixed rate."""
    from bench import wire

    variables = {"w": seeded.public_watch_wallet}
    gate = asyncio.Semaphore(50)

    async def one():
        async with gate:
            return await wire.subscribe(
                HOST, args.port, seeded.watch_token, load.SUBSCRIPTION, variables
            )

    subs = await asyncio.gather(*(one() for _ in range(args.subscribers)))
    await asyncio.sleep(1.0)
    work = load.transfers_into(
        HOST, args.port, seeded, seeded.public_watch_wallet, f"prof{time.time():.0f}"
    )
    result = await load.open_loop(HOST, args.port, work, args.rate, seconds)
    await asyncio.sleep(2.0)
    delivered = sum(len(s.received) for s in subs)
    print(f"{len(subs)} subscribers, {args.rate:g} postings/s: {delivered} deliveries")
    for s in subs:
        s.close()
    return result


async def main_async(args) -> None:
    seeded = load_seeded(args.database)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    dsn = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    server_args = SimpleNamespace(
        port=args.port,
        workers=1,
        pool=args.pool,
        topology="workers",
        app="walletql.app:app",
        subscribers=args.subscribers,
    )
    server = Server(server_args, _env(dsn, server_args), Path(tempfile.mktemp(suffix=".log")))
    await server.start()
    raw = Path(tempfile.mktemp(suffix=".txt"))
    try:
        # One worker: one pass over the tokens signs every one in (see load.sign_ins).
        await load.each_once(HOST, args.port, load.sign_ins(HOST, args.port, seeded), 16)
        if args.scenario != "e":
            if args.scenario in ("f2", "f3"):
                work = await hold_workload(args.scenario, args.port, seeded, args.concurrency)
            else:
                work = workload(args.scenario, args.port, seeded)
            await load.closed_loop(HOST, args.port, work, args.concurrency, 2.0, 0.0)  # warm
        spy_cmd = [
            spy,
            "record",
            "--pid",
            str(server.pid[0]),
            "-d",
            str(int(args.seconds)),
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(raw),
        ]
        proc = subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220 (returns at once)
        if args.scenario == "e":
            result = await fanout_load(args, seeded, args.seconds + 1.0)
        else:
            result = await load.closed_loop(
                HOST, args.port, work, args.concurrency, args.seconds + 1.0, 0.0
            )
        await asyncio.to_thread(proc.wait, 60)
    finally:
        server.stop()
    s = load.summarize(result)
    print(
        f"scenario {args.scenario}, c={args.concurrency}, 1 worker: {s['throughput']:.0f}/s, "
        f"p50 {s['p50_ms']:.1f} ms, errors {s['errors']}"
    )
    prof = summarize(raw)
    print(f"\n{prof['samples']} samples; share of samples by layer (leaf frame):")
    for name, share in prof["layers"].items():
        print(f"  {share:6.1%}  {name}")
    print("\nhottest frames (self):")
    for f, share in prof["self"]:
        print(f"  {share:6.1%}  {f[:140]}")
    print("\ninclusive (frames on the stack):")
    for f, share in prof["inclusive"]:
        if share < 0.02:
            break
        print(f"  {share:6.1%}  {f[:140]}")
    if args.raw:
        shutil.copy(raw, args.raw)
        print(f"\nraw py-spy samples: {args.raw}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--scenario", default="a", help="a, b, c, d, e, f2 or f3")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--subscribers", type=int, default=500, help="scenario e")
    p.add_argument("--rate", type=float, default=5, help="scenario e: postings per second")
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--pool", type=int, default=10)
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--database", default="walletql_bench")
    p.add_argument("--raw", type=Path, help="keep the raw py-spy samples here")
    args = p.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
