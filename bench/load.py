"""Load drivers against the real server: closed loop, open loop (fixed rate), subscriptions.

Closed loop: `concurrency` keep-alive connections, each sending its next request as soon as the
previous answer arrives. Open loop: requests scheduled at a fixed rate whatever the answers do;
latency is counted from the scheduled time, so a stalled server cannot hide its queue
(no coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import wire


@dataclass
class Workload:
    """request(i) -> raw HTTP request bytes; check(body) -> None when it worked, else a code."""

    name: str
    request: Callable[[int], bytes]
    check: Callable[[bytes], str | None]


# --- answers ----------------------------------------------------------------------------------


def _error_code(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return "BAD_JSON"
    errors = doc.get("errors")
    if errors:
        ext = errors[0].get("extensions") or {}
        return str(ext.get("reason") or ext.get("code") or "GRAPHQL_ERROR")
    for value in (doc.get("data") or {}).values():
        if isinstance(value, dict):
            return str(value.get("code") or value.get("__typename") or "UNEXPECTED")
    return "NULL_DATA"


def payment_ok(body: bytes) -> str | None:
    return None if b'"__typename":"PaymentPayload"' in body else _error_code(body)


def query_ok(body: bytes) -> str | None:
    return _error_code(body) if b'"errors"' in body or b'"data":null' in body else None


# --- workloads --------------------------------------------------------------------------------

TRANSFER = (
    "mutation T($f: ID!, $t: ID!, $a: Decimal!, $k: String!) { transfer(input: {fromWalletId: $f, "
    "toWalletId: $t, amount: $a, idempotencyKey: $k}) { __typename ... on PaymentPayload { "
    "transaction { id status } wallet { balance version } } ... on Error { code } } }"
)
CHARGE = (
    "mutation C($w: String!, $a: Decimal!, $k: String!) { charge(input: {walletToken: $w, "
    'amount: $a, idempotencyKey: $k, description: "bench order"}) { __typename ... on '
    "PaymentPayload { transaction { id status } wallet { balance version } } ... on Error { code } } }"
)
# Captures and refunds select what a transfer does (bench.figures compares their CPU).
AUTHORIZE = (
    "mutation A($w: String!, $k: String!) { authorize(input: {walletToken: $w, amount: "
    '"50.00", idempotencyKey: $k, description: "bench order"}) { __typename ... on '
    "HoldPayload { hold { id } transaction { id status } } ... on Error { code } } }"
)
CAPTURE = (
    "mutation P($h: ID!, $a: Decimal!, $k: String!) { capture(input: {holdId: $h, amount: $a, "
    "idempotencyKey: $k}) { __typename ... on HoldPayload { transaction { id status } "
    "wallet { balance version } } ... on Error { code } } }"
)
REFUND = (
    "mutation R($t: ID!, $k: String!) { refund(input: {transactionId: $t, amount: "
    '"0.01", idempotencyKey: $k}) { __typename ... on PaymentPayload { transaction { id '
    "status } wallet { balance version } } ... on Error { code } } }"
)
_TRANSACTION_ID = re.compile(rb'"transaction":\{"id":"([^"]+)"')
BATCH = (
    "mutation G($input: BatchInput!) { postBatch(input: $input) { __typename ... on "
    "BatchPayload { posted failed } ... on Error { code } } }"
)
BALANCES = "query B { me { wallets { balance } } }"
HISTORY = (
    "query H($w: ID!, $a: String) { wallet(id: $w) { history(first: 20, after: $a) { "
    "pageInfo { hasNextPage endCursor } edges { cursor node { direction amount balanceAfter "
    "transaction { id kind status createdAt source { name } } } } } } }"
)
HISTORY_COUNT = HISTORY.replace(
    "history(first: 20, after: $a) {", "history(first: 20, after: $a) { totalCount"
)
SUBSCRIPTION = (
    "subscription S($w: ID!) { balanceUpdates(walletId: $w) { walletId balance version "
    "transaction { id kind } } }"
)


def _amount(rng: random.Random) -> str:
    cents = rng.randint(1, 999)
    return f"{cents // 100}.{cents % 100:02d}"


def transfers(host: str, port: int, seeded, run_id: str, seed: int = 1) -> Workload:
    rng = random.Random(seed)
    n = len(seeded.wallet_ids)
    keys = itertools.count()  # one key sequence per workload, whichever driver runs it

    def request(i: int) -> bytes:
        i = next(keys)
        a = rng.randrange(n)
        b = rng.randrange(n - 1)
        b = b + 1 if b >= a else b
        body = wire.graphql_body(
            TRANSFER,
            {
                "f": seeded.public_wallets[a],
                "t": seeded.public_wallets[b],
                "a": _amount(rng),
                "k": f"{run_id}-{i}",
            },
        )
        return wire.post_request(host, port, "/graphql", body, seeded.customer_tokens[a])

    return Workload("transfer", request, payment_ok)


def transfers_into(host: str, port: int, seeded, wallet_id: str, run_id: str) -> Workload:
    """Transfers from random customers into `wallet_id` (its public id)."""
    rng = random.Random(7)
    n = len(seeded.wallet_ids)
    keys = itertools.count()

    def request(i: int) -> bytes:
        i = next(keys)
        a = rng.randrange(n)
        body = wire.graphql_body(
            TRANSFER,
            {
                "f": seeded.public_wallets[a],
                "t": wallet_id,
                "a": _amount(rng),
                "k": f"{run_id}-{i}",
            },
        )
        return wire.post_request(host, port, "/graphql", body, seeded.customer_tokens[a])

    return Workload("transfer-in", request, payment_ok)


def charges(host: str, port: int, seeded, run_id: str, seed: int = 2) -> Workload:
    rng = random.Random(seed)
    n = len(seeded.wallet_ids)
    keys = itertools.count()

    def request(i: int) -> bytes:
        i = next(keys)
        a = rng.randrange(n)
        body = wire.graphql_body(
            CHARGE, {"w": seeded.payment_tokens[a], "a": _amount(rng), "k": f"{run_id}-{i}"}
        )
        return wire.post_request(host, port, "/graphql", body, seeded.merchant_token)

    return Workload("charge", request, payment_ok)


class Pool:
    """Ids a workload's answers yield (holds placed, captures posted) for a later workload to
    use, round-robin."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._next = itertools.count()

    def take(self) -> str:
        return self.ids[next(self._next) % len(self.ids)]


