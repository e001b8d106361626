"""Sign-in throttling on real servers: per email at exactly the threshold (also across two
server processes, in parallel), doubling backoff, reset on success, per client address (over
HTTP and websockets), X-Forwarded-For from trusted proxies only, and every lockout audited.

Each test signs in from a client address of its own, so that tests never count each other's
failures: a loopback source address (127.x.y.z, which the default WALLETQL_TRUSTED_PROXIES,
127.0.0.1 and ::1, does not trust), or an address forwarded through 127.0.0.1."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import asynccontextmanager

import httpx
from websockets.asyncio.client import connect

from tests.server.clients import WAIT, WsClient
from walletql import ids
from walletql.ledger import throttle
from walletql.ledger.verify import verify

PASSWORD = "correct horse battery"  # tests.server.clients.Api.signup's
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
    __typename ... on AuthPayload { token } ... on TooManyAttempts { retryAfterSeconds }
    ... on Error { code } } }"""


def loopback() -> str:
    """A loopback address of this test's own (not 127.0.0.1, which the servers trust)."""
    return f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


_GIVEN: set[str] = set()


def documentation_address() -> str:
    """An address of the benchmarking range 198.18.0.0/15 (never a real client) that no test
    of this session had: the address throttle counts across tests, on one database (picked
    from 254 addresses, two tests once drew the same one in CI)."""
    while True:
        address = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        if address not in _GIVEN:
            _GIVEN.add(address)
            return address


@asynccontextmanager
async def client_from(url: str, source: str = "127.0.0.1"):
    """An HTTP client connecting from `source` (any 127.x.y.z works on Linux)."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30.0) as http:
        yield http


async def login(http: httpx.AsyncClient, email: str, password: str, forwarded=None) -> dict:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    body = {"query": LOGIN, "variables": {"input": {"email": email, "password": password}}}
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert not payload.get("errors"), payload
    return payload["data"]["login"]


async def signup(api) -> dict:
    """A customer through `api`, with its email: {"token", "id", "email"}."""
    user = await api.signup()
    me = await api.data("{ me { email } }", token=user["token"])
    return {**user, "email": me["me"]["email"]}


def kind(answer: dict) -> str:
    return answer.get("code") or answer["__typename"]


async def lockouts(subject: str) -> list[str]:
    """The reasons of the audit log's lockouts of `subject` (as stored), oldest first."""
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT reason FROM audit_events WHERE action = $1 AND subject = $2 ORDER BY id",
        [throttle.LOCKED, subject],
    )
    return [row["reason"] for row in rows]


async def expire_lockout(email: str) -> None:
    """Time passes for one email: its lockout ends now (instead of waiting minutes)."""
    from tortoise import connections

    await connections.get("default").execute_query(
        "UPDATE signin_emails SET locked_until = now() WHERE email_hash = $1",
        [throttle.email_key(email)],
    )


def user_subject(user: dict) -> str:
    return f"User:{ids.decode(ids.USER, user['id'])}"


async def test_an_email_locks_at_exactly_the_threshold_and_the_lockout_is_audited(server, api):
    user = await signup(api)
    email = user["email"]
    async with client_from(server.url) as http:
        address = documentation_address()  # forwarded through 127.0.0.1, which is trusted
        answers = [await login(http, email, "wrong password!", address) for _ in range(5)]
        assert [kind(a) for a in answers] == ["INVALID_CREDENTIALS"] * 5
        # The right password now: refused without being checked.
        refused = await login(http, email, PASSWORD, address)
        assert kind(refused) == "TOO_MANY_ATTEMPTS"
        assert 55 <= refused["retryAfterSeconds"] <= 60
        # From anywhere: it is the email that is locked.
        async with client_from(server.url, loopback()) as elsewhere:
            assert kind(await login(elsewhere, email, PASSWORD)) == "TOO_MANY_ATTEMPTS"
    assert await lockouts(user_subject(user)) == ["5 consecutive failed sign-ins: refused for 60 s"]


async def test_an_unknown_email_answers_exactly_as_a_known_one(server, api):
    known = (await signup(api))["email"]
    unknown = f"nobody-{secrets.token_hex(6)}@example.com"
    async with client_from(server.url, loopback()) as http:
        seen = {}
        for email in (known, unknown):
            seen[email] = [await login(http, email, "wrong password!") for _ in range(6)]
            assert 55 <= seen[email][-1].pop("retryAfterSeconds") <= 60
    assert seen[known] == seen[unknown]
    assert [kind(a) for a in seen[unknown]] == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]
    assert len(await lockouts(f"Email:{unknown}")) == 1


