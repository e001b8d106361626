"""walletql load benchmark: `python -m bench.run` (full, ~15 min) or `python -m bench.run --quick`.

Drops and recreates its own database, seeds it, measures the database ceiling with a minimal
asyncpg client, starts real uvicorn workers, runs scenarios a-g, runs `walletql verify` after
every write scenario, prints a table and writes bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import asyncpg

from bench import ceiling, fanout, load, monitor, seed, wire
from bench.figures import attach_costs, attach_ratios, print_table, targets
from bench.monitor import Window, background_load, machine
from walletql.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
INSTRUCTION_REQUESTS = 100  # per scenario counted for f's line (the same count to ~0.1%)
BATCH_SIZE = 100  # postings per request in scenario g


def load_seeded(database: str) -> SimpleNamespace:
    """The tokens and ids a previous `python -m bench.run` seeded into `database`, for the tools
    that reuse its database (profile, ab, instructions)."""
    path = RESULTS / f"seeded-{database}.json"
    if not path.exists():
        raise SystemExit(
            f"no {path}: seed it first (python -m bench.run --quick --database {database})"
        )
    return SimpleNamespace(**json.loads(path.read_text()))


def _log(message: str) -> None:
    print(message, flush=True)


# --- configuration ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run, about 3 minutes")
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--database", default="walletql_bench")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--workers", type=int, default=2, help="server processes (workers)")
    p.add_argument(
        "--topology",
        choices=["ports", "serve", "workers"],
        default="ports",
        help="ports (the default, production's shape): N single-worker `walletql serve` "
        "processes (uvicorn with --app) on consecutive ports, the bench spreading its "
        "connections evenly over them, as a load balancer in front would; "
        "serve: one `walletql serve --workers N` (one SO_REUSEPORT socket per worker, the "
        "kernel hands out connections by hash); "
        "workers: `uvicorn --workers N` (one shared socket, the first worker awake accepts)",
    )
    p.add_argument("--pool", type=int, default=10, help="WALLETQL_DB_POOL_SIZE per worker")
    p.add_argument(
        "--posting-concurrency",
        type=int,
        default=Settings().posting_concurrency,
        help="WALLETQL_POSTING_CONCURRENCY per worker (0: no limit; default: the server's)",
    )
    p.add_argument(
        "--plain",
        action="store_true",
        help="WALLETQL_FAST_PATHS=false: plain Strawberry and Tortoise, no shortcuts",
    )
    p.add_argument(
        "--app",
        default="walletql.app:app",
        help="ASGI app to serve (compare a patched variant on PYTHONPATH against the stock one)",
    )
    p.add_argument("--levels", help="concurrency levels for postings, e.g. 1,4,16,64")
    p.add_argument("--read-levels", help="concurrency levels for reads")
    p.add_argument("--duration", type=float, help="seconds measured per level")
    p.add_argument("--customers", type=int, default=10_000)
    p.add_argument("--history", type=int, help="entries in the history wallet")
    p.add_argument("--subscribers", type=int)
    p.add_argument("--rates", help="posting rates for the fan-out scenario, per second")
    p.add_argument(
        "--only",
        default="abcdefg",
        help="scenarios to run (letters), e.g. --only ab; ceiling always",
    )
    p.add_argument("--skip-ceiling", action="store_true", help="A/B runs: no ceiling phase")
    p.add_argument(
        "--open-rate", type=float, help="A/B runs: a fixed open-loop rate instead of 70%% of peak"
    )
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/<timestamp>.json)")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="MINUTES",
        help="first wait up to this long for the machine to be idle (< 0.2 busy cores)",
    )
    args = p.parse_args(argv)
    quick = args.quick

    def ints(text: str | None, default: list[int]) -> list[int]:
        return [int(x) for x in text.split(",")] if text else default

    args.levels = ints(args.levels, [1, 8, 32] if quick else [1, 4, 16, 64])
    args.read_levels = ints(args.read_levels, [1, 16] if quick else [1, 16, 64])
    args.batch_levels = [1, 4] if quick else [1, 4, 16]
    args.duration = args.duration or (3.0 if quick else 8.0)
    args.warmup = 1.0 if quick else 2.0
    args.history = args.history or (100_000 if quick else 1_000_000)
    args.subscribers = args.subscribers or (200 if quick else 1000)
    args.rates = (
        [float(x) for x in args.rates.split(",")]
        if args.rates
        else ([5.0] if quick else [2.0, 10.0])
    )
    args.fanout_duration = 5.0 if quick else 15.0
    args.open_duration = 5.0 if quick else 12.0
    return args


# --- database helpers -------------------------------------------------------------------------


def _env(dsn: str, args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.pop("DATABASE_URL", None)
    env.update(
        WALLETQL_DATABASE_URL=dsn,
        WALLETQL_DB_POOL_SIZE=str(args.pool),
        WALLETQL_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    # Scenario e watches one user's wallet with `--subscribers` sockets, far above the per-user
    # limit a deployment needs by default (100 per process): raised here, as an operator would
    # for a user with that many live dashboards.
    subscribers = getattr(args, "subscribers", None) or 0
    env["WALLETQL_MAX_SUBSCRIPTIONS_PER_USER"] = str(max(subscribers, 100))
    turns = getattr(args, "posting_concurrency", None)  # tools without the option: the default
    if turns is not None:
        env["WALLETQL_POSTING_CONCURRENCY"] = str(turns)
    if getattr(args, "plain", False):
        env["WALLETQL_FAST_PATHS"] = "false"
    return env


def walletql_cli(command: str, env: dict) -> tuple[int, str, float]:
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "walletql.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    return done.returncode, (done.stdout + done.stderr).strip(), time.perf_counter() - t


async def ledger_state(dsn: str, db: str) -> dict:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        row = await conn.fetchrow(
            """
            SELECT (SELECT deadlocks FROM pg_stat_database WHERE datname = $1) AS deadlocks,
                   (SELECT count(*) FROM wallets WHERE balance < minimum_balance) AS overdrawn,
                   (SELECT count(*) FROM transactions WHERE status = 'REJECTED') AS rejected,
                   (SELECT count(*) FROM transactions) AS transactions,
                   (SELECT count(*) FROM entries) AS entries
            """,
            db,
        )
        return dict(row)
    finally:
        await conn.close()


async def verify(label: str, dsn: str, db: str, env: dict, before: dict | None) -> dict:
    await asyncio.sleep(1.0)  # let pg_stat_database catch up
    code, output, seconds = await asyncio.to_thread(walletql_cli, "verify", env)
    state = await ledger_state(dsn, db)
    verdict = output.splitlines()[-1] if output else "(no output)"
    result = {
        "after": label,
        "exit_code": code,
        "verdict": verdict,
        "ok": code == 0,
        "problems": output.splitlines()[:20] if code else [],
        "seconds": seconds,
        **state,
    }
    if before is not None:
        result["new_deadlocks"] = state["deadlocks"] - before["deadlocks"]
        result["new_rejected"] = state["rejected"] - before["rejected"]
        result["new_transactions"] = state["transactions"] - before["transactions"]
    _log(
        f"  walletql verify after {label}: {verdict} (exit {code}, {seconds:.1f}s); "
        f"deadlocks {result.get('new_deadlocks', state['deadlocks'])}, overdrawn wallets "
        f"{state['overdrawn']}, rejected {result.get('new_rejected', state['rejected'])}"
    )
    return result


# --- server -----------------------------------------------------------------------------------


class Server:
    def __init__(self, args: argparse.Namespace, env: dict, log_path: Path) -> None:
        self.args, self.env, self.log_path = args, env, log_path
        self.proc: subprocess.Popen | None = None

    async def start(self) -> None:
        self.log = self.log_path.open("w")
        ports_mode = self.args.topology == "ports"
        count = self.args.workers if ports_mode else 1
        self.ports = [self.args.port + i for i in range(count)]
        self.procs: list[subprocess.Popen] = []
        commands = []
        # As deployed: `walletql serve` (its own app, with its header deadline, websocket and
        # keep-alive options), one process per port behind the bench's spreading of connections
        # (a load balancer's part), or one supervising N workers. `--app` needs uvicorn's CLI.
        stock = self.args.app == "walletql.app:app"
        for port in self.ports:
            if self.args.topology == "serve" or (ports_mode and stock):
                workers = 1 if ports_mode else self.args.workers
                cmd = [sys.executable, "-m", "walletql.cli", "serve", "--host", HOST]
                cmd += ["--port", str(port), "--workers", str(workers)]
            else:
                cmd = [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    self.args.app,
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--workers",
                    "1" if ports_mode else str(self.args.workers),
                    "--no-access-log",
                    "--timeout-keep-alive",
                    "30",
                    "--log-level",
                    "warning",
                ]
            commands.append(" ".join(cmd[1:]))
            self.procs.append(
                subprocess.Popen(  # noqa: ASYNC220 (Popen returns at once)
                    cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT
                )
            )
        self.proc = self.procs[0]
        self.command = " & ".join(commands)
        if ports_mode:
            wire.SPREAD[self.args.port] = list(self.ports)
        deadline = time.perf_counter() + 60
        for port in self.ports:
            ok = 0
            while True:
                if time.perf_counter() > deadline:
                    raise RuntimeError("uvicorn did not become ready in 60 s")
                if any(p.poll() is not None for p in self.procs):
                    raise RuntimeError(f"uvicorn exited: see {self.log_path}")
                try:
                    status, _ = await wire.one_shot(
                        HOST, port, wire.get_request(HOST, port, "/readyz"), 2
                    )
                    ok = ok + 1 if status == 200 else 0
                except (OSError, TimeoutError, wire.HTTPError):
                    ok = 0
                if ok >= 10 * (1 if ports_mode else self.args.workers):
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)

    @property
    def pid(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        wire.SPREAD.pop(self.args.port, None)
        for proc in getattr(self, "procs", []):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in getattr(self, "procs", []):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if hasattr(self, "log"):
            self.log.close()


# --- scenarios --------------------------------------------------------------------------------


async def quiet_gate(args: argparse.Namespace, label: str) -> None:
    """With --wait-quiet: before each measurement, wait (within the overall budget) until the
    machine is idle apart from the bench, so another job starting mid-run cannot skew a row."""
    if not args.wait_quiet:
        return
    while time.perf_counter() < args.quiet_deadline:
        busy = await asyncio.to_thread(background_load, 1.0)
        if busy < 0.3:
            return
        _log(f"  (pausing before {label}: {busy:.2f} busy cores elsewhere)")
        await asyncio.sleep(5)


def _row(scenario: str, name: str, mode: str, level, summary: dict, stats: dict, **extra) -> dict:
    return {
        "scenario": scenario,
        "name": name,
        "mode": mode,
        "level": level,
        **summary,
        **stats,
        **extra,
    }


def _brief(r: dict) -> str:
    def ms(v):
        return "-" if v is None else f"{v:.1f}"

    return (
        f"{r['throughput']:8.1f}/s p50 {ms(r['p50_ms'])} p95 {ms(r['p95_ms'])} p99 {ms(r['p99_ms'])} ms, "
        f"errors {r['errors']}" + (f" {r['error_codes']}" if r["errors"] else "")
    )


async def run_ceiling(args, dsn: str, seeded, run_id: str) -> list[dict]:
    await ceiling.install(dsn)
    rows = []
    n = len(seeded.wallet_ids)

    def uniform(seed_: int):
        rng = random.Random(seed_)

        def pick(i: int):
            a = rng.randrange(n)
            b = rng.randrange(n - 1)
            b = b + 1 if b >= a else b
            return (
                "TRANSFER",
                seeded.wallet_ids[a],
                seeded.wallet_ids[b],
                seeded.customer_ids[a],
                ceiling.amount_cents(rng),
            )

        return pick

    def hot(seed_: int):
        rng = random.Random(seed_)

        def pick(i: int):
            a = rng.randrange(n)
            return (
                "CHARGE",
                seeded.wallet_ids[a],
                seeded.merchant_wallet,
                seeded.merchant_id,
                ceiling.amount_cents(rng),
            )

        return pick

    for scenario, name, make in (("a", "uniform transfers", uniform), ("b", "hot merchant", hot)):
        for form in ("fn", "multi"):
            for level in args.levels:
                await quiet_gate(args, f"ceiling {form} {scenario} c={level}")
                op = ceiling.posting_op(
                    form, make(level), f"{run_id}-ceil-{scenario}-{form}-{level}"
                )
                window = Window(None).start()
                raw = await ceiling.closed_loop(dsn, op, level, args.duration, args.warmup)
                stats = window.stop()
                row = _row(scenario, name, f"ceiling-{form}", level, load.summarize(raw), stats)
                rows.append(row)
                _log(f"  ceiling {form:5} {scenario} c={level:<3} {_brief(row)}")
    digests = [
        __import__("walletql.auth", fromlist=["token_digest"]).token_digest(t)
        for t in seeded.customer_tokens
    ]
    reads = [
        ("c", "balance reads", ceiling.balances_op(digests)),
        ("d1", "history first page", ceiling.history_op(seeded.history_wallet, [2**63 - 1])),
        ("d2", "history deep page", ceiling.history_op(seeded.history_wallet, seeded.deep_befores)),
    ]
    for scenario, name, op in reads:
        for level in args.read_levels:
            await quiet_gate(args, f"ceiling {scenario} c={level}")
            window = Window(None).start()
            raw = await ceiling.closed_loop(dsn, op, level, args.duration, args.warmup)
            stats = window.stop()
            row = _row(scenario, name, "ceiling-sql", level, load.summarize(raw), stats)
            rows.append(row)
            _log(f"  ceiling sql   {scenario:2} c={level:<3} {_brief(row)}")
    return rows


async def sweep(args, server: Server, scenario: str, name: str, work, levels) -> list[dict]:
    rows = []
    for level in levels:
        await quiet_gate(args, f"{scenario} c={level}")
        window = Window(server.pid).start()
        raw = await load.closed_loop(HOST, args.port, work, level, args.duration, args.warmup)
        stats = window.stop()
        row = _row(scenario, name, "closed", level, load.summarize(raw), stats)
        rows.append(row)
        _log(
            f"  api {scenario:2} c={level:<3} {_brief(row)}; server CPU {stats['server_cpu_cores']:.2f}"
            f" RSS {stats['server_peak_rss_mb']:.0f} MB, pg CPU {stats['postgres_cpu_cores']:.2f},"
            f" loadgen CPU {stats['loadgen_cpu_cores']:.2f},"
            f" speed probe {stats['speed_probe_ms']:.0f} ms"
        )
    return rows


async def at_fraction_of_peak(args, server, scenario, name, work, peak: float) -> dict:
    rate = args.open_rate or max(1.0, round(0.7 * peak))
    await quiet_gate(args, f"{scenario} at {rate:.0f}/s")
    window = Window(server.pid).start()
    raw = await load.open_loop(HOST, args.port, work, rate, args.open_duration, warmup=args.warmup)
    stats = window.stop()
    row = _row(scenario, name, "open-70%", rate, load.summarize(raw), stats, peak=peak)
    _log(f"  api {scenario:2} fixed {rate:.0f}/s (70% of peak {peak:.0f}/s) {_brief(row)}")
    _log(f"      slowest answer per second (ms): {row.get('max_ms_by_second')}")
    return row


def history_cursors(seeded, count: int = 200) -> None:
    """Deep cursors: random positions in the older half of the history wallet."""
    from walletql.ledger.reads import encode_cursor

    rng = random.Random(5)
    n = seeded.history_size
    newest = seeded.history_newest_id
    depths = [rng.randint(n // 2, n - 21) for _ in range(count)]
    seeded.deep_befores = [newest - d + 1 for d in depths]  # page starts right below this id
    seeded.deep_cursors = [encode_cursor(b) for b in seeded.deep_befores]


async def main_async(args: argparse.Namespace) -> dict:
    started = datetime.now(UTC)
    run_id = f"r{started.strftime('%H%M%S')}{random.randrange(1000):03d}"
    dsn = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    env = _env(dsn, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    out_path = args.out or RESULTS / f"{stamp}.json"
    result: dict = {
        "started": started.isoformat(),
        "quick": args.quick,
        "machine": machine(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "git": _git(),
        "rows": [],
        "verify": [],
    }
    t_all = time.perf_counter()
    monitor.BENCH_DATABASE = args.database
    _log(f"walletql bench {'(quick) ' if args.quick else ''}on {result['machine']}")
    args.quiet_deadline = quiet_deadline = time.perf_counter() + args.wait_quiet * 60
    while True:
        idle_load = await asyncio.to_thread(background_load, 3.0)
        if idle_load < 0.2 or time.perf_counter() >= quiet_deadline:
            break
        _log(f"  waiting for a quiet machine: {idle_load:.2f} busy cores")
    result["background_load_cores"] = idle_load
    _log(
        f"background load before start: {idle_load:.2f} busy cores"
        + (
            "  (WARNING: something else is using the CPU; figures will be low)"
            if idle_load > 0.2
            else ""
        )
    )
    _log(f"database {dsn}: recreate, migrate, seed")
    await seed.recreate_database(args.admin_url, args.database)
    code, output, seconds = await asyncio.to_thread(walletql_cli, "migrate", env)
    if code:
        raise SystemExit(f"walletql migrate failed: {output}")
    seeded = await seed.seed(dsn, args.customers, args.history, log=_log)
    conn = await asyncpg.connect(dsn)
    seeded.history_newest_id = await conn.fetchval(
        "SELECT max(id) FROM transactions WHERE destination_wallet_id = $1", seeded.history_wallet
    )
    await conn.close()
    history_cursors(seeded)
    result["seed"] = {
        "customers": args.customers,
        "history_entries": args.history,
        **seeded.timings,
    }
    # For bench.profile (same database, same tokens). Throwaway local credentials, gitignored.
    (RESULTS / f"seeded-{args.database}.json").write_text(json.dumps(vars(seeded)))
    state = await verify("seeding", dsn, args.database, env, None)
    result["verify"].append(state)

    if not args.skip_ceiling:
        _log("ceiling: minimal asyncpg client on the same database")
        result["rows"] += await run_ceiling(args, dsn, seeded, run_id)
        state = await verify("ceiling postings", dsn, args.database, env, state)
        result["verify"].append(state)

    server = Server(args, env, RESULTS / f"server-{stamp}.log")
    _log(
        f"server: uvicorn, {args.workers} worker(s) ({args.topology}), pool {args.pool} per worker,"
        f" {args.posting_concurrency or 'any number of'} postings at once per worker, port {args.port}"
    )
    await server.start()
    result["server_command"] = server.command
    try:
        await run_api(args, server, result, dsn, env, seeded, run_id, state)
    except Exception as exc:  # keep every figure measured so far, and say what stopped the run
        result["error"] = f"{type(exc).__name__}: {exc}"
        _log(f"RUN STOPPED: {result['error']}")
    finally:
        server.stop()
    attach_ratios(result["rows"])
    attach_costs(result["rows"])
    result["targets"] = targets(result)
    result["elapsed_s"] = time.perf_counter() - t_all
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1, default=str))
    print_table(result)
    _log(f"\nwrote {out_path} ({result['elapsed_s'] / 60:.1f} min)")
    if "error" in result:
        raise SystemExit(f"the run stopped early: {result['error']}")
    return result


async def run_api(args, server, result, dsn, env, seeded, run_id, state) -> None:
    """Scenarios a-g against the running server; rows and verdicts go into `result`."""
    # Each worker should see every token (load.sign_ins). The kernel hashes each connection to a
    # worker, so every sign-in is sent four times over 64 connections: a worker misses a given
    # token with probability 2**-4 with two workers.
    t = time.perf_counter()
    sign_ins = load.sign_ins(HOST, args.port, seeded) * 4
    random.Random(11).shuffle(sign_ins)
    errors = await load.each_once(HOST, args.port, sign_ins, 64)
    result["sign_ins"] = {"seconds": time.perf_counter() - t, "errors": errors}
    seconds = result["sign_ins"]["seconds"]
    _log(f"  sign-ins: one balance read per token in {seconds:.1f}s, errors {errors}")
    if "a" in args.only:
        work = load.transfers(HOST, args.port, seeded, f"{run_id}-a")
        rows = await sweep(args, server, "a", "uniform transfers", work, args.levels)
        peak = max(r["throughput"] for r in rows)
        rows.append(await at_fraction_of_peak(args, server, "a", "uniform transfers", work, peak))
        result["rows"] += rows
        state = await verify("a (uniform transfers)", dsn, args.database, env, state)
        result["verify"].append(state)
    if "b" in args.only:
        work = load.charges(HOST, args.port, seeded, f"{run_id}-b")
        rows = await sweep(args, server, "b", "hot merchant", work, args.levels)
        peak = max(r["throughput"] for r in rows)
        rows.append(await at_fraction_of_peak(args, server, "b", "hot merchant", work, peak))
        result["rows"] += rows
        state = await verify("b (hot merchant)", dsn, args.database, env, state)
        result["verify"].append(state)
    if "c" in args.only:
        work = load.balances(HOST, args.port, seeded)
        result["rows"] += await sweep(args, server, "c", "balance reads", work, args.read_levels)
    if "d" in args.only:
        first = load.history_pages(HOST, args.port, seeded, [None])
        deep = load.history_pages(HOST, args.port, seeded, seeded.deep_cursors)
        counted = load.history_pages(HOST, args.port, seeded, [None], count=True)
        for scenario, name, work in (
            ("d1", "history first page", first),
            ("d2", "history deep page", deep),
        ):
            rows = await sweep(args, server, scenario, name, work, args.read_levels)
            peak = max(r["throughput"] for r in rows)
            rows.append(await at_fraction_of_peak(args, server, scenario, name, work, peak))
            result["rows"] += rows
        result["rows"] += await sweep(
            args, server, "d3", "history first page + totalCount", counted, args.read_levels[:1]
        )
    if "f" in args.only:
        holds, captured = load.Pool(), load.Pool()
        for scenario, name, work in (
            (
                "f1",
                "authorize (hot merchant)",
                load.authorizations(HOST, args.port, seeded, f"{run_id}-f1", holds),
            ),
            (
                "f2",
                "capture (hot merchant)",
                load.captures(HOST, args.port, seeded, f"{run_id}-f2", holds, captured),
            ),
            (
                "f3",
                "refund (hot merchant)",
                load.refunds(HOST, args.port, seeded, f"{run_id}-f3", captured),
            ),
        ):
            result["rows"] += await sweep(args, server, scenario, name, work, args.levels)
        state = await verify("f (authorize, capture, refund)", dsn, args.database, env, state)
        result["verify"].append(state)
    if "g" in args.only:
        for scenario, atomic in (("g1", True), ("g2", False)):
            work = load.transfer_batches(
                HOST, args.port, seeded, f"{run_id}-{scenario}", atomic, size=BATCH_SIZE
            )
            name = f"batches of {BATCH_SIZE} transfers, {'atomic' if atomic else 'not atomic'}"
            rows = await sweep(args, server, scenario, name, work, args.batch_levels)
            for row in rows:
                row["batch_size"] = BATCH_SIZE
                row["posting_rate"] = row["throughput"] * BATCH_SIZE
            result["rows"] += rows
        state = await verify("g (batches of transfers)", dsn, args.database, env, state)
        result["verify"].append(state)
    if "e" in args.only:
        result["rows"] += await fanout.run(
            HOST,
            args.port,
            dsn,
            seeded,
            server.pid,
            args.subscribers,
            args.rates,
            args.fanout_duration,
            run_id,
            log=_log,
            gate=lambda label: quiet_gate(args, label),
        )
        state = await verify("e (fan-out postings)", dsn, args.database, env, state)
        result["verify"].append(state)
    if "f" in args.only:
        # Last, on the idle machine: f's line compares the server's own work per capture and
        # per refund with a transfer's. Its CPU time per request would add the hot merchant
        # row's queueing and the VM's drift between rows minutes apart.
        from bench import instructions  # (it imports this module)

        _log(f"instructions per request, {INSTRUCTION_REQUESTS} each (bench.instructions)")
        found = await instructions.of_this_tree(
            ("a", "f2", "f3"),
            admin_url=args.admin_url,
            database=args.database,
            seeded=seeded,
            requests=INSTRUCTION_REQUESTS,
            port=args.port + 100,
        )
        if found is None:
            _log("  not counted: valgrind is not installed (apt install valgrind)")
        else:
            result["instructions"] = {"per_request": found, "requests": INSTRUCTION_REQUESTS}
            _log("  " + ", ".join(f"{s} {n / 1e6:.3f} M" for s, n in found.items()))


def _git() -> dict:
    def git(*a):
        try:
            return subprocess.run(
                ["git", *a], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "walletql")),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_async(args))
    else:
        uvloop.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
