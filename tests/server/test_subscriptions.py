"""balanceUpdates against real uvicorn processes, over real websockets.

"Registered" is observed, never slept for: the server's /healthz counts live subscribers, and a
test posts only once its subscriber is counted. "Nothing more arrived" is shown by ordering: a
marker posting made afterwards must be the very next update.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from decimal import Decimal

import pytest
from websockets.exceptions import InvalidStatus

from tests.calls import ledger
from tests.server.clients import WAIT, Collector, subscriber, ws_connect
from tests.server.conftest import ALLOWED_ORIGIN
from walletql import ids
from walletql.auth import principal_of
from walletql.events import REPLAY_PAGE
from walletql.ledger.verify import verify
from walletql.models import User


async def _user_with_wallet(api, amount: str | None = None) -> tuple[dict, dict]:
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    if amount is not None:
        await api.deposit(user["token"], wallet["id"], amount)
    return user, wallet


async def test_update_posted_through_another_server_process_arrives(
    server, api, start_server, make_api
):
    other = make_api(await start_server())  # B: its own process, the same database
    user, wallet = await _user_with_wallet(other)
    async with subscriber(server.ws_url, user["token"]) as ws:
        await ws.subscribe("1", wallet["id"])
        await api.wait_subscribers(1)
        for version, (amount, balance) in enumerate((("12.5", "12.50"), ("0.01", "12.51")), 1):
            posted = await other.deposit(user["token"], wallet["id"], amount)
            update = await ws.update()
            assert update == {
                "walletId": wallet["id"],
                "balance": balance,
                "version": version,
                "transaction": {
                    "id": posted["transaction"]["id"],
                    "kind": "DEPOSIT",
                    "status": "POSTED",
                    "amount": posted["transaction"]["amount"],
                    "source": None,
                    "destination": {"walletId": wallet["id"]},
                },
            }


def _check_chain(updates: list[dict], wallet_id: str, start: Decimal) -> Decimal:
    """Each balance is the previous one moved by that update's own transaction."""
    balance = start
    for update in updates:
        txn = update["transaction"]
        assert txn["status"] == "POSTED", update
        incoming = (txn["destination"] or {}).get("walletId") == wallet_id
        balance += Decimal(txn["amount"]) * (1 if incoming else -1)
        assert Decimal(update["balance"]) == balance, update
    return balance


async def test_concurrent_transfers_each_version_exactly_once_in_order(server, api):
    (alice, wa), (bob, wb) = [await _user_with_wallet(api, "50.00") for _ in range(2)]
    rng = random.Random(7)
    plan = [
        (rng.random() < 0.5, rng.choice(["1.00", "9.99", "20.00", "45.50"])) for _ in range(196)
    ]
    plan += [(True, "1000.00"), (False, "1000.00")] * 2  # certainly REJECTED, both ways
    rng.shuffle(plan)

    async with (
        subscriber(server.ws_url, alice["token"]) as ws_a,
        subscriber(server.ws_url, bob["token"]) as ws_b,
    ):
        await ws_a.subscribe("a", wa["id"])
        await ws_b.subscribe("b", wb["id"])
        await api.wait_subscribers(2)
        readers = {wa["id"]: Collector(ws_a), wb["id"]: Collector(ws_b)}
        gate = asyncio.Semaphore(20)

        async def send(from_alice: bool, amount: str) -> dict:
            token, source, target = (
                (alice["token"], wa["id"], wb["id"])
                if from_alice
                else (bob["token"], wb["id"], wa["id"])
            )
            async with gate:
                return await api.transfer(token, source, target, amount)

        results = await asyncio.wait_for(asyncio.gather(*(send(*p) for p in plan)), 120)
        kinds = {r["__typename"] for r in results}
        assert kinds == {"PaymentPayload", "InsufficientFunds"}, kinds
        posted = [r["transaction"]["id"] for r in results if r["__typename"] == "PaymentPayload"]
        rejected = {r["rejected"]["id"] for r in results if r["__typename"] == "InsufficientFunds"}

        for user, wallet in ((alice, wa), (bob, wb)):
            final = await api.wallet(user["token"], wallet["id"])
            assert final["version"] == 1 + len(posted)  # 1: the opening deposit
            # A marker after everything: any stray update (a REJECTED one, a duplicate) would
            # have to arrive before it, since one wallet's updates leave in version order.
            marker = await api.deposit(user["token"], wallet["id"], "0.01")
            seen = await readers[wallet["id"]].until(final["version"] + 1)
            assert [u["version"] for u in seen] == list(range(2, final["version"] + 2))
            assert [u["transaction"]["id"] for u in seen][-1] == marker["transaction"]["id"]
            ids = [u["transaction"]["id"] for u in seen[:-1]]
            assert sorted(ids) == sorted(posted) and not rejected & set(ids)
            assert seen[-2]["balance"] == final["balance"]
            _check_chain(seen, wallet["id"], Decimal("50.00"))
        for reader in readers.values():
            await reader.stop()
    assert await verify() == []


