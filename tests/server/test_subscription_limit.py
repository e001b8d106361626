"""One user cannot hold more than WALLETQL_MAX_SUBSCRIPTIONS_PER_USER live subscriptions in a
server process, however many sockets they open (found by an attack run: 10,000 were taken)."""

from __future__ import annotations

from tests.server.clients import Api, subscriber


async def _refusal(ws, op_id: str) -> dict:
    message = await ws.recv()
    assert message["id"] == op_id, message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    return errors[0]["extensions"]


async def test_subscriptions_per_user_are_limited_across_sockets(start_server):
    server = await start_server(max_subscriptions_per_user=3)
    api = Api(server.url)
    try:
        user = await api.signup()
        other = await api.signup()
        async with (
            subscriber(server.ws_url, user["token"]) as first,
            subscriber(server.ws_url, user["token"]) as second,
            subscriber(server.ws_url, other["token"]) as third,
        ):
            await first.subscribe("a")
            await first.subscribe("b")
            await second.subscribe("c")
            await api.wait_subscribers(3)
            await second.subscribe("d")
            refused = await _refusal(second, "d")
            assert (refused["code"], refused["reason"]) == (
                "BAD_USER_INPUT",
                "TOO_MANY_SUBSCRIPTIONS",
            )
            await third.subscribe("e")  # another user is not affected
            await api.wait_subscribers(4)
            await first.complete("a")
            await api.wait_subscribers(3)
            await second.subscribe("f")  # a slot freed is a slot again
            await api.wait_subscribers(4)
    finally:
        await api.aclose()


async def test_a_document_over_the_length_limit_is_refused_over_a_socket(server, api):
    user = await api.signup()
    async with subscriber(server.ws_url, user["token"]) as ws:
        long_id = "9" * 70_000
        await ws.send(
            {
                "id": "long",
                "type": "subscribe",
                "payload": {
                    "query": f'subscription {{ balanceUpdates(walletId: "{long_id}") {{ version }} }}'
                },
            }
        )
        refused = await _refusal(ws, "long")
        assert refused["code"] == "BAD_USER_INPUT"
        await ws.subscribe("fine")  # the socket goes on
        await api.wait_subscribers(1)
        await ws.complete("fine")
    await api.wait_subscribers(0)
