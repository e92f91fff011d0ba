"""Several processes, one scrape: processes writing to one PROMETHEUS_MULTIPROC_DIR are summed by any scrape;
a dead process's open sockets leave the sum, its counts stay; `assist serve` prepares the directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assist.cli import _register, app
from assist.config import get_settings
from assist.observability.multiproc import prepare_multiprocess_dir
from tests.utils.metrics import Samples, parse, value

runner = CliRunner()
_register()

WRITER = """
import sys
from assist.observability import metrics as m
turns, sockets = int(sys.argv[1]), int(sys.argv[2])
m.TURNS.labels(speaker="customer").inc(turns)
m.CALLS_STARTED.inc()
m.OPEN_SOCKETS.inc(sockets)
m.observe_stage("retrieve", 0.01)
m.observe_notify_lag(0.05)
print("ready", flush=True)
sys.stdin.read()  # alive until the test closes stdin
"""
SCRAPE = "import sys; from assist.observability.metrics import render; sys.stdout.write(render()[0].decode())"


def _env(directory: Path) -> dict[str, str]:
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}


@pytest.fixture
def writers(tmp_path: Path) -> Iterator[Any]:
    """Start a process that counts `turns` customer turns and holds `sockets` sockets open, in `directory`."""
    started: list[subprocess.Popen[str]] = []

    def start(directory: Path, turns: int, sockets: int) -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(turns), str(sockets)],
            env=_env(directory),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        return p

    yield start
    for p in started:
        p.kill()
        p.wait(timeout=30)


def scrape(directory: Path) -> Samples:
    out = subprocess.run(
        [sys.executable, "-c", SCRAPE], env=_env(directory), capture_output=True, text=True, check=True, timeout=120
    )
    return parse(out.stdout)


def test_two_processes_one_scrape_and_a_dead_ones_sockets_leave_the_sum(tmp_path: Path, writers: Any) -> None:
    shared = tmp_path / "metrics"
    prepare_multiprocess_dir(shared)
    a = writers(shared, turns=2, sockets=1)
    b = writers(shared, turns=3, sockets=2)
    samples = scrape(shared)  # a third process: it wrote nothing, it reads both
    assert value(samples, "assist_turns_total", speaker="customer") == 5
    assert value(samples, "assist_calls_started_total") == 2
    assert value(samples, "assist_open_sockets") == 3  # livesum
    assert value(samples, "assist_call_stage_duration_seconds_count", stage="retrieve") == 2
    assert value(samples, "assist_notify_lag_seconds_count") == 2

    b.kill()
    b.wait(timeout=30)
    samples = scrape(shared)
    assert value(samples, "assist_open_sockets") == 1  # b's sockets died with it
    assert value(samples, "assist_turns_total", speaker="customer") == 5  # its counts stay: totals never go down
    a.stdin.close()  # type: ignore[union-attr]
    a.wait(timeout=30)


def test_serve_start_empties_a_directory_no_live_process_writes_to(tmp_path: Path, writers: Any) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    old = writers(shared, turns=4, sockets=1)
    old.kill()  # the previous run ended
    old.wait(timeout=30)
    assert value(scrape(shared), "assist_turns_total", speaker="customer") == 4
    assert prepare_multiprocess_dir(shared)["alive"] == 0
    assert not list(shared.glob("*.db"))
    assert value(scrape(shared), "assist_turns_total", speaker="customer") == 0


def test_serve_start_beside_a_live_server_keeps_its_counts(tmp_path: Path, writers: Any) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    gone = writers(shared, turns=1, sockets=5)
    gone.kill()
    gone.wait(timeout=30)
    writers(shared, turns=2, sockets=1)  # another server on this host, still running
    report = prepare_multiprocess_dir(shared)
    assert report == {"removed": 1, "alive": 1}  # only the dead one's socket gauge went
    samples = scrape(shared)
    assert value(samples, "assist_turns_total", speaker="customer") == 3
    assert value(samples, "assist_open_sockets") == 1


def test_a_directory_that_cannot_be_used_is_refused(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        prepare_multiprocess_dir(not_a_dir)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`assist serve` up to the point where uvicorn would start; what it was asked to run."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: calls.append({"workers": 1}))
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append({"target": target, **kw}))
    monkeypatch.setenv("ASSIST_EMBEDDERS", "hash")
    for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "ASSIST_LOG_LEVEL"):
        monkeypatch.setenv(name, "")  # remembered as it was, so what serve sets for its workers is undone
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    return calls


def test_serve_refuses_a_metrics_directory_it_cannot_use(served, tmp_path: Path, monkeypatch) -> None:
    not_a_dir = tmp_path / "metrics"
    not_a_dir.write_text("x")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(not_a_dir))
    r = runner.invoke(app, ["serve", "--port", "8999"])
    assert r.exit_code == 2
    assert "is a file, not a directory" in r.output and "PROMETHEUS_MULTIPROC_DIR" in r.output
    assert served == []  # nothing started


def test_serve_with_workers_shares_one_metrics_directory(served, tmp_path: Path, monkeypatch) -> None:
    data = Path(get_settings().data_dir)
    stale = data / "metrics" / "counter_999999999.db"  # a previous run's file: no such process
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    r = runner.invoke(app, ["serve", "--port", "8999", "--workers", "3"])
    assert r.exit_code == 0, r.output
    [call] = served
    assert call["workers"] == 3 and call["factory"] is True and call["target"] == "assist.cli.calls_cmd:worker_app"
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(data / "metrics")  # the workers inherit it
    assert not stale.exists()


def test_a_command_with_the_variable_set_but_no_directory_keeps_its_metrics_to_itself(tmp_path: Path) -> None:
    missing = tmp_path / "never-made"
    code = "import sys; from assist.observability import metrics as m; m.TURNS.labels(speaker='agent').inc(); "
    code += "sys.stdout.write(m.render()[0].decode())"
    done = subprocess.run([sys.executable, "-c", code], env=_env(missing), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # no traceback: an ingest or a replay still runs
    assert "is not a directory this process can write" in done.stderr
    assert value(parse(done.stdout), "assist_turns_total", speaker="agent") == 1
    assert not missing.exists()
