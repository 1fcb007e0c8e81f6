"""The test database: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.

Either way the schema is migrated and the demo data seeded once per session; before
each test the seeded state is restored. SQLite copies the seeded file back with the
backup API. PostgreSQL recreates the database from a template copy of the seeded one
(``CREATE DATABASE ... TEMPLATE``: one statement, exact, sequences included, and safe
although the views commit; see README 测试 for the measured cost).

TEST_DATABASE_URL names a database the tests own: it and ``<name>_template`` (under
pytest-xdist ``<name>_gw0``, ``<name>_gw0_template``, ... one pair per worker) are dropped
and recreated, so it must never be a database anyone cares about. The application's own
DATABASE_URL is deliberately not used by the tests.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from app.config import database_url


class SqliteTestDatabase:
    dialect = "sqlite"

    def __init__(self, scratch: Path) -> None:
        self.file = scratch / "test.db"
        self.template = scratch / "template.db"
        self.url = f"sqlite:///{self.file}"

    def create_empty(self) -> None:
        self.file.unlink(missing_ok=True)

    def snapshot(self) -> None:
        _copy_sqlite(self.file, self.template)

    def restore(self) -> None:
        _copy_sqlite(self.template, self.file)

    def close(self) -> None:
        pass


class PostgresTestDatabase:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        parsed = make_url(database_url(url))
        if not parsed.database:
            raise ValueError("TEST_DATABASE_URL 须包含数据库名")
        # pytest-xdist workers (gw0, gw1, ...): one database each, named after the given one
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            parsed = parsed.set(database=f"{parsed.database}_{worker}")
        self.url = parsed.render_as_string(hide_password=False)
        self.name = parsed.database
        self.template = f"{self.name}_template"
        # statements about whole databases run on the maintenance database, autocommit
        self._admin_url = parsed.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False)
        self._admin = None

    def _execute(self, *statements: str) -> None:
        import psycopg

        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self._admin_url, autocommit=True)
        for statement in statements:
            self._admin.execute(statement)

    def create_empty(self) -> None:
        self._execute(
            f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)',
            f'CREATE DATABASE "{self.name}"',
        )

    def snapshot(self) -> None:
        self._execute(f'CREATE DATABASE "{self.template}" TEMPLATE "{self.name}"')

    def restore(self) -> None:
        # FORCE ends connections a test left open (a live server's idle workers)
        self._execute(
            f'DROP DATABASE "{self.name}" WITH (FORCE)',
            f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"',
        )

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()


def chosen_database(scratch: Path):
    url = os.environ.get("TEST_DATABASE_URL")
    return PostgresTestDatabase(url) if url else SqliteTestDatabase(scratch)


def _copy_sqlite(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