async def test_resume_with_after_version_while_postings_continue(server, api):
    """The replay spans two pages (more than REPLAY_PAGE entries) and loads each update's
    transaction, so deposits keep committing while it runs: the same versions then come from
    the stored entries and from live notifications, and each must be delivered once."""
    user, wallet = await _user_with_wallet(api)
    # The long history is posted through the ledger in this process (same database, quicker
    # than HTTP); the postings that race the replay go through the server.
    owner = principal_of(await User.get(id=ids.decode(ids.USER, user["id"])))
    gate = asyncio.Semaphore(8)

    async def deposit() -> None:
        async with gate:
            await ledger.deposit(owner, wallet["id"], "1", secrets.token_hex(8))

    await asyncio.wait_for(asyncio.gather(*(deposit() for _ in range(REPLAY_PAGE + 60))), 120)
    running = asyncio.Event()

    async def keep_posting() -> None:
        for n in range(60):
            await api.deposit(user["token"], wallet["id"], "1")
            if n == 4:
                running.set()

    poster = asyncio.create_task(keep_posting())
    try:
        await asyncio.wait_for(running.wait(), WAIT)
        async with subscriber(server.ws_url, user["token"]) as ws:
            await ws.subscribe("r", wallet["id"], after_version=40)
            reader = Collector(ws)
            await asyncio.wait_for(poster, 60)
            final = (await api.wallet(user["token"], wallet["id"]))["version"]
            assert final == REPLAY_PAGE + 120
            marker = await api.deposit(user["token"], wallet["id"], "1")
            seen = await reader.until(final + 1)
            await reader.stop()
    finally:
        poster.cancel()
    assert [u["version"] for u in seen] == list(range(41, final + 2))
    assert seen[-1]["transaction"]["id"] == marker["transaction"]["id"]
    # Every deposit was 1.00: the balance at version v is v.00, replayed or live.
    assert all(u["balance"] == f"{u['version']}.00" for u in seen)


async def test_connection_without_a_valid_token_is_closed_4403(server, api):
    user, wallet = await _user_with_wallet(api, "3.00")
    revoked = (await api.signup())["token"]
    assert (await api.data("mutation { logout }", token=revoked))["logout"] is True
    for payload in (None, {}, {"authorization": "Bearer not-a-token"}, {"authorization": 42}):
        async with ws_connect(server.ws_url) as ws:
            await ws.send({"type": "connection_init", **({"payload": payload} if payload else {})})
            assert await ws.closed_code() == 4403, payload  # and never a connection_ack
    async with ws_connect(server.ws_url) as ws:
        await ws.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {revoked}"}}
        )
        assert await ws.closed_code() == 4403

    # The token in the upgrade request's Authorization header works too.
    headers = {"Authorization": f"Bearer {user['token']}"}
    async with ws_connect(server.ws_url, headers=headers) as ws:
        assert (await ws.init({}))["type"] == "connection_ack"
        await ws.subscribe("h", wallet["id"], after_version=0)
        assert (await ws.update())["balance"] == "3.00"


async def test_other_users_wallet_and_malformed_id_give_the_same_error(server, api):
    alice, _ = await _user_with_wallet(api)
    _, bobs = await _user_with_wallet(api, "5.00")
    answers = []
    async with subscriber(server.ws_url, alice["token"]) as ws:
        for n, wallet_id in enumerate([bobs["id"], "not-an-id", "0", "-1", "99999999999"]):
            for after_version in (None, 0):
                op = f"{n}-{after_version}"
                await ws.subscribe(op, wallet_id, after_version=after_version)
                answer = await ws.recv()
                assert await ws.recv() == {"id": op, "type": "complete"}
                answers.append({**answer, "id": None})
        assert await api.subscribers() == 0  # nothing was registered for any of them
    first = answers[0]
    assert first["type"] == "next" and first["payload"]["data"] is None, first
    (error,) = first["payload"]["errors"]
    assert error["extensions"] == {"code": "NOT_FOUND"}, error
    assert error["path"] == ["balanceUpdates"]
    assert all(answer == first for answer in answers), answers  # no existence oracle


@pytest.mark.parametrize("cycles", [50])
async def test_no_subscriber_is_left_behind(server, api, cycles):
    user, wallet = await _user_with_wallet(api, "1.00")
    for n in range(cycles):
        async with subscriber(server.ws_url, user["token"]) as ws:
            for op in ("x", "y"):
                await ws.subscribe(op, wallet["id"], after_version=0)
                # The replayed update proves the generator is running, so it is registered.
                assert (await ws.update())["version"] == 1
            if n == 0:
                assert await api.subscribers() == 2
            await ws.complete("x")  # one ended by the client...
            if n % 2:
                ws.ws.transport.abort()  # ...the other by an abrupt disconnect, or a clean close
    await api.wait_subscribers(0)


async def test_websocket_origin_must_be_allowed(server, api):
    user, _ = await _user_with_wallet(api)
    async with ws_connect(server.ws_url, origin=ALLOWED_ORIGIN) as ws:
        ack = await ws.init({"authorization": f"Bearer {user['token']}"})
        assert ack["type"] == "connection_ack"
    with pytest.raises(InvalidStatus) as refused:
        async with ws_connect(server.ws_url, origin="http://evil.walletql.test"):
            pass
    assert refused.value.response.status_code == 403
    # The log names walletql's setting, not Strawberry's parameter (`allowed_origins`).
    refusals = [line for line in server.log().splitlines() if "evil.walletql.test" in line]
    assert refusals and all("WALLETQL_CORS_ORIGINS" in line for line in refusals), refusals
    assert "allowed_origins" not in server.log()
    preflight = await api.http.options(
        "/graphql",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN


async def test_legacy_graphql_ws_protocol_delivers_updates(server, api):
    user, wallet = await _user_with_wallet(api)
    async with subscriber(server.ws_url, user["token"], protocol="graphql-ws") as ws:
        await ws.subscribe("1", wallet["id"])
        await api.wait_subscribers(1)
        await api.deposit(user["token"], wallet["id"], "2.50")
        update = await ws.update()
        assert (update["balance"], update["version"]) == ("2.50", 1)
        await ws.complete("1")
        assert (await ws.recv())["type"] == "complete"
    await api.wait_subscribers(0)
