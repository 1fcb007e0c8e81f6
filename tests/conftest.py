"""Test fixtures: one migrated, seeded database per session, restored before each test."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import pytest

# Settings are read at import time: point the instance folder at a scratch directory
# before the application package is imported.
_SCRATCH = Path(tempfile.mkdtemp(prefix="wuye-tests-"))
os.environ.setdefault("INSTANCE_PATH", str(_SCRATCH / "instance"))

from sqlalchemy.pool import NullPool  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support import login  # noqa: E402

#: small but complete: 3 estates, the large one with this many units
TEST_UNITS = 120


@pytest.fixture(scope="session")
def app():
    db_file = _SCRATCH / "test.db"
    app = create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool},
    })
    with app.app_context():
        from flask_migrate import upgrade

        from app import demo, roles

        upgrade()
        roles.sync(app.appbuilder)
        demo.load(units=TEST_UNITS, estates=3, seed=7)
        db.session.remove()
    template = _SCRATCH / "template.db"
    _copy_sqlite(db_file, template)
    app.config["TEST_DB_FILE"], app.config["TEST_DB_TEMPLATE"] = db_file, template
    return app


def _copy_sqlite(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture(autouse=True)
def _fresh_database(request):
    """Every test starts from the seeded database, whatever the previous one wrote."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
    _copy_sqlite(app.config["TEST_DB_TEMPLATE"], app.config["TEST_DB_FILE"])
    yield


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
