"""Test fixtures: one migrated, seeded database per session, restored before each test.

SQLite by default; ``TEST_DATABASE_URL=postgresql://...`` runs the same suite on
PostgreSQL (tests/databases.py; ``make test-pg``)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import pytest

from tests import shared_clock

# Settings are read at import time: point the instance folder at a scratch directory before
# the application package is imported. Each pytest process (one per core under `make test`,
# pytest-xdist) has its own scratch folder, database (tests/databases.py) and job queue name
# (its consumers share Redis with the other workers' consumers).
_SCRATCH = Path(tempfile.mkdtemp(prefix="wuye-tests-"))
os.environ["INSTANCE_PATH"] = str(_SCRATCH / "instance")
os.environ["JOB_QUEUE_NAME"] = f"wuye-tests-{os.getpid()}"

# One clock (models/clock.py): the process runs in UTC and its clock starts at 23:30 UTC,
# already 07:30 of the next day in Beijing, so a "today" taken from the server's zone
# instead of the configured one is a day off and fails. The clock ticks on from there;
# every process the tests start reads the same clock (tests/shared_clock.py).
os.environ["TZ"] = "UTC"
time.tzset()
os.environ.setdefault("FROZEN_CLOCK", dt.datetime.combine(
    dt.datetime.now(dt.timezone.utc).date(), dt.time(23, 30), tzinfo=dt.timezone.utc).isoformat())
shared_clock.join()  # processes started later (servers, consumers) join the same clock

from sqlalchemy.pool import NullPool  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.databases import chosen_database  # noqa: E402
from tests.live import start_gunicorn, stop  # noqa: E402
from tests.support import login  # noqa: E402

#: small but complete: 3 estates, the large one with this many units
TEST_UNITS = 120


@pytest.fixture(scope="session")
def test_db():
    """Where the tests' data lives (tests/databases.py: SQLite, or TEST_DATABASE_URL)."""
    database = chosen_database(_SCRATCH)
    yield database
    database.close()


@pytest.fixture(scope="session")
def app(test_db):
    test_db.create_empty()
    app = create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        # a job runs as it is submitted (tests/test_jobs.py runs real consumer processes)
        "JOBS_IMMEDIATE": True,
        "SQLALCHEMY_DATABASE_URI": test_db.url,
        # SQLite: no connection may outlive a test (the file is replaced under it);
        # PostgreSQL: a pool per test (a new server process per query would dominate)
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool} if test_db.dialect == "sqlite" else {},
    })
    with app.app_context():
        from flask_migrate import upgrade

        from app import demo, roles

        upgrade()
        roles.sync(app.appbuilder)
        demo.load(units=TEST_UNITS, estates=3, seed=7)
        db.session.remove()
        db.engine.dispose()
    test_db.snapshot()
    return app


@pytest.fixture(autouse=True)
def _fresh_database(request):
    """Every test starts from the seeded database, whatever the previous one wrote."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    request.getfixturevalue("test_db").restore()
    from app import jobs

    jobs.queue.flush()  # job ids start again with the restored database: so does their progress
    yield


@pytest.fixture()
def start_live_server(app, test_db):
    """Starts gunicorn in production mode on the freshly seeded test database
    (tests/live.py); keyword arguments are extra environment variables."""
    if test_db.dialect != "postgresql":
        pytest.skip("只在 PostgreSQL 上运行（make test-pg）：多个进程同时写需要行锁")
    servers = []

    def start(**env: str):
        servers.append(start_gunicorn(test_db.url, _SCRATCH, **env))
        return servers[-1]

    yield start
    for server in servers:
        stop(server)


@pytest.fixture()
def live_server(start_live_server):
    return start_live_server()


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def admin_client(client):
    response = login(client, "admin")
    assert response.status_code == 302, "demo admin must be able to log in"
    return client
