"""Two versions of walletql side by side: server CPU per request, old against new.

    python -m bench.ab f242774 [NEW] [--scenario a] [--concurrency 4] [--seconds 5] [--rounds 4]

The VM's speed drifts by up to 1.9x within an hour (probe 27-52 ms), so two bench runs minutes
apart cannot show a 10% change. Here both versions serve at the same moment: each revision is
checked out in a temporary git worktree (NEW defaults to this working tree), served by one
single-worker uvicorn on the seeded bench database, both are loaded by the same scenario at the
same time, and each server's CPU per answered request is compared. A/A runs (the same code on
both sides) differ by up to 8% (0.92-1.05 in five runs): smaller differences are not resolved;
repeat a run and compare both orders before believing one under ~10%. Needs a database seeded
by `python -m bench.run`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import load, wire
from bench.profile import workload
from bench.run import HOST, ROOT, load_seeded


@contextlib.contextmanager
def checkout(revision: str | None):
    """The tree to serve: this working tree, or `revision` in a temporary worktree."""
    if revision is None:
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="walletql-ab-") as parent:
        tree = Path(parent) / "tree"
        git = ["git", "-C", str(ROOT)]
        added = subprocess.run([*git, "worktree", "add", "--detach", str(tree), revision])
        if added.returncode != 0:
            raise SystemExit(f"cannot check out {revision!r} (see git's message above)")
        try:
            yield tree
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)


def _serve(tree: Path, port: int, dsn: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.update(WALLETQL_DATABASE_URL=dsn, WALLETQL_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    # `python -m` puts the working directory first on sys.path: the tree's walletql is served.
    command = [sys.executable, "-m", "uvicorn", "walletql.app:app", "--host", HOST]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=tree, env=env)


async def _ready(port: int) -> None:
    for _ in range(200):
        with contextlib.suppress(OSError, TimeoutError, wire.HTTPError):
            status, _ = await wire.one_shot(HOST, port, wire.get_request(HOST, port, "/readyz"), 2)
            if status == 200:
                return
        await asyncio.sleep(0.3)
    raise SystemExit(f"the server on port {port} did not become ready")


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def compare(args, trees: dict[str, Path]) -> dict:
    seeded = load_seeded(args.database)
    dsn = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    ports = {"old": args.port, "new": args.port + 1}
    servers = {side: _serve(trees[side], ports[side], dsn) for side in ports}
    try:
        await asyncio.gather(*(_ready(port) for port in ports.values()))
        await asyncio.gather(
            *(load.each_once(HOST, p, load.sign_ins(HOST, p, seeded), 16) for p in ports.values())
        )
        totals = {side: [0, 0.0] for side in ports}
        for round_ in range(args.rounds):
            # Keys of their own per side and round: a key sent twice would replay, not post.
            run_id = f"ab{time.time():.0f}-{round_}"
            works = {s: workload(args.scenario, ports[s], seeded, f"{run_id}{s}") for s in ports}
            procs = {side: psutil.Process(server.pid) for side, server in servers.items()}
            before = {side: _cpu(p) for side, p in procs.items()}
            results = await asyncio.gather(
                *(
                    load.closed_loop(HOST, ports[s], works[s], args.concurrency, args.seconds, 0.5)
                    for s in ports
                )
            )
            line = []
            for side, result in zip(ports, results, strict=True):
                answered = len(result["latencies"])
                used = _cpu(procs[side]) - before[side]
                totals[side][0] += answered
                totals[side][1] += used
                line.append(
                    f"{side} {answered / args.seconds:6.0f}/s {used / answered * 1000:.3f} ms/req"
                    f" errors {result['errors'] or 0}"
                )
            print(f"round {round_ + 1}: " + " | ".join(line))
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(30)
    per_request = {side: cpu / n * 1000 for side, (n, cpu) in totals.items()}
    ratio = per_request["new"] / per_request["old"]
    print(
        f"server CPU per request: old {per_request['old']:.3f} ms, new {per_request['new']:.3f} ms,"
        f" new/old {ratio:.3f}"
    )
    return {"ms_per_request": per_request, "new_over_old": ratio}


def revisions_parser(
    prog: str, description: str, scenarios: tuple[str, ...] = ("a", "b", "c", "d")
) -> argparse.ArgumentParser:
    """The arguments of every old-against-new comparison (this one, bench.instructions)."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("old", help="git revision of the old side")
    p.add_argument("new", nargs="?", help="git revision of the new side (default: this tree)")
    p.add_argument("--scenario", default="a", choices=list(scenarios))
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--database", default="walletql_bench")
    return p


def on_both_sides(args: argparse.Namespace, compare) -> int:
    """Check out both revisions and run `compare(args, {"old": tree, "new": tree})`."""
    with checkout(args.old) as old, checkout(args.new) as new:
        asyncio.run(compare(args, {"old": old, "new": new}))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = revisions_parser("python -m bench.ab", __doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, default=4, help="clients per side")
    p.add_argument("--seconds", type=float, default=5.0, help="per round")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--port", type=int, default=8801, help="old side; new side on the next")
    return on_both_sides(p.parse_args(argv), compare)


if __name__ == "__main__":
    sys.exit(main())
