"""Instructions per request, old against new: a measure the VM's speed cannot move.

    python -m bench.instructions OLD [NEW] [--scenario a] [--requests 300]

CPU time on this VM drifts by up to 1.9x within an hour, so `bench.ab` resolves only changes of
~10%. valgrind's callgrind counts the instructions a process executes, which depend on the code
and its inputs, not on how fast the machine is that minute: the same revision measured twice
gives the same figure to ~0.1%. Each revision (NEW defaults to this working tree) is served by
one uvicorn worker under callgrind, on the seeded bench database; 300 customers sign in, 30
requests warm it up, then instrumentation is switched on for exactly `--requests` requests sent
one at a time on one connection. User-space instructions only: the kernel's side of each
request (sockets, scheduling) is not counted, and an instruction is not a fixed amount of time,
so this says which way and roughly how far a change moves the server's own work; `bench.ab`
and `bench.run` say what it buys. Needs valgrind (Debian: `apt install valgrind`) and a database
seeded by `python -m bench.run`.
"""

from __future__ import annotations

import asyncio
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
from bench.run import HOST, load_seeded

SIGNED_IN = 300  # customers whose tokens the worker has seen; the workload uses only these


def _serve(tree: Path, port: int, dsn: str, out: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.update(WALLETQL_DATABASE_URL=dsn, WALLETQL_LOG_LEVEL="WARNING", PYTHONHASHSEED="0")
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
    server = _serve(tree, args.port, dsn, out)
    try:
        await _ready(args.port)
        await load.each_once(HOST, args.port, load.sign_ins(HOST, args.port, seeded), 1)
        work = workload(args.scenario, args.port, seeded, f"instr{time.time():.0f}{side}")
        conn = await wire.connect(HOST, args.port)

        async def send(count: int) -> None:
            for i in range(count):
                error = await load._one(conn, work.request(i), work)
                if error is not None:
                    raise SystemExit(f"request {i} failed: {error}")

        await send(30)
        _callgrind(server.pid, "--instr=on")
        await send(args.requests)
        _callgrind(server.pid, "--instr=off")
        _callgrind(server.pid, "--dump")
        conn.close()
    finally:
        server.terminate()
        server.wait(120)
    return _instructions(out) / args.requests


async def compare(args, trees: dict[str, Path]) -> dict:
    seeded = load_seeded(args.database)
    for name in ("customer_ids", "customer_tokens", "wallet_ids", "payment_tokens"):
        setattr(seeded, name, getattr(seeded, name)[:SIGNED_IN])
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
    p = revisions_parser("python -m bench.instructions", __doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--port", type=int, default=8871)
    return on_both_sides(p.parse_args(argv), compare)


if __name__ == "__main__":
    raise SystemExit(main())
