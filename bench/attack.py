"""Replay reproduced attacks against real `walletql serve --workers 2` processes.

    python -m bench.attack            # a few minutes
    python -m bench.attack --quick    # fewer documents, deposits and seconds of load

Loopback only. Every item starts its own server (`python -m walletql.cli serve --port <free>
--workers 2`, WALLETQL_LOG_LEVEL=WARNING) on the database `walletql_attack` of the machine's
PostgreSQL (127.0.0.1:5432, dropped and recreated here), except the outage items (2 and 6), which
run on a PostgreSQL of this script's own (initdb in a temporary directory, its own port) that it
stops and starts. Each item prints figures with their target and PASS/FAIL; the exit status is 1
when any target is missed. Everything is bounded in time and cleaned up whatever happens:
servers get SIGTERM then SIGKILL, the private PostgreSQL is stopped and its directory removed.

 1. money moved over a websocket after its token was logged out, and how the socket is closed;
    a token that expires while its socket is open;
 2. the server survives a worker killed while the database is down, and recovers after;
 6. what clients see during that outage: HTTP statuses and error codes, a new websocket's
    close code, how active subscriptions end;
 3. worker RSS after 2,300 distinct ~1 MiB anonymous documents;
 4. other clients' latency while one customer sends the heaviest allowed query four at once;
 x. (no target) worker RSS with 2,000 idle authenticated websockets, and after they close.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import psutil
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from bench import seed, wire
from tests.postgres import PrivatePostgres

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery"
WAIT = 10.0  # seconds for any one answer: only turns a hang into a failure
START_TIMEOUT = 60.0  # seconds for a server to answer /readyz 200
STOP_TIMEOUT = 10.0  # seconds after SIGTERM before SIGKILL
RECOVERY = 60.0  # seconds the server may take to serve again once PostgreSQL is back
UNAVAILABLE = "SERVICE_UNAVAILABLE"
MB = 1024 * 1024

# --- GraphQL documents -----------------------------------------------------------------------

SIGNUP = """mutation($input: SignupInput!) { signup(input: $input) {
  __typename ... on AuthPayload { token user { id } } ... on Error { code message } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  __typename ... on AuthPayload { token } ... on Error { code message } } }"""
CREATE_WALLET = """mutation($input: CreateWalletInput!) { createWallet(input: $input) {
  __typename ... on WalletPayload { wallet { id } } ... on Error { code message } } }"""
PAYMENT = "__typename ... on PaymentPayload { wallet { balance } } ... on Error { code message }"
DEPOSIT = f"mutation($input: DepositInput!) {{ deposit(input: $input) {{ {PAYMENT} }} }}"
WITHDRAW = f"mutation($input: WithdrawInput!) {{ withdraw(input: $input) {{ {PAYMENT} }} }}"
WALLET_BALANCE = "query($id: ID!) { wallet(id: $id) { balance } }"
ME = "{ me { id } }"
BALANCES = "{ me { wallets { balance } } }"
BALANCE_UPDATES = """subscription($walletId: ID) { balanceUpdates(walletId: $walletId) {
  walletId balance version } }"""
HISTORY_FIELDS = (
    "edges { node { amount balanceAfter transaction { id kind status amount description "
    "createdAt source { walletId name } destination { walletId name } } } }"
)


def heavy_query(aliases: int, first: int) -> str:
    """The original attack's shape: `aliases` aliased history pages on every wallet of `me`."""
    pages = " ".join(
        f"h{n}: history(first: {first}) {{ {HISTORY_FIELDS} }}" for n in range(aliases)
    )
    return f"{{ me {{ wallets {{ {pages} }} }} }}"


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    item: str
    what: str
    value: str
    target: str = ""
    passed: bool | None = None  # None: reported, no target

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "FAIL")


FIGURES: list[Figure] = []


def figure(item: str, what: str, value, target: str = "", passed: bool | None = None) -> None:
    found = Figure(item, what, str(value), target, passed)
    FIGURES.append(found)
    target = f"   (target: {found.target})" if found.target else ""
    print(
        f"  {found.item:<3} {found.verdict:<4}  {found.what:<54} {found.value}{target}", flush=True
    )


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# --- processes: the server and a private PostgreSQL ------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(database_url: str, workdir: Path, **settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.pop("DATABASE_URL", None)
    env.update(
        WALLETQL_DATABASE_URL=database_url,
        WALLETQL_DATA_DIR=str(workdir),
        WALLETQL_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"WALLETQL_{name.upper()}": str(value) for name, value in settings.items()})
    return env


