"""Engine set-up that every connection needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure(db: Any) -> None:
    engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        # SQLite ignores foreign keys unless asked, per connection; without this a
        # RESTRICT would not stop deleting an estate that still has buildings.
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
