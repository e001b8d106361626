"""uvicorn's HTTP protocol with a deadline for a request's headers.

uvicorn times out an idle keep-alive connection, but not one that sends its headers a byte at a
time: 1,500 such connections were held for 60 s, and one silent connection for over 200 s,
each keeping a socket and a slot of the concurrency limit. Here a request's headers must be
complete within `timeout` seconds of the connection opening, or of the request's first byte on
a kept-alive connection; else the connection is closed. Behind a proxy that enforces its own
header timeout (nginx's client_header_timeout, HAProxy's timeout http-request) this is a second
line; without one it is the only one.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def protocol(timeout: float) -> type[asyncio.Protocol]:
    """An HTTP protocol class for uvicorn's `http=` with this header deadline."""

    class HeaderDeadline(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