class Server:
    """`python -m walletql.cli serve --workers N` (2 unless told) on a free port, its output in
    a log file."""

    def __init__(
        self, name: str, database_url: str, workdir: Path, workers: int = 2, **settings
    ) -> None:
        self.name = name
        self.worker_count = workers
        self.database_url = database_url
        self.workdir = workdir
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.log_path = workdir / f"server-{name}.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/graphql"

    def spawn(self) -> None:
        self.port = free_port()
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "walletql.cli", "serve", "--port", str(self.port)]
                + ["--workers", str(self.worker_count)],
                env=server_env(self.database_url, self.workdir, **self.settings),
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGKILL reaches the workers
            )

    async def start(self) -> Server:
        """Spawned, and answering /readyz 200 with its workers up (bounded; one worker is
        the serve process itself)."""
        wanted = self.worker_count if self.worker_count > 1 else 0
        self.spawn()
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0) as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited ({self.process.returncode}):\n{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200 and len(
                        self.workers()
                    ) == wanted:
                        return self
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready in {START_TIMEOUT:.0f}s:\n{self.tail()}")
                await asyncio.sleep(0.2)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def workers(self) -> list[psutil.Process]:
        """The serve supervisor's live children: its workers."""
        if not self.alive():
            return []
        live = []
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.process.pid).children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    if child.status() != psutil.STATUS_ZOMBIE and "walletql.serve" in " ".join(
                        child.cmdline()
                    ):
                        live.append(child)
        return live

    def connections(self) -> dict[int, int]:
        """Established client connections (on the server's port) of each worker, by pid."""
        found = {}
        for worker in self.workers():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                found[worker.pid] = sum(
                    1
                    for c in worker.net_connections("tcp")
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
                )
        return found

    def cpu(self) -> float:
        """CPU seconds (user + system) the live workers have used."""
        total = 0.0
        for worker in self.workers():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = worker.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> dict[int, float]:
        """RSS of each worker, MB, by pid."""
        found = {}
        for worker in self.workers():
            with contextlib.suppress(psutil.NoSuchProcess):
                found[worker.pid] = worker.memory_info().rss / MB
        return found

    async def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log(f"server {self.name}: no exit {STOP_TIMEOUT:.0f}s after SIGTERM: SIGKILL")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # its group: workers left behind, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        return self.log()[-chars:]


async def recreate_database(name: str) -> str:
    await seed.recreate_database(ADMIN_URL, name)
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


async def drop_database(name: str) -> None:
    await seed.drop_database(ADMIN_URL, name)


def walletql_cli(command: str, database_url: str, workdir: Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "walletql.cli", command],
        env=server_env(database_url, workdir),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


# --- clients ---------------------------------------------------------------------------------


class AttackError(Exception):
    pass


class Api:
    """GraphQL over HTTP (httpx) for setting things up and for single probes."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def post(self, query: str, variables=None, token=None) -> tuple[int, dict]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"raw": response.text[:300]}

    async def data(self, query: str, variables=None, token=None) -> dict:
        status, body = await self.post(query, variables, token)
        if status != 200 or body.get("errors") or "data" not in body:
            raise AttackError(f"HTTP {status}: {json.dumps(body)[:500]}")
        return body["data"]

    async def signup(self, name: str = "Attack Test") -> dict:
        email = f"a{secrets.token_hex(6)}@attack.test"
        variables = {"input": {"email": email, "password": PASSWORD, "name": name}}
        result = (await self.data(SIGNUP, variables))["signup"]
        if result["__typename"] != "AuthPayload":
            raise AttackError(f"signup: {result}")
        return {"email": email, "token": result["token"], "id": result["user"]["id"]}

    async def login(self, email: str) -> str:
        variables = {"input": {"email": email, "password": PASSWORD}}
        result = (await self.data(LOGIN, variables))["login"]
        if result["__typename"] != "AuthPayload":
            raise AttackError(f"login: {result}")
        return result["token"]

    async def create_wallet(self, token: str, currency: str = "USD") -> str:
        result = (await self.data(CREATE_WALLET, {"input": {"currency": currency}}, token))[
            "createWallet"
        ]
        if result["__typename"] != "WalletPayload":
            raise AttackError(f"createWallet: {result}")
        return result["wallet"]["id"]

    async def deposit(self, token: str, wallet_id: str, amount: str, key: str | None = None):
        variables = deposit_input(wallet_id, amount, key)
        result = (await self.data(DEPOSIT, variables, token))["deposit"]
        if result["__typename"] != "PaymentPayload":
            raise AttackError(f"deposit: {result}")
        return result

    async def balance(self, token: str, wallet_id: str) -> str:
        return (await self.data(WALLET_BALANCE, {"id": wallet_id}, token))["wallet"]["balance"]


def deposit_input(wallet_id: str, amount: str, key: str | None = None) -> dict:
    key = key or secrets.token_hex(8)
    return {"input": {"walletId": wallet_id, "amount": amount, "idempotencyKey": key}}


class Conn:
    """One keep-alive HTTP/1.1 connection of bench/wire.py, reopened when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: wire.HTTPConnection | None = None

    async def post(self, body: bytes, token: str | None = None, limit: float = 30.0):
        """(status, body bytes); raises on a lost connection or a timeout."""
        if self.conn is None or self.conn.closed:
            self.conn = await asyncio.wait_for(wire.connect(HOST, self.port), limit)
        raw = wire.post_request(HOST, self.port, "/graphql", body, token)
        try:
            return await asyncio.wait_for(self.conn.request(raw), limit)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def error_codes(body: dict) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


@contextlib.asynccontextmanager
async def socket_for(url: str, token: str):
    """An acknowledged graphql-transport-ws socket, signed in by connection_init's payload."""
    async with ws_connect(
        url, subprotocols=["graphql-transport-ws"], open_timeout=WAIT, close_timeout=2
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": bearer(token)}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if ack.get("type") != "connection_ack":
            raise AttackError(f"connection_init answered {ack}")
        yield ws


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def operation(op_id: str, query: str, variables: dict | None = None) -> str:
    payload = {"query": query, "variables": variables or {}}
    return json.dumps({"id": op_id, "type": "subscribe", "payload": payload})


async def read_until_closed(ws, messages: list) -> tuple[int, float]:
    """Every message (answering pings) until the server closes the socket: its close code
    (1006 when it closed without one) and the time (monotonic)."""
    try:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            messages.append((time.monotonic(), message))
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else 1006), time.monotonic()