def authorizations(host: str, port: int, seeded, run_id: str, holds: Pool, seed: int = 5):
    """The merchant authorizes 50.00 on random customers; each hold placed goes into `holds`."""
    rng = random.Random(seed)
    n = len(seeded.wallet_ids)
    keys = itertools.count()
    placed = re.compile(rb'"hold":\{"id":"([^"]+)"')

    def request(i: int) -> bytes:
        i = next(keys)
        variables = {"w": seeded.payment_tokens[rng.randrange(n)], "k": f"{run_id}-{i}"}
        body = wire.graphql_body(AUTHORIZE, variables)
        return wire.post_request(host, port, "/graphql", body, seeded.merchant_token)

    def check(answer: bytes) -> str | None:
        if found := placed.search(answer):
            holds.ids.append(found.group(1).decode())
            return None
        return _error_code(answer)

    return Workload("authorize", request, check)


def captures(host: str, port: int, seeded, run_id: str, holds: Pool, posted: Pool, seed: int = 6):
    """The merchant captures a small part of its holds in turn (partial: each hold serves many);
    each capture posted goes into `posted`."""
    rng = random.Random(seed)
    keys = itertools.count()

    def request(i: int) -> bytes:
        i = next(keys)
        # 1.00 to 9.99: each capture can take a hundred refunds of 0.01 (scenario f3).
        amount = f"{rng.randint(100, 999) / 100:.2f}"
        variables = {"h": holds.take(), "a": amount, "k": f"{run_id}-{i}"}
        body = wire.graphql_body(CAPTURE, variables)
        return wire.post_request(host, port, "/graphql", body, seeded.merchant_token)

    def check(answer: bytes) -> str | None:
        if found := _TRANSACTION_ID.search(answer):
            posted.ids.append(found.group(1).decode())
            return None
        return _error_code(answer)

    return Workload("capture", request, check)


