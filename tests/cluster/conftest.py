"""The real cluster (issue #18): one PostgreSQL database, three `assist serve` replicas, nginx round robin.

Layout, on plain loopback ports (network namespaces work on the CI machine as root, but the test must also run
unprivileged, and the replicas then need a PostgreSQL listening beyond 127.0.0.1; loopback ports keep one layout
everywhere): each replica is its own process with its own data directory and the same ASSIST_DATABASE_URL, on a
free port; nginx (Debian's) renders deploy/nginx.conf, the file the compose deployment mounts, and balances
them round robin with no stickiness, WebSocket upgrade proxied. The fast hash embedder, no claim model.

Skipped, with the reason, only when ASSIST_TEST_POSTGRES_URL is unset or nginx is not installed; `.ci/run`
installs both, so CI never skips it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.cluster import LocalCluster, nginx_binary, scratch_database

ROOT = Path(__file__).resolve().parents[2]
URL = os.environ.get("ASSIST_TEST_POSTGRES_URL")
REPLICAS = 3
CALLS = 20

# the replicas' settings: the cheap embedder; retries after a replica's death take its unanswered requests over
# after 3 s (not the default 2 minutes); rate limits off (20 agents posting as fast as they are answered); small
# connection pools: three replicas (each a pool, a turn-lock pool and two fan-out connections) must fit in a
# shared test server's max_connections (100), beside other users of it
REPLICA_ENV = {
    "ASSIST_DB_POOL_SIZE": "4",
    "ASSIST_DB_MAX_OVERFLOW": "6",
    "ASSIST_EMBEDDERS": "hash",
    "ASSIST_GUARD_MODEL": "false",
    "ASSIST_RATE_LIMITS": "false",
    "ASSIST_IDEMPOTENCY_PENDING_S": "3",
    "ASSIST_LOG_LEVEL": "warning",
}


def cluster_missing() -> str | None:
    """Why the cluster test cannot run here, or None."""
    if not URL:
        return "set ASSIST_TEST_POSTGRES_URL (.ci/start-postgres prints one)"
    if nginx_binary() is None:
        return "nginx is not installed (apt-get install nginx; .ci/run does)"
    return None


@dataclass
class Keys:
    """An agent key per call, and the editor's and compliance officer's."""

    agents: list[str]
    editor: str
    compliance: str


def make_keys(database_url: str, calls: int) -> Keys:
    """The keys, made by the project's own key code straight in the shared database."""
    from sqlmodel import Session

    from assist.config import Settings
    from assist.db import make_engine
    from assist.models.keys import Role
    from assist.security.keys import create_key

    engine = make_engine(Settings(database_url=database_url, embedders=["hash"]))
    try:
        with Session(engine) as s:
            agents = [create_key(s, role=Role.agent, name=f"agent-{i}")[1] for i in range(calls)]
            editor = create_key(s, role=Role.editor, name="editor")[1]
            compliance = create_key(s, role=Role.compliance, name="compliance")[1]
            s.commit()
    finally:
        engine.dispose()
    return Keys(agents, editor, compliance)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, Keys]]:
    """The running cluster (kb_docs ingested once into the shared database) and its keys."""
    reason = cluster_missing()
    if reason:
        pytest.skip(reason)
    assert URL
    work = tmp_path_factory.mktemp("cluster")
    name = f"assist_cluster_{uuid.uuid4().hex[:8]}"  # our own database on the shared server
    with scratch_database(URL, name) as url:
        cluster = LocalCluster(work, url, replicas_n=REPLICAS, env=REPLICA_ENV)
        cluster.ingest(ROOT / "kb_docs")
        keys = make_keys(url, CALLS)
        with cluster:
            yield cluster, keys
