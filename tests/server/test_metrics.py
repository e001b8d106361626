"""Prometheus metrics (WALLETQL_METRICS) on real `walletql serve` processes, read as Prometheus
reads them: the text format from the metrics port, parsed by prometheus-client's own parser.

Every test compares two scrapes around a known sequence of requests, so a counter must move by
exactly what that sequence makes, whatever ran before it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from collections import Counter

import httpx
import psutil
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.server.clients import WAIT, Api, subscriber
from tests.server.conftest import free_port
from walletql.metrics_port import WorkerFiles

Samples = dict[tuple[str, frozenset], float]


async def scrape(port: int) -> Samples:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, prefix: str) -> dict[tuple[str, frozenset], float]:
    """The samples named `prefix...` whose value changed, by how much."""
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if key[0].startswith(prefix) and after[key] != before.get(key, 0.0)
    }


async def until(condition, what: str):
    """Await `condition()` until it returns something truthy (bounded by WAIT)."""
    for _ in range(int(WAIT / 0.05)):
        if result := await condition():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {WAIT:.0f}s: {what}")


async def metrics_server(start_server, **settings):
    port = free_port()
    server = await start_server(cli=True, metrics="true", metrics_port=port, **settings)
    return server, port


def requests(**labels: str) -> tuple[str, frozenset]:
    return ("walletql_graphql_requests_total", frozenset(labels.items()))


def postings(kind: str, outcome: str) -> tuple[str, frozenset]:
    return ("walletql_postings_total", frozenset({"kind": kind, "outcome": outcome}.items()))


async def test_metrics_are_off_by_default(start_server):
    port = free_port()
    server = await start_server(cli=True, metrics_port=port)  # WALLETQL_METRICS unset
    async with httpx.AsyncClient(timeout=WAIT) as http:
        assert (await http.get(f"{server.url}/metrics")).status_code == 404
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/metrics")
    assert "metrics" not in server.log()


async def test_a_known_sequence_moves_each_counter_by_exactly_its_requests(start_server, make_api):
    server, port = await metrics_server(start_server)
    api: Api = make_api(server)
    before = await scrape(port)

    alice, bob = await api.signup(), await api.signup()
    wallet = await api.create_wallet(alice["token"])
    target = await api.create_wallet(bob["token"])
    key = secrets.token_hex(8)
    await api.pay("deposit", "DepositInput", alice["token"], walletId=wallet["id"], amount="10", idempotencyKey=key)  # fmt: skip
    replayed = await api.pay("deposit", "DepositInput", alice["token"], walletId=wallet["id"], amount="10", idempotencyKey=key)  # fmt: skip
    assert replayed["replayed"] is True
    declined = await api.pay("withdraw", "WithdrawInput", alice["token"], walletId=wallet["id"], amount="100")  # fmt: skip
    assert declined["__typename"] == "InsufficientFunds"
    sent = await api.transfer(alice["token"], wallet["id"], target["id"], "4")
    assert sent["__typename"] == "PaymentPayload"
    assert (await api.gql("{ me { id } }", token=alice["token"]))["data"]["me"]["id"]
    assert (await api.gql("{ me { id"))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = await api.gql("{ currencies { nope } }")
    assert unknown["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    after = await scrape(port)
    assert moved(before, after, "walletql_postings_total") == {
        postings("DEPOSIT", "POSTED"): 1,
        postings("DEPOSIT", "REPLAYED"): 1,
        postings("WITHDRAWAL", "INSUFFICIENT_FUNDS"): 1,
        postings("TRANSFER", "POSTED"): 1,
    }
    # signup x2, createWallet x2, deposit x2, withdraw, transfer; then three queries, the
    # last two refused (one does not parse: its type is unknown).
    assert moved(before, after, "walletql_graphql_requests_total") == {
        requests(type="mutation", outcome="OK"): 8,
        requests(type="query", outcome="OK"): 1,
        requests(type="unknown", outcome="BAD_USER_INPUT"): 1,
        requests(type="query", outcome="BAD_USER_INPUT"): 1,
    }
    timed = moved(before, after, "walletql_graphql_request_seconds_count")
    assert timed == {
        ("walletql_graphql_request_seconds_count", frozenset({"type": "mutation"}.items())): 8,
        ("walletql_graphql_request_seconds_count", frozenset({"type": "query"}.items())): 2,
        ("walletql_graphql_request_seconds_count", frozenset({"type": "unknown"}.items())): 1,
    }
    assert value(after, "walletql_db_pool_connections_max") == 10  # WALLETQL_DB_POOL_SIZE
    # No label anywhere names a user, a wallet or an operation name.
    labels = {v for (_name, pairs) in after for (_k, v) in pairs}
    assert not labels & {alice["id"], bob["id"], wallet["id"], target["id"]}


async def test_subscriptions_are_gauged_and_their_deliveries_counted(start_server, make_api):
    server, port = await metrics_server(start_server)
    api = make_api(server)
    alice = await api.signup()
    wallet = await api.create_wallet(alice["token"])
    before = await scrape(port)
    async with subscriber(server.ws_url, alice["token"]) as client:
        await client.subscribe("live", wallet["id"])

        async def active() -> bool:
            return value(await scrape(port), "walletql_subscriptions_active") == 1

        await until(active, "one active subscription")
        await api.deposit(alice["token"], wallet["id"], "2")
        assert (await client.update())["version"] == 1
        await client.complete("live")

        async def none() -> bool:
            return value(await scrape(port), "walletql_subscriptions_active") == 0

        await until(none, "no active subscription")
    after = await scrape(port)
    assert (
        value(after, "walletql_balance_updates_delivered_total")
        - value(before, "walletql_balance_updates_delivered_total")
        == 1
    )
    assert moved(before, after, "walletql_graphql_requests_total") == {
        requests(type="mutation", outcome="OK"): 1,  # the deposit
        requests(type="subscription", outcome="OK"): 1,  # counted once it ended
    }
    # A subscription's life is no latency: only the deposit was timed.
    assert moved(before, after, "walletql_graphql_request_seconds_count") == {
        ("walletql_graphql_request_seconds_count", frozenset({"type": "mutation"}.items())): 1
    }


async def test_workers_are_added_up_and_a_replaced_one_keeps_its_counts(
    start_server, tmp_path, monkeypatch
):
    directory = tmp_path / "multiproc"
    directory.mkdir()
    stale = directory / "counter_1.db"
    stale.write_bytes(b"an earlier run's")  # would count again: removed at start
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))  # inherited by the server
    server, port = await metrics_server(start_server, workers=2, db_pool_size=3)
    assert not stale.exists()
    # A worker killed while creating its file leaves it empty for good (and any worker's is
    # empty for a moment): scrapes still answer, from every other file.
    (directory / "counter_999999.db").touch()
    before = await scrape(port)
    for _ in range(20):  # a new connection each: the kernel spreads them over both workers
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
            response = await http.post("/graphql", json={"query": "{ currencies { code } }"})
            assert response.status_code == 200
    after = await scrape(port)
    assert moved(before, after, "walletql_graphql_requests_total") == {
        requests(type="query", outcome="OK"): 20
    }
    assert value(after, "walletql_db_pool_connections_max") == 6  # 3 per worker, both counted
    workers = psutil.Process(server.process.pid).children()
    assert len(workers) == 2
    counted = {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob("counter_*.db")}
    assert {worker.pid for worker in workers} <= counted  # both workers wrote counts

    workers[0].send_signal(signal.SIGKILL)

    async def replaced() -> Samples | None:
        # The dead worker's pool stops counting (6, not 9, once its replacement samples its
        # own); its requests still count: a counter never goes back.
        pids = {p.pid for p in psutil.Process(server.process.pid).children()}
        samples = await scrape(port)
        pool = value(samples, "walletql_db_pool_connections_max")
        if len(pids) == 2 and workers[0].pid not in pids and pool == 6:
            return samples
        return None

    later = await until(replaced, "the worker replaced and its pool counted once")
    ok = {"type": "query", "outcome": "OK"}
    assert value(later, "walletql_graphql_requests_total", **ok) == value(
        after, "walletql_graphql_requests_total", **ok
    )


def _request_lines(log: str) -> list[dict]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "walletql.requests"]


async def test_json_log_has_one_line_per_request_and_no_secret(start_server, make_api):
    server = await start_server(cli=True, log_format="json", log_level="INFO")
    api = make_api(server)
    merchant = await api.signup("MERCHANT")
    customer = await api.signup()
    await api.create_wallet(merchant["token"])
    wallet = await api.create_wallet(customer["token"])
    await api.deposit(customer["token"], wallet["id"], "20")
    charged = await api.pay(
        "charge", "ChargeInput", merchant["token"], walletToken=wallet["token"], amount="3",
        description="Coffee",
    )  # fmt: skip
    assert charged["__typename"] == "PaymentPayload", charged
    key = await api.data(
        """mutation Key { createApiKey(input: {name: "ops", scopes: [READ]}) {
            ... on ApiKeyPayload { secret } } }""",
        token=customer["token"],
    )
    secret = key["createApiKey"]["secret"]
    assert (await api.data("query Me { me { id } }", token=secret))["me"]["id"] == customer["id"]
    login = await api.data(
        'mutation { login(input: {email: "nobody@example.com", password: "wrong pass 123"}) '
        "{ __typename } }"
    )
    assert login["login"]["__typename"] != "AuthPayload"
    refused = await api.gql("{ nope }", token="not-a-real-token-xyz")
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    made = 10  # signup x2, createWallet x2, deposit, charge, createApiKey, me, login, nope

    async def logged() -> list[dict] | None:
        lines = _request_lines(server.log())
        return lines if len(lines) >= made else None

    lines = await until(logged, f"{made} request lines")
    assert len(lines) == made
    for line in lines:
        assert set(line) >= {
            "time", "level", "request_id", "operation_name", "operation_type", "caller",
            "duration_ms", "outcome",
        }  # fmt: skip
        assert len(line["request_id"]) == 16 and line["duration_ms"] >= 0
    assert len({line["request_id"] for line in lines}) == made
    kinds = Counter((line["operation_type"], line["outcome"]) for line in lines)
    assert kinds == {("mutation", "OK"): 8, ("query", "OK"): 1, ("query", "BAD_USER_INPUT"): 1}
    named = {line["operation_name"]: line["caller"] for line in lines if line["operation_name"]}
    assert named == {"Key": customer["id"], "Me": customer["id"]}  # an API key acts as its user
    assert {customer["id"], merchant["id"], None} <= {line["caller"] for line in lines}

    log = server.log()
    for text in (
        "correct horse battery",  # the signup password
        "wrong pass 123",
        customer["token"],
        merchant["token"],
        secret,
        wallet["token"],  # the payment token
        "not-a-real-token-xyz",
    ):
        assert text not in log
    # Every line of the workers' log is JSON; only `walletql serve`'s own start-up lines are not.
    others = [line for line in log.splitlines() if not line.startswith("{")]
    assert all(line.startswith(("applied ", "walletql ")) for line in others), others


def test_a_file_removed_while_scraped_is_listed_again(tmp_path, monkeypatch):
    # A worker's real file, written by prometheus-client in a process of its own; and an empty
    # one beside it (a worker killed while creating its file).
    code = "from prometheus_client import Counter; Counter('walletql_probe', 'a probe').inc(3)"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    (tmp_path / "counter_999999.db").touch()
    files = WorkerFiles(tmp_path)

    def total() -> float:
        return sum(
            s.value for m in files.collect() for s in m.samples if s.name == "walletql_probe_total"
        )

    assert total() == 3
    merge, calls = MultiProcessCollector.merge, []

    def vanishing(paths, accumulate=True):  # the first read meets a file deleted meanwhile
        calls.append(paths)
        if len(calls) == 1:
            raise FileNotFoundError(paths[0])
        return merge(paths, accumulate)

    monkeypatch.setattr(MultiProcessCollector, "merge", staticmethod(vanishing))
    assert total() == 3 and len(calls) == 2
