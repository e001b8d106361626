"""WALLETQL_LOG_FORMAT=json: every log record as one JSON object on one line, for log shippers.

Each line has `time` (UTC, ISO 8601), `level`, `logger` and `message`; a record that carries
`fields` (walletql.telemetry's request lines) adds them; an exception adds `exception`, its
traceback as one JSON string (newlines escaped: still one line). The filters already on the loggers (SQL
without its values, walletql.sql_log) run before this formats anything.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# uvicorn's own loggers keep their handlers unless told otherwise; its access log is replaced
# by walletql's request lines (one per GraphQL operation, with more in them).
UVICORN = ("uvicorn", "uvicorn.error")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def use_json_lines(level: str) -> None:
    """Every record through one stderr handler that writes JSON lines. Idempotent: called by
    the CLI, then by each app built in the process, after uvicorn configured its loggers."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonLines) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        for existing in list(root.handlers):
            root.removeHandler(existing)
        root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN:
        logger = logging.getLogger(name)
        for existing in list(logger.handlers):
            logger.removeHandler(existing)
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