async def close_code_after_init(url: str, token: str) -> int | str:
    """A new socket's connection_init: the close code it gets, or what it got instead."""
    try:
        async with ws_connect(
            url, subprotocols=["graphql-transport-ws"], open_timeout=WAIT, close_timeout=2
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": bearer(token)}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                if message.get("type") == "connection_ack":
                    return "acknowledged"
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else 1006
    except (OSError, TimeoutError) as exc:
        return f"no socket ({type(exc).__name__})"


# --- 1. money moved after logout; a token that expires under its socket ----------------------


LOGOUT_ROUNDS = 3  # the logout may land on the socket's worker or the other one


async def item_logout(server: Server, api: Api) -> None:
    rounds = [await logout_round(server, api) for _ in range(LOGOUT_ROUNDS)]
    moved = sum(r["moved"] for r in rounds)
    figure(
        "1", f"money moved after logout ({LOGOUT_ROUNDS} rounds, 2.00 each)", moved, "0", moved == 0
    )
    sent = sum(r["sent"] for r in rounds)
    paid = sum(r["withdrawn"] for r in rounds)
    early = sum(1 for r in rounds if r["closed_first"])
    figure(
        "1",
        "  withdrawals sent after logout / PaymentPayload",
        f"{sent} / {paid} (socket already closed at the first send: {early} of {len(rounds)})",
    )
    outcomes: dict[str, int] = {}
    for r in rounds:
        for o in r["outcomes"]:
            outcomes[o] = outcomes.get(o, 0) + 1
    if outcomes:
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))
        figure("1", "  what the server answered those operations", shown)
    users = sum(r["me_users"] for r in rounds)
    answers = sum(r["me_answers"] for r in rounds)
    figure("1", "  `me` over the socket after logout answered a user", f"{users} of {answers}")
    closes = [(r["code"], r["after"]) for r in rounds]
    fine = all(code == 4401 and after is not None and after <= 5.0 for code, after in closes)
    shown = ", ".join(
        f"{code}/{after:+.2f}s" if after is not None else "not closed in 7 s"
        for code, after in closes
    )
    figure(
        "1", "socket closed after logout: code/seconds per round", shown, "4401 within 5 s", fine
    )
    await item_expiry(server, api, rounds[-1]["email"])


async def logout_round(server: Server, api: Api) -> dict:
    """Sign in with 2.00, subscribe over a socket, log out over HTTP, then keep withdrawing
    1.00 (and asking `me`) over the socket for 2 s. What moved is read with a fresh token."""
    user = await api.signup("Logout Test")
    wallet = await api.create_wallet(user["token"])
    await api.deposit(user["token"], wallet, "2.00")

    messages: list = []
    sent = 0
    closed_first = False
    async with socket_for(server.ws_url, user["token"]) as ws:
        await ws.send(operation("feed", BALANCE_UPDATES, {"walletId": wallet}))
        reader = asyncio.create_task(read_until_closed(ws, messages))
        await asyncio.sleep(0.2)  # the subscription is registered
        if not (await api.data("mutation { logout }", token=user["token"]))["logout"]:
            raise AttackError("logout answered false")
        logged_out = time.monotonic()
        while time.monotonic() - logged_out < 2.0 and not reader.done():
            variables = {
                "input": {
                    "walletId": wallet,
                    "amount": "1.00",
                    "idempotencyKey": secrets.token_hex(8),
                }
            }
            try:  # the attack: keep spending on the socket the logout should have ended
                await ws.send(operation(f"w{sent}", WITHDRAW, variables))
                await ws.send(operation(f"m{sent}", ME))
                sent += 1
            except ConnectionClosed:
                closed_first = sent == 0
                break
            await asyncio.sleep(0.1)
        closed_first = closed_first or (sent == 0 and reader.done())
        done, _ = await asyncio.wait({reader}, timeout=5.0)
        if done:
            code, closed_at = reader.result()
        else:
            reader.cancel()
            code, closed_at = None, None

    balance = Decimal(await api.balance(await api.login(user["email"]), wallet))
    answers = [m for _, m in messages if m.get("type") == "next"]
    withdrawals = [answer_of(m, "withdraw") for m in answers if m.get("id", "").startswith("w")]
    me = [answer_of(m, "me") for m in answers if m.get("id", "").startswith("m")]
    outcomes = [outcome(messages, f"{kind}{n}") for n in range(sent) for kind in "wm"]
    return {
        "outcomes": outcomes,
        "email": user["email"],
        "moved": Decimal("2.00") - balance,
        "sent": sent,
        "closed_first": closed_first,
        "withdrawn": sum(1 for w in withdrawals if w and w.get("__typename") == "PaymentPayload"),
        "me_answers": len(me),
        "me_users": sum(1 for m in me if m),
        "code": code,
        "after": None if closed_at is None else closed_at - logged_out,
    }


def outcome(messages: list, op_id: str) -> str:
    """What the server answered operation `op_id` over the socket, in a word."""
    for _, message in messages:
        if message.get("id") != op_id or message.get("type") == "complete":
            continue
        payload = message.get("payload")
        if message["type"] == "error":
            return f"error {error_codes({'errors': payload})}"
        if payload.get("errors"):
            return f"errors {error_codes(payload)}"
        data = payload.get("data") or {}
        value = next(iter(data.values()), None)
        return value.get("__typename", "data") if isinstance(value, dict) else f"data {value}"
    return "no answer (closed)"


