"""Failover without loss: walletql on a primary with a synchronous standby, the primary stopped
under load, the standby promoted.

    python -m bench.failover              # about a minute
    python -m bench.failover --clients 32 --before 10

Builds the topology from the machine's own PostgreSQL binaries (tests/postgres.py): a primary on
127.0.0.2 with `synchronous_standby_names = standby1` and `synchronous_commit = on`, a standby on
127.0.0.3 made by `pg_basebackup -R` (streaming, cluster_name standby1), both on one port, fsync
on. `walletql serve --workers 2` runs on the multi-host URL
`postgresql://postgres@127.0.0.2:P,127.0.0.3:P/walletql?target_session_attrs=read-write`, with
a direct LISTEN connection on the same URL.

Clients post transfers between seeded customers, each under its own idempotency key, retrying
the same key on any answer that is not an outcome (transport error, SERVICE_UNAVAILABLE, a
timeout) until one comes, as a careful merchant backend does. One subscriber follows a wallet
and resumes with afterVersion whenever its subscription ends. After `--before` seconds the
primary is stopped (`pg_ctl stop -m immediate`) and the standby promoted (`pg_ctl promote`).
The run ends `--after` seconds after the first posting that succeeds on the new primary.

Reported: seconds from the primary's death to the first successful posting; postings
acknowledged; acknowledged postings lost (must be 0); postings doubled (must be 0: per key, and
balances replayed from the acknowledged transfers); `walletql verify` on the new primary
(clean); the subscriber's versions (no gap, no duplicate); read-your-writes until the death:
a customer deposits through that server and at once reads the wallet through a second,
single-worker process whose queries read the standby (WALLETQL_READ_DATABASE_URL), which must
show the version just posted (fresh, never stale), and how long that process waited for the
standby to replay (its /healthz). Exit status 1 if any check fails.
Everything is bounded in time and torn down whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from bench.attack import Server, walletql_cli
from tests.postgres import PrivatePostgres, _free_port

PASSWORD = "correct horse battery"
INITIAL = Decimal("1000.00")
ANSWER_TIMEOUT = 10.0  # seconds for one HTTP answer before the client retries its key
RETRY_PAUSE = 0.05
GIVE_UP = 120.0  # seconds a client keeps retrying one key: only turns a hang into a failure
PROMOTE_WITHIN = 60.0

TRANSFER = """mutation($input: TransferInput!) { transfer(input: $input) {
  __typename ... on PaymentPayload { replayed transaction { id status } }
  ... on Error { code } } }"""
DEPOSIT = """mutation($input: DepositInput!) { deposit(input: $input) {
  __typename ... on PaymentPayload { wallet { version } } } }"""
WALLET_VERSION = "query($id: ID!) { wallet(id: $id) { version } }"
SUBSCRIBE = """subscription($w: ID, $after: Int) {
  balanceUpdates(walletId: $w, afterVersion: $after) { version balance } }"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Customer:
    token: str
    wallet: str


@dataclass
class Tally:
    acknowledged: dict[str, tuple[str, str, str, Decimal]] = field(default_factory=dict)
    attempts: int = 0
    retried: Counter = field(default_factory=Counter)  # why a key was sent again
    unexpected: list[str] = field(default_factory=list)
    killed_at: float | None = None
    first_success_after_kill: float | None = None
    recovered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Freshness:
    """Read-your-writes through the reader: each query right after the caller's own posting."""

    fresh: int = 0
    stale: list[tuple[int, int]] = field(default_factory=list)  # (posted version, read)
    skipped: int = 0  # postings that got no outcome (not read after)


async def read_your_writes(
    writer: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    customer: Customer,
    stop: asyncio.Event,
    freshness: Freshness,
) -> None:
    """Deposit through the cluster's server, then at once read the wallet through the reader
    (another process, its queries on the standby): the version read must be the one posted."""
    while not stop.is_set():
        variables = {
            "input": {"walletId": customer.wallet, "amount": "0.01",
                      "idempotencyKey": secrets.token_hex(16)}
        }  # fmt: skip
        try:
            posted = await gql(writer, DEPOSIT, variables, customer.token)
            deposit = (posted.get("data") or {}).get("deposit") or {}
            if deposit.get("__typename") != "PaymentPayload":
                freshness.skipped += 1
                continue
            version = deposit["wallet"]["version"]
            read = await gql(reader, WALLET_VERSION, {"id": customer.wallet}, customer.token)
        except httpx.HTTPError:
            freshness.skipped += 1
            continue
        got = read["data"]["wallet"]["version"]
        if got >= version:
            freshness.fresh += 1
        else:
            freshness.stale.append((version, got))


