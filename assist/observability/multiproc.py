"""The directory the processes of one host share their metrics in (prometheus-client's multiprocess mode).

Each process writes files named ``<kind>_<pid>.db`` there. At a server's start the directory is made ready:
created if missing, refused if it cannot be written, and emptied when no process that wrote to it is alive
any more (the files of a previous run would otherwise be added to the new one's). When other processes are
alive (servers side by side on one host), only the dead processes' live gauges are dropped: their counters
stay, so the totals never go down while the others run.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_FILE = re.compile(r"^(?P<kind>[a-z_]+)_(?P<pid>\d+)\.db$")
_LOCK = ".assist-metrics.lock"


def multiprocess_dir() -> Path | None:
    """The directory the processes of this host share their metrics in, or None (one process).

    Read here without creating any metric: a directory that cannot be used is refused before a value is kept.
    """
    value = os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())
    return Path(value) if value else None


def pid_alive(pid: int) -> bool:
    """True when a process with this id runs on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def writers(path: Path) -> dict[int, list[Path]]:
    """The files of the directory, by the id of the process that wrote them."""
    found: dict[int, list[Path]] = {}
    for f in path.iterdir():
        m = _FILE.match(f.name)
        if m is not None:
            found.setdefault(int(m["pid"]), []).append(f)
    return found


def forget_dead_processes(path: Path) -> list[int]:
    """Drop the live gauges (open sockets) of the processes that are gone; returns their ids."""
    from prometheus_client.multiprocess import mark_process_dead

    try:
        dead = [
            pid
            for pid, files in writers(path).items()
            if any(f.name.startswith("gauge_live") for f in files) and not pid_alive(pid)
        ]
    except OSError:  # the directory went away: the scrape says so when it reads it
        return []
    for pid in dead:
        mark_process_dead(pid, path=str(path))  # type: ignore[no-untyped-call]
    return dead


def prepare_multiprocess_dir(path: Path) -> dict[str, int]:
    """Make ``path`` ready for the processes about to start (see the module's docstring).

    Returns:
        ``{"removed": files deleted (a previous run's, or the live gauges of dead processes), "alive": other
        processes still writing there}``.

    Raises:
        ValueError: the path is not a directory, or this process cannot create or write it.
    """
    if path.exists() and not path.is_dir():
        raise ValueError(f"the metrics directory {str(path)!r} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = os.open(path / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ValueError(f"the metrics directory {str(path)!r} cannot be used: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two servers starting together: one cleans, then the other looks
        found = writers(path)
        alive = [pid for pid in found if pid != os.getpid() and pid_alive(pid)]
        removed = 0
        if not alive:
            for files in found.values():
                for f in files:
                    f.unlink(missing_ok=True)
                    removed += 1
        else:
            dead = [pid for pid in found if pid not in alive and pid != os.getpid()]
            removed = sum(1 for pid in dead for f in found[pid] if f.name.startswith("gauge_live"))
            forget_dead_processes(path)
    finally:
        os.close(lock)
    logger.info("metrics directory ready", extra={"path": str(path), "removed": removed, "alive": len(alive)})
    return {"removed": removed, "alive": len(alive)}