def answer_of(message: dict, field: str):
    """The value of `field` in a `next` message's data (None when absent or null)."""
    return ((message.get("payload") or {}).get("data") or {}).get(field)


async def item_expiry(server: Server, api: Api, email: str) -> None:
    token = await api.login(email)  # never seen by the server's token cache yet
    digest = hashlib.sha256(token.encode()).hexdigest()
    conn = await asyncpg.connect(server.database_url, timeout=WAIT)
    try:
        expires_at = await conn.fetchval(
            "UPDATE auth_tokens SET expires_at = now() + interval '2 seconds' "
            "WHERE token_hash = $1 RETURNING expires_at",
            digest,
        )
    finally:
        await conn.close()
    if expires_at is None:
        raise AttackError("the fresh token is not in auth_tokens")
    messages: list = []
    async with socket_for(server.ws_url, token) as ws:
        opened = time.time()
        await ws.send(operation("feed", BALANCE_UPDATES))
        reader = asyncio.create_task(read_until_closed(ws, messages))
        done, _ = await asyncio.wait({reader}, timeout=10.0)
        if not done:
            reader.cancel()
            figure(
                "1",
                "socket of a token expiring 2 s ahead",
                "not closed within 10 s",
                "4401 within 5 s",
                False,
            )
            return
        code, _closed = reader.result()
    closed = time.time()
    late = closed - expires_at.timestamp()
    figure(
        "1",
        "socket of a token expiring 2 s ahead: code, closed",
        f"{code}, {closed - opened:.2f} s after open, {late:+.2f} s vs expiry",
        "4401 within 5 s",
        code == 4401 and late <= 5.0,
    )


# --- 2 and 6. a database outage ---------------------------------------------------------------


async def item_outage(pg: PrivatePostgres, workdir: Path, quick: bool) -> None:
    await asyncio.to_thread(pg.init)
    server = Server("outage", pg.url, workdir)
    api = None
    subscribers = []
    try:
        await server.start()
        api = Api(server.url)
        user = await api.signup("Outage Test")
        token = user["token"]
        wallet = await api.create_wallet(token)
        await api.deposit(token, wallet, "1.00")
        await open_subscribers(server, api, token, wallet, 4, subscribers)

        await asyncio.to_thread(pg.stop, "fast")
        down = time.monotonic()
        log("PostgreSQL stopped (pg_ctl stop -m fast)")
        await report_subscription_ends(subscribers)
        await report_outage_load(server, token, wallet, seconds=3.0 if quick else 5.0)
        code = await close_code_after_init(server.ws_url, token)
        figure(
            "6",
            "new socket's connection_init during the outage",
            f"close code {code}",
            "closed, not 1006",
            isinstance(code, int) and code != 1006,
        )

        await kill_a_worker(server, token)
        back = await restart_and_recover(pg, server, api, token, wallet)
        figure("2", "  outage lasted", f"{back - down:.1f} s")
    finally:
        for ws, _task, _messages in subscribers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 3)
        if api is not None:
            await api.aclose()
        await server.stop()
        report_log(server)


async def open_subscribers(server: Server, api: Api, token: str, wallet: str, count: int, opened):
    """`count` sockets each with a live balanceUpdates subscription (checked by a deposit), in
    `opened` as (socket, reader task, messages)."""
    for _ in range(count):
        ws = await ws_connect(
            server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=WAIT, close_timeout=2
        )
        await ws.send(json.dumps({"type": "connection_init", "payload": bearer(token)}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if ack.get("type") != "connection_ack":
            raise AttackError(f"connection_init answered {ack}")
        await ws.send(operation("feed", BALANCE_UPDATES, {"walletId": wallet}))
        messages: list = []
        opened.append((ws, asyncio.create_task(read_until_closed(ws, messages)), messages))
    await asyncio.sleep(0.3)
    await api.deposit(token, wallet, "1.00")
    deadline = time.monotonic() + WAIT
    while not all(any(m.get("type") == "next" for _, m in msgs) for _, _, msgs in opened):
        if time.monotonic() > deadline:
            raise AttackError("a subscriber did not get the deposit before the outage")
        await asyncio.sleep(0.05)
    for _, _, messages in opened:
        messages.clear()


async def report_subscription_ends(subscribers) -> None:
    """How each active subscription ended once PostgreSQL stopped (bounded)."""
    deadline = time.monotonic() + 15.0
    codes = []
    for _ws, _task, messages in subscribers:
        code = None
        while code is None and time.monotonic() < deadline:
            for _, message in messages:  # the first that ends the subscription
                if message.get("id") != "feed":
                    continue
                if message["type"] == "error":
                    code = error_codes({"errors": message["payload"]})[0]
                elif message["type"] == "next" and message["payload"].get("errors"):
                    code = error_codes(message["payload"])[0]
                elif message["type"] == "complete":
                    code = "complete without error"
                if code is not None:
                    break
            if code is None:
                await asyncio.sleep(0.05)
        codes.append(code or "nothing within 15 s")
    ended = sum(1 for c in codes if c == "FEED_INTERRUPTED")
    figure(
        "6",
        "active subscriptions ended FEED_INTERRUPTED",
        f"{ended} of {len(codes)}"
        + ("" if ended == len(codes) else f" ({', '.join(map(str, codes))})"),
        "all",
        ended == len(codes),
    )


async def report_outage_load(server: Server, token: str, wallet: str, seconds: float) -> None:
    """10 clients in a closed loop (`me` and deposits) while PostgreSQL is down."""
    statuses: dict[int, int] = {}
    codes: dict[str, int] = {}
    problems: dict[str, int] = {}

    def count(table: dict, key) -> None:
        table[key] = table.get(key, 0) + 1

    async def client(n: int) -> None:
        conn = Conn(server.port)
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                if n % 2:
                    body = wire.graphql_body(ME)
                else:
                    body = wire.graphql_body(DEPOSIT, deposit_input(wallet, "1.00"))
                try:
                    status, raw = await conn.post(body, token, limit=WAIT)
                except Exception as exc:  # noqa: BLE001 - counted
                    count(problems, f"no answer ({type(exc).__name__})")
                    await asyncio.sleep(0.05)
                    continue
                count(statuses, status)
                try:
                    answer = json.loads(raw)
                except ValueError:
                    count(problems, f"HTTP {status} without JSON")
                    continue
                errors = answer.get("errors") or []
                if not errors:
                    count(codes, "no error")
                for error in errors:
                    extensions = error.get("extensions") or {}
                    count(codes, str(extensions.get("code")))
                    if extensions.get("code") != UNAVAILABLE:
                        count(problems, f"code {extensions.get('code')}")
                    elif not extensions.get("requestId"):
                        count(problems, "no requestId")
                if not errors:
                    count(problems, "answer without an error")
        finally:
            conn.close()

    await asyncio.gather(*(client(n) for n in range(10)))
    total = sum(statuses.values())
    bare_500 = statuses.get(500, 0)
    by_status = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    by_code = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))
    figure("6", f"outage load: {total} answers by HTTP status", by_status or "none")
    figure("6", "outage load: errors by code", by_code or "none")
    figure("6", "outage load: bare HTTP 500", bare_500, "0", bare_500 == 0 and total > 0)
    odd = ", ".join(f"{k}: {v}" for k, v in sorted(problems.items())) or "none"
    figure(
        "6",
        "outage load: not SERVICE_UNAVAILABLE+requestId",
        odd,
        "none",
        not problems and total > 0,
    )


