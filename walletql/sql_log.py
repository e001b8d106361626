"""The ORM's SQL log without the values bound to it.

At DEBUG, Tortoise logs every query with its parameters: payment tokens, password and token
hashes, emails and phones went to the log. This filter keeps the SQL text and the number of
values, never the values, and hides the pool's connection parameters. It sits on the ORM's
logger itself, so it holds whatever handlers or levels a deployment configures.
"""

from __future__ import annotations

import logging

SQL_LOGGER = "tortoise.db_client"


class WithoutValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and record.msg == "%s: %s":
            values = args[1]
            count = len(values) if isinstance(values, list | tuple) else 0
            record.args = (args[0], f"<{count} values not logged>")
        elif isinstance(args, tuple) and "params" in str(record.msg):
            record.args = tuple("<not logged>" for _ in args)
        return True


def install() -> None:
    """Idempotent: the filter is added once however often the ORM is opened."""
    logger = logging.getLogger(SQL_LOGGER)
    if not any(isinstance(f, WithoutValues) for f in logger.filters):
        logger.addFilter(WithoutValues())
