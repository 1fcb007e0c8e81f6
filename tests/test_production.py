"""Production mode (README 部署): gunicorn's sync workers share what must be shared and
write nothing at start; the deploy command is what migrates and syncs permissions."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import requests
from sqlalchemy import text

from app.extensions import db
from tests.live import ROOT, race, redis_url, unavailable
from tests.support import in_db

LIMIT = 10  # AUTH_RATE_LIMIT default: failed logins per minute and client address


def test_production_server_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}

    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode != 0 and "SECRET_KEY" in done.stdout + done.stderr


def _worker_pids(server) -> set[str]:
    access_log = server.log.parent / f"access-{server.url.rsplit(':', 1)[1]}.log"
    return {line.split()[0] for line in access_log.read_text().splitlines() if '"POST /login/' in line}


def test_failed_logins_are_counted_across_workers_through_redis(start_live_server):
    url = redis_url()
    if url is None:
        unavailable("需要 Redis（登录限流在多个进程间共享计数）：设置 REDIS_URL 或启动本机 redis-server")
    server = start_live_server(RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    sessions = [requests.Session() for _ in range(LIMIT)]

    wrong = {"username": "nobody", "password": "Wrong@2026"}
    failures = race(*(server.click(http, "/login/", "/login/", wrong) for http in sessions))

    assert all(not isinstance(r, Exception) and r.status_code == 200 for r in failures), failures
    assert len(_worker_pids(server)) > 1, "the failed logins must have been answered by several workers"
    one_more = server.click(sessions[0], "/login/", "/login/", {"username": "committee_a", "password": "Demo@2026"})()
    assert one_more.status_code == 429


def _permission_rows() -> list:
    return db.session.execute(text(
        "SELECT r.name, p.name, v.name FROM ab_permission_view_role pvr"
        " JOIN ab_role r ON r.id = pvr.role_id JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id"
        " JOIN ab_permission p ON p.id = pv.permission_id JOIN ab_view_menu v ON v.id = pv.view_menu_id"
        " ORDER BY 1, 2, 3")).all()


def test_starting_the_workers_writes_no_permissions(app, start_live_server):
    before = in_db(app, _permission_rows)
    in_db(app, lambda: (db.session.execute(text(
        "DELETE FROM ab_permission_view_role WHERE role_id = (SELECT id FROM ab_role WHERE name = '业委会委员')")),
        db.session.commit()))

    server = start_live_server()
    server.user("manager_a").get(server.url + "/fee_standard/list/", timeout=30)

    after = in_db(app, _permission_rows)
    assert len(after) < len(before), "a worker must not have re-created the removed grants"


def test_deploy_migrates_and_restores_the_declared_grants(app):
    before = in_db(app, _permission_rows)
    in_db(app, lambda: (db.session.execute(text(
        "DELETE FROM ab_permission_view_role WHERE role_id = (SELECT id FROM ab_role WHERE name = '业委会委员')")),
        db.session.commit()))

    result = app.test_cli_runner().invoke(args=["deploy"])

    assert result.exit_code == 0, result.output
    assert in_db(app, _permission_rows) == before
