"""Backups: `flask backup` / `flask restore` (README 备份与恢复).

PostgreSQL: ``pg_dump -Fc`` and ``pg_restore --clean --single-transaction`` (all or
nothing). SQLite: the sqlite3 backup API, consistent even while the app is running.
Both print the ledger balances, so the operator can compare the restored database
with the one that was dumped; ``BALANCES`` lists what is compared (one function per
ledger, each returning {estate id: {name: value}}).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from models.base import ALL_ESTATES
from models.errors import Refused
from models.fees import Bill, Payment


def _bill_balances(session: Session) -> dict[int, dict[str, Any]]:
    rows = session.execute(
        select(Bill.estate_id, func.count(), func.sum(Bill.amount), func.sum(Bill.paid), func.sum(Bill.outstanding))
        .group_by(Bill.estate_id), execution_options={ALL_ESTATES: True}).all()
    return {r[0]: {"账单数": r[1], "应收合计": r[2], "已收合计": r[3], "欠费合计": r[4]} for r in rows}


def _payment_balances(session: Session) -> dict[int, dict[str, Any]]:
    rows = session.execute(
        select(Payment.estate_id, func.count(), func.sum(Payment.amount)).group_by(Payment.estate_id),
        execution_options={ALL_ESTATES: True}).all()
    return {r[0]: {"缴费笔数": r[1], "缴费合计": r[2]} for r in rows}


#: the ledgers whose balances must survive a backup and restore unchanged
BALANCES: list[Callable[[Session], dict[int, dict[str, Any]]]] = [_bill_balances, _payment_balances]


def balances(session: Session) -> dict[int, dict[str, Any]]:
    """Every ledger's balances per estate id (exact decimals and counts)."""
    merged: dict[int, dict[str, Any]] = {}
    for ledger in BALANCES:
        for estate_id, values in ledger(session).items():
            merged.setdefault(estate_id, {}).update(values)
    return dict(sorted(merged.items()))


def default_target(url: URL, folder: Path) -> Path:
    from models import clock

    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    name = Path(url.database or "app").stem
    return folder / f"{name}-{stamp}.{'dump' if url.get_backend_name() == 'postgresql' else 'db'}"


def backup(url: str | URL, target: Path) -> Path:
    url = make_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", "--file", str(target)], url)
    elif url.get_backend_name() == "sqlite":
        _copy_sqlite(Path(url.database), target)
    else:
        raise Refused(f"不支持备份 {url.get_backend_name()} 数据库")
    return target


def restore(url: str | URL, source: Path) -> None:
    """Replace the database's contents by the dump (stop the app servers first)."""
    url = make_url(url)
    if not source.is_file():
        raise Refused(f"备份文件不存在：{source}")
    if url.get_backend_name() == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl", "--single-transaction",
              "--exit-on-error", str(source)], url, database_flag=True)
    elif url.get_backend_name() == "sqlite":
        _check_sqlite(source)
        _copy_sqlite(source, Path(url.database))
    else:
        raise Refused(f"不支持恢复 {url.get_backend_name()} 数据库")


def _run(command: list[str], url: URL, database_flag: bool = False) -> None:
    if shutil.which(command[0]) is None:
        raise Refused(f"找不到 {command[0]}：请安装 PostgreSQL 客户端（Debian：apt-get install postgresql-client）")
    # the password goes by environment, never on the command line (visible in ps)
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    command = [*command, "--dbname", target] if database_flag else [*command, target]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise Refused(f"{command[0]} 失败：{done.stderr.strip()[-2000:]}")


def _check_sqlite(source: Path) -> None:
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as probe:
            probe.execute("SELECT count(*) FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise Refused(f"{source} 不是本系统的 SQLite 备份：{error}") from error


def _copy_sqlite(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
