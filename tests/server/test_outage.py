"""A database outage under real `walletql serve` processes, on a PostgreSQL of this module's own
that the tests stop and start: `pg_ctl stop -m fast` (an operator's restart: sessions are
terminated) and `-m immediate` (a crash: connections drop mid-statement).

What must hold (docs/operations.md, "Database outages"): workers are replaced whatever the
database is doing and the supervisor never gives up; /healthz stays 200 and /readyz answers 503
until the database is back; GraphQL answers SERVICE_UNAVAILABLE with a request id (HTTP 503 only
when the token cannot be looked up before execution), never a bare 500 or INTERNAL_SERVER_ERROR;
connection_init closes the socket with 1013; an active subscription ends with FEED_INTERRUPTED;
a posting whose outcome was lost is posted exactly once when the client retries its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

import asyncpg
import httpx
import psutil
import pytest
from websockets.exceptions import ConnectionClosed

from tests.postgres import PrivatePostgres
from tests.server.clients import PAYMENT, WAIT, Api, subscriber, ws_connect
from tests.server.conftest import REPO, free_port
from walletql.serve import restart_delay

RECOVERY = 60.0  # seconds a condition may take to come about; only turns a hang into a failure
UNAVAILABLE = "SERVICE_UNAVAILABLE"


@pytest.fixture(scope="module")
def postgres():
    try:
        server = PrivatePostgres(prefix="walletql-outage-")
    except LookupError as exc:
        pytest.skip(str(exc))
    try:
        server.init()
        yield server
    finally:
        server.remove()


@pytest.fixture
def pg(postgres):
    """The module's PostgreSQL, running at the start of the test and after it."""
    postgres.ensure_running()
    try:
        yield postgres
    finally:
        postgres.ensure_running()


