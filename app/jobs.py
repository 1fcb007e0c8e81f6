"""Background jobs: a task queue (huey) carrying job ids, our ``job`` table holding the truth.

Why both: the queue delivers a message at most once and forgets it when a worker takes it,
so a worker killed with -9 would lose the job. The ``job`` row outlives any worker: a job is
*claimed* with one UPDATE (queued → running), its effect and its 已完成 are committed in the
same transaction (guarded by the attempt that claimed it), and a worker beats a heartbeat into
the queue's key-value store while it runs. A job whose heartbeat stops is offered again by the
recovery that every consumer runs at start and once a minute. The queue is SQLite (a file
beside the database, no server: ``make run``) or Redis (production, consumers on any number of
machines); docs/jobs.md.

A job runs as the person who asked for it: inside a request context for the page they were
on, with them signed in, so the data layer scopes it exactly as it scoped the page. A
scheduled job (nobody asked) runs unscoped, written to the 操作日志 as 定时任务.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_app_context
from huey import Huey, crontab
from huey.exceptions import TaskLockedException
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import select, update

from app.config import INSTANCE
from models import clock
from models.errors import Refused
from models.jobs import Job, claim, notify

log = logging.getLogger(__name__)

#: who the 操作日志 names for work nobody asked for at that moment
SCHEDULE_ACTOR = "定时任务"
#: attempts before a job that keeps failing with a system error is given up (shown to admins)
MAX_ATTEMPTS = 3


def _storage(url: str) -> tuple[type, dict[str, Any]]:
    """SQLite file under instance/ by default; ``JOB_QUEUE_URL=redis://…`` in production."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage, {"url": url}
    path = Path(url.removeprefix("sqlite:///") if url else INSTANCE / "jobs.db")
    path.parent.mkdir(parents=True, exist_ok=True)  # huey opens the file at once, before the app exists
    return SqliteStorage, {"filename": str(path)}


_storage_class, _storage_kwargs = _storage(os.environ.get("JOB_QUEUE_URL", ""))
# several installations may share one Redis: the name prefixes every key
queue = Huey(os.environ.get("JOB_QUEUE_NAME", "wuye"), storage_class=_storage_class, **_storage_kwargs)


def use_queue(url: str) -> None:
    """Point this process at another queue (the tests' consumers on SQLite and on Redis)."""
    queue.storage_class, queue.storage_kwargs = _storage(url)
    queue.storage = queue.create_storage()


#: job kind -> handler(session, job, progress) returning the Chinese outcome; the handler adds
#: its effect to the session and never commits (the runner commits it with 已完成)
Handler = Callable[[Any, Job, "Progress"], str]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function
    return register


# -- settings ----------------------------------------------------------------------------------

