"""Background ingest jobs hold a lease in the database: a job whose server died is settled by another server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from assist.config import Settings
from assist.db import make_engine
from assist.knowledge import ingest_jobs
from assist.models.common import utcnow
from assist.models.documents import IngestJob


@pytest.fixture
def engine(tmp_path: Path):
    return make_engine(Settings(data_dir=tmp_path))


def _job(engine, *, worker: str, lease_until) -> str:
    with Session(engine, expire_on_commit=False) as s:
        job = IngestJob(filename="big.pdf", status="running", worker=worker, lease_until=lease_until)
        s.add(job)
        s.commit()
        return job.id


def _status(engine, job_id: str) -> tuple[str, str | None]:
    with Session(engine) as s:
        job = s.get(IngestJob, job_id)
        assert job is not None
        return job.status, job.error


def test_a_job_of_another_host_whose_lease_expired_is_marked_failed(engine) -> None:
    job_id = _job(engine, worker="other-host:4242:abcd1234", lease_until=utcnow() - timedelta(seconds=1))
    with Session(engine) as s:
        assert ingest_jobs.is_cut_off(s.get(IngestJob, job_id))  # type: ignore[arg-type]
    assert ingest_jobs.settle_expired(engine) == 1
    status, error = _status(engine, job_id)
    assert status == "failed" and error and "upload it again" in error
    assert ingest_jobs.settle_expired(engine) == 0  # settled once


def test_a_job_of_another_host_with_a_live_lease_is_left_running(engine) -> None:
    job_id = _job(engine, worker="other-host:4242:abcd1234", lease_until=utcnow() + timedelta(seconds=60))
    with Session(engine) as s:
        assert not ingest_jobs.is_cut_off(s.get(IngestJob, job_id))  # type: ignore[arg-type]
    assert ingest_jobs.settle_expired(engine) == 0
    assert ingest_jobs.recover(engine)["jobs_failed"] == 0
    assert _status(engine, job_id)[0] == "running"


def test_the_running_server_renews_its_lease(engine) -> None:
    soon = utcnow() + timedelta(seconds=5)
    job_id = _job(engine, worker=ingest_jobs.WORKER_ID, lease_until=soon)
    ingest_jobs.started(job_id)
    try:
        assert ingest_jobs.renew_leases(engine, lease_s=600) == 1
        with Session(engine) as s:
            job = s.get(IngestJob, job_id)
            assert job is not None and job.lease_until is not None
            renewed = job.lease_until if job.lease_until.tzinfo else job.lease_until.replace(tzinfo=soon.tzinfo)
            assert renewed > soon + timedelta(seconds=500)
        # another server, once the lease has passed, would settle it; while renewed, it does not
        assert ingest_jobs.settle_expired(engine) == 0
    finally:
        ingest_jobs.ended(job_id)
    assert ingest_jobs.renew_leases(engine, lease_s=600) == 0  # ended: no longer renewed


def test_an_expired_lease_is_settled_when_the_editor_polls(engine) -> None:
    job_id = _job(engine, worker="other-host:1:ffff0000", lease_until=utcnow() - timedelta(minutes=5))
    ingest_jobs.settle_if_cut_off(engine, job_id)
    assert _status(engine, job_id)[0] == "failed"