async def test_each_further_failure_doubles_the_lockout_up_to_an_hour_and_success_resets(
    server, api
):
    email = (await signup(api))["email"]
    async with client_from(server.url, loopback()) as http:
        for _ in range(5):
            assert kind(await login(http, email, "wrong password!")) == "INVALID_CREDENTIALS"
        seen = []
        for _ in range(8):
            refused = await login(http, email, "wrong password!")
            assert kind(refused) == "TOO_MANY_ATTEMPTS"
            seen.append(refused["retryAfterSeconds"])
            await expire_lockout(email)
            # One more failure after a lockout locks again, for twice as long.
            assert kind(await login(http, email, "wrong password!")) == "INVALID_CREDENTIALS"
        for expected, got in zip([60, 120, 240, 480, 960, 1920, 3600, 3600], seen, strict=True):
            assert expected - 5 <= got <= expected, seen
        await expire_lockout(email)
        assert kind(await login(http, email, PASSWORD)) == "AuthPayload"
        # A success starts again from nothing: five failures before the next lockout, of 60 s.
        answers = [await login(http, email, "wrong password!") for _ in range(6)]
    assert [kind(a) for a in answers] == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]
    assert 55 <= answers[-1]["retryAfterSeconds"] <= 60


async def test_parallel_failures_on_two_server_processes_lock_at_exactly_the_threshold(
    api, start_server
):
    first, second = await start_server(), await start_server()
    email = (await signup(api))["email"]
    source = loopback()
    async with client_from(first.url, source) as one, client_from(second.url, source) as two:
        answers = await asyncio.gather(
            *(login((one, two)[i % 2], email, f"wrong password {i}") for i in range(24))
        )
    kinds = [kind(a) for a in answers]
    assert kinds.count("INVALID_CREDENTIALS") == 5, kinds
    assert kinds.count("TOO_MANY_ATTEMPTS") == 19, kinds
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM audit_events WHERE action = $1 AND reason LIKE '5 %'"
        " AND subject = (SELECT 'User:' || id FROM users WHERE email = $2)",
        [throttle.LOCKED, email],
    )
    assert rows[0]["n"] == 1
    assert await verify() == []


async def test_parallel_right_passwords_on_two_server_processes_all_sign_in(api, start_server):
    """More sign-ins at once than the threshold (a backend's workers starting together): those
    beyond it wait for the ones under way instead of being refused."""
    first, second = await start_server(), await start_server()
    email = (await signup(api))["email"]
    source = loopback()
    async with client_from(first.url, source) as one, client_from(second.url, source) as two:
        answers = await asyncio.gather(
            *(login((one, two)[i % 2], email, PASSWORD) for i in range(12))
        )
        # Nothing was left counted: five failures still come before the lockout.
        after = [await login(one, email, "wrong password!") for _ in range(6)]
    assert [kind(a) for a in answers] == ["AuthPayload"] * 12
    assert len({a["token"] for a in answers}) == 12
    assert [kind(a) for a in after] == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]


async def ws_login(url: str, token: str, source: str, email: str, password: str) -> dict:
    """`login` over a websocket from `source` (graphql-transport-ws: only a signed-in socket
    is kept open, so it signs in with `token` first)."""
    async with connect(
        url,
        subprotocols=["graphql-transport-ws"],
        open_timeout=WAIT,
        close_timeout=5,
        local_addr=(source, 0),
    ) as ws:
        client = WsClient(ws)
        ack = await client.init({"authorization": f"Bearer {token}"})
        assert ack["type"] == "connection_ack", ack
        variables = {"input": {"email": email, "password": password}}
        await client.send(
            {"id": "1", "type": "subscribe", "payload": {"query": LOGIN, "variables": variables}}
        )
        message = await client.recv()
        assert message["type"] == "next", message
        return message["payload"]["data"]["login"]


