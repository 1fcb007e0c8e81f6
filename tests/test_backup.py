"""Backups: `flask backup` dumps the database, `flask restore` brings back exactly the
ledger balances that were dumped, whatever happened in between. Runs on the suite's
database: SQLite by default, PostgreSQL (pg_dump/pg_restore) under make test-pg."""

from __future__ import annotations

import shutil

from sqlalchemy import delete, update

from app import backup
from app.extensions import db
from models.fees import Bill, Payment
from tests.live import unavailable
from tests.support import in_db


def _needs_tools(test_db) -> None:
    if test_db.dialect == "postgresql" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        unavailable("需要 pg_dump/pg_restore（Debian：postgresql-client）")


def _run(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_a_restored_backup_has_the_ledger_balances_that_were_dumped(app, test_db, tmp_path):
    _needs_tools(test_db)
    dumped = in_db(app, lambda: backup.balances(db.session))
    assert dumped and all(values["账单数"] > 0 and values["缴费笔数"] > 0 for values in dumped.values())
    target = tmp_path / "before.dump"
    assert str(target) in _run(app, "backup", str(target))

    def destroy() -> None:  # a bad day: payments wiped, balances rewritten
        db.session.execute(delete(Payment))
        db.session.execute(update(Bill).values(paid=0, outstanding=Bill.amount))
        db.session.commit()

    in_db(app, destroy)
    assert in_db(app, lambda: backup.balances(db.session)) != dumped

    _run(app, "restore", "--yes", str(target))

    assert in_db(app, lambda: backup.balances(db.session)) == dumped


def test_restoring_a_file_that_is_no_backup_changes_nothing(app, test_db, tmp_path):
    _needs_tools(test_db)
    before = in_db(app, lambda: backup.balances(db.session))
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a backup")

    result = app.test_cli_runner().invoke(args=["restore", "--yes", str(junk)])

    assert result.exit_code != 0 and "Traceback" not in result.output
    assert in_db(app, lambda: backup.balances(db.session)) == before


def test_backup_without_a_file_name_goes_to_the_instance_backups_folder(app, test_db):
    _needs_tools(test_db)
    output = _run(app, "backup")

    assert "已备份到 " in output and "/backups/" in output
