"""Parse a document in a child process that is killed at its deadline and held to a memory limit.

A deadline checked in the loaders' own loops cannot stop one long call inside a parser, and such calls
exist: on this Python, `html.parser` spent minutes on 60 KB of `<a <a <a …`, and one regex of the
Markdown loader backtracked for minutes on a line of 5,000 spaces (both replaced since; others may be
left in the libraries we parse with). So the loader parses in a
child process: the parent waits at most `max_parse_seconds` for the answer and then kills the child, and
the child's address space is capped at what it starts with plus `max_parse_memory_mb`. Memory a parse
takes is returned to the system when the child ends.

Children are forked from a small server process (multiprocessing's "forkserver", started once, with the
parsing libraries already imported), so a parse costs a few milliseconds more than in-process and the
server's own threads are never forked. Unlike multiprocessing's own children, they do not import the
caller's main module (CPython 3.11's fork server would import it again in every child): they run library
code only, so any script may call the loader. Where processes cannot be started, the loader parses
in-process with the deadline checks of `ParseBudget` alone, and logs a warning.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing import process
from multiprocessing.connection import Connection
from typing import Any

from assist.errors import AssistError, LimitExceededError, LoadError, UnsupportedTypeError
from ingest.limits import MB, IngestLimits, refusal

logger = logging.getLogger(__name__)

# Imported once by the fork server, so that each child starts with them loaded.
_PRELOAD = ["ingest.loaders", "pypdf", "docx", "yaml", "charset_normalizer", "lxml.etree"]
_JOIN_SECONDS = 5.0
_process_class: type[process.BaseProcess] | None = None
_setup_lock = threading.Lock()


class IsolationUnavailable(RuntimeError):
    """No child process could be started (the caller parses in-process instead)."""


try:
    from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
    from multiprocessing.context import set_spawning_popen
except ImportError:  # no fork server on this platform: children are spawned (and import the main module)
    forkserver = None  # type: ignore[assignment]
else:

    class _Popen(popen_forkserver.Popen):
        # popen_forkserver.Popen._launch (CPython 3.11), less the main module in the preparation data.
        def _launch(self, process_obj: Any) -> None:
            prep_data = spawn.get_preparation_data(process_obj._name)
            prep_data.pop("init_main_from_path", None)
            prep_data.pop("init_main_from_name", None)
            buf = io.BytesIO()
            set_spawning_popen(self)
            try:
                reduction.dump(prep_data, buf)
                reduction.dump(process_obj, buf)
            finally:
                set_spawning_popen(None)
            self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
            parent_w = os.dup(w)
            self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
            with open(w, "wb", closefd=True) as f:
                f.write(buf.getbuffer())
            self.pid = forkserver.read_signed(self.sentinel)

    class _LibraryProcess(process.BaseProcess):
        """A process forked from the fork server that runs library code only (no main module)."""

        _start_method = "forkserver"

        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            return _Popen(process_obj)


def _library_process_class() -> type[process.BaseProcess]:
    if forkserver is None:
        return multiprocessing.get_context("spawn").Process
    forkserver.set_forkserver_preload(_PRELOAD)  # takes effect if the fork server is not running yet
    return _LibraryProcess


def _get_process_class() -> type[process.BaseProcess]:
    global _process_class
    with _setup_lock:
        if _process_class is None:
            _process_class = _library_process_class()
        return _process_class


def run_isolated(fn: Callable[..., Any], args: tuple[Any, ...], *, source: str, limits: IngestLimits) -> Any:
    """`fn(*args)` in a child process, within `limits.max_parse_seconds` and `limits.max_parse_memory_mb`.

    `fn` and its arguments must be picklable (a module-level function). What the child logs is logged
    again here, by the same loggers.

    Returns:
        What `fn` returned.

    Raises:
        LimitExceededError: The child ran past the deadline (it is killed) or out of memory; or `fn` raised it.
        LoadError: `fn` raised it, or the child failed in an unexpected way (logged with the cause).
        IsolationUnavailable: No child process could be started.
    """
    receiver, sender = multiprocessing.Pipe(duplex=False)
    level = logging.getLogger("ingest").getEffectiveLevel()
    memory = int(limits.max_parse_memory_mb * MB)
    try:
        proc = _get_process_class()(
            target=_child, args=(sender, fn, args, memory, level), daemon=True, name="assist-parse"
        )
        proc.start()
    except (OSError, RuntimeError, ValueError, AssertionError) as exc:  # AssertionError: inside a daemon
        receiver.close()
        sender.close()
        raise IsolationUnavailable(f"cannot start a parsing process: {exc}") from exc
    sender.close()
    try:
        if not receiver.poll(limits.max_parse_seconds):
            logger.warning("parse killed at its deadline", extra={"source": source})
            raise refusal(source, limits, "max_parse_seconds", "parsing took longer than allowed")
        try:
            status, payload, records = receiver.recv()
        except EOFError:
            proc.join(_JOIN_SECONDS)
            logger.error("parsing process ended without an answer", extra={"source": source, "code": proc.exitcode})
            raise LoadError(source, f"cannot be parsed (the parser stopped, exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(_JOIN_SECONDS)
        receiver.close()
    _replay(records)
    if status == "ok":
        return payload
    if status == "error":
        raise _rebuild(payload)
    if status == "memory":
        raise refusal(source, limits, "max_parse_memory_mb", "parsing needed more memory than allowed")
    logger.error("parser failed", extra={"source": source, "error": payload})
    raise LoadError(source, f"cannot be parsed ({payload.split(':', 1)[0]})")


# -- in the child ---------------------------------------------------------------------------------


class _Collect(logging.Handler):
    """Keeps the child's log records, made picklable, to send them to the parent."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def _limit_memory(extra_bytes: int) -> None:
    """Cap the address space at its current size plus `extra_bytes` (Linux; elsewhere nothing happens)."""
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    except (ImportError, OSError, StopIteration, ValueError):
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = size + extra_bytes
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def _describe(exc: AssistError) -> tuple[str, str, str, str | None]:
    if isinstance(exc, LoadError):
        return type(exc).__name__, exc.source, exc.reason, exc.limit if isinstance(exc, LimitExceededError) else None
    return "AssistError", "", str(exc), None


def _rebuild(payload: tuple[str, str, str, str | None]) -> AssistError:
    kind, source, reason, limit = payload
    if kind == "LimitExceededError":
        return LimitExceededError(source, reason, limit=limit or "")
    if kind == "UnsupportedTypeError":
        return UnsupportedTypeError(source, reason)
    if kind == "AssistError":
        return AssistError(reason)
    return LoadError(source, reason)


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...], memory: int, level: int) -> None:
    records: list[logging.LogRecord] = []
    root = logging.getLogger()
    root.handlers = [_Collect(records)]
    root.setLevel(level)
    answer: tuple[str, Any]
    try:
        _limit_memory(memory)
        answer = ("ok", fn(*args))
    except AssistError as exc:
        answer = ("error", _describe(exc))
    except MemoryError:
        answer = ("memory", None)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which logs it and refuses the file
        answer = ("crash", f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}")
    try:
        conn.send((*answer, records))
    except MemoryError:
        conn.send(("memory", None, []))
    finally:
        conn.close()


def _replay(records: list[logging.LogRecord]) -> None:
    for record in records:
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)


__all__ = ["IsolationUnavailable", "run_isolated"]
