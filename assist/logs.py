"""Logging for the whole process, configured once: :func:`configure_logging`.

One handler on the root logger writes to stderr, with the :class:`~assist.privacy.RedactingFilter` in front of
it, so every line (ours, the libraries', uvicorn's error and access logs, which propagate to the root under
``assist serve``) is redacted before it is formatted. Two formats:

- ``text`` (the default): ``2026-12-05 22:48:50,123 INFO assist.calls.engine: call started call_id=c1``;
  the ``extra={...}`` fields follow the message as ``key=value`` (a value with a space, a quote or a line
  break, and any list or dict, is written as JSON, so one record stays one line);
- ``json``: one JSON object per line, ``{"time", "level", "logger", "message", <extras>..., "exception"}``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

from assist.config import LogFormat, check_log_level
from assist.privacy import RedactingFilter
from assist.privacy.logs import record_extras

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn's error log repeats the message with terminal colours in this extra: never printed.
_DROPPED_EXTRAS = frozenset({"color_message"})
_JSON_FIELDS = ("time", "level", "logger", "message", "exception", "stack")
# Libraries that say at INFO what only matters when debugging (faiss: six lines on which CPU build it loads).
_QUIET_BELOW_DEBUG = ("faiss.loader",)
_BARE = re.compile(r"[^\s\"'=\\]+")  # a text-format value written without quotes


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in record_extras(record).items() if k not in _DROPPED_EXTRAS}


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT``, then the record's extras as ``key=value``, in the order they were given."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        line = super().formatMessage(record)
        pairs = []
        for key, value in _extras(record).items():
            bare = isinstance(value, str | int | float | bool) and _BARE.fullmatch(str(value))
            pairs.append(f"{key}={value}" if bare else f"{key}={_json(value)}")
        return " ".join([line, *pairs]) if pairs else line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC, ISO 8601), level, logger, message, the extras at
    the top level (an extra named like one of those fields is kept as ``extra_<name>``), then the traceback
    as ``exception`` and the stack as ``stack`` when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry[f"extra_{key}" if key in _JSON_FIELDS else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _json(entry)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (a test runner may swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.setStream assigns it: sys.stderr stays the target
        pass


def configure_logging(level: str, fmt: LogFormat = "text") -> StderrHandler:
    """Send every log record at ``level`` or above to stderr, redacted, in ``fmt`` (``text`` or ``json``).

    Replaces the root logger's handlers with one :class:`StderrHandler`, so calling it again (another
    level or format) does not print lines twice. uvicorn's loggers are left without handlers of their own
    and propagate to it (``assist serve`` gives uvicorn no logging configuration of its own).

    Args:
        level: a level name in any case (``info``, ``WARNING``); ValueError names a wrong one.
        fmt: ``text`` (one line per record, extras as ``key=value``) or ``json`` (one object per line).

    Returns:
        The handler installed on the root logger.
    """
    name = check_log_level(level)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())  # no card number, ID or passcode ever reaches a log line
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(name)
    for uvicorn_logger in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        log = logging.getLogger(uvicorn_logger)
        log.handlers.clear()
        log.propagate = True
        log.setLevel(logging.NOTSET)
    for quiet in _QUIET_BELOW_DEBUG:
        logging.getLogger(quiet).setLevel(logging.NOTSET if name == "DEBUG" else logging.WARNING)
    return handler
