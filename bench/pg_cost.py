"""PostgreSQL CPU per transfer, one connection, back to back: walletql's two-statement form (the
wallets `SELECT`, then `walletql_post`) against its one-statement form (`walletql_transfer`),
alternating rounds. The backend's own CPU is read from /proc, so neither the client nor the
server's Python is in the figure.

    python -m bench.pg_cost [--rounds 8] [--transfers 2000]

Needs a database seeded by `python -m bench.run` (and PostgreSQL on this machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import uuid
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import asyncpg

from bench.run import load_seeded

_WALLETS = "SELECT * FROM wallets WHERE (id = $1 AND owner_id = $2) OR id = $3"
_POST = "SELECT * FROM walletql_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
_TRANSFER = "SELECT * FROM walletql_transfer($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
_MAX_BALANCE = Decimal(10) ** 20
_CHANNEL = "walletql_balance"
_AMOUNT = Decimal("0.01")


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(dsn: str, seeded: SimpleNamespace, rounds: int, transfers: int) -> dict:
    conn = await asyncpg.connect(dsn)
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    wallets, owners = seeded.wallet_ids, seeded.customer_ids
    rng = random.Random(1)

    async def two(a: int, b: int) -> None:
        await conn.fetch(_WALLETS, wallets[a], owners[a], wallets[b])
        key = uuid.uuid4().hex
        await conn.fetch(_POST, "TRANSFER", None, _AMOUNT, "USD", wallets[a], wallets[b], None,
                         owners[a], key, "bench", _CHANNEL, _MAX_BALANCE)  # fmt: skip

    async def one(a: int, b: int) -> None:
        key = uuid.uuid4().hex
        await conn.fetch(_TRANSFER, owners[a], wallets[a], wallets[b], None, _AMOUNT, ["USD"],
                         None, key, "bench", _CHANNEL, _MAX_BALANCE)  # fmt: skip

    forms = {"two statements": two, "one statement": one}
    ms: dict[str, list[float]] = {name: [] for name in forms}
    try:
        for r in range(rounds):
            for name in list(forms)[:: 1 if r % 2 == 0 else -1]:
                before = _backend_cpu(pid)
                for _ in range(transfers):
                    await forms[name](*rng.sample(range(len(wallets)), 2))
                ms[name].append(1000 * (_backend_cpu(pid) - before) / transfers)
    finally:
        await conn.close()
    return ms


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pg_cost")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--transfers", type=int, default=2000, help="per form and round")
    p.add_argument("--database", default="walletql_bench")
    args = p.parse_args(argv)
    seeded = load_seeded(args.database)
    dsn = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    ms = asyncio.run(measure(dsn, seeded, args.rounds, args.transfers))
    for name, values in ms.items():
        shown = " ".join(f"{v:.3f}" for v in values)
        print(f"{name:15} median {statistics.median(values):.3f} ms per transfer ({shown})")
    lower = sum(o < t for o, t in zip(ms["one statement"], ms["two statements"], strict=True))
    print(f"one statement cheaper in {lower} of {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
