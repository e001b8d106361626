"""How long a sign-in takes to answer a wrong password, and an email nobody has, through a real
server: the two must not be told apart by time (docs/security.md, "Sign-in throttling").

Starts `python -m walletql.cli serve` (one worker) on a database of its own (dropped and made
again), signs one customer up, then sends, one at a time and interleaved so that the machine's
load falls on all of them alike: a wrong password for that customer's email, a wrong password
for one email nobody has, and a wrong password for a new email nobody has each time. Lockouts
are set out of reach for the run (WALLETQL_SIGNIN_MAX_FAILURES=1000): what is timed is the
path every failed sign-in takes (the throttle's two statements, the user lookup, argon2).
Prints each kind's median, p95 and mean in milliseconds, as bench/README.md shows them.

    python -m bench.signin_timing [--attempts 200] [--admin-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.attack import (
    ADMIN_URL,
    HOST,
    PASSWORD,
    REPO,
    START_TIMEOUT,
    free_port,
    server_env,
)
from bench.seed import drop_database, recreate_database

DATABASE = "walletql_signin_bench"
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
    __typename ... on Error { code } } }"""
SIGNUP = """mutation($input: SignupInput!) { signup(input: $input) {
    __typename ... on Error { code } } }"""
WARM_UP = 10


async def _login(http: httpx.AsyncClient, email: str) -> float:
    """Milliseconds until a wrong password for `email` is answered (it must be refused)."""
    variables = {"input": {"email": email, "password": "not the password at all"}}
    started = time.perf_counter()
    response = await http.post("/graphql", json={"query": LOGIN, "variables": variables})
    elapsed = (time.perf_counter() - started) * 1000
    answer = response.json()["data"]["login"]
    assert answer.get("code") == "INVALID_CREDENTIALS", answer
    return elapsed


def _summary(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, statistics.fmean(ordered)


async def measure(admin_url: str, attempts: int) -> dict[str, list[float]]:
    database_url = admin_url.rsplit("/", 1)[0] + f"/{DATABASE}"
    await recreate_database(admin_url, DATABASE)
    workdir = Path(tempfile.mkdtemp(prefix="walletql-signin-bench-"))
    port = free_port()
    settings = {"signin_max_failures": 1000, "signin_max_address_failures": 1_000_000}
    server = _spawn(port, server_env(database_url, workdir, **settings), workdir / "server.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30.0) as http:
            await _ready(http, server)
            return await _timed(http, attempts)
    finally:
        server.terminate()
        await asyncio.to_thread(server.wait, 10)
        await drop_database(admin_url, DATABASE)


def _spawn(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "walletql.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def _ready(http: httpx.AsyncClient, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode})")
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not answer /readyz in {START_TIMEOUT:.0f} s")


async def _timed(http: httpx.AsyncClient, attempts: int) -> dict[str, list[float]]:
    known = f"known-{secrets.token_hex(4)}@example.com"
    user = {"email": known, "password": PASSWORD, "name": "Timed", "role": "CUSTOMER"}
    signed = await http.post("/graphql", json={"query": SIGNUP, "variables": {"input": user}})
    assert signed.json()["data"]["signup"]["__typename"] == "AuthPayload", signed.text
    unknown = f"unknown-{secrets.token_hex(4)}@example.com"
    kinds = {
        "wrong password (registered email)": lambda: known,
        "unknown email (the same one)": lambda: unknown,
        "unknown email (a new one each time)": lambda: f"new-{secrets.token_hex(6)}@example.com",
    }
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for round_ in range(WARM_UP + attempts):
        for name, email in kinds.items():
            elapsed = await _login(http, email())
            if round_ >= WARM_UP:
                times[name].append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=200, help="timed attempts of each kind")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL URL to make the db")
    args = parser.parse_args(argv)
    times = asyncio.run(measure(args.admin_url, args.attempts))
    print(f"{args.attempts} attempts of each kind, one at a time, interleaved:\n")
    print("| failed sign-in | median ms | p95 ms | mean ms |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        median, p95, mean = _summary(values)
        print(f"| {name} | {median:.1f} | {p95:.1f} | {mean:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
