"""Instructions per request, old against new: a measure the VM's speed cannot move.

    python -m bench.instructions OLD [NEW] [--scenario a] [--requests 300]
    python -m bench.instructions OLD [NEW] --scenario e --requests 20 --subscribers 100
    python -m bench.instructions HEAD --scenario f2   # captures (f3: refunds), to set beside a
    python -m bench.instructions HEAD HEAD --plain new   # what the shortcuts save
    python -m bench.instructions HEAD HEAD --metrics new  # what WALLETQL_METRICS costs

CPU time on this VM drifts by up to 1.9x within an hour, so `bench.ab` resolves only changes of
~10%. valgrind's callgrind counts the instructions a process executes, which depend on the code
and its inputs, not on how fast the machine is that minute: the same revision measured twice
gives the same figure to ~0.1%. Each revision (NEW defaults to this working tree) is served by
one uvicorn worker under callgrind, on the seeded bench database; 300 customers sign in, 30
requests warm it up, then instrumentation is switched on for exactly `--requests` requests sent
one at a time on one connection. Scenario e opens `--subscribers` subscriptions on the watched
wallet and counts, per posting into it, the posting and its delivery to every one. User-space
instructions only: the kernel's side of each request (sockets, scheduling) is not counted, and
an instruction is not a fixed amount of time, so this says which way and roughly how far a
change moves the server's own work; `bench.ab` and `bench.run` say what it buys. Needs valgrind
(Debian: `apt install valgrind`) and a database seeded by `python -m bench.run`.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import load, wire
from bench.ab import on_both_sides, revisions_parser
from bench.profile import workload
from bench.run import HOST, ROOT, load_seeded

SIGNED_IN = 300  # customers whose tokens the worker has seen; the workload uses only these


def _serve(
    tree: Path, port: int, dsn: str, out: Path, plain: bool, metrics: bool
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.update(WALLETQL_DATABASE_URL=dsn, WALLETQL_LOG_LEVEL="WARNING", PYTHONHASHSEED="0")
    if plain:
        env["WALLETQL_FAST_PATHS"] = "false"  # a revision without the setting ignores it
    if metrics:  # counted as under `walletql serve`: into multiprocess files
        env["WALLETQL_METRICS"] = "true"
        env["PROMETHEUS_MULTIPROC_DIR"] = str(out.with_suffix(".metrics"))
        out.with_suffix(".metrics").mkdir(exist_ok=True)
    env["WALLETQL_MAX_SUBSCRIPTIONS_PER_USER"] = "100000"  # scenario e: one user's many sockets
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    command += [sys.executable, "-m", "uvicorn", "walletql.app:app", "--host", HOST]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    log = out.with_suffix(".log").open("w")
    return subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=log)


async def _ready(port: int) -> None:
    for _ in range(600):  # start-up under valgrind is slow
        try:
            status, _ = await wire.one_shot(HOST, port, wire.get_request(HOST, port, "/readyz"), 5)
            if status == 200:
                return
        except (OSError, TimeoutError, wire.HTTPError):
            pass
        await asyncio.sleep(0.5)
    raise SystemExit(f"the server on port {port} did not become ready")


def _callgrind(pid: int, *option: str) -> None:
    subprocess.run(["callgrind_control", *option, str(pid)], check=True, capture_output=True)


def _instructions(out: Path) -> int:
    total = 0
    for path in out.parent.glob(out.name + "*"):
        for line in path.read_text().splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


async def measure(side: str, tree: Path, args, seeded, work_dir: Path) -> float:
    out = work_dir / f"callgrind-{side}.out"
    dsn = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    plain = args.plain == "both" or (args.plain == "new" and side == "new")
    metrics = args.metrics == "both" or (args.metrics == "new" and side == "new")
    server = _serve(tree, args.port, dsn, out, plain, metrics)
    try:
        await _ready(args.port)
        await load.each_once(HOST, args.port, load.sign_ins(HOST, args.port, seeded), 1)
        run_id = f"instr{time.time():.0f}{side}"
        if args.scenario == "e":
            await _fanout(server.pid, args, seeded, run_id)
        else:
            await _requests(server.pid, args, seeded, run_id)
        _callgrind(server.pid, "--dump")
    finally:
        server.terminate()
        server.wait(120)
    return _instructions(out) / args.requests


async def _send(conn, work, count: int) -> None:
    for i in range(count):
        error = await load._one(conn, work.request(i), work)
        if error is not None:
            raise SystemExit(f"{work.name} {i} failed: {error}")


async def _requests(pid: int, args, seeded, run_id: str) -> None:
    conn = await wire.connect(HOST, args.port)
    if args.scenario in ("f2", "f3"):
        work = await _drawn_on(conn, args, seeded, run_id)
    else:
        work = workload(args.scenario, args.port, seeded, run_id)
    await _send(conn, work, 30)
    _callgrind(pid, "--instr=on")
    await _send(conn, work, args.requests)
    _callgrind(pid, "--instr=off")
    conn.close()


async def _drawn_on(conn, args, seeded, run_id: str):
    """Scenarios f2 (captures) and f3 (refunds), after what they draw on, uncounted: holds
    of 50.00 enough for five captures of at most 9.99 each, and for f3 captures of at least
    1.00 enough for a hundred refunds of 0.01 each (bench.load's f workloads)."""
    total = 30 + args.requests
    holds, captured = load.Pool(), load.Pool()
    authorize = load.authorizations(HOST, args.port, seeded, f"{run_id}-f1", holds)
    await _send(conn, authorize, -(-total // 5))
    capture = load.captures(HOST, args.port, seeded, f"{run_id}-f2", holds, captured)
    if args.scenario == "f2":
        return capture
    await _send(conn, capture, -(-total // 100))
    return load.refunds(HOST, args.port, seeded, f"{run_id}-f3", captured)


async def _fanout(pid: int, args, seeded, run_id: str) -> None:
    """Scenario e: a posting into the watched wallet and its delivery to every subscriber,
    one posting at a time; a request here is one posting and its `--subscribers` deliveries."""
    variables = {"w": seeded.public_watch_wallet}
    subs = [
        await wire.subscribe(HOST, args.port, seeded.watch_token, load.SUBSCRIPTION, variables)
        for _ in range(args.subscribers)
    ]
    work = load.transfers_into(HOST, args.port, seeded, seeded.public_watch_wallet, run_id)
    conn = await wire.connect(HOST, args.port)

    async def post(first: int, count: int) -> None:
        for i in range(first, first + count):
            expected = [len(s.received) + 1 for s in subs]
            error = await load._one(conn, work.request(i), work)
            if error is not None:
                raise SystemExit(f"posting {i} failed: {error}")
            for _ in range(1200):  # deliveries under valgrind are slow
                if all(len(s.received) >= n for s, n in zip(subs, expected, strict=True)):
                    break
                await asyncio.sleep(0.05)
            else:
                raise SystemExit(f"posting {i} did not reach every subscriber")

    await post(0, 5)
    _callgrind(pid, "--instr=on")
    await post(5, args.requests)
    _callgrind(pid, "--instr=off")
    conn.close()
    for s in subs:
        s.close()


def _signed_in(seeded):
    """`seeded` cut to the customers the measured worker signs in (SIGNED_IN)."""
    seeded = copy.copy(seeded)
    for name in (
        "customer_ids",
        "customer_tokens",
        "wallet_ids",
        "public_wallets",
        "payment_tokens",
    ):
        setattr(seeded, name, getattr(seeded, name)[:SIGNED_IN])
    return seeded


async def of_this_tree(
    scenarios: tuple[str, ...], *, admin_url: str, database: str, seeded, requests: int, port: int
) -> dict[str, float] | None:
    """Instructions per request of this working tree in each of `scenarios` (a-d, f2, f3), on a
    database `python -m bench.run` seeded (bench.run's f line compares captures and refunds with
    transfers this way); None without valgrind."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return None
    seeded = _signed_in(seeded)
    found = {}
    with tempfile.TemporaryDirectory(prefix="walletql-instr-") as work_dir:
        for scenario in scenarios:
            args = argparse.Namespace(
                admin_url=admin_url,
                database=database,
                scenario=scenario,
                requests=requests,
                port=port,
                plain="none",
                metrics="none",
            )
            found[scenario] = await measure(scenario, ROOT, args, seeded, Path(work_dir))
    return found


async def compare(args, trees: dict[str, Path]) -> dict:
    seeded = _signed_in(load_seeded(args.database))
    per_request = {}
    with tempfile.TemporaryDirectory(prefix="walletql-instr-") as work_dir:
        for side, tree in trees.items():
            per_request[side] = await measure(side, tree, args, seeded, Path(work_dir))
            print(f"{side}: {per_request[side] / 1e6:.3f} M instructions per request", flush=True)
    ratio = per_request["new"] / per_request["old"]
    print(f"new/old {ratio:.3f} (scenario {args.scenario}, {args.requests} requests each)")
    return {"instructions_per_request": per_request, "new_over_old": ratio}


def main(argv: list[str] | None = None) -> int:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("bench.instructions needs valgrind (Debian: apt install valgrind)")
    p = revisions_parser(
        "python -m bench.instructions",
        __doc__.split("\n")[0],
        ("a", "b", "c", "d", "e", "f2", "f3"),
    )
    p.add_argument("--requests", type=int, default=300, help="e: postings")
    p.add_argument("--subscribers", type=int, default=100, help="e: on the watched wallet")
    p.add_argument("--port", type=int, default=8871)
    p.add_argument(
        "--plain",
        choices=("none", "new", "both"),
        default="none",
        help="serve NEW, or both, with WALLETQL_FAST_PATHS=false (plain frameworks)",
    )
    p.add_argument(
        "--metrics",
        choices=("none", "new", "both"),
        default="none",
        help="serve NEW, or both, with WALLETQL_METRICS=true (in multiprocess files)",
    )
    return on_both_sides(p.parse_args(argv), compare)


if __name__ == "__main__":
    raise SystemExit(main())