async def new_connection_answers(server: Server, token: str, count: int = 16):
    """/readyz and GraphQL `me { wallets { balance } }` (signed in) on `count` new connections
    each, which SO_REUSEPORT hashes over every worker: statuses, and error codes."""
    statuses: dict[str, int] = {}
    codes: dict[str, int] = {}
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT, limits=limits) as http:
        for _ in range(count):
            for path in ("/readyz", "/graphql"):
                try:
                    if path == "/readyz":
                        response = await http.get(path)
                    else:
                        response = await http.post(
                            path, json={"query": BALANCES}, headers=bearer(token)
                        )
                    key = f"{path} {response.status_code}"
                    if path == "/graphql":
                        with contextlib.suppress(ValueError):
                            for code in error_codes(response.json()) or ["no error"]:
                                codes[code] = codes.get(code, 0) + 1
                except httpx.TransportError as exc:
                    key = f"{path} {type(exc).__name__}"
                statuses[key] = statuses.get(key, 0) + 1
    return statuses, codes


async def kill_a_worker(server: Server, token: str) -> None:
    workers = server.workers()
    if len(workers) != 2:
        raise AttackError(f"{len(workers)} workers before the kill")
    victim = workers[0]
    victim.send_signal(signal.SIGKILL)
    log(f"kill -9 worker {victim.pid}; waiting 5 s")
    await asyncio.sleep(5.0)
    alive = server.alive()
    live = server.workers()
    replaced = len(live) == 2 and victim.pid not in {w.pid for w in live}
    statuses, codes = await new_connection_answers(server, token)
    answering = all(k.endswith(" 503") for k in statuses) and set(codes) == {UNAVAILABLE}
    figure(
        "2",
        "5 s after kill -9 of a worker: supervisor alive",
        "yes" if alive else "NO",
        "yes",
        alive,
    )
    figure(
        "2",
        "  worker replaced during the outage",
        "yes" if replaced else f"no ({len(live)} live workers)",
        "yes",
        replaced,
    )
    figure(
        "2",
        "  port answers (16 new connections per path)",
        ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        + " | "
        + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())),
        "all 503 / SERVICE_UNAV.",
        answering,
    )


async def restart_and_recover(pg: PrivatePostgres, server: Server, api: Api, token, wallet):
    await asyncio.to_thread(pg.start)
    back = time.monotonic()
    log("PostgreSQL started again")
    ready = deposited = None
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT, limits=limits) as http:
        while time.monotonic() - back < RECOVERY and (ready is None or deposited is None):
            if ready is None:
                with contextlib.suppress(httpx.TransportError):
                    codes = [(await http.get("/readyz")).status_code for _ in range(8)]
                    if codes == [200] * 8:
                        ready = time.monotonic() - back
            if deposited is None:
                with contextlib.suppress(httpx.TransportError):
                    status, body = await api.post(DEPOSIT, deposit_input(wallet, "1.00"), token)
                    result = (body.get("data") or {}).get("deposit") or {}
                    if status == 200 and result.get("__typename") == "PaymentPayload":
                        deposited = time.monotonic() - back
            await asyncio.sleep(0.1)
    alive = server.alive()
    figure(
        "2",
        "server alive after the outage (supervisor, port)",
        "yes" if alive else "NO",
        "yes",
        alive and ready is not None,
    )
    figure(
        "2",
        "  seconds from PostgreSQL start to /readyz 200 (x8)",
        f"{ready:.1f} s" if ready is not None else f"not within {RECOVERY:.0f} s",
        f"<= {RECOVERY:.0f} s",
        ready is not None,
    )
    figure(
        "2",
        "  seconds from PostgreSQL start to a deposit",
        f"{deposited:.1f} s" if deposited is not None else f"not within {RECOVERY:.0f} s",
        f"<= {RECOVERY:.0f} s",
        deposited is not None,
    )
    return back


