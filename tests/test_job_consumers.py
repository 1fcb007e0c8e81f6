"""Background jobs run by real consumer processes, on each queue the product supports: the
SQLite file of ``make run`` and Redis (production). A consumer is the product's own
(``flask worker``); tests/job_consumer.py only puts it on the tests' clock and can slow it so
that a test kills it with -9 in the middle of a job."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import jobs
from app.extensions import db
from models import clock
from models.estate import Estate, Unit
from models.fees import Bill
from models.jobs import Job
from models.settings import Settings
from tests.live import redis_url, unavailable
from tests.support import client_of

ROOT = Path(__file__).resolve().parent.parent
WAIT = 90


@pytest.fixture(params=["sqlite", "redis"])
def consumers(request, app, test_db, tmp_path):
    """Starts consumer processes on a real queue (this process submits to the same queue)."""
    if request.param == "redis":
        url = redis_url()
        if url is None:
            unavailable("Redis 不可用：无法测试 Redis 上的任务队列")
    else:
        url = f"sqlite:///{tmp_path / 'queue.db'}"
    jobs.queue.immediate = False
    jobs.use_queue(url)
    jobs.queue.flush()
    # job ids start again with every test's fresh database: so must the files
    shutil.rmtree(app.config["DOWNLOAD_FOLDER"], ignore_errors=True)
    started: list[subprocess.Popen] = []

    def start(**env: str) -> subprocess.Popen:
        log = open(tmp_path / f"consumer-{len(started)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.job_consumer"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "DATABASE_URL": test_db.url, "JOB_QUEUE_URL": url, "JOB_STALE_SECONDS": "2", **env})
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()
    jobs.queue.flush()
    jobs.queue.immediate = True


def _job(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def _wait_for(app, job_id: int, states: tuple[str, ...], what=lambda job: True) -> Job:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        job = _job(app, job_id)
        if job.state in states and what(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is {job.state} after {WAIT} s, expected {states}")


def _wait_for_progress(job_id: int, at_least: int) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        reported = jobs.progress_of(job_id)
        if reported and reported[0] >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} reported no progress in {WAIT} s")


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def _small_export_threshold(app, rows: int) -> None:
    with app.app_context():
        Settings.current(db.session).export_background_rows = rows
        db.session.commit()


def _units_of(app, estate_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id == estate_id))


def test_without_a_consumer_the_export_waits_as_queued_and_runs_when_one_starts(app, consumers):
    _small_export_threshold(app, 10)
    manager = client_of(app, "manager_a")
    answer = manager.get("/unit/export/")
    assert answer.status_code == 302
    job_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    page = manager.get(f"/my/jobs/{job_id}").get_data(as_text=True)
    assert "排队中" in page
    assert manager.get("/unit/list/").status_code == 200  # the web works on without any consumer
    consumers()
    job = _wait_for(app, job_id, ("done",))
    with app.app_context():
        estate_id = db.session.execute(select(Estate.id).order_by(Estate.id)).scalars().first()
    sheet = load_workbook(io.BytesIO(manager.get(f"/my/jobs/{job_id}/file").data), read_only=True).active
    assert sheet.max_row - 1 == job.rows == _units_of(app, estate_id)
    assert client_of(app, "official_jd").get(f"/my/jobs/{job_id}/file").status_code == 404


def test_a_consumer_killed_during_a_bill_run_leaves_no_bill_and_the_run_completes_once_on_restart(app, consumers):
    manager = client_of(app, "manager_a")
    first = clock.today().replace(day=1) + relativedelta(months=1)
    with app.app_context():
        estate = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()
        estate_id, before = estate.id, db.session.scalar(select(func.count()).select_from(Bill))
    slow = consumers(JOB_TEST_SLOW="0.5")
    answer = manager.post("/bill/generate/", data={"estate": estate_id, "first": f"{first:%Y-%m}", "months": "6"})
    job_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    _wait_for_progress(job_id, 2)  # two of its INSERTs are written, uncommitted
    _kill(slow)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Bill)) == before
    assert _job(app, job_id).state == "running"  # nobody has noticed yet
    time.sleep(2.5)  # the dead worker's heartbeat goes stale
    consumers()
    job = _wait_for(app, job_id, ("done",))
    with app.app_context():
        created = db.session.scalar(select(func.count()).select_from(Bill)) - before
        periods = db.session.scalar(select(func.count(func.distinct(Bill.period))).where(
            Bill.estate_id == estate_id, Bill.period >= first))
    assert job.attempts == 2 and created == job.rows and periods == 6


def test_a_consumer_killed_during_an_export_leaves_no_file_and_the_export_completes_on_restart(app, consumers):
    _small_export_threshold(app, 10)
    official = client_of(app, "official_jd")
    answer = official.get("/bill/export/")
    job_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    slow = consumers(JOB_TEST_SLOW="1")
    with app.app_context():
        bills = db.session.scalar(select(func.count()).select_from(Bill))
    # progress is reported per 1,000 rows: killed after the first thousand, before the last
    _wait_for_progress(job_id, 1000)
    _kill(slow)
    with app.app_context():
        assert not jobs.download_path(job_id).exists()
    assert official.get(f"/my/jobs/{job_id}/file").status_code == 404
    time.sleep(2.5)
    consumers()
    job = _wait_for(app, job_id, ("done",))
    sheet = load_workbook(io.BytesIO(official.get(f"/my/jobs/{job_id}/file").data), read_only=True).active
    assert job.attempts == 2 and sheet.max_row - 1 == job.rows == bills
