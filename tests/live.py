"""A real production server for what only real processes show: races between workers,
state shared between them (rate limits), backups of a real database.

``live_server`` (conftest) starts gunicorn with the production settings
(gunicorn.conf.py: sync workers, CSRF on, rate limiting on) on the seeded test
database and a free port, and waits until every worker has loaded the application.
``LiveServer.user(name)`` is a logged-in HTTP session of one demo user; ``race`` fires
callables at the same moment from threads. A concurrency scenario is then a few lines:
log in two users, open the page, ``race`` the two clicks, count the effects.

These tests belong to the PostgreSQL run (SQLite has no row locks and one writer at a
time): on SQLite they are skipped. A service they need beyond the database (Redis for
shared rate limits, pg_dump for backups) is skipped with the reason when missing, unless
REQUIRE_SERVICES=1 (set by .ci/run for both runs) turns that skip into a failure.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: enough processes that two requests really run at the same time
WORKERS = 3
BOOT_TIMEOUT = 90


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment promised the services (CI)."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}（REQUIRE_SERVICES=1：CI 中不得跳过）", pytrace=False)
    pytest.skip(reason)


def redis_url() -> str | None:
    """REDIS_URL if a Redis server answers there (default: the local one)."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page carries no CSRF token"
    return unescape(found.group(1) or found.group(2))


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def user(self, username: str, password: str = "Demo@2026"):
        """A requests session logged in through the real login form (with its CSRF token)."""
        import requests

        http = requests.Session()
        page = http.get(self.url + "/login/", timeout=30)
        response = http.post(self.url + "/login/", timeout=30, allow_redirects=False, data={
            "username": username, "password": password, "csrf_token": csrf_token(page.text)})
        assert response.status_code == 302 and "/login" not in response.headers.get("Location", ""), \
            f"{username} must log in on the live server"
        return http

    def click(self, http, page: str, action: str, data: dict[str, str] | None = None,
              files: dict[str, Any] | None = None) -> Callable[[], Any]:
        """Open ``page`` as a person would; return the click that POSTs its form to ``action``
        (with the page's CSRF token and any files), ready for ``race``. The click returns the
        final page."""
        opened = http.get(self.url + page, timeout=30)
        assert opened.status_code == 200, f"GET {page}: {opened.status_code}"
        token = csrf_token(opened.text)
        return lambda: http.post(self.url + action, data={**(data or {}), "csrf_token": token}, files=files,
                                 timeout=60)


def race(*clicks: Callable[[], Any]) -> list[Any]:
    """Run the clicks in parallel threads released at the same instant; their results."""
    barrier = threading.Barrier(len(clicks))
    results: list[Any] = [None] * len(clicks)

    def run(i: int, click: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = click()
        except Exception as error:  # reported by the test, not lost in the thread
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def start_gunicorn(database_url: str, scratch: Path, **env: str) -> LiveServer:
    """gunicorn with the production config on ``database_url``; returns once every worker serves."""
    port = free_port()
    ready = Path(tempfile.mkdtemp(prefix="ready-", dir=scratch))
    log = scratch / f"gunicorn-{port}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "live-test-" + "x" * 40,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
        "ACCESS_LOG": str(scratch / f"access-{port}.log"),
        "INSTANCE_PATH": str(scratch / "live-instance"),
        "LIVE_READY_DIR": str(ready),
        **env,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "tests" / "gunicorn_live.conf.py")]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + BOOT_TIMEOUT
    while len(list(ready.iterdir())) < WORKERS:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return LiveServer(f"http://127.0.0.1:{port}", process, log)


def stop(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