# --- 3. worker RSS after many distinct large anonymous documents ------------------------------


async def item_documents(server: Server, documents: int, concurrency: int = 4) -> None:
    before = server.rss()
    peak: dict[int, float] = dict(before)
    statuses: dict[str, int] = {}
    nines = b"9" * 999_990
    counter = iter(range(documents))

    async def sample() -> None:
        while True:
            for pid, rss in server.rss().items():
                peak[pid] = max(peak.get(pid, 0.0), rss)
            await asyncio.sleep(0.25)

    async def client() -> None:
        conn = Conn(server.port)
        try:
            for n in counter:
                # Every document different: the index in front of ~1,000,000 nines.
                body = b'{"query":"{ wallet(id: \\"%d%s\\") { id } }"}' % (n, nines)
                try:
                    status, raw = await conn.post(body, None, limit=60.0)
                    codes = error_codes(json.loads(raw)) if raw[:1] == b"{" else []
                    key = f"HTTP {status} " + ("/".join(sorted(set(codes))) or "no error")
                except Exception as exc:  # noqa: BLE001 - counted
                    key = f"no answer ({type(exc).__name__})"
                statuses[key] = statuses.get(key, 0) + 1
        finally:
            conn.close()

    started, cpu = time.monotonic(), server.cpu()
    sampler = asyncio.create_task(sample())
    try:
        await asyncio.gather(*(client() for _ in range(concurrency)))
    finally:
        sampler.cancel()
    took, cpu = time.monotonic() - started, server.cpu() - cpu
    await asyncio.sleep(2.0)
    after = server.rss()
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    figure("3", f"{documents} distinct ~1 MiB anonymous documents", f"{took:.0f} s, {answers}")
    figure("3", "  server CPU per document", f"{cpu / max(documents, 1) * 1000:.0f} ms")
    for pid in sorted(set(before) | set(after)):
        b, a, p = before.get(pid), after.get(pid), peak.get(pid)
        fine = a is not None and p is not None and p < 200
        figure(
            "3",
            f"  worker {pid} RSS before -> after (peak)",
            f"{b or 0:.0f} -> {a or 0:.0f} MB (peak {p or 0:.0f})",
            "< 200 MB",
            fine,
        )


# --- 4. other clients' latency beside the heaviest allowed query ------------------------------


async def seed_heavy_customer(api: Api, server: Server, wallets: int, deposits: int):
    user = await api.signup("Heavy Customer")
    token = user["token"]
    ids = [await api.create_wallet(token) for _ in range(wallets)]
    bodies = [
        wire.graphql_body(DEPOSIT, deposit_input(w, "1.00")) for w in ids for _ in range(deposits)
    ]
    queue = iter(bodies)
    failed = 0

    async def client() -> None:
        nonlocal failed
        conn = Conn(server.port)
        try:
            for body in queue:
                status, raw = await conn.post(body, token)
                if status != 200 or b'"PaymentPayload"' not in raw:
                    failed += 1
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(8)))
    if failed:
        raise AttackError(f"{failed} seeding deposits failed")
    return token, len(bodies), time.monotonic() - started


async def accepted(api: Api, token: str, aliases: int, first: int) -> tuple[bool, dict]:
    status, body = await api.post(heavy_query(aliases, first), token=token)
    ok = status == 200 and not body.get("errors") and (body.get("data") or {}).get("me")
    return bool(ok), body


async def heaviest_allowed(api: Api, token: str) -> tuple[int, int, int]:
    """(aliases, first, requests) of the accepted form returning the most history entries:
    for each alias count, the largest `first` accepted (by bisection), until even first: 1 is
    refused."""
    best = (0, 0)
    probes = 0
    for aliases in range(1, 30):
        low, high = 0, 100  # low: accepted (0: none yet); answers are monotonic in first
        while low < high:
            middle = (low + high + 1) // 2
            probes += 1
            if (await accepted(api, token, aliases, middle))[0]:
                low = middle
            else:
                high = middle - 1
        if low == 0:
            break
        if aliases * low >= best[0] * best[1]:
            best = (aliases, low)
    return best[0], best[1], probes


