"""Structured logs: one JSON object per line (time, level, logger, message, the request id and the
request's fields), or plain text (`HOTLINE_LOG_FORMAT=text`) for a developer's terminal."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

#: Fields a record may carry (logger.info(..., extra={...})) that the JSON line includes.
FIELDS = ("request_id", "method", "path", "endpoint", "status", "ms", "user_id", "job")
_configured = False


class RequestContext(logging.Filter):
    """Stamp each record with the id of the request it was logged in (the same id the audit trail and the
    X-Request-ID header carry)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            try:
                from flask import g, has_request_context

                record.request_id = g.get("request_id", "") if has_request_context() else ""
            except Exception:  # logging must never fail
                record.request_id = ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for name in FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup(fmt: str = "json", level: str = "info") -> None:
    """Send every logger's records to stderr in `fmt` (once per process)."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContext())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per 2-second index check
    logging.getLogger("alembic").setLevel(logging.WARNING)
    _configured = True