def _seconds(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def stale_after() -> int:
    """Seconds without a heartbeat after which a running job's worker is taken for dead."""
    return _seconds("JOB_STALE_SECONDS", 60)


def heartbeat_every() -> float:
    return max(0.2, min(stale_after() / 4, 10))


# -- submitting --------------------------------------------------------------------------------

def submit(session: Any, kind: str, title: str, *, user_id: int | None, estate_id: int | None = None,
           params: dict[str, Any] | None = None, unique_key: str | None = None) -> Job:
    """A new job (queued); the caller commits, then calls :func:`enqueue`."""
    job = Job(kind=kind, title=title, user_id=user_id, estate_id=estate_id, unique_key=unique_key,
              params=json.dumps(params or {}, ensure_ascii=False))
    session.add(job)
    return job


def submit_once(session: Any, unique_key: str, build: Callable[[], Job]) -> Job | None:
    """A scheduled job, at most one per key however often (or on however many consumers) the
    schedule fires: ``build()`` adds it (with this key), committed and queued here; None when
    the key exists already."""
    from sqlalchemy.exc import IntegrityError

    if session.execute(select(Job.id).where(Job.unique_key == unique_key)).first():
        return None
    job = build()
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another consumer scheduled it a moment ago
        return None
    enqueue(job.id)
    return job


def enqueue(job_id: int, delay: int | None = None) -> None:
    """Hand a committed job to the queue. A queue that cannot be reached loses nothing: the job
    stays 排队中 and the recovery offers it again."""
    try:
        if delay:
            run_job.schedule((job_id,), delay=delay)
        else:
            run_job(job_id)
    except Exception:  # noqa: BLE001 - the job row is the truth; recovery re-offers it
        log.exception("job %s could not be queued now; recovery will offer it again", job_id)


# -- progress and heartbeat (in the queue's store: never a lock on the database) ---------------

def _progress_key(job_id: int) -> str:
    return f"job-progress:{job_id}"


#: seconds at least between two progress reports of a job: each is a write to the queue's
#: storage, and a month's bill run of one estate reports three steps within a tenth of a second
PROGRESS_EVERY = 1.0


class Progress:
    """What a running job has done so far, and proof that its worker is alive. Until its first
    report the job's claim (``started_at``) is that proof."""

    def __init__(self, job_id: int):
        self.job_id, self.done, self.total = job_id, 0, None
        self._written = time.monotonic()
        self._stop = threading.Event()
        self._beating = threading.Thread(target=self._beat, name=f"job-{job_id}-heartbeat", daemon=True)

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total if total is not None else self.total
        if time.monotonic() - self._written >= PROGRESS_EVERY:
            self._write()

    def _write(self) -> None:
        self._written = time.monotonic()
        try:
            queue.put(_progress_key(self.job_id), (self.done, self.total, time.time()))
        except Exception:  # noqa: BLE001 - a missed beat only delays nothing
            log.warning("heartbeat of job %s not written", self.job_id)

    def _beat(self) -> None:
        while not self._stop.wait(heartbeat_every()):
            self._write()

    def __enter__(self) -> "Progress":
        self._beating.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        self._beating.join()


def _forget_progress(job_id: int) -> None:
    try:
        queue.get(_progress_key(job_id))  # reading without peek removes it
    except Exception:  # noqa: BLE001 - an entry left behind is harmless
        pass


def progress_of(job_id: int) -> tuple[int, int | None, float] | None:
    """(done, total, unix time of the last beat) of a running job, if its worker has reported."""
    try:
        return queue.get(_progress_key(job_id), peek=True)
    except Exception:  # noqa: BLE001 - no progress shown is better than an error page
        return None


# -- running -----------------------------------------------------------------------------------

_app: Flask | None = None


def bind(app: Flask) -> None:
    """The application a consumer's threads run jobs in. JOBS_IMMEDIATE turns immediate mode on
    for the process (an application created later without it does not turn it off)."""
    global _app
    _app = app
    if app.config.get("JOBS_IMMEDIATE"):
        queue.immediate = True


def _application() -> Flask:
    """The application of the caller (a job run at once, inside the request that submitted
    it), else the consumer's."""
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from app import create_app

        bind(create_app())
    assert _app is not None
    return _app


@queue.task()
def run_job(job_id: int) -> None:
    with _application().app_context():
        execute(job_id)


def execute(job_id: int) -> None:
    """Claim the job, run its handler as its owner, commit effect and outcome together."""
    from app.extensions import db

    session = db.session
    if not claim(session, job_id):
        return  # done, failed, or another worker has it
    job = session.get(Job, job_id)
    attempt, owner, kind = job.attempts, job.user_id, job.kind
    try:
        with Progress(job_id) as progress, acting_as(owner, job.arguments.get("path", "/")):
            job = session.get(Job, job_id)
            message = HANDLERS[kind](session, job, progress)
            if _finish(session, job_id, attempt, "done", message):
                session.commit()
            else:
                session.rollback()  # the job was given to another worker meanwhile: its run counts
    except Refused as refused:
        session.rollback()
        _finish(session, job_id, attempt, "failed", str(refused))
        session.commit()
    except Exception:
        session.rollback()
        log.exception("job %s failed (attempt %s)", job_id, attempt)
        if attempt >= MAX_ATTEMPTS:
            _finish(session, job_id, attempt, "failed", f"系统错误，已尝试 {attempt} 次仍未完成，请联系系统管理员")
            session.commit()
        else:
            _release(session, job_id, attempt)
            session.commit()
            enqueue(job_id, delay=30 * 2 ** (attempt - 1))  # 30 s, then 60 s


def _finish(session: Any, job_id: int, attempt: int, state: str, message: str) -> bool:
    """Write the outcome if this attempt still owns the job; notify its owner in the same
    transaction."""
    now = clock.utc_now()
    done = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.attempts == attempt)
        .values(state=state, message=message[:500], finished_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if done:
        _forget_progress(job_id)
        job = session.get(Job, job_id)
        session.refresh(job)
        verb = "已完成" if state == "done" else "未能完成"
        for user_id in _audience(session, job):
            notify(session, user_id, f"「{job.title}」{verb}", message, link=f"/my/jobs/{job_id}")
    return bool(done)


def _audience(session: Any, job: Job) -> list[int]:
    """Who is told: the person who asked, or for scheduled work the roles that act on it."""
    from app.roles import SCHEDULED_JOB_AUDIENCE
    from models.access import people_of

    if job.user_id is not None:
        return [job.user_id]
    if job.estate_id is None:
        return []
    return people_of(session, job.estate_id, SCHEDULED_JOB_AUDIENCE.get(job.kind, ()))


def _release(session: Any, job_id: int, attempt: int) -> bool:
    """Put a running job back in the queue (its attempt failed or its worker died)."""
    return bool(session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.attempts == attempt)
        .values(state="queued", enqueued_at=clock.utc_now())
        .execution_options(synchronize_session=False)).rowcount)