async def closed_loop(port: int, body: bytes, token: str, clients: int, seconds: float):
    """`clients` clients sending `body` back to back for `seconds`: latencies, and failures."""
    latencies: list[float] = []
    failures: dict[str, int] = {}

    async def client() -> None:
        conn = Conn(port)
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                sent = time.perf_counter()
                try:
                    status, raw = await conn.post(body, token, limit=30.0)
                except Exception as exc:  # noqa: BLE001 - counted
                    key = f"no answer ({type(exc).__name__})"
                    failures[key] = failures.get(key, 0) + 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if status != 200 or b'"errors"' in raw:
                    key = f"HTTP {status} {raw[:120]!r}"
                    failures[key] = failures.get(key, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, failures


async def item_heavy(server: Server, api: Api, quick: bool) -> None:
    wallets, deposits = 50, (20 if quick else 100)
    token, count, took = await seed_heavy_customer(api, server, wallets, deposits)
    figure(
        "4",
        "seeded one customer: wallets x deposits",
        f"{wallets} x {deposits} ({count} GraphQL deposits in {took:.0f} s)",
    )

    status, body = await api.post(heavy_query(29, 100), token=token)
    errors = body.get("errors") or [{}]
    extensions = errors[0].get("extensions") or {}
    refused = status == 200 and extensions.get("code") == "BAD_USER_INPUT" and "cost" in extensions
    figure(
        "4",
        "original attack (29 aliases, first: 100) refused",
        f"{extensions.get('code')} cost {extensions.get('cost')} limit {extensions.get('limit')}"
        if refused
        else f"NOT refused: HTTP {status} {json.dumps(body)[:80]}",
        "BAD_USER_INPUT",
        refused,
    )

    aliases, first, probes = await heaviest_allowed(api, token)
    if aliases == 0:
        raise AttackError("no form of the heavy query is accepted, not even 1 alias, first: 1")
    query = heavy_query(aliases, first)
    _, answer = await accepted(api, token, aliases, first)
    size = len(json.dumps(answer))
    entries = sum(
        len(w[f"h{n}"]["edges"]) for w in answer["data"]["me"]["wallets"] for n in range(aliases)
    )
    _, refused_next = await accepted(api, token, aliases, first + 1)
    figure(
        "4",
        "heaviest allowed form (by bisection)",
        f"{aliases} alias(es), first: {first}: {entries} entries, {size // 1024} KiB "
        f"({probes} probes)",
    )
    nxt = (refused_next.get("errors") or [{}])[0].get("extensions") or {}
    figure("4", f"  first: {first + 1} instead", f"{nxt.get('code')} cost {nxt.get('cost')}")

    alone = []
    for _ in range(5):
        sent = time.perf_counter()
        await accepted(api, token, aliases, first)
        alone.append(time.perf_counter() - sent)
    figure("4", "  that query alone (5 in a row): latency median", ms(percentile(alone, 0.5)))

    other = await api.signup("Other Client")
    other_wallet = await api.create_wallet(other["token"])
    await api.deposit(other["token"], other_wallet, "5.00")
    seconds = 5.0 if quick else 10.0
    heavy_body = wire.graphql_body(query)
    light_body = wire.graphql_body(BALANCES)
    (heavy, heavy_failed), (light, light_failed) = await asyncio.gather(
        closed_loop(server.port, heavy_body, token, clients=4, seconds=seconds),
        closed_loop(server.port, light_body, other["token"], clients=4, seconds=seconds),
    )
    figure(
        "4",
        f"heavy query x4 at once, {seconds:.0f} s: latency p50 / max",
        f"{ms(percentile(heavy, 0.5))} / {ms(max(heavy, default=0))} "
        f"({len(heavy)} answers, {sum(heavy_failed.values())} failed)",
    )
    figure(
        "4",
        "other clients (x4 me.wallets.balance) p50 / p99",
        f"{ms(percentile(light, 0.5))} / {ms(percentile(light, 0.99))} ({len(light)} answers)",
    )
    worst = max(light, default=float("inf"))
    figure(
        "4",
        "other clients' max latency",
        f"{ms(worst)}, {sum(light_failed.values())} failed",
        "< 1000 ms",
        worst < 1.0 and not light_failed,
    )
    for key, value in list(heavy_failed.items())[:3] + list(light_failed.items())[:3]:
        figure("4", "  failure", f"{value} x {key[:120]}")


# --- x. idle authenticated websockets ---------------------------------------------------------


class IdleSocket(wire.Subscriber):
    """A graphql-transport-ws socket that signs in and then only answers pings."""

    def _on_text(self, payload: bytes, now: float) -> None:
        message = json.loads(payload)
        if message.get("type") == "connection_ack" and not self.acked.done():
            self.acked.set_result(True)
        elif message.get("type") == "ping":
            self._send({"type": "pong"})


async def open_idle_socket(port: int, token: str) -> IdleSocket:
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(
        loop.create_connection(lambda: IdleSocket(HOST, port, token, "", {}), HOST, port), WAIT
    )
    await asyncio.wait_for(asyncio.shield(proto.acked), WAIT)
    return proto


async def item_sockets(server: Server, api: Api, count: int) -> None:
    user = await api.signup("Idle Sockets")
    before = server.rss()
    sockets: list[IdleSocket] = []
    failed = 0
    limit = asyncio.Semaphore(50)

    async def one() -> None:
        nonlocal failed
        async with limit:
            try:
                sockets.append(await open_idle_socket(server.port, user["token"]))
            except Exception:  # noqa: BLE001 - counted
                failed += 1

    try:
        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(count)))
        took = time.monotonic() - started
        await asyncio.sleep(3.0)
        opened, held = server.rss(), server.connections()
    finally:
        for sock in sockets:
            sock.close()
    await asyncio.sleep(5.0)
    after, left = server.rss(), server.connections()
    figure(
        "x",
        f"{count} idle authenticated websockets",
        f"{len(sockets)} acknowledged in {took:.1f} s, {failed} failed",
    )
    for pid in sorted(set(before) | set(opened) | set(after)):
        figure(
            "x",
            f"  worker {pid} RSS before / open / closed+5 s",
            f"{before.get(pid, 0):.0f} / {opened.get(pid, 0):.0f} / {after.get(pid, 0):.0f} MB "
            f"({held.get(pid, 0)} -> {left.get(pid, 0)} connections)",
        )


