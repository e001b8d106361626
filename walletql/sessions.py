"""Websocket sessions: an open socket acts for its token only while that token is valid.

A websocket signs in once, at connection_init, and may stay open for hours. So each socket's
token is remembered here, and the socket is closed (code 4401) as soon as the token stops being
valid: at its expiry, by a timer; at a revocation (logout, and later password changes and key
revocations), by the revocation's notification, which reaches every process through the balance
feed's LISTEN connection; and when that connection comes back after a loss (a revocation may
have been missed meanwhile), after the tokens of all open sockets are read again. Closing the
socket ends its subscriptions. Each operation on a socket also asks the token again
(`SocketSession.caller`), so nothing runs on a revoked token between the revocation and the
close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from walletql import auth
from walletql.outage import is_unavailable

log = logging.getLogger("walletql.sessions")

CLOSE_REVOKED = 4401  # graphql-transport-ws's "Unauthorized": sign in again
_REVOKED = "Token revoked or expired: sign in again"


class SocketSession:
    """One authenticated websocket: its token's digest and expiry, and how to close it."""

    def __init__(self, sessions: Sessions, websocket, caller: auth.Caller, token: str) -> None:
        self._sessions = sessions
        self.websocket = websocket
        self.digest = caller.digest
        self.expires_at = caller.expires_at
        self._token = token
        self.ended = False
        self._expiry: asyncio.TimerHandle | None = None
        self._last: auth.Caller | None = caller

    async def caller(self) -> auth.Caller | None:
        """Who this socket acts for now; None once its token is revoked or expired (the socket
        is then being closed)."""
        if self.ended:
            return None
        try:
            caller = await auth.caller_of(self._token, self._sessions.live_tokens)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # The token was valid when last read, and no revocation can commit while the
            # database is down: the operation goes on and meets the outage itself.
            log.warning("Could not re-read a websocket's token (%s)", type(exc).__name__)
            return self._last
        if caller is None:
            self.end()
        self._last = caller
        return caller

    def end(self) -> None:
        """Close the socket (once); its subscriptions end with it."""
        if self.ended:
            return
        self.ended = True
        self._sessions.forget(self)
        asyncio.get_running_loop().create_task(self._close(), name="walletql-session-close")

    async def _close(self) -> None:
        # The socket may already be closing on its own: nothing to report then.
        with contextlib.suppress(Exception):
            await self.websocket.close(code=CLOSE_REVOKED, reason=_REVOKED)


class Sessions:
    """This process's authenticated websockets, by token digest. Their tokens are asked
    through `live_tokens`, the process's memory of live tokens."""

    def __init__(self, live_tokens: auth.LiveTokens) -> None:
        self.live_tokens = live_tokens
        self._by_digest: dict[str, set[SocketSession]] = {}

    def __len__(self) -> int:
        return sum(len(group) for group in self._by_digest.values())

    def open(self, websocket, caller: auth.Caller, token: str) -> SocketSession:
        session = SocketSession(self, websocket, caller, token)
        self._by_digest.setdefault(session.digest, set()).add(session)
        if caller.expires_at is not None:  # an API key may never expire
            delay = (caller.expires_at - datetime.now(UTC)).total_seconds()
            loop = asyncio.get_running_loop()
            session._expiry = loop.call_later(max(delay, 0.0), session.end)
        return session

    def forget(self, session: SocketSession) -> None:
        """The socket is closed or closing: drop it, and its expiry timer."""
        if session._expiry is not None:
            session._expiry.cancel()
            session._expiry = None
        group = self._by_digest.get(session.digest)
        if group is not None:
            group.discard(session)
            if not group:
                del self._by_digest[session.digest]

    def revoked(self, digest: str) -> None:
        """A token was revoked (a notification from any process): close its sockets."""
        for session in list(self._by_digest.get(digest, ())):
            session.end()

    def listening(self, on: bool) -> None:
        """The revocation feed is back after a loss: what it missed is read from the database."""
        if on and self._by_digest:
            asyncio.get_running_loop().create_task(self.recheck(), name="walletql-session-check")

    async def recheck(self) -> None:
        digests = list(self._by_digest)
        try:
            live = await auth.live_among(digests)
        except Exception as exc:  # noqa: BLE001 - the next reconnect checks again
            log.warning("Could not re-check websocket tokens (%s)", type(exc).__name__)
            return
        for digest in digests:
            if digest not in live:
                self.revoked(digest)