def build_topology(root_prefix: str) -> tuple[PrivatePostgres, PrivatePostgres]:
    port = _free_port()
    durable = {"fsync": "on"}
    primary = PrivatePostgres(
        root_prefix + "primary-",
        host="127.0.0.2",
        port=port,
        settings={**durable, "synchronous_commit": "on"},
    )
    standby = PrivatePostgres(
        root_prefix + "standby-",
        host="127.0.0.3",
        port=port,
        settings={**durable, "cluster_name": "standby1"},
    )
    primary.init()
    standby.init_standby_of(primary)
    return primary, standby


async def make_synchronous(primary: PrivatePostgres) -> None:
    """Name the standby in synchronous_standby_names (set only now: with no standby yet, every
    commit, createdb's included, would wait for one) and wait until it is the sync one."""
    conn = await asyncpg.connect(primary.url)
    try:
        await conn.execute("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
        await conn.execute("SELECT pg_reload_conf()")
        for _ in range(200):
            state = await conn.fetchval(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'"
            )
            if state == "sync":
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise RuntimeError("the standby never became synchronous")


async def gql(http: httpx.AsyncClient, query: str, variables: dict, token: str | None = None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    response.raise_for_status()
    return response.json()


async def seed(http: httpx.AsyncClient, count: int) -> list[Customer]:
    customers = []
    for _ in range(count):
        signup = await gql(
            http,
            """mutation($i: SignupInput!) { signup(input: $i) {
              ... on AuthPayload { token } ... on Error { code } } }""",
            {"i": {"email": f"f{secrets.token_hex(6)}@example.com", "password": PASSWORD,
                   "name": "Failover", "role": "CUSTOMER"}},
        )  # fmt: skip
        token = signup["data"]["signup"]["token"]
        made = await gql(
            http,
            """mutation($i: CreateWalletInput!) { createWallet(input: $i) {
              ... on WalletPayload { wallet { id } } } }""",
            {"i": {"currency": "USD"}},
            token,
        )
        wallet = made["data"]["createWallet"]["wallet"]["id"]
        deposit = await gql(
            http,
            """mutation($i: DepositInput!) { deposit(input: $i) { __typename } }""",
            {"i": {"walletId": wallet, "amount": str(INITIAL), "idempotencyKey": "seed"}},
            token,
        )
        assert deposit["data"]["deposit"]["__typename"] == "PaymentPayload", deposit
        customers.append(Customer(token, wallet))
    return customers


async def post_until_answered(
    http: httpx.AsyncClient, tally: Tally, payer: Customer, payee: Customer, amount: Decimal
) -> None:
    """One transfer under one key, sent again until the server gives an outcome."""
    key = secrets.token_hex(16)
    variables = {
        "input": {
            "fromWalletId": payer.wallet,
            "toWalletId": payee.wallet,
            "amount": str(amount),
            "idempotencyKey": key,
        }
    }
    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:
        tally.attempts += 1
        sent_at = time.monotonic()
        try:
            response = await http.post(
                "/graphql",
                json={"query": TRANSFER, "variables": variables},
                headers={"authorization": f"Bearer {payer.token}"},
                timeout=ANSWER_TIMEOUT,
            )
            body = response.json() if response.status_code in (200, 503) else None
        except (httpx.TransportError, ValueError) as exc:
            tally.retried[type(exc).__name__] += 1
            await asyncio.sleep(RETRY_PAUSE)
            continue
        answer = (body or {}).get("data") or {}
        result = answer.get("transfer")
        if result and result["__typename"] == "PaymentPayload":
            transaction = result["transaction"]
            tally.acknowledged[key] = (transaction["id"], payer.wallet, payee.wallet, amount)
            # Sent after the death: answered by the new primary, not one in flight before.
            if (
                tally.killed_at is not None
                and sent_at > tally.killed_at
                and not tally.recovered.is_set()
            ):
                tally.first_success_after_kill = time.monotonic()
                tally.recovered.set()
            return
        codes = [e.get("extensions", {}).get("code") for e in (body or {}).get("errors", [])]
        if body is None or "SERVICE_UNAVAILABLE" in codes:
            tally.retried[f"HTTP {response.status_code} {','.join(map(str, codes))}"] += 1
            await asyncio.sleep(RETRY_PAUSE)
            continue
        tally.unexpected.append(json.dumps(body)[:300])
        return
    tally.unexpected.append(f"key {key}: no outcome within {GIVE_UP:.0f}s")


async def client(
    http: httpx.AsyncClient, tally: Tally, customers: list[Customer], stop: asyncio.Event
) -> None:
    rng = random.Random()
    while not stop.is_set():
        payer, payee = rng.sample(customers, 2)
        amount = Decimal(rng.randint(1, 100)) / 100
        await post_until_answered(http, tally, payer, payee, amount)


async def follow(
    ws_url: str, customer: Customer, stop: asyncio.Event, seen: list[int], ends: Counter
) -> None:
    """Subscribe; whenever the subscription or socket ends, resume after the last version.
    `ends` counts why it ended (an error code, a closed socket)."""
    while not stop.is_set():
        try:
            async with ws_connect(
                ws_url, subprotocols=["graphql-transport-ws"], open_timeout=5
            ) as ws:
                await ws.send(
                    json.dumps(
                        {
                            "type": "connection_init",
                            "payload": {"authorization": f"Bearer {customer.token}"},
                        }
                    )
                )
                ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if ack.get("type") != "connection_ack":
                    raise ConnectionError(ack)
                after = seen[-1] if seen else None
                await ws.send(
                    json.dumps(
                        {
                            "id": "f",
                            "type": "subscribe",
                            "payload": {
                                "query": SUBSCRIBE,
                                "variables": {"w": customer.wallet, "after": after},
                            },
                        }
                    )
                )
                while not stop.is_set():
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    except TimeoutError:
                        continue
                    if message["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif message["type"] == "next" and message["payload"].get("data"):
                        seen.append(message["payload"]["data"]["balanceUpdates"]["version"])
                    elif message["type"] in ("next", "error", "complete"):
                        errors = message.get("payload")
                        errors = errors.get("errors") if isinstance(errors, dict) else errors
                        codes = [e.get("extensions", {}).get("code") for e in errors or []]
                        ends[",".join(map(str, codes)) or message["type"]] += 1
                        break  # FEED_INTERRUPTED or SERVICE_UNAVAILABLE: resume
        except (OSError, ConnectionClosed, TimeoutError, ConnectionError) as exc:
            ends[type(exc).__name__] += 1
        if not stop.is_set():
            await asyncio.sleep(0.2)


async def check(url: str, http: httpx.AsyncClient, tally: Tally, customers: list[Customer]) -> dict:
    """What the new primary holds against what the clients were told."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT idempotency_key, count(*) AS n, min(status) AS status FROM transactions"
            " WHERE kind = 'TRANSFER' GROUP BY idempotency_key"
        )
    finally:
        await conn.close()
    stored = {row["idempotency_key"]: row for row in rows}
    lost = [k for k in tally.acknowledged if k not in stored or stored[k]["status"] != "POSTED"]
    doubled = [k for k, row in stored.items() if row["n"] > 1]
    unknown = [k for k in stored if k not in tally.acknowledged]  # posted, never acknowledged
    expected: dict[str, Decimal] = {c.wallet: INITIAL for c in customers}
    for _tx, source, destination, amount in tally.acknowledged.values():
        expected[source] -= amount
        expected[destination] += amount
    mismatched, versions = {}, {}
    for customer in customers:  # read back through the API, on the new primary
        body = await gql(
            http, "query($id: ID!) { wallet(id: $id) { balance version } }",
            {"id": customer.wallet}, customer.token,
        )  # fmt: skip
        wallet = body["data"]["wallet"]
        versions[customer.wallet] = wallet["version"]
        if Decimal(wallet["balance"]) != expected[customer.wallet]:
            mismatched[customer.wallet] = (str(expected[customer.wallet]), wallet["balance"])
    return {
        "lost": lost,
        "doubled": doubled,
        "posted_unacknowledged": unknown,
        "balance_mismatches": mismatched,
        "versions": versions,
    }


async def run(args: argparse.Namespace) -> dict:
    """The topology built, loaded, failed over, checked and torn down: the report, whose
    "failed" lists the checks that did not hold."""
    workdir = Path(tempfile.mkdtemp(prefix="walletql-failover-"))
    primary = standby = None
    server = reader = None
    try:
        log("building primary + synchronous standby (initdb, pg_basebackup)")
        primary, standby = await asyncio.to_thread(build_topology, "walletql-failover-")
        await make_synchronous(primary)
        url = (
            f"postgresql://postgres@{primary.host}:{primary.port},{standby.host}:{standby.port}"
            "/walletql?target_session_attrs=read-write"
        )
        server = await Server("failover", url, workdir).start()
        log(f"walletql serve --workers 2 on {url}")
        # A process of its own whose queries read the standby (WALLETQL_READ_DATABASE_URL):
        # read-your-writes across processes, measured until the primary's death.
        reader = await Server(
            "reader", url, workdir, workers=1, read_database_url=standby.url, read_wait_ms=100
        ).start()
        limits = httpx.Limits(max_connections=args.clients + 4)
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http,
            httpx.AsyncClient(base_url=reader.url, timeout=30) as reading,
        ):
            customers = await seed(http, args.customers)
            (depositor,) = await seed(http, 1)  # not among `customers`: their balances are checked
            freshness, reading_stops = Freshness(), asyncio.Event()
            reads = asyncio.create_task(
                read_your_writes(http, reading, depositor, reading_stops, freshness)
            )
            tally, stop, seen, ends = Tally(), asyncio.Event(), [], Counter()
            # The subscriber stops on its own event, after the clients' last postings: it must
            # see those too.
            watched_enough = asyncio.Event()
            watcher = asyncio.create_task(
                follow(server.ws_url, customers[0], watched_enough, seen, ends)
            )
            clients = [
                asyncio.create_task(client(http, tally, customers, stop))
                for _ in range(args.clients)
            ]
            await asyncio.sleep(args.before)
            before = len(tally.acknowledged)
            reading_stops.set()
            await asyncio.wait_for(reads, GIVE_UP)
            replica_figures = (await reading.get("/healthz")).json()["replica"]
            log(f"{before} postings acknowledged; stopping the primary (immediate)")
            tally.killed_at = time.monotonic()
            await asyncio.to_thread(primary.stop, "immediate")
            await asyncio.to_thread(standby.promote)
            promoted_in = time.monotonic() - tally.killed_at
            log(f"standby promoted {promoted_in:.2f}s after the primary's death")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.recovered.wait(), PROMOTE_WITHIN)
            await asyncio.sleep(args.after)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*clients), GIVE_UP + 10)
            watched = customers[0]
            body = await gql(
                http, "query($id: ID!) { wallet(id: $id) { version } }",
                {"id": watched.wallet}, watched.token,
            )  # fmt: skip
            last = body["data"]["wallet"]["version"]
            for _ in range(300):  # the last updates reach the subscriber (bounded: 15 s)
                if seen and seen[-1] >= last:
                    break
                await asyncio.sleep(0.05)
            watched_enough.set()
            await asyncio.wait_for(watcher, 10)
            new_primary = standby.url
            found = await check(new_primary, http, tally, customers)
        code, verified = await asyncio.to_thread(walletql_cli, "verify", new_primary, workdir)
        final_version = found["versions"][customers[0].wallet]
        gaps = [v for a, v in zip(seen, seen[1:], strict=False) if v != a + 1]
        report = {
            "clients": args.clients,
            "acknowledged": len(tally.acknowledged),
            "acknowledged_before_death": before,
            "attempts": tally.attempts,
            "retried": dict(tally.retried),
            "seconds_to_promoted": round(promoted_in, 2),
            "seconds_to_first_success": None
            if tally.first_success_after_kill is None
            else round(tally.first_success_after_kill - tally.killed_at, 2),
            "lost": len(found["lost"]),
            "doubled": len(found["doubled"]),
            "posted_unacknowledged": len(found["posted_unacknowledged"]),
            "balance_mismatches": found["balance_mismatches"],
            "verify": verified.splitlines()[-1] if verified else "",
            "verify_exit": code,
            "subscriber_versions": len(seen),
            "subscriber_resumed_after": dict(ends),
            "subscriber_last": seen[-1] if seen else None,
            "wallet_version": final_version,
            "subscriber_gaps_or_duplicates": gaps,
            "read_your_writes": {
                "fresh": freshness.fresh,
                "stale": len(freshness.stale),
                "no_outcome": freshness.skipped,
                "reader_queries": replica_figures["queries"],
                "replica_waits": replica_figures["waits"],
                "replica_wait_ms_mean": replica_figures["wait_ms_mean"],
                "replica_wait_ms_max": replica_figures["wait_ms_max"],
            },
            "unexpected": tally.unexpected[:5],
        }
        checks = {
            "acknowledged postings lost": report["lost"],
            "postings doubled": report["doubled"],
            "postings posted but never acknowledged": report["posted_unacknowledged"],
            "balances other than the acknowledged transfers make": report["balance_mismatches"],
            "walletql verify on the new primary": code != 0,
            "subscriber gaps or duplicates": gaps,
            "subscriber short of the wallet's last version": seen[-1:] != [final_version],
            "no posting answered after the death": report["seconds_to_first_success"] is None,
            "answers that are neither an outcome nor SERVICE_UNAVAILABLE": tally.unexpected,
            "stale reads after the caller's own posting": freshness.stale,
            "no read-your-writes measured": not freshness.fresh,
        }
        report["failed"] = [check for check, bad in checks.items() if bad]
        return report
    finally:
        for process in (reader, server):
            if process is not None:
                await process.stop()
        for node in (primary, standby):
            if node is not None:
                node.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--before", type=float, default=5.0, help="seconds of load, then death")
    parser.add_argument("--after", type=float, default=5.0, help="seconds after the recovery")
    report = asyncio.run(run(parser.parse_args()))
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"failover-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json").write_text(
        json.dumps(report, indent=2)
    )
    if report["failed"]:
        log("FAIL: " + "; ".join(report["failed"]))
        return 1
    log("PASS: 0 lost, 0 doubled, verify clean, no gap, every read fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
