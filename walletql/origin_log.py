"""The warning for a refused websocket origin, in walletql's words.

Strawberry refuses a cross-origin websocket handshake from an origin not allowed and logs "add
it to `allowed_origins`", its own parameter's name, which a walletql operator never sees: the
setting is WALLETQL_CORS_ORIGINS. A logging filter (a public hook of `logging`) rewrites that one
record; every other record passes unchanged.
"""

from __future__ import annotations

import logging

STRAWBERRY_LOGGER = "strawberry.ws"
REFUSED = "Rejected WebSocket connection from origin"  # how Strawberry's record begins


class RefusedOriginMessage(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(REFUSED):
            args = record.args if isinstance(record.args, tuple) else ()
            record.msg = (
                "refused a websocket from origin %r: if pages on that origin should connect, "
                "add it to WALLETQL_CORS_ORIGINS"
            )
            record.args = args[:1] or ("?",)
        return True


def install() -> None:
    """Once per process, however many apps it makes."""
    logger = logging.getLogger(STRAWBERRY_LOGGER)
    if not any(isinstance(existing, RefusedOriginMessage) for existing in logger.filters):
        logger.addFilter(RefusedOriginMessage())