def refunds(host: str, port: int, seeded, run_id: str, captured: Pool):
    """The merchant refunds 0.01 of its captures in turn, from its one wallet (a hot row)."""
    keys = itertools.count()

    def request(i: int) -> bytes:
        i = next(keys)
        body = wire.graphql_body(REFUND, {"t": captured.take(), "k": f"{run_id}-{i}"})
        return wire.post_request(host, port, "/graphql", body, seeded.merchant_token)

    return Workload("refund", request, payment_ok)


def transfer_batches(
    host: str, port: int, seeded, run_id: str, atomic: bool, size: int = 100, seed: int = 7
) -> Workload:
    """A random customer sends `size` transfers to random others in one postBatch."""
    rng = random.Random(seed)
    n = len(seeded.wallet_ids)
    keys = itertools.count()
    posted = f'"posted":{size},"failed":0'.encode()

    def request(i: int) -> bytes:
        i = next(keys)
        a = rng.randrange(n)
        items = []
        for j in range(size):
            b = rng.randrange(n - 1)
            transfer = {
                "fromWalletId": seeded.public_wallets[a],
                "toWalletId": seeded.public_wallets[b + 1 if b >= a else b],
                "amount": _amount(rng),
                "idempotencyKey": f"{run_id}-{i}-{j}",
            }
            items.append({"transfer": transfer})
        body = wire.graphql_body(BATCH, {"input": {"atomic": atomic, "items": items}})
        return wire.post_request(host, port, "/graphql", body, seeded.customer_tokens[a])

    def check(answer: bytes) -> str | None:
        return None if posted in answer else _error_code(answer)

    return Workload("batch", request, check)


def balances(host: str, port: int, seeded, seed: int = 3) -> Workload:
    rng = random.Random(seed)
    body = wire.graphql_body(BALANCES)
    prebuilt = [wire.post_request(host, port, "/graphql", body, t) for t in seeded.customer_tokens]

    def request(i: int) -> bytes:
        return rng.choice(prebuilt)

    def check(answer: bytes) -> str | None:
        return query_ok(answer) or (None if b'"balance"' in answer else "NO_WALLET")

    return Workload("balance", request, check)


def history_pages(
    host: str, port: int, seeded, cursors: list[str | None], count: bool = False, seed: int = 4
) -> Workload:
    rng = random.Random(seed)
    query = HISTORY_COUNT if count else HISTORY
    prebuilt = [
        wire.post_request(
            host,
            port,
            "/graphql",
            wire.graphql_body(query, {"w": seeded.public_history_wallet, "a": c}),
            seeded.history_token,
        )
        for c in cursors
    ]

    def request(i: int) -> bytes:
        return rng.choice(prebuilt)

    def check(answer: bytes) -> str | None:
        return query_ok(answer) or (None if answer.count(b'"cursor"') == 20 else "SHORT_PAGE")

    return Workload("history", request, check)


def sign_ins(host: str, port: int, seeded) -> list[bytes]:
    """One `me { wallets { balance } }` per seeded bearer token: what a client does when its
    session starts. The bench sends these before the scenarios, so each server process has seen
    every token once, as a server that has been up for a while has; without it, the first
    request of each of the 10,000 tokens in each process pays for a token look-up, which the
    short levels of a quick run would count as steady-state cost."""
    body = wire.graphql_body(BALANCES)
    tokens = [*seeded.customer_tokens, seeded.merchant_token, seeded.history_token]
    return [wire.post_request(host, port, "/graphql", body, t) for t in tokens]


# --- drivers ----------------------------------------------------------------------------------

REQUEST_TIMEOUT = 30.0


async def _one(conn: wire.HTTPConnection, raw: bytes, work: Workload) -> str | None:
    status, body = await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT)
    if status != 200:
        return f"HTTP_{status}"
    return work.check(body)


