"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from html import unescape
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient


@contextmanager
def count_queries(app) -> Iterator[list[str]]:
    """The SQL statements run inside, in order."""
    from sqlalchemy import event

    from app.extensions import db

    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def login(client, username: str, password: str | None = None):
    """Log in through the real login form (CSRF is off in tests except where tested)."""
    password = password or client.application.config["DEMO_PASSWORD"]
    return client.post("/login/", data={"username": username, "password": password})


# -- clients that remember who they are (and which routes they exercised) -----------------

ANONYMOUS = "anonymous"

#: (user, method, route rule, path with query) of every request a UserClient sent; written
#: as JSON lines to $ROUTE_LOG at exit when that variable is set (coverage reports)
EXERCISED: list[tuple[str, str, str, str]] = []


class UserClient(FlaskClient):
    """A test client that knows its user and records each request's route."""

    user: str = ANONYMOUS

    def open(self, *args: Any, **kwargs: Any):
        response = super().open(*args, **kwargs)
        request = getattr(response, "request", None)
        if request is not None and os.environ.get("ROUTE_LOG"):
            try:
                rule, _ = self.application.url_map.bind("localhost").match(
                    request.path, method=request.method, return_rule=True
                )
                rule = rule.rule
            except Exception:  # 404/405: no rule; keep the path's shape
                rule = re.sub(r"/\d+(?=/|$)", "/<pk>", request.path)
            query = request.query_string.decode()
            EXERCISED.append((self.user, request.method, rule, request.path + ("?" + query if query else "")))
        return response


def _dump_exercised() -> None:
    target = os.environ.get("ROUTE_LOG")
    if target and EXERCISED:
        with open(target, "a", encoding="utf-8") as handle:
            for record in EXERCISED:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


atexit.register(_dump_exercised)


def client_of(app, username: str | None) -> UserClient:
    """A client logged in as ``username`` through the login form (None: anonymous)."""
    client = UserClient(app, app.response_class, use_cookies=True)
    if username is not None:
        response = login(client, username)
        assert response.status_code == 302 and not is_login_redirect(response), f"{username} must log in"
        client.user = username
    return client


# -- what an answer means -------------------------------------------------------------------

def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == "/login/"


def _is_api(response) -> bool:
    request = getattr(response, "request", None)
    return request is not None and request.path.startswith("/api/")


def _describe(response) -> str:
    request = getattr(response, "request", None)
    where = f"{request.method} {request.full_path.rstrip('?')}" if request is not None else "?"
    location = response.headers.get("Location")
    return f"{where} answered {response.status_code}" + (f" -> {location}" if location else "")


def refusal_problem(response, logged_in: bool) -> str | None:
    """Why this answer is not a refusal (None: it is one).

    Anonymous: HTML redirects to the login page, the REST API answers 401. Signed in:
    403 (the Chinese page), never a redirect to the login page.
    """
    if _is_api(response):
        wanted = (401,) if not logged_in else (403,)
        return None if response.status_code in wanted else f"{_describe(response)}, expected {wanted[0]}"
    if not logged_in:
        return None if is_login_redirect(response) else f"{_describe(response)}, expected a redirect to /login/"
    if response.status_code == 403:
        return None
    return f"{_describe(response)}, expected 403"


def assert_refused(response, logged_in: bool) -> None:
    problem = refusal_problem(response, logged_in)
    assert problem is None, problem


def allowance_problem(response) -> str | None:
    if response.status_code in (401, 403) or is_login_redirect(response):
        return f"{_describe(response)}, expected the route to be open"
    return None


def assert_allowed(response) -> None:
    problem = allowance_problem(response)
    assert problem is None, problem


def absence_problem(response) -> str | None:
    """A route that does not exist for an entity answers 404/405 to everyone."""
    if response.status_code in (404, 405):
        return None
    return f"{_describe(response)}, expected 404/405 (no such route)"


class ServerError(AssertionError):
    """A route answered 500."""


def expect(response, *codes: int) -> None:
    """The status is one of ``codes``; a 500 raises ServerError (for xfail(raises=...))."""
    if response.status_code == 500 and 500 not in codes:
        raise ServerError(_describe(response))
    assert response.status_code in codes, f"{_describe(response)}, expected {codes}"


# -- the database as the tests see it (outside any request: nothing scoped) -----------------

def scope_ids(model, estate_ids) -> set[int]:
    """Ids of the rows the user of these estates may see (None: every row)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.scoping import clause

    query = select(model.id)
    if estate_ids is not None and model.Admin.scope_path:
        query = query.where(clause(model, model.Admin.scope_path, list(estate_ids), db.engine.dialect.name))
    return set(db.session.scalars(query))


def only_in_estate(model, estate_id: int, others=(1, 2, 3)) -> set[int]:
    """Ids of rows of this estate that no other estate reaches."""
    mine = scope_ids(model, [estate_id])
    theirs = scope_ids(model, [e for e in others if e != estate_id])
    return mine - theirs


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def row_state(model, pk) -> dict[str, Any] | None:
    """Every column of one row (None once deleted)."""
    from sqlalchemy import select

    from app.extensions import db

    row = db.session.execute(select(model.__table__).where(model.__table__.c.id == pk)).mappings().first()
    return None if row is None else {k: _plain(v) for k, v in row.items()}


def database_state(models, rows_of=()) -> dict[str, str]:
    """A fingerprint of the database: equal means nothing was written.

    Every table of ``models`` by row count and highest id; the tables of ``rows_of``
    by the content of every row.
    """
    from sqlalchemy import func, select

    from app.extensions import db

    state = {}
    for model in models:
        table = model.__table__
        count, top = db.session.execute(select(func.count(), func.max(table.c.id))).one()
        state[model.__tablename__] = f"{count} rows, last id {top}"
    for model in rows_of:
        table = model.__table__
        rows = db.session.execute(select(table).order_by(table.c.id)).all()
        digest = hashlib.sha256(repr([tuple(map(_plain, r)) for r in rows]).encode()).hexdigest()
        state[model.__tablename__] += f", content {digest[:16]}"
    return state


def flashed(page: str) -> list[tuple[str, str]]:
    """(category, text) of the flashed messages a page shows."""
    found = re.findall(
        r'<div class="alert alert-(\w+)">\s*<button[^>]*class="close"[^>]*>.*?</button>\s*(.*?)\s*</div>', page, re.S
    )
    return [(category, unescape(re.sub(r"<[^>]+>", "", text)).strip()) for category, text in found]


# -- forms and REST bodies built from a stored row ----------------------------------------------

def row_values(model, row, columns) -> dict[str, Any]:
    """A row's values as the form shows them; relations as the related row's id."""
    from sqlalchemy import inspect

    relations = inspect(model).relationships
    values: dict[str, Any] = {}
    for name in columns:
        value = getattr(row, name)
        values[name] = (value.id if value is not None else None) if name in relations else value
    return values


def as_form(model, values: dict[str, Any]) -> dict[str, str]:
    """What a browser posts for these values (FAB/WTForms encodings)."""
    from sqlalchemy import inspect

    relations = inspect(model).relationships
    data: dict[str, str] = {}
    for name, value in values.items():
        if name in relations:
            large = relations[name].mapper.class_.Admin.large
            data[name] = str(value) if value is not None else ("" if large else "__None")
        elif isinstance(value, bool):
            if value:
                data[name] = "y"
        elif value is None:
            data[name] = ""
        else:
            data[name] = str(_plain(value))
    return data


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    """The JSON body a REST client sends for these values."""
    return {name: _plain(value) for name, value in values.items()}


# -- pages -------------------------------------------------------------------------------------

def text_of(response) -> str:
    return response.get_data(as_text=True)


def mentions(page: str, text: str) -> bool:
    """Whether a page shows ``text``: as is, HTML-escaped, or JSON-escaped inside a script."""
    from markupsafe import escape

    return any(form in page for form in {text, str(escape(text)), json.dumps(text)[1:-1]})


def shown_ids(page: str, table: str) -> set[int]:
    """Row ids a list page links to (its show buttons)."""
    return {int(pk) for pk in re.findall(rf'href="/{table}/show/(\d+)"', page)}


def record_count(page: str) -> int:
    match = re.search(r"<strong>记录数:</strong>\s*(\d+)", page)
    assert match, "the list page shows its record count"
    return int(match.group(1))


def select_options(page: str, name: str) -> list[str] | None:
    """Option values of the ``<select name=...>`` of a form (None: no such select)."""
    match = re.search(rf'<select[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    if match is None:
        return None
    return [unescape(v) for v in re.findall(r'<option[^>]*\bvalue="([^"]*)"', match.group(1))]


def form_errors(page: str) -> list[str]:
    """The messages a re-rendered form shows (field errors and flashed alerts)."""
    found = re.findall(r'<span class="help-block"[^>]*>\s*([^<]+?)\s*</span>', page)
    found += re.findall(r'class="alert alert-(?:danger|warning)[^"]*"[^>]*>(?:\s*<button.*?</button>)?\s*([^<]+?)\s*<', page, re.S)
    return [unescape(m) for m in found]


# -- Excel -------------------------------------------------------------------------------------

def xlsx(headers: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_rows(response) -> list[tuple]:
    from openpyxl import load_workbook

    workbook = load_workbook(BytesIO(response.data))
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def upload(client, table: str, content: bytes, *, dry_run: bool):
    return client.post(
        f"/{table}/import/",
        data={"file": (BytesIO(content), "import.xlsx"), "dry_run": "1" if dry_run else "0"},
        content_type="multipart/form-data",
    )


def import_errors(response) -> list[tuple[int, str, str]]:
    """(row, column, reason) as listed on the import page."""
    found = re.findall(r"<tr><td>第 (\d+) 行</td><td>(.*?)</td><td>(.*?)</td></tr>", text_of(response))
    return [(int(row), unescape(column), unescape(reason)) for row, column, reason in found]


# -- personal data -------------------------------------------------------------------------------

def masked(value: str) -> str:
    """How a masked value reads: 110***********1234, 138****5678."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


MASKED_ID_CARD = re.compile(r"^\d{3}\*{11}[\dX]{4}$")
MASKED_MOBILE = re.compile(r"^1\d{2}\*{4}\d{4}$")


# -- signed-in clients shared by a test module ------------------------------------------------------

class SignedInClients:
    """One client per user, logged in on first use; ``ANONYMOUS`` is a client without login.

    Users live in the template database, so a login survives the per-test restore. While
    the module runs, a 500 comes back as a page instead of an exception (as in production),
    so a crashing route cannot hide whether a permission or scope check passed.
    """

    def __init__(self, app):
        self.app = app
        self.made: dict[str, UserClient] = {}
        self._propagate = app.config.get("PROPAGATE_EXCEPTIONS")
        app.config["PROPAGATE_EXCEPTIONS"] = False

    def __call__(self, user: str) -> UserClient:
        if user not in self.made:
            self.made[user] = client_of(self.app, None if user == ANONYMOUS else user)
        return self.made[user]

    def close(self) -> None:
        self.app.config["PROPAGATE_EXCEPTIONS"] = self._propagate


def in_db(app, read):
    """``read()`` in an app context of its own (never around requests: they would share ``g``)."""
    from app.extensions import db

    with app.app_context():
        try:
            return read()
        finally:
            db.session.remove()


def electorate_ids(application) -> list[int]:
    """The unit ids of a fund application's 列支范围 in id order (models.repair_fund.electorate)."""
    from app.extensions import db
    from models.estate import Unit
    from models.repair_fund import electorate

    return list(db.session.scalars(electorate(application).order_by(Unit.id)))
