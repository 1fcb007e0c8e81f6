"""Guesses sent all at once, from the attacker's side: every limit on attempts (per client
address on both logins and on the public owner forms, per account on the password) is taken
before the password or code is checked, with one atomic increment, so parallel requests
against several gunicorn workers sharing Redis get exactly as many checks as the limit allows.

Run on PostgreSQL with Redis (make test-pg, CI); skipped on SQLite.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.security import ACCOUNT_LOCKED, INVALID_LOGIN
from models.repair_fund import Ballot
from tests.live import race, redis_url, unavailable
from tests.support import in_db
from tests.test_fund_public import _app, _owned_unit, _voter

ADDRESS_LIMIT = 10  # AUTH_RATE_LIMIT's default: failed logins per minute and client address
OWNER_FORM_LIMIT = 5  # PUBLIC_FORM_RATE_LIMIT's default: refused owner attempts per minute
LOCKOUT = 5  # Settings.lockout_threshold's default
GUESSES = 30
WRONG = "Wrong@2026"


@pytest.fixture()
def server(start_live_server):
    """gunicorn (several workers) sharing its limits through Redis, fresh counters."""
    url = redis_url()
    if url is None:
        unavailable("需要 Redis（限流计数在多个进程间共享）：设置 REDIS_URL 或启动本机 redis-server")

    def start(**env: str):
        return start_live_server(RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}", **env)

    return start


def _failed_logins(app, username: str) -> int:
    from flask import current_app

    def read():
        model = current_app.appbuilder.sm.user_model
        return db.session.scalar(select(model.fail_login_count).where(model.username == username))

    return in_db(app, read)


def _rest_login(live, username: str, password: str):
    return lambda: requests.post(live.url + "/api/v1/security/login", timeout=60, json={
        "username": username, "password": password, "provider": "db", "refresh": False})


def _statuses(answers) -> Counter:
    assert not any(isinstance(a, Exception) for a in answers), answers
    return Counter(a.status_code for a in answers)


def test_parallel_wrong_form_logins_get_exactly_the_address_limit_of_password_checks(app, server):
    live = server()
    sessions = [requests.Session() for _ in range(GUESSES)]
    answers = race(*(live.click(http, "/login/", "/login/", {"username": "staff_a", "password": WRONG})
                     for http in sessions))

    assert _statuses(answers) == {200: ADDRESS_LIMIT, 429: GUESSES - ADDRESS_LIMIT}
    assert _failed_logins(app, "staff_a") == ADDRESS_LIMIT, "one count per password checked, none lost"
    right = live.click(sessions[0], "/login/", "/login/", {"username": "committee_a", "password": "Demo@2026"})()
    assert right.status_code == 429


def test_parallel_wrong_rest_logins_get_exactly_the_address_limit_of_password_checks(app, server):
    live = server()
    answers = race(*(_rest_login(live, "staff_a", WRONG) for _ in range(GUESSES)))

    assert _statuses(answers) == {401: ADDRESS_LIMIT, 429: GUESSES - ADDRESS_LIMIT}
    assert _failed_logins(app, "staff_a") == ADDRESS_LIMIT
    assert _rest_login(live, "committee_a", "Demo@2026")().status_code == 429


def test_parallel_wrong_passwords_lock_the_account_after_exactly_the_threshold_of_checks(app, server):
    live = server(AUTH_RATE_LIMIT="1000 per minute")  # only the account's own lockout applies
    answers = race(*(_rest_login(live, "staff_a", WRONG) for _ in range(GUESSES)))

    messages = Counter(a.json()["message"] for a in answers if a.status_code == 401)
    # the first LOCKOUT - 1 failures are plain; the LOCKOUT-th and every later one say locked
    assert messages == {INVALID_LOGIN: LOCKOUT - 1, ACCOUNT_LOCKED: GUESSES - LOCKOUT + 1}
    assert _failed_logins(app, "staff_a") == GUESSES, "every attempt counted, by one UPDATE each"
    right = _rest_login(live, "staff_a", "Demo@2026")()
    assert right.status_code == 401 and right.json()["message"] == ACCOUNT_LOCKED


def test_parallel_wrong_ledger_lookups_get_exactly_the_owner_form_limit_of_checks(app, server):
    form, _number, _unit = in_db(app, _owned_unit)
    live = server()
    wrong = {**form, "id_suffix": "XXXXXX"}
    page = "/public/estate/1/fund/ledger"
    answers = race(*(live.click(requests.Session(), page, page, wrong) for _ in range(25)))

    assert _statuses(answers) == {400: OWNER_FORM_LIMIT, 429: 25 - OWNER_FORM_LIMIT}


def test_parallel_wrong_vote_codes_get_exactly_the_owner_form_limit_of_checks_and_cast_nothing(app, server):
    pk = in_db(app, lambda: _app("voting").id)
    form, _code, _unit = in_db(app, lambda: _voter(pk))
    ballots = in_db(app, lambda: len(db.session.scalars(select(Ballot.id).where(Ballot.application_id == pk)).all()))
    live = server()
    page = f"/public/vote/{pk}"
    answers = race(*(live.click(requests.Session(), page, page, {**form, "code": f"WRONG{i:03d}", "choice": "yes"})
                     for i in range(25)))

    assert _statuses(answers) == {400: OWNER_FORM_LIMIT, 429: 25 - OWNER_FORM_LIMIT}
    assert in_db(app, lambda: len(db.session.scalars(select(Ballot.id).where(Ballot.application_id == pk)).all())) \
        == ballots