async def closed_loop(
    host: str, port: int, work: Workload, concurrency: int, duration: float, warmup: float
) -> dict:
    conns = await asyncio.gather(*(wire.connect(host, port) for _ in range(concurrency)))
    counter = iter(range(10**12))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    t_measure = time.perf_counter() + warmup
    t_end = t_measure + duration

    async def worker(slot: int) -> None:
        conn = conns[slot]
        while True:
            t = time.perf_counter()
            if t >= t_end:
                return
            raw = work.request(next(counter))
            try:
                if conn.closed:  # the server answered the last request with Connection: close
                    conn = conns[slot] = await wire.connect(host, port)
                error = await _one(conn, raw, work)
            except (TimeoutError, wire.HTTPError, OSError) as exc:
                error = type(exc).__name__
                conn.close()
                conn = conns[slot] = await wire.connect(host, port)
            done = time.perf_counter()
            if t >= t_measure:
                if error is None:
                    latencies.append(done - t)
                else:
                    errors[error] = errors.get(error, 0) + 1

    try:
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    finally:
        for c in conns:
            c.close()
    return {"latencies": latencies, "errors": errors, "elapsed": duration}


async def open_loop(
    host: str,
    port: int,
    work: Workload,
    rate: float,
    duration: float,
    max_connections: int = 256,
    on_sent: Callable[[int, float], None] | None = None,
    warmup: float = 0.0,
) -> dict:
    """Requests at `rate` per second for `warmup` + `duration` seconds, on up to
    `max_connections`; only those scheduled after the warm-up are counted. The warm-up is when
    the connections get opened: counting it measures a burst of connection set-ups (hundreds
    of milliseconds in the first second), not the steady rate."""
    idle: list[wire.HTTPConnection] = []
    opened = 0
    latencies: list[float] = []
    worst: dict[int, float] = {}  # by second of the run (scheduled time): when stalls happen
    errors: dict[str, int] = {}
    available = asyncio.Condition()
    tasks: set[asyncio.Task] = set()

    async def fire(i: int, scheduled: float) -> None:
        nonlocal opened
        async with available:
            while not idle and opened >= max_connections:
                await available.wait()
            if idle:
                conn = idle.pop()
            else:
                opened += 1
                conn = None
        if conn is None:
            try:
                conn = await wire.connect(host, port)
            except OSError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                opened -= 1
                return
        raw = work.request(i)
        if on_sent is not None:
            on_sent(i, time.perf_counter())
        try:
            error = await _one(conn, raw, work)
        except (TimeoutError, wire.HTTPError, OSError) as exc:
            error = type(exc).__name__
            conn.close()
        done = time.perf_counter()
        if error is not None:
            errors[error] = errors.get(error, 0) + 1  # counted in the warm-up too
        elif scheduled - t0 >= warmup:
            latencies.append(done - scheduled)
            second = int(scheduled - t0 - warmup)
            worst[second] = max(worst.get(second, 0.0), done - scheduled)
        async with available:
            if conn.closed:
                opened -= 1
            else:
                idle.append(conn)
            available.notify()

    t0 = time.perf_counter()
    total = int(rate * (warmup + duration))
    for i in range(total):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(fire(i, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 5)
    for conn in idle:
        conn.close()
    return {
        "latencies": latencies,
        "errors": errors,
        "elapsed": duration,
        "offered_rate": rate,
        "connections_used": opened,
        "max_ms_by_second": [round(worst.get(i, 0.0) * 1000, 1) for i in range(int(duration))],
    }


def summarize(raw: dict) -> dict:
    lat = sorted(raw["latencies"])
    n = len(lat)

    def pct(p: float) -> float | None:
        if not n:
            return None
        return lat[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] * 1000  # nearest rank

    out = {
        "ok": n,
        "errors": sum(raw["errors"].values()),
        "error_codes": raw["errors"],
        "throughput": n / raw["elapsed"] if raw["elapsed"] else 0.0,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": lat[-1] * 1000 if n else None,
        "mean_ms": sum(lat) / n * 1000 if n else None,
    }
    for key in ("offered_rate", "connections_used", "max_ms_by_second"):
        if key in raw:
            out[key] = raw[key]
    return out


async def each_once(host: str, port: int, requests: list[bytes], concurrency: int) -> dict:
    """Every request once, over `concurrency` keep-alive connections; errors by code."""
    pending = iter(requests)
    errors: dict[str, int] = {}
    check = Workload("each", lambda i: b"", query_ok)

    async def worker() -> None:
        conn = await wire.connect(host, port)
        try:
            for raw in pending:
                if conn.closed:  # answered with Connection: close
                    conn = await wire.connect(host, port)
                error = await _one(conn, raw, check)
                if error is not None:
                    errors[error] = errors.get(error, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors
