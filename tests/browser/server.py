"""A real server for the browser tests and the screenshot script.

It ingests `kb_docs/` into a throw-away data directory with the project's own CLI (`assist ingest`),
creates one key per role with the project's own key code, and runs the app under uvicorn in a
subprocess on a free 127.0.0.1 port, with the fast hash embedder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
ROLES = ("agent", "editor", "compliance", "admin")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (apt-get install chromium)"
    return None


@dataclass
class LiveServer:
    """A running server: where it listens, its data directory and a key per role."""

    base_url: str
    data_dir: Path
    keys: dict[str, str] = field(default_factory=dict)

    def api(self, role: str) -> httpx.Client:
        """An HTTP client authenticated with the key of `role`."""
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.keys[role]}"}, timeout=30)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, embedders: str = "hash") -> dict[str, str]:
    """The environment of the server and the CLI: the temp data dir and the embedders (the fast hash one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSIST_")}
    env.update(ASSIST_DATA_DIR=str(data_dir), ASSIST_EMBEDDERS=embedders, PYTHONUNBUFFERED="1")
    return env


def _assist_cli() -> list[str]:
    script = Path(sys.executable).with_name("assist")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from assist.cli import main; main()"]


def ingest_kb(data_dir: Path, embedders: str = "hash") -> None:
    """`assist ingest kb_docs` into `data_dir`."""
    done = subprocess.run(
        [*_assist_cli(), "ingest", str(ROOT / "kb_docs")],
        cwd=ROOT,
        env=server_env(data_dir, embedders),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"assist ingest kb_docs failed ({done.returncode}):\n{done.stderr[-3000:]}")


AGENT_TEAM = "Cards North"


def create_keys(data_dir: Path) -> dict[str, str]:
    """One key per role, made by the project's own key code (the same as `assist keys create`); the agent
    is in team `AGENT_TEAM`."""
    from sqlmodel import Session

    from assist.config import Settings
    from assist.db import make_engine
    from assist.models.keys import Role
    from assist.security.keys import create_key

    engine = make_engine(Settings(data_dir=data_dir, embedders=["hash"]))
    keys: dict[str, str] = {}
    try:
        with Session(engine) as session:
            for role in ROLES:
                team = AGENT_TEAM if role == "agent" else None
                _row, raw = create_key(session, role=Role(role), name=f"browser-{role}", team=team)
                keys[role] = raw
            session.commit()
    finally:
        engine.dispose()
    return keys


@contextmanager
def running_server(
    data_dir: Path, *, port: int | None = None, startup_s: float = 180, embedders: str = "hash"
) -> Iterator[LiveServer]:
    """Ingest kb_docs, create keys and serve the app until the block ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ingest_kb(data_dir, embedders)
    keys = create_keys(data_dir)
    port = port or _free_port()
    log_path = data_dir / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "assist.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=server_env(data_dir, embedders), stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)  # polling a subprocess's health, not waiting on the page
        yield LiveServer(base_url=base, data_dir=data_dir, keys=keys)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