@contextmanager
def acting_as(user_id: int | None, path: str) -> Iterator[None]:
    """Run as the person who asked, on the page they asked from; nobody: as 定时任务, unscoped."""
    app = current_app._get_current_object()
    if user_id is None:
        g.actor_name = SCHEDULE_ACTOR
        yield
        return
    from flask_login import login_user

    user = app.appbuilder.sm.get_user_by_id(user_id)
    if user is None or not user.is_active:
        raise Refused("提交任务的账号已停用，任务未执行")
    with app.test_request_context(path):
        g.user = user
        login_user(user)
        yield


# -- files of finished exports (「我的下载」) -----------------------------------------------------

def download_path(job_id: int) -> Path:
    """Where a job's file lives. Behind several web servers DOWNLOAD_FOLDER is shared storage,
    like UPLOAD_FOLDER."""
    folder = Path(current_app.config["DOWNLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"job-{job_id}.xlsx"


def expire_downloads() -> int:
    """Delete the files whose time is up (系统设置: 下载保留天数); their jobs read 已过期."""
    from app.extensions import db

    expired = db.session.execute(select(Job).where(Job.state == "done", Job.expires_at < clock.utc_now())).scalars().all()
    for job in expired:
        download_path(job.id).unlink(missing_ok=True)
        job.state = "expired"
    return len(expired)


# -- recovery and schedules (every consumer, once a minute; one at a time) ---------------------

def recover() -> int:
    """Offer again what no worker is doing: queued jobs the queue may have lost, running jobs
    whose worker stopped beating. Returns how many were offered."""
    from app.extensions import db

    session = db.session
    now = clock.utc_now()
    stale = now - dt.timedelta(seconds=stale_after())
    offered: list[int] = []
    for job in session.execute(select(Job).where(Job.state.in_(("queued", "running")))).scalars().all():
        if job.state == "queued":
            if job.enqueued_at < stale and session.execute(
                    update(Job).where(Job.id == job.id, Job.state == "queued", Job.enqueued_at == job.enqueued_at)
                    .values(enqueued_at=now).execution_options(synchronize_session=False)).rowcount:
                offered.append(job.id)
            continue
        beat = progress_of(job.id)
        last = dt.datetime.fromtimestamp(beat[2], dt.timezone.utc) if beat else job.started_at
        if last is not None and last >= stale:
            continue  # its worker is alive
        if job.attempts >= MAX_ATTEMPTS:
            _finish(session, job.id, job.attempts, "failed",
                    f"处理任务的进程已中断 {job.attempts} 次，任务已停止，请联系系统管理员")
        elif _release(session, job.id, job.attempts):
            offered.append(job.id)
    session.commit()
    for job_id in offered:
        enqueue(job_id)
    return len(offered)


#: what runs once a minute besides recovery: (name, function()); domains add theirs
PERIODIC: list[tuple[str, Callable[[], Any]]] = []


def every_minute(function: Callable[[], Any]) -> Callable[[], Any]:
    PERIODIC.append((function.__name__, function))
    return function


@queue.periodic_task(crontab(minute="*"))
def tick() -> None:
    try:
        with queue.lock_task("tick"), _application().app_context():
            run_periodic()
    except TaskLockedException:
        pass  # another consumer is doing it


def run_periodic() -> None:
    from app.extensions import db

    recover()
    for name, function in [("expire_downloads", expire_downloads), *PERIODIC]:
        try:
            with _scheduled():
                function()
            db.session.commit()
        except Exception:  # noqa: BLE001 - one failing schedule must not stop the others
            db.session.rollback()
            log.exception("periodic %s failed", name)


@contextmanager
def _scheduled() -> Iterator[None]:
    g.actor_name = SCHEDULE_ACTOR
    try:
        yield
    finally:
        g.pop("actor_name", None)


@queue.on_startup()
def _recover_at_start() -> None:
    """A consumer (re)started after a crash picks up what died with it."""
    if not queue.immediate:
        with _application().app_context():
            recover()


def consume(app: Flask, workers: int) -> None:
    """Run a consumer in this process: ``workers`` threads plus the minute schedule."""
    bind(app)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if queue.immediate:
        raise SystemExit("JOBS_IMMEDIATE 已开启：任务在提交时直接执行，无需启动任务进程")
    queue.create_consumer(workers=workers, worker_type="thread", periodic=True,
                          check_worker_health=True).run()