# --- server logs -----------------------------------------------------------------------------

LOG_SIGNS = ("Traceback", "Exception in ASGI application", "ERROR", "INTERNAL_SERVER_ERROR")
LOG_NOTES: list[str] = []


def report_log(server: Server) -> None:
    text = server.log()
    found = {sign: text.count(sign) for sign in LOG_SIGNS if sign in text}
    lines = text.count("\n")
    summary = ", ".join(f"{k}: {v}" for k, v in found.items()) or "no traceback or error"
    figure("log", f"server {server.name}: {lines} log lines", summary)
    if found:
        LOG_NOTES.append(f"--- server {server.name} ({server.log_path}) ---\n{excerpt(text)}")


def excerpt(text: str) -> str:
    """The first traceback or error of a log, and a little around it."""
    at = min((text.find(s) for s in LOG_SIGNS if s in text), default=0)
    return text[max(0, at - 500) : at + 3000]


# --- main ------------------------------------------------------------------------------------

LIMITS = {"1": 60, "2": 180, "3": 600, "4": 300, "x": 120}  # seconds per item


async def phase(item: str, work) -> None:
    log(f"item {item}")
    try:
        await asyncio.wait_for(work, LIMITS[item])
    except TimeoutError:
        figure(item, "item did not finish", f"timed out after {LIMITS[item]} s", "finishes", False)
    except Exception as exc:  # noqa: BLE001 - reported as the item's failure
        figure(item, "item failed", f"{type(exc).__name__}: {str(exc)[:300]}", "no error", False)


async def on_shared_database(workdir: Path, url: str, item: str, name: str, work) -> None:
    """`work(server, api)` against a new server of its own on the shared PostgreSQL."""
    server = Server(name, url, workdir)
    api = None

    async def run() -> None:
        nonlocal api
        await server.start()
        api = Api(server.url)
        await work(server, api)

    try:
        await phase(item, run())
    finally:
        if api is not None:
            await api.aclose()
        await server.stop()
        report_log(server)


def revision() -> str:
    """The commit this run serves, and whether the working tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "walletql"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return commit + (" + uncommitted changes under walletql/" if dirty else "")


async def main_async(args) -> int:
    # SIGTERM (and SIGINT, as asyncio.run already does) cancels the run: every finally below
    # still stops the servers and the private PostgreSQL.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    workdir = Path(tempfile.mkdtemp(prefix="walletql-attack-"))
    items = set(args.only.split(",")) if args.only else {"1", "2", "3", "4", "x"}
    documents = args.documents or (300 if args.quick else 2300)
    url = await recreate_database(args.database)
    pg: PrivatePostgres | None = None
    started = time.monotonic()
    print(f"walletql {revision()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"  {'':<3} {'':<4}  {'figure':<54} value   (target)")
    try:
        code, output = await asyncio.to_thread(walletql_cli, "migrate", url, workdir)
        if code != 0:
            raise AttackError(f"walletql migrate failed: {output}")
        shared = functools.partial(on_shared_database, workdir, url)  # a server of its own
        if "1" in items:
            await shared("1", "logout", item_logout)
        if items & {"2", "6"}:
            pg = PrivatePostgres(prefix="walletql-attack-pg-")
            await phase("2", item_outage(pg, workdir, args.quick))
        if "3" in items:
            await shared("3", "documents", lambda server, _: item_documents(server, documents))
        if "4" in items:
            await shared("4", "heavy", lambda server, api: item_heavy(server, api, args.quick))
        if "x" in items:
            await shared(
                "x", "sockets", lambda server, api: item_sockets(server, api, args.sockets)
            )
        code, output = await asyncio.to_thread(walletql_cli, "verify", url, workdir)
        figure(
            "4",
            f"walletql verify ({args.database})",
            output.splitlines()[-1] if output else f"exit {code}",
            "OK",
            code == 0,
        )
        if pg is not None and pg.running:
            code, output = await asyncio.to_thread(walletql_cli, "verify", pg.url, workdir)
            figure(
                "2",
                "walletql verify (private PostgreSQL)",
                output.splitlines()[-1] if output else f"exit {code}",
                "OK",
                code == 0,
            )
    finally:
        if pg is not None:
            await asyncio.to_thread(pg.remove)
        if not args.keep_database:
            with contextlib.suppress(Exception):
                await drop_database(args.database)
        if args.keep_logs:
            log(f"server logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    missed = [f for f in FIGURES if f.passed is False]
    print()
    for note in LOG_NOTES:
        print(note)
    print(
        f"{len(FIGURES)} figures, {sum(1 for f in FIGURES if f.passed)} targets met, "
        f"{len(missed)} missed, in {time.monotonic() - started:.0f} s"
    )
    for f in missed:
        print(f"  MISSED {f.item}: {f.what.strip()}: {f.value} (target {f.target})")
    return 1 if missed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.attack", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer documents, deposits, seconds")
    parser.add_argument(
        "--database", default="walletql_attack", help="on 127.0.0.1:5432; recreated"
    )
    parser.add_argument("--documents", type=int, help="item 3 (default 2300; 300 with --quick)")
    parser.add_argument("--sockets", type=int, default=2000, help="idle websockets (item x)")
    parser.add_argument("--only", help="comma-separated items: 1,2,3,4,x (2 includes 6)")
    parser.add_argument("--keep-database", action="store_true", help="do not drop it at the end")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        return asyncio.run(main_async(parse_args(argv)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; servers and the private PostgreSQL stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
