"""A token revoked through one server is refused by another at once (each remembers tokens)."""

from __future__ import annotations

import asyncio
import time

ME = "{ me { id } }"


async def test_logout_on_one_server_is_honoured_by_the_other(start_server, make_api):
    first, second = await start_server(), await start_server()
    here, there = make_api(first), make_api(second)
    user = await here.signup()
    for _ in range(3):  # there reads the token once and then remembers it
        assert (await there.data(ME, token=user["token"]))["me"]["id"] == user["id"]
    assert (await here.data("mutation { logout }", token=user["token"]))["logout"] is True
    deadline = time.monotonic() + 5  # a notification's delivery, not a cache lifetime
    while (await there.data(ME, token=user["token"]))["me"] is not None:  # no caller: null
        assert time.monotonic() < deadline, "the other server still accepts the revoked token"
        await asyncio.sleep(0.01)
    refused = await there.gql('{ wallet(id: "1") { id } }', token=user["token"])
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
