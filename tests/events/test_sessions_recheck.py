"""When the revocation feed comes back after a loss, open websockets' tokens are read again:
a revocation missed meanwhile still closes its socket (walletql.sessions.Sessions.recheck)."""

from __future__ import annotations

import asyncio

from tests.calls import ledger
from walletql import auth
from walletql.sessions import CLOSE_REVOKED, Sessions


class _Socket:
    """Only what a session asks of a websocket: to be closed, with a code."""

    def __init__(self) -> None:
        self.closed_with: int | None = None

    async def close(self, code: int, reason: str = "") -> None:
        self.closed_with = code


async def _signed_in(email: str, live_tokens: auth.LiveTokens) -> tuple[str, auth.Caller]:
    await ledger.create_user(email=email, password="a long enough secret", name="Recheck")
    session = await ledger.login(email, "a long enough secret")
    caller = await auth.caller_of(session.token, live_tokens)
    assert caller is not None
    return session.token, caller


async def test_a_revocation_missed_while_the_feed_was_down_closes_its_socket(database_url):
    live_tokens = auth.LiveTokens()
    sessions = Sessions(live_tokens)
    kept_token, kept = await _signed_in("recheck.kept@example.com", live_tokens)
    lost_token, lost = await _signed_in("recheck.lost@example.com", live_tokens)
    kept_socket, lost_socket = _Socket(), _Socket()
    sessions.open(kept_socket, kept, kept_token)
    sessions.open(lost_socket, lost, lost_token)
    assert await auth.revoke(
        lost.digest, live_tokens
    )  # no feed runs here: nobody hears the notification
    assert len(sessions) == 2
    await sessions.recheck()
    await asyncio.sleep(0)  # the close runs as its own task
    assert (lost_socket.closed_with, kept_socket.closed_with) == (CLOSE_REVOKED, None)
    assert len(sessions) == 1
