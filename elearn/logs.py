"""Logging for the whole process: JSON lines, or short readable lines in a development terminal."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message, extras, traceback."""

    _skip = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._skip})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ReadableFormatter(logging.Formatter):
    """One short line a person reads: time, level when it matters, message."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as `12:01:02 message` (warnings and errors say so)."""
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        level = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        line = f"{stamp} {level}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def readable(environment: str) -> bool:
    """Readable lines in development on a terminal; JSON in production or when piped."""
    return environment == "development" and sys.stderr.isatty()


def configure(level: str = "info", *, human: bool = False) -> None:
    """Send every logger's records to stderr, as JSON lines unless `human`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ReadableFormatter() if human else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Migration steps are noise to a person at a terminal; they stay in JSON logs.
    logging.getLogger("alembic").setLevel(logging.WARNING if human else level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
