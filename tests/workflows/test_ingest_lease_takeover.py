"""An ingest job whose server is SIGKILLed is settled by another server through its lease in the database (#18).

A real second process owns the job and renews its lease; while it lives, the other server leaves the job alone;
once it is killed, the lease runs out and the other server marks the job failed ("upload it again"). Runs on
the shared SQLite file, and on PostgreSQL when ASSIST_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session

from assist.config import Settings
from assist.db import make_engine
from assist.knowledge import ingest_jobs
from assist.models.documents import IngestJob

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("ASSIST_TEST_POSTGRES_URL")

# the other server: takes a job under a 2 s lease, renews it, says which job, then runs until killed
OWNER = """
import sys, threading
from sqlmodel import Session
from assist.config import Settings
from assist.db import make_engine
from assist.knowledge import ingest_jobs
from assist.models.documents import IngestJob

engine = make_engine(Settings(data_dir=sys.argv[1], database_url=sys.argv[2] or None))
with Session(engine, expire_on_commit=False) as s:
    job = IngestJob(filename="big.pdf", status="running", worker=ingest_jobs.WORKER_ID,
                    lease_until=ingest_jobs.lease_until(2.0))
    s.add(job)
    s.commit()
ingest_jobs.started(job.id, engine=engine, lease_s=2.0)
print(job.id, flush=True)
threading.Event().wait()
"""


def _settings(tmp_path: Path, database_url: str | None) -> Settings:
    if database_url:
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        engine.dispose()
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.mark.parametrize(
    "database_url",
    [
        None,
        pytest.param(
            PG_URL,
            marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="set ASSIST_TEST_POSTGRES_URL")],
        ),
    ],
    ids=["sqlite", "postgres"],
)
def test_a_job_of_a_killed_server_is_settled_by_another_once_its_lease_runs_out(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = _settings(tmp_path, database_url)
    engine = make_engine(settings)  # this server (migrates the database first)
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path), database_url or ""],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        job_id = owner.stdout.readline().strip()
        assert job_id, "the owner did not start its job"
        # alive: its lease is renewed, so this server leaves the job running, past several lease lengths
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            assert ingest_jobs.settle_expired(engine) == 0
            time.sleep(0.5)  # checking repeatedly across the lease's length, as the periodic sync would
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=30)
        # dead: no renewal; once the lease passes, this server settles the job (once)
        deadline = time.monotonic() + 60.0
        while ingest_jobs.settle_expired(engine) == 0:
            assert time.monotonic() < deadline, "the killed server's job was never settled"
            time.sleep(0.2)  # polling a condition, with a deadline
        with Session(engine) as s:
            job = s.get(IngestJob, job_id)
            assert job is not None
            assert job.status == "failed" and job.error and "upload it again" in job.error
        assert ingest_jobs.settle_expired(engine) == 0
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(timeout=30)
        engine.dispose()