async def _post(http: httpx.AsyncClient, query: str, variables=None, token=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.status_code, response.json()


def _unavailable(status: int, body: dict) -> dict:
    """The one error of an answer that says the database is unavailable."""
    (error,) = body["errors"]
    assert error["extensions"]["code"] == UNAVAILABLE, body
    assert error["extensions"]["requestId"], body
    assert "temporarily unavailable" in error["message"], body
    if "data" not in body:  # no GraphQL execution answered: the token look-up failed
        assert status == 503
    else:
        assert status == 200
    return error


async def _until(condition, what: str, seconds: float = RECOVERY):
    """Await `condition()` until it returns something truthy (bounded); that value."""
    deadline = time.monotonic() + seconds
    while True:
        value = await condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {seconds:.0f}s: {what}"
        await asyncio.sleep(0.1)


async def _statuses(url: str, path: str, count: int) -> list[int]:
    """`path` on `count` new connections, which SO_REUSEPORT hashes over every worker."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as http:
        return [(await http.get(path)).status_code for _ in range(count)]


def _workers(server) -> list[psutil.Process]:
    live = []
    for child in psutil.Process(server.process.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                live.append(child)
    return live


def _clean_log(server) -> str:
    log = server.log()
    for sign in ("Traceback", "Exception in ASGI application", "ERROR", "INTERNAL_SERVER_ERROR"):
        assert sign not in log, log[-4000:]
    return log


DEPOSIT = f"mutation($input: DepositInput!) {{ deposit(input: $input) {{ {PAYMENT} }} }}"
WALLET = "query($id: ID!) { wallet(id: $id) { balance version } }"


def test_restart_delay_is_none_after_a_stable_worker_and_bounded_in_a_crash_loop():
    assert restart_delay(8.0, lived=3600) == 0.0
    delays = [0.0]
    for _ in range(12):
        delays.append(restart_delay(delays[-1], lived=1))
    assert delays[1] > 0 and delays == sorted(delays)
    assert delays[-1] == delays[-2] <= 10.0


def test_first_start_with_the_database_down_fails_in_one_line(pg):
    pg.stop("fast")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.update(WALLETQL_DATABASE_URL=pg.url, WALLETQL_LOG_LEVEL="WARNING")
    done = subprocess.run(
        [sys.executable, "-m", "walletql.cli", "serve", "--port", str(free_port())]
        + ["--workers", "2"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RECOVERY,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "unreachable" in line.lower()


async def test_a_worker_killed_during_an_outage_is_replaced_and_writes_come_back(
    pg, start_server, make_api
):
    server = await start_server(cli=True, workers=2, database=pg.url)
    api = make_api(server)
    user = await api.signup()
    wallet = await api.create_wallet(user["token"])
    await api.deposit(user["token"], wallet["id"], "1.00")

    await pg.stopped("fast")
    await _until(
        lambda: _all(_statuses(server.url, "/readyz", 8), 503), "/readyz 503 on every worker"
    )
    assert await _statuses(server.url, "/healthz", 8) == [200] * 8
    for _round in range(2):  # a worker, then its replacement that started during the outage
        killed = max(_workers(server), key=lambda worker: worker.create_time())
        killed.send_signal(signal.SIGKILL)
        await _until(lambda killed=killed: _replaced(server, killed.pid), "a replacement worker")
        assert server.process.poll() is None, "the supervisor gave up"
    # Every worker answers, the replacements included: no refused or hanging connection.
    assert await _statuses(server.url, "/healthz", 16) == [200] * 16
    assert await _statuses(server.url, "/readyz", 16) == [503] * 16
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0, limits=limits) as http:
        for _ in range(8):
            _unavailable(*await _post(http, WALLET, {"id": wallet["id"]}, user["token"]))

    await pg.started()
    back = time.monotonic()
    payment = await _until(
        lambda: _deposit(api, user["token"], wallet["id"], "2.00", "after-outage"),
        "a deposit after PostgreSQL is back",
    )
    print(f"\nwrites came back {time.monotonic() - back:.1f}s after PostgreSQL restarted")
    await _until(
        lambda: _all(_statuses(server.url, "/readyz", 8), 200), "/readyz 200 on every worker"
    )
    print(f"every worker ready {time.monotonic() - back:.1f}s after PostgreSQL restarted")
    assert payment["wallet"]["balance"] == "3.00"
    assert server.process.poll() is None
    log = _clean_log(server)
    assert "could not start" not in log
    assert "database unavailable" in log


async def _all(statuses, expected: int) -> bool:
    return all(status == expected for status in await statuses)


async def _replaced(server, pid: int) -> bool:
    live = _workers(server)
    return len(live) == 2 and pid not in {w.pid for w in live}


async def _deposit(api: Api, token: str, wallet_id: str, amount: str, key: str) -> dict | None:
    """The deposit's PaymentPayload, or None while the database is unavailable."""
    variables = {"input": {"walletId": wallet_id, "amount": amount, "idempotencyKey": key}}
    status, body = await _post(api.http, DEPOSIT, variables, token)
    if body.get("errors"):
        _unavailable(status, body)
        return None
    assert status == 200
    result = body["data"]["deposit"]
    assert result["__typename"] == "PaymentPayload", result
    return result


async def _next_error(client, op_id: str) -> dict:
    """The error that ends subscription `op_id`: graphql-transport-ws's `error` (before
    execution), or a `next` with errors and then `complete`."""
    message = await client.recv()
    assert message.get("id") == op_id, message
    if message["type"] == "error":
        (error,) = message["payload"]
        return error
    assert message["type"] == "next", message
    (error,) = message["payload"]["errors"]
    assert await client.recv() == {"id": op_id, "type": "complete"}
    return error


async def _closed_with(url: str, token: str, protocol: str) -> int | None:
    """connection_init on a new socket: the close code it gets (a legacy graphql-ws socket is
    told connection_error first)."""
    async with ws_connect(url, protocol=protocol) as client:
        await client.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        try:
            while True:
                message = await client.recv()
                assert message["type"] == "connection_error", message
                (error,) = message["payload"]["errors"]
                assert error["extensions"]["code"] == UNAVAILABLE
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


async def test_an_outage_answers_service_unavailable_and_subscriptions_resume(
    pg, start_server, make_api
):
    server = await start_server(cli=True, database=pg.url)
    api = make_api(server)
    user = await api.signup()
    token = user["token"]
    wallet = await api.create_wallet(token)
    await api.deposit(token, wallet["id"], "1.00")
    async with subscriber(server.ws_url, token) as live:
        await live.subscribe("live", wallet["id"], after_version=1)  # no gap, however late
        await api.deposit(token, wallet["id"], "2.00")
        assert (await live.update())["version"] == 2

        await pg.stopped("fast")
        error = await _next_error(live, "live")
        assert error["extensions"]["code"] == "FEED_INTERRUPTED", error
        assert "afterVersion" in error["message"]

        http = api.http
        # The token cannot be looked up: no execution can answer, so HTTP 503.
        status, body = await _post(http, WALLET, {"id": wallet["id"]}, token)
        assert "data" not in body
        _unavailable(status, body)
        # A mutation whose resolver meets the outage: a GraphQL error, not a business outcome.
        login = "mutation($i: LoginInput!) { login(input: $i) { __typename } }"
        variables = {"i": {"email": "nobody@example.com", "password": "correct horse battery"}}
        error = _unavailable(*await _post(http, login, variables))
        assert error["path"] == ["login"]
        # What needs no database still works.
        status, body = await _post(http, "{ currencies { code } }")
        assert status == 200 and not body.get("errors"), body
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).status_code == 200
        # A new socket is closed with 1013 (try again later), never acknowledged.
        for protocol in ("graphql-transport-ws", "graphql-ws"):
            assert await _closed_with(server.ws_url, token, protocol) == 1013
        # The open socket's next operation meets the outage: an error, not a hang.
        await live.subscribe("again", wallet["id"], after_version=2)
        error = await _next_error(live, "again")
        assert error["extensions"]["code"] == UNAVAILABLE, error

        await pg.started()
        await _until(lambda: _ready(http), "/readyz 200")
        # Resumed where it was interrupted: nothing missed, nothing twice.
        await _until(lambda: _deposit(api, token, wallet["id"], "3.00", "back"), "a deposit")
        await live.subscribe("resumed", wallet["id"], after_version=2)
        update = await live.update()
        assert (update["version"], update["balance"]) == (3, "6.00")
    async with subscriber(server.ws_url, token) as fresh:  # acknowledged again
        await fresh.subscribe("fresh", wallet["id"], after_version=0)
        assert [u["version"] for u in await fresh.updates_until(3)] == [1, 2, 3]
    log = _clean_log(server)
    # Logged, but not once per request: at most a line every 5 s (walletql.outage).
    assert 1 <= log.count("database unavailable") < 10


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def test_a_posting_cut_off_mid_statement_posts_once_when_retried(pg, start_server, make_api):
    server = await start_server(cli=True, database=pg.url)
    api = make_api(server)
    user = await api.signup()
    token = user["token"]
    wallet = await api.create_wallet(token)
    await api.deposit(token, wallet["id"], "10.00")

    # Hold the wallet's row so that the next deposit waits inside its statement, then crash.
    holder = await asyncpg.connect(pg.url)
    try:
        lock = holder.transaction()
        await lock.start()
        await holder.execute("SELECT id FROM wallets FOR UPDATE")
        variables = {"input": {"walletId": wallet["id"], "amount": "5.00", "idempotencyKey": "k"}}
        cut_off = asyncio.create_task(_post(api.http, DEPOSIT, variables, token))
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        await _until(lambda: holder.fetchval(waiting), "the deposit waiting for the row lock")
        await pg.stopped("immediate")
    finally:
        holder.terminate()
    status, body = await asyncio.wait_for(cut_off, WAIT)
    assert body["data"] is None, body
    _unavailable(status, body)

    await pg.started()
    back = time.monotonic()
    payment = await _until(
        lambda: _deposit(api, token, wallet["id"], "5.00", "k"), "the retried deposit"
    )
    print(f"\nwrites came back {time.monotonic() - back:.1f}s after PostgreSQL restarted")
    assert payment["replayed"] is False  # the first attempt never committed
    assert payment["wallet"]["balance"] == "15.00"
    again = await _deposit(api, token, wallet["id"], "5.00", "k")
    assert again["replayed"] is True
    assert again["transaction"]["id"] == payment["transaction"]["id"]
    assert await api.wallet(token, wallet["id"]) == {
        "id": wallet["id"],
        "balance": "15.00",
        "version": 2,
    }
    _clean_log(server)

    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.update(WALLETQL_DATABASE_URL=pg.url, WALLETQL_LOG_LEVEL="WARNING")
    verified = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "walletql.cli", "verify"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RECOVERY,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