async def test_an_address_with_too_many_failures_is_refused_over_http_and_websockets(
    api, start_server
):
    server = await start_server(signin_max_address_failures=3)
    emails = [f"guess-{secrets.token_hex(6)}@example.com" for _ in range(6)]
    user = await signup(api)
    source = loopback()
    async with client_from(server.url, source) as http:
        kinds = [kind(await login(http, emails[0], "wrong password!"))]
        kinds.append(
            kind(await ws_login(server.ws_url, user["token"], source, emails[1], "wrong password!"))
        )
        kinds.append(kind(await login(http, emails[2], "wrong password!")))
        # A success takes its own attempt back: it is no failure of the address.
        kinds.append(kind(await login(http, user["email"], PASSWORD)))
        kinds.append(
            kind(await ws_login(server.ws_url, user["token"], source, emails[3], "wrong password!"))
        )
        # More than 3 failures in 15 minutes: refused, even with the right password.
        refused = await login(http, user["email"], PASSWORD)
        over_ws = await ws_login(server.ws_url, user["token"], source, emails[4], PASSWORD)
        async with client_from(server.url, loopback()) as elsewhere:
            other = await login(elsewhere, user["email"], PASSWORD)
    assert kinds == ["INVALID_CREDENTIALS"] * 3 + ["AuthPayload", "INVALID_CREDENTIALS"]
    assert kind(refused) == kind(over_ws) == "TOO_MANY_ATTEMPTS"
    assert 890 <= refused["retryAfterSeconds"] <= 900  # until the first failure is 15 min old
    assert kind(other) == "AuthPayload"  # another address is not refused
    assert await lockouts(f"Address:{source}") == ["more than 3 failed sign-ins in 900 s"]


async def test_forwarded_for_is_believed_from_trusted_proxies_only(start_server):
    """Through `walletql serve` (which leaves X-Forwarded-For to walletql), trusting
    127.0.0.0/8: the right-most address that is not a trusted proxy is the client, and what a
    client wrote to its left counts for nothing. From an untrusted peer, the header is
    ignored."""
    server = await start_server(
        cli=True, signin_max_address_failures=1, trusted_proxies="127.0.0.0/8"
    )
    proxy, client, spoofed = loopback(), documentation_address(), documentation_address()

    async def fail(http, forwarded=None) -> str:
        email = f"guess-{secrets.token_hex(6)}@example.com"
        return kind(await login(http, email, "wrong password!", forwarded))

    async with client_from(server.url, proxy) as http:
        # The client (behind two trusted proxies) twice, each time claiming another address.
        chain = [f"{secrets.token_hex(2)}, {client}, 127.0.0.9", f"{spoofed}, {client}, {proxy}"]
        kinds = [await fail(http, forwarded) for forwarded in chain]
        kinds.append(await fail(http, client))
        assert kinds == ["INVALID_CREDENTIALS"] * 2 + ["TOO_MANY_ATTEMPTS"]
        assert await fail(http, spoofed) == "INVALID_CREDENTIALS"  # another client
    assert await lockouts(f"Address:{client}") == ["more than 1 failed sign-ins in 900 s"]
    untrusted = await start_server(cli=True, signin_max_address_failures=1)  # default: loopback
    peer = loopback()  # not 127.0.0.1: untrusted by default
    async with client_from(untrusted.url, peer) as http:
        kinds = [await fail(http, documentation_address()) for _ in range(3)]
    assert kinds == ["INVALID_CREDENTIALS"] * 2 + ["TOO_MANY_ATTEMPTS"]
    assert len(await lockouts(f"Address:{peer}")) == 1


async def test_a_server_forgets_old_sign_in_records_from_its_start(start_server):
    """Forgetting (throttle.forget) runs in every server process, its first round at start-up:
    a record left a day ago is gone within seconds of a start, a fresh one is kept."""
    from tortoise import connections

    db = connections.get("default")
    old, fresh = secrets.token_hex(32), secrets.token_hex(32)  # emails' digests
    await db.execute_query(
        "INSERT INTO signin_emails (email_hash, failures, last_attempt_at) VALUES "
        "($1, 3, now() - make_interval(secs => $3)), ($2, 3, now())",
        [old, fresh, throttle.FORGET + 60],
    )
    await start_server()
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        rows = await db.execute_query_dict(
            "SELECT email_hash FROM signin_emails WHERE email_hash IN ($1, $2)", [old, fresh]
        )
        if len(rows) == 1 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert [row["email_hash"] for row in rows] == [fresh]
